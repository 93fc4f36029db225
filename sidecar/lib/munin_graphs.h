// What `pulse-sidecar munin` tells munin (the plugin protocol: `config`, then a fetch, with
// `multigraph`): the graphs, each field's label, type, minimum and warning/critical, and its
// value. Counters come from the module's exporter as DERIVE (munin takes the rate over its
// own 5-minute period); the signals that are not counters (latency quantiles, in flight,
// websockets, saturation, error ratio, the config's worker signals) from the sidecar's
// /signals. A value that is missing, old or from a source that is down is "U" (unknown),
// never an old number or 0. Pure: sidecar/app/munin_cli.cpp fetches. docs/monitoring.md.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "exposition_parser.h"

namespace pulse::sidecar {

struct MuninField {
    std::string name, label, type = "GAUGE", draw, info;
    std::optional<double> min, max, warning, critical;
    std::optional<double> value;  // nullopt: "U"
};

struct MuninGraph {
    std::string name, title, vlabel, category, args, info, total;
    std::vector<MuninField> fields;
};

// The graphs from what could be read: the module's exposition (nullptr when it could not be
// scraped) and the sidecar's /signals (nullptr when it could not be read).
std::vector<MuninGraph> munin_graphs(const Exposition *module, const nlohmann::json *signals);

std::string munin_config(const std::vector<MuninGraph> &graphs);
std::string munin_fetch(const std::vector<MuninGraph> &graphs);

// Thresholds pulse alerts on (conf/prometheus/rules/pulse-alerts.yml says the same; a test
// holds them together): the munin fields' warning and critical, and docs/monitoring.md's
// Nagios examples.
inline constexpr double kErrorRatioCritical = 0.05;
inline constexpr double kLatencyP95Warning = 0.5;

}  // namespace pulse::sidecar
