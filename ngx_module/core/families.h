// The metric families that live in the shared zone: names, help, types and label names.
// These names are pulse's interface (design.md, "Metrics"): never rename one.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace pulse {

enum class MetricType : std::uint8_t { counter, gauge, histogram };

enum class Family : std::uint8_t {
    requests,
    request_duration,
    response_bytes,
    request_bytes,
    requests_in_flight,
    websocket_connections,
    upstream_requests,
    upstream_connect,
    upstream_header,
    upstream_response,
    cache_policy_responses,
};

inline constexpr std::size_t kFamilyCount = 11;
inline constexpr std::size_t kMaxLabels = 4;

struct FamilyInfo {
    std::string_view name;
    std::string_view help;
    MetricType type;
    std::uint8_t label_count;
    std::array<std::string_view, kMaxLabels> labels;
};

inline constexpr std::array<FamilyInfo, kFamilyCount> kFamilies{{
    {"nginx_http_requests_total",
     "Requests answered, by server, location, method and status.",
     MetricType::counter,
     4,
     {"server", "location", "method", "status"}},
    {"nginx_http_request_duration_seconds",
     "Time from the first byte read from the client to the last byte sent.",
     MetricType::histogram,
     2,
     {"server", "location"}},
    {"nginx_http_response_bytes_total",
     "Bytes sent to clients, headers included.",
     MetricType::counter,
     2,
     {"server", "location"}},
    {"nginx_http_request_bytes_total",
     "Bytes received from clients: request line, headers, body.",
     MetricType::counter,
     2,
     {"server", "location"}},
    {"nginx_http_requests_in_flight",
     "Requests read and not yet finished, scrape excluded.",
     MetricType::gauge,
     1,
     {"server"}},
    {"nginx_http_websocket_connections",
     "Open upgraded (websocket) connections.",
     MetricType::gauge,
     2,
     {"server", "location"}},
    {"nginx_http_upstream_requests_total",
     "Attempts to reach an upstream, by upstream status.",
     MetricType::counter,
     2,
     {"upstream", "status"}},
    {"nginx_http_upstream_connect_seconds",
     "Time to connect to an upstream.",
     MetricType::histogram,
     1,
     {"upstream"}},
    {"nginx_http_upstream_header_seconds",
     "Time until the upstream's response header arrived.",
     MetricType::histogram,
     1,
     {"upstream"}},
    {"nginx_http_upstream_response_seconds",
     "Time until the upstream's whole response arrived.",
     MetricType::histogram,
     1,
     {"upstream"}},
    {"nginx_http_cache_policy_responses_total",
     "Responses by the cache policy class they got.",
     MetricType::counter,
     3,
     {"server", "location", "policy"}},
}};

constexpr const FamilyInfo &info(Family f) {
    return kFamilies[static_cast<std::size_t>(f)];
}

// The label value every label of a series takes once the series budget is spent.
inline constexpr std::string_view kOverflowLabel = "__overflow__";

}  // namespace pulse
