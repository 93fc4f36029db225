// Parse throughput of the sidecar's exposition parser: reads an exposition from a file
// (the module's own output, captured by bench/sidecar_footprint.py) and parses it
// repeatedly, as pulse-sidecar does every second. Prints MB/s; never fails on speed.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <variant>

#include "exposition_parser.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        std::cerr << "usage: sidecar_parse_bench FILE [ROUNDS]\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    int rounds = argc > 2 ? std::atoi(argv[2]) : 200;

    std::size_t samples = 0;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i) {
        auto result =
            pulse::sidecar::parse_exposition(text, pulse::sidecar::TextFormat::prometheus_0_0_4);
        if (auto *e = std::get_if<pulse::sidecar::ParseError>(&result)) {
            std::cerr << "parse error at line " << e->line << ": " << e->message << "\n";
            return 1;
        }
        samples = 0;
        for (const auto &f : std::get<pulse::sidecar::Exposition>(result).families)
            samples += f.samples.size();
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double mb = static_cast<double>(text.size()) * rounds / 1e6;
    std::printf("  parse: %zu bytes, %zu samples, %d rounds: %.1f MB/s, %.2f ms per parse\n",
                text.size(), samples, rounds, mb / seconds, seconds * 1000 / rounds);
    return 0;
}
