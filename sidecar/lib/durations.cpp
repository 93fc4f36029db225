#include "durations.h"

#include <charconv>
#include <cmath>

namespace pulse::sidecar {

std::optional<double> parse_duration(std::string_view text, std::string *error) {
    auto fail = [&](const std::string &why) -> std::optional<double> {
        if (error != nullptr) *error = "invalid duration \"" + std::string(text) + "\": " + why;
        return std::nullopt;
    };
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data())
        return fail("expected a number and a unit, like 1s");
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    double scale;
    if (unit.empty() || unit == "s") {
        scale = 1;
    } else if (unit == "ms") {
        scale = 0.001;
    } else if (unit == "m") {
        scale = 60;
    } else if (unit == "h") {
        scale = 3600;
    } else {
        return fail("unknown unit \"" + std::string(unit) + "\" (ms, s, m, h)");
    }
    value *= scale;
    if (!std::isfinite(value) || value < 0) return fail("must be a positive duration");
    return value;
}

}  // namespace pulse::sidecar
