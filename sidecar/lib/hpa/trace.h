// A recorded traffic trace for `pulse-sidecar hpa simulate`: per metric, the deployment's
// total over time, as a user has it: a Prometheus HTTP API query_range answer (a matrix,
// e.g. of `sum(pulse_requests_per_second)`) or a CSV of `time,metric,value` rows.
// docs/hpa.md describes both.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pulse::hpa {

struct TracePoint {
    double time = 0;  // seconds
    double value = 0;
};

// Metric name -> points in ascending time.
struct Trace {
    std::map<std::string, std::vector<TracePoint>> metrics;
    double start() const;
    double end() const;
    // The value in force at `t`: the last point at or before it (the first one before the
    // first point); nullopt-like NaN when the metric has no points.
    double at(const std::string &metric, double t) const;
};

// Parses a trace. `default_metric` names the series of a query_range answer that carries
// no __name__ (a sum() has none): the HPA's only metric, or the one given on the command
// line. Errors are one line naming the place ("trace.csv:12: ...", "data.result[0]: ...").
std::variant<Trace, std::string> parse_trace(std::string_view text, std::string_view file,
                                             const std::string &default_metric);

}  // namespace pulse::hpa
