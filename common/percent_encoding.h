// Percent-encoding (RFC 3986, section 2.1): paths and query parameters of the Kubernetes
// API, the custom metrics API's paths, query strings, a URL's user and password.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pulse::common {

// The value of a hexadecimal digit (either case), or -1.
constexpr int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 3986's unreserved characters, the ones never encoded.
constexpr bool is_unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

// Every byte but the unreserved ones as %XX (uppercase hex): safe in a path segment and
// in a query parameter's value.
inline std::string percent_encode(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        if (is_unreserved(ch)) {
            out.push_back(ch);
            continue;
        }
        const auto c = static_cast<unsigned char>(ch);
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
    return out;
}

// What "+" means: itself in a path, a space in a query string (form encoding).
enum class Plus { literal, space };

// %XX decoded; a "%" without two hex digits after it is kept as it is.
inline std::string percent_decode(std::string_view s, Plus plus = Plus::literal) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        int hi = -1, lo = -1;
        if (s[i] == '%' && i + 2 < s.size() && (hi = hex_digit_value(s[i + 1])) >= 0 &&
            (lo = hex_digit_value(s[i + 2])) >= 0) {
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (s[i] == '+' && plus == Plus::space) {
            out.push_back(' ');
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// %XX decoded, or nullopt when a "%" has no two hex digits after it; "+" is itself.
inline std::optional<std::string> percent_decode_strict(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') continue;
        if (i + 2 >= s.size() || hex_digit_value(s[i + 1]) < 0 || hex_digit_value(s[i + 2]) < 0)
            return std::nullopt;
        i += 2;
    }
    return percent_decode(s);
}

}  // namespace pulse::common
