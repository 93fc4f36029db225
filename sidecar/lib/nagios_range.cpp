#include "nagios_range.h"

#include <charconv>
#include <cmath>

namespace pulse::sidecar {

namespace {

// A number as the plugins' strtod reads it, but the whole text or nothing.
std::optional<double> number(std::string_view s) {
    if (s.empty()) return std::nullopt;
    double v = 0;
    const char *first = s.data(), *last = s.data() + s.size();
    if (*first == '+') ++first;  // from_chars takes no '+'
    auto [end, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || end != last || !std::isfinite(v)) return std::nullopt;
    return v;
}

}  // namespace

bool NagiosRange::alerts(double value) const {
    if (std::isnan(value)) return true;  // no number is never "within" anything
    const bool above_start = start_infinite || value >= start;
    const bool below_end = end_infinite || value <= end;
    const bool inside = above_start && below_end;
    return alert_inside ? inside : !inside;
}

std::optional<NagiosRange> parse_nagios_range(std::string_view text, std::string *error) {
    auto fail = [&](std::string why) -> std::optional<NagiosRange> {
        if (error) *error = "threshold \"" + std::string(text) + "\": " + why;
        return std::nullopt;
    };
    NagiosRange r;
    r.text = std::string(text);
    std::string_view s = text;
    if (s.empty()) return fail("empty");
    if (s.front() == '@') {
        r.alert_inside = true;
        s.remove_prefix(1);
    }
    const std::size_t colon = s.find(':');
    if (colon == std::string_view::npos) {
        // "10": from 0 to 10
        auto end = number(s);
        if (!end) return fail("not a number or range");
        r.end = *end;
    } else {
        const std::string_view start = s.substr(0, colon), end = s.substr(colon + 1);
        if (start == "~") {
            r.start_infinite = true;
        } else if (!start.empty()) {
            auto v = number(start);
            if (!v) return fail("start \"" + std::string(start) + "\" is not a number or ~");
            r.start = *v;
        }
        if (end.empty()) {
            r.end_infinite = true;
        } else {
            auto v = number(end);
            if (!v) return fail("end \"" + std::string(end) + "\" is not a number");
            r.end = *v;
        }
    }
    if (!r.start_infinite && !r.end_infinite && r.start > r.end)
        return fail("start is greater than end");
    return r;
}

}  // namespace pulse::sidecar
