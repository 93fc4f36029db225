// UTF-8 as Go's utf8.ValidString sees it (and so Prometheus): no overlong forms, no
// surrogates, nothing above U+10FFFF. The module's renderer and the sidecar's parser both
// use it, so they agree on what a valid label value is.
#pragma once

#include <cstddef>
#include <string_view>

namespace pulse::common {

// Length (1 to 4) of the valid UTF-8 sequence at the start of `s`, or 0 when there is
// none (also for an empty `s`).
constexpr std::size_t utf8_sequence_length(std::string_view s) {
    if (s.empty()) return 0;
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char c = b(0);
    if (c < 0x80) return 1;
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;  // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i) {
        if (b(i) < 0x80 || b(i) > 0xbf) return 0;
    }
    return n;
}

// Number of code points, or npos when `s` is not valid UTF-8.
constexpr std::size_t utf8_length(std::string_view s) {
    std::size_t count = 0;
    while (!s.empty()) {
        std::size_t n = utf8_sequence_length(s);
        if (n == 0) return std::string_view::npos;
        s.remove_prefix(n);
        ++count;
    }
    return count;
}

constexpr bool valid_utf8(std::string_view s) {
    return utf8_length(s) != std::string_view::npos;
}

}  // namespace pulse::common
