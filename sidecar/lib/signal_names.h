// The signal names: pulse's interface to Prometheus, the /signals JSON and the custom
// metrics API (design.md). Never rename one.
#pragma once

#include <array>
#include <string_view>

#include "signals.h"

namespace pulse::sidecar {

struct SignalName {
    std::string_view name;
    std::string_view help;
    double SignalSet::*field;
    bool per_server;  // upstream timing and saturation exist for the pod only
};

inline constexpr std::array<SignalName, 9> kSignals{{
    {"pulse_requests_per_second", "Requests per second over the window.",
     &SignalSet::requests_per_second, true},
    {"pulse_requests_in_flight", "Requests in flight at the last scrape (the scrape excluded).",
     &SignalSet::requests_in_flight, true},
    {"pulse_request_duration_p50_seconds", "Median request duration over the window.",
     &SignalSet::request_duration_p50_seconds, true},
    {"pulse_request_duration_p95_seconds", "95th percentile request duration over the window.",
     &SignalSet::request_duration_p95_seconds, true},
    {"pulse_request_duration_p99_seconds", "99th percentile request duration over the window.",
     &SignalSet::request_duration_p99_seconds, true},
    {"pulse_upstream_duration_p95_seconds",
     "95th percentile upstream response time over the window.",
     &SignalSet::upstream_duration_p95_seconds, false},
    {"pulse_error_ratio", "5xx responses / all responses over the window.", &SignalSet::error_ratio,
     true},
    {"pulse_connection_saturation", "Active connections / (worker_connections x workers).",
     &SignalSet::connection_saturation, false},
    {"pulse_websocket_connections", "Open websocket (upgraded) connections.",
     &SignalSet::websocket_connections, true},
}};

}  // namespace pulse::sidecar
