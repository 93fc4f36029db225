// The built-in signals: what pulse-sidecar computes from the module's families and serves
// on /metrics, /signals and, through the adapter, the custom metrics API. The names are
// pulse's interface (docs/architecture.md, "The signal table"): never rename one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pulse::common {

enum class Signal : std::uint8_t {
    requests_per_second,
    requests_in_flight,
    request_duration_p50_seconds,
    request_duration_p95_seconds,
    request_duration_p99_seconds,
    upstream_duration_p95_seconds,
    error_ratio,
    connection_saturation,
    websocket_connections,
};
inline constexpr std::size_t kSignalCount = 9;

// Where a signal exists: for the pod and for each nginx server, or for the pod only
// (upstream timing and connection saturation have no server).
enum class Scope : std::uint8_t { pod_and_servers, pod };

// windowed: computed over the window of scrapes (rates, ratios, quantiles);
// instantaneous: a gauge read at the last scrape, whose window the custom metrics API
// calls 0 ("non-calculated instantaneous metrics").
enum class Timing : std::uint8_t { windowed, instantaneous };

// How the adapter's namespace form combines the pods' values: the sum for quantities that
// add up over pods, the maximum (the worst pod) for quantiles, ratios and saturation.
enum class Aggregation : std::uint8_t { sum, max };

struct SignalInfo {
    Signal signal;
    std::string_view name;
    std::string_view unit;  // as in the name's suffix, or what is counted
    std::string_view help;
    Scope scope;
    Timing timing;
    Aggregation across_pods;
};

inline constexpr std::array<SignalInfo, kSignalCount> kSignals{{
    {Signal::requests_per_second, "pulse_requests_per_second", "requests/s",
     "Requests per second over the window.", Scope::pod_and_servers, Timing::windowed,
     Aggregation::sum},
    {Signal::requests_in_flight, "pulse_requests_in_flight", "requests",
     "Requests in flight at the last scrape (the scrape excluded).", Scope::pod_and_servers,
     Timing::instantaneous, Aggregation::sum},
    {Signal::request_duration_p50_seconds, "pulse_request_duration_p50_seconds", "seconds",
     "Median request duration over the window.", Scope::pod_and_servers, Timing::windowed,
     Aggregation::max},
    {Signal::request_duration_p95_seconds, "pulse_request_duration_p95_seconds", "seconds",
     "95th percentile request duration over the window.", Scope::pod_and_servers, Timing::windowed,
     Aggregation::max},
    {Signal::request_duration_p99_seconds, "pulse_request_duration_p99_seconds", "seconds",
     "99th percentile request duration over the window.", Scope::pod_and_servers, Timing::windowed,
     Aggregation::max},
    {Signal::upstream_duration_p95_seconds, "pulse_upstream_duration_p95_seconds", "seconds",
     "95th percentile upstream response time over the window.", Scope::pod, Timing::windowed,
     Aggregation::max},
    {Signal::error_ratio, "pulse_error_ratio", "ratio",
     "5xx responses / all responses over the window.", Scope::pod_and_servers, Timing::windowed,
     Aggregation::max},
    {Signal::connection_saturation, "pulse_connection_saturation", "ratio",
     "Active connections / (worker_connections x workers).", Scope::pod, Timing::instantaneous,
     Aggregation::max},
    {Signal::websocket_connections, "pulse_websocket_connections", "connections",
     "Open websocket (upgraded) connections.", Scope::pod_and_servers, Timing::instantaneous,
     Aggregation::sum},
}};

constexpr const SignalInfo &info(Signal s) {
    return kSignals[static_cast<std::size_t>(s)];
}

static_assert(
    [] {
        for (std::size_t i = 0; i < kSignals.size(); ++i) {
            if (static_cast<std::size_t>(kSignals[i].signal) != i) return false;
        }
        return true;
    }(),
    "kSignals is in the order of enum Signal, so info() can index it");

// On /metrics a signal's per-server series are a family of their own, named with this
// prefix in place of "pulse_" (pulse_server_requests_per_second{server="..."}), and the
// pod's total keeps the signal's name with no label: no family mixes a total with its parts,
// so sum() over one family never counts a request twice. /signals and the custom metrics API
// keep the signal's name for both.
inline constexpr std::string_view kSignalPrefix = "pulse_";
inline constexpr std::string_view kServerFamilyPrefix = "pulse_server_";

// The built-in signal of that name, or nullptr (a config signal's name, or none).
constexpr const SignalInfo *find_signal(std::string_view name) {
    for (const SignalInfo &s : kSignals) {
        if (s.name == name) return &s;
    }
    return nullptr;
}

}  // namespace pulse::common
