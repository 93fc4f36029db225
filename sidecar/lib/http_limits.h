// The HTTP front's limits and deadlines, and the status a request that breaks a size
// limit gets. Defaults and reasons: docs/sidecar.md, "Timeouts and limits".
#pragma once

#include <cstddef>

namespace pulse::sidecar {

struct HttpLimits {
    std::size_t max_request_line = 8 * 1024;   // method, target and version: else 414
    std::size_t max_header_bytes = 32 * 1024;  // the header fields together: else 431
    std::size_t max_body_bytes = 64 * 1024;    // else 413
    std::size_t max_connections = 4096;        // beyond it the oldest idle one is shed
    double handshake_timeout = 5;  // seconds from accept to the end of the TLS handshake
    double header_timeout = 10;    // a request head, from its first byte (or from accept)
    double idle_timeout = 60;      // a keep-alive connection between two requests
    double body_timeout = 10;      // a request body, after its head
    double write_timeout = 10;     // a response, while the client does not read it
};

// The HTTP parser's own limit on the request line and on the fields (it applies it to
// each): the larger of the two, so that status_for_head can tell which was broken.
constexpr std::size_t parser_head_limit(const HttpLimits &limits) {
    return (limits.max_request_line > limits.max_header_bytes ? limits.max_request_line
                                                              : limits.max_header_bytes) +
           4;
}

// The status for a request head, or 0 when it is within the limits: 414 for a request
// line (method, target, version) over its limit, 431 for fields over theirs. A head the
// parser gave up on passes the size it had reached (more than either limit).
constexpr int status_for_head(std::size_t request_line_bytes, std::size_t field_bytes,
                              const HttpLimits &limits) {
    if (request_line_bytes > limits.max_request_line) return 414;
    if (field_bytes > limits.max_header_bytes) return 431;
    return 0;
}

}  // namespace pulse::sidecar
