// Label values that come from configuration and from bounded request properties, never
// from client-controlled text, and the compact key a series is stored under.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

// The method label: the standard methods by name, anything else as "OTHER".
enum class Method : std::uint8_t {
    get,
    head,
    post,
    put,
    del,
    patch,
    options,
    connect,
    trace,
    other
};
inline constexpr std::size_t kMethodCount = 10;
std::string_view method_label(Method m);

// Status labels: "2xx" style classes, or the exact three-digit code. Values outside
// 100..599 (a client that went away before a status existed) are "other".
inline constexpr std::size_t kStatusClassCount = 6;  // 1xx..5xx, other
constexpr std::size_t status_class_index(unsigned status) {
    return status - 100u < 500u ? status / 100 - 1 : kStatusClassCount - 1;
}
std::string_view status_class_label(std::size_t index);
std::string status_label(unsigned status, bool exact);

// A location as written in the configuration: "= /metrics", "^~ /static/", "~* \.png$",
// "@fallback", "/". The server-level configuration (no location matched) is "-".
enum class LocationKind : std::uint8_t { prefix, exact, no_regex, regex, regex_caseless, named };
std::string location_label(LocationKind kind, std::string_view name);
inline constexpr std::string_view kNoLocationLabel = "-";

// The key under which a series is stored: its label values in order, each with a length
// prefix (two bytes, big-endian; a value is cut at 65535 bytes), so no value can be
// confused with a neighbour whatever bytes it holds. Any number of values.
std::string encode_key(std::span<const std::string_view> values);
inline std::string encode_key(std::initializer_list<std::string_view> values) {
    return encode_key(std::span<const std::string_view>(values.begin(), values.size()));
}
std::vector<std::string_view> decode_key(std::string_view key);

}  // namespace pulse
