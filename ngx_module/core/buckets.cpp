#include "core/buckets.h"

#include <charconv>
#include <cmath>

namespace pulse {

std::optional<std::string> parse_bound(std::string_view text, double &out) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return "invalid bucket bound \"" + std::string(text) + "\"";
    }
    if (!std::isfinite(value) || value <= 0) {
        return "bucket bound \"" + std::string(text) + "\" must be a positive number of seconds";
    }
    out = value;
    return std::nullopt;
}

std::optional<std::string> validate_bounds(std::span<const double> bounds) {
    if (bounds.empty()) return "at least one bucket bound is needed";
    if (bounds.size() > kMaxBuckets) {
        return "at most " + std::to_string(kMaxBuckets) + " bucket bounds are allowed";
    }
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (!std::isfinite(bounds[i]) || bounds[i] <= 0) return "bucket bounds must be positive";
        if (i > 0 && bounds[i] <= bounds[i - 1]) return "bucket bounds must increase strictly";
    }
    return std::nullopt;
}

std::vector<std::uint64_t> millisecond_thresholds(std::span<const double> bounds) {
    std::vector<std::uint64_t> out;
    out.reserve(bounds.size());
    for (double b : bounds) {
        double ms = b * 1000.0;
        double nearest = std::round(ms);
        // Treat values within a few ulps of a whole number as that number.
        double whole =
            std::fabs(ms - nearest) <= 1e-9 * std::max(1.0, ms) ? nearest : std::floor(ms);
        out.push_back(whole >= 1.8e19 ? UINT64_MAX : static_cast<std::uint64_t>(whole));
    }
    return out;
}

}  // namespace pulse
