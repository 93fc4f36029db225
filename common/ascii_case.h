// ASCII case, as HTTP, media types and the exposition formats compare their keywords:
// only A-Z fold, whatever the locale; other bytes (UTF-8 included) compare as they are.
#pragma once

#include <string>
#include <string_view>

namespace pulse::common {

constexpr char to_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    if (a == b) return true;  // the usual case, compared by memcmp
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    }
    return true;
}

constexpr bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

constexpr bool iends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

// A lowercase copy (allocates: not for the module's request path).
inline std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char &c : out) c = to_lower(c);
    return out;
}

}  // namespace pulse::common
