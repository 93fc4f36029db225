// The label names of the module's families, and the label values the sidecar reads a
// meaning into: the overflow value, the status classes, the connection states. The module
// writes them, the sidecar reads them (docs/architecture.md, "Labels").
#pragma once

#include <array>
#include <string_view>

namespace pulse::common {

namespace label {
inline constexpr std::string_view server = "server";
inline constexpr std::string_view location = "location";
inline constexpr std::string_view method = "method";
inline constexpr std::string_view status = "status";
inline constexpr std::string_view upstream = "upstream";
inline constexpr std::string_view policy = "policy";
inline constexpr std::string_view state = "state";
inline constexpr std::string_view version = "version";
// "nginx_version" (nginx.h defines a macro of that name).
inline constexpr std::string_view server_version = "nginx_version";
// A histogram bucket's upper bound.
inline constexpr std::string_view le = "le";
}  // namespace label

// The value every label of a series takes once the series budget is spent: the series
// counts for the pod, never as a server.
inline constexpr std::string_view kOverflowLabel = "__overflow__";

// The status label: a class, or the exact code with `pulse_status_codes exact`. "other"
// is a status outside 100..599 (a client that went away before a status existed).
inline constexpr std::array<std::string_view, 6> kStatusClassLabels{"1xx", "2xx", "3xx",
                                                                    "4xx", "5xx", "other"};

// A server error: the class "5xx" or an exact code 5NN.
constexpr bool is_server_error_status(std::string_view status) {
    if (status == kStatusClassLabels[4]) return true;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    return status.size() == 3 && status[0] == '5' && digit(status[1]) && digit(status[2]);
}

// The `state` label of nginx_connections, in the order the module writes them.
namespace connection_state {
inline constexpr std::string_view active = "active";
inline constexpr std::string_view reading = "reading";
inline constexpr std::string_view writing = "writing";
inline constexpr std::string_view waiting = "waiting";
}  // namespace connection_state

// The `state` label of nginx_pulse_shm_bytes.
namespace shm_state {
inline constexpr std::string_view used = "used";
inline constexpr std::string_view free = "free";
}  // namespace shm_state

}  // namespace pulse::common
