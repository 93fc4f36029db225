#include "munin_fields.h"

#include <cstdint>
#include <cstdio>

namespace pulse::sidecar {

namespace {

bool letter_or_underscore(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool digit(char c) {
    return c >= '0' && c <= '9';
}

// FNV-1a: stable across runs, builds and machines (std::hash is none of those).
std::uint32_t fnv1a(std::string_view s) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

}  // namespace

std::string munin_field_name(std::string_view original) {
    std::string out;
    std::size_t i = 0;
    // A run of characters that cannot start a name becomes one '_'.
    if (original.empty() || !letter_or_underscore(original[0])) {
        out += '_';
        while (i < original.size() && !letter_or_underscore(original[i])) ++i;
    }
    for (; i < original.size(); ++i) {
        const char c = original[i];
        out += letter_or_underscore(c) || digit(c) ? c : '_';
    }
    if (out == "root") out = "__root";
    if (out != original) {
        char hash[16];
        std::snprintf(hash, sizeof hash, "_%06x", fnv1a(original) & 0xffffffu);
        out += hash;
    }
    return out;
}

const std::string &MuninFields::field(const std::string &original) {
    if (auto it = by_original_.find(original); it != by_original_.end()) return it->second;
    std::string name = munin_field_name(original);
    for (int n = 2; taken_.count(name) != 0; ++n)
        name = munin_field_name(original) + "_" + std::to_string(n);
    taken_.emplace(name, original);
    return by_original_.emplace(original, name).first->second;
}

}  // namespace pulse::sidecar
