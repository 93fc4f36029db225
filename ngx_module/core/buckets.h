// Histogram bucket bounds: parsing the operator's list, and finding an observation's bucket.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

inline constexpr std::size_t kMaxBuckets = 64;

// The default of `pulse_buckets`, in seconds (Prometheus client libraries' default).
inline constexpr double kDefaultBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,    2.5,   5,    10};

// Parses one bound as nginx would see it in a directive ("0.25", "1", "2.5e-3").
// Returns an error message, or nothing and sets `out`.
std::optional<std::string> parse_bound(std::string_view text, double &out);

// Checks a whole list: 1..kMaxBuckets finite positive bounds, strictly increasing.
std::optional<std::string> validate_bounds(std::span<const double> bounds);

// nginx measures times in whole milliseconds. An observation of `ms` falls in bucket i
// when ms <= bound_i * 1000; since ms is whole, that is ms <= floor(bound_i * 1000),
// computed once here with care for binary rounding (0.57 * 1000 is 569.999...).
std::vector<std::uint64_t> millisecond_thresholds(std::span<const double> bounds);

// Index of the bucket for `ms` in `thresholds`; thresholds.size() means +Inf.
inline std::size_t bucket_index(std::span<const std::uint64_t> thresholds, std::uint64_t ms) {
    std::size_t i = 0;
    while (i < thresholds.size() && ms > thresholds[i]) ++i;
    return i;
}

}  // namespace pulse
