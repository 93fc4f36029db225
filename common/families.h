// The metric families the module writes and the sidecar reads: names, help, types and
// label names. These names are pulse's interface (docs/architecture.md, "Family names";
// docs/metrics.md): never rename one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/labels.h"

namespace pulse::common {

enum class MetricType : std::uint8_t { counter, gauge, histogram };

// The families whose series live in the module's shared zone (one record per label set).
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
    // For a counter, the name of its samples ("..._total"); a histogram's samples add
    // "_bucket", "_sum" and "_count".
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
     {label::server, label::location, label::method, label::status}},
    {"nginx_http_request_duration_seconds",
     "Time from the first byte read from the client to the last byte sent.",
     MetricType::histogram,
     2,
     {label::server, label::location}},
    {"nginx_http_response_bytes_total",
     "Bytes sent to clients, headers included.",
     MetricType::counter,
     2,
     {label::server, label::location}},
    {"nginx_http_request_bytes_total",
     "Bytes received from clients: request line, headers, body.",
     MetricType::counter,
     2,
     {label::server, label::location}},
    {"nginx_http_requests_in_flight",
     "Requests read and not yet finished, scrape excluded.",
     MetricType::gauge,
     1,
     {label::server}},
    {"nginx_http_websocket_connections",
     "Open upgraded (websocket) connections.",
     MetricType::gauge,
     2,
     {label::server, label::location}},
    {"nginx_http_upstream_requests_total",
     "Attempts to reach an upstream, by upstream status.",
     MetricType::counter,
     2,
     {label::upstream, label::status}},
    {"nginx_http_upstream_connect_seconds",
     "Time to connect to an upstream.",
     MetricType::histogram,
     1,
     {label::upstream}},
    {"nginx_http_upstream_header_seconds",
     "Time until the upstream's response header arrived.",
     MetricType::histogram,
     1,
     {label::upstream}},
    {"nginx_http_upstream_response_seconds",
     "Time until the upstream's whole response arrived.",
     MetricType::histogram,
     1,
     {label::upstream}},
    {"nginx_http_cache_policy_responses_total",
     "Responses by the cache policy class they got.",
     MetricType::counter,
     3,
     {label::server, label::location, label::policy}},
}};

constexpr const FamilyInfo &info(Family f) {
    return kFamilies[static_cast<std::size_t>(f)];
}

// The families written at every scrape from nginx's own counters and the zone's state
// (no series in the zone). The sidecar reads nginx_connections{state="active"} and
// nginx_connections_limit.
namespace nginx_family {
inline constexpr FamilyInfo connections_accepted{
    "nginx_connections_accepted_total", "Client connections accepted.", MetricType::counter, 0, {}};
inline constexpr FamilyInfo connections_handled{
    "nginx_connections_handled_total", "Client connections handled.", MetricType::counter, 0, {}};
inline constexpr FamilyInfo connections{
    "nginx_connections", "Client connections by state.", MetricType::gauge, 1, {label::state}};
inline constexpr FamilyInfo connections_limit{"nginx_connections_limit",
                                              "worker_connections times worker processes.",
                                              MetricType::gauge,
                                              0,
                                              {}};
inline constexpr FamilyInfo series{
    "nginx_pulse_series", "Series held in the shared zone.", MetricType::gauge, 0, {}};
inline constexpr FamilyInfo series_limit{
    "nginx_pulse_series_limit", "The series budget (pulse_max_series).", MetricType::gauge, 0, {}};
inline constexpr FamilyInfo series_dropped{
    "nginx_pulse_series_dropped_total",
    "Series refused for budget or memory and folded into __overflow__.",
    MetricType::counter,
    0,
    {}};
inline constexpr FamilyInfo shm_bytes{
    "nginx_pulse_shm_bytes", "Shared zone bytes by state.", MetricType::gauge, 1, {label::state}};
inline constexpr FamilyInfo info{"nginx_pulse_info",
                                 "pulse module and nginx versions.",
                                 MetricType::gauge,
                                 2,
                                 {label::version, label::server_version}};
}  // namespace nginx_family

}  // namespace pulse::common
