// The renders of exposition_writer_fuzz's corpus, for promtool (tests/fuzz/run.sh): a
// fuzz target cannot start promtool per input, so after the run every corpus input is
// rendered again, as text 0.0.4 (the format `promtool check metrics` reads), one file each.
//
//   exposition_replay OUT_DIR INPUT...     writes OUT_DIR/<input's file name>.prom
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "exposition_input.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR INPUT...\n", argv[0]);
        return 2;
    }
    const std::filesystem::path out_dir = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::ifstream file(argv[i], std::ios::binary);
        if (!file) {
            std::fprintf(stderr, "exposition_replay: cannot read %s\n", argv[i]);
            return 1;
        }
        const std::string data{std::istreambuf_iterator<char>(file), {}};
        pulse::fuzz::ExpositionInput in = pulse::fuzz::read_input(data);
        in.openmetrics = false;
        const std::filesystem::path out =
            out_dir / (std::filesystem::path(argv[i]).filename().string() + ".prom");
        std::ofstream(out, std::ios::binary) << pulse::fuzz::render_input(in);
    }
    return 0;
}
