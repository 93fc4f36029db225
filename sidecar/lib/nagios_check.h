// What `pulse-sidecar check` decides, as a Nagios/Icinga plugin (the Monitoring Plugins
// Development Guidelines): a state (exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), one
// status line, and performance data ('label'=value[UOM];warn;crit;min;max) for every value
// read. Pure: the network is the caller's (sidecar/app/check_cli.cpp). docs/monitoring.md
// shows the Nagios definitions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nagios_range.h"

namespace pulse::sidecar {

enum class NagiosState { ok = 0, warning = 1, critical = 2, unknown = 3 };

std::string_view state_name(NagiosState state);

struct CheckSpec {
    std::string signal;                                       // a /signals name
    std::optional<std::string> server;                        // nginx signals: one server's
    std::vector<std::pair<std::string, std::string>> labels;  // config signals: series chosen
    std::optional<NagiosRange> warning, critical;
    std::optional<double> max_age_seconds;  // older numbers are CRITICAL
};

struct CheckOutcome {
    NagiosState state = NagiosState::unknown;
    std::string text;                   // after "PULSE <STATE> - "
    std::vector<std::string> perfdata;  // one item a value
    // "PULSE OK - text | 'a'=1;2;3;0; 'b'=..." (the plugins' first and only output line).
    std::string line() const;
};

// The signal the spec names, from a /signals document (the sidecar's, or one made from two
// scrapes of the module): an nginx signal (pod, or --server) or a config signal (each series
// that has every --label pair; the worst state wins). A stale, too old, absent or missing
// value is UNKNOWN with the reason: there is no current number to hold to the thresholds
// (a pod whose nginx is down is --ready's CRITICAL).
CheckOutcome check_signal(const nlohmann::json &signals, const CheckSpec &spec);
// The sidecar's /readyz answer: 200 is OK, 503 CRITICAL with its reason, anything else
// UNKNOWN.
CheckOutcome check_ready(int http_status, std::string_view body);
// The drain state from /signals: not draining is OK, draining WARNING (a pod on its way out).
CheckOutcome check_drain(const nlohmann::json &signals);
CheckOutcome unknown(std::string reason);

// A performance data item: the label quoted as the guidelines want ('' for a quote inside),
// the value, its unit, and the thresholds as written.
std::string perf_item(std::string_view label, double value, std::string_view unit,
                      const CheckSpec &spec, std::optional<double> min, std::optional<double> max);

}  // namespace pulse::sidecar
