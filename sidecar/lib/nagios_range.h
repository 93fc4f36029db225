// Thresholds as Nagios and Icinga plugins take them (the Monitoring Plugins Development
// Guidelines, "Threshold and Ranges"; parse_range_string in monitoring-plugins' utils.c):
//
//   10       alert outside 0..10        ~:10     alert above 10
//   10:      alert below 10             10:20    alert outside 10..20
//   @10:20   alert inside 10..20 (ends included)
//
// A missing start is 0, a missing end is +infinity, "~" is -infinity; start must not be
// greater than end. docs/monitoring.md shows them with `pulse-sidecar check`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pulse::sidecar {

struct NagiosRange {
    double start = 0;
    double end = 0;
    bool start_infinite = false;  // "~"
    bool end_infinite = false;    // nothing after ':'
    bool alert_inside = false;    // '@'
    std::string text;             // as written, for the performance data

    // True when `value` raises the alert this range stands for.
    bool alerts(double value) const;
};

// The range, or nullopt with `error` saying what is wrong.
std::optional<NagiosRange> parse_nagios_range(std::string_view text, std::string *error);

}  // namespace pulse::sidecar
