#include "hpa_flags.h"

#include <charconv>
#include <cmath>

#include "hpa/live_state.h"

namespace pulse::sidecar {

std::optional<double> controller_duration(std::string_view text) {
    double bare = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bare);
    if (!text.empty() && ec == std::errc() && end == text.data() + text.size())
        return std::isfinite(bare) && bare >= 0 ? std::optional<double>(bare) : std::nullopt;
    return hpa::parse_go_duration(text);
}

void add_controller_flags(CLI::App &c, hpa::ControllerOptions &options) {
    c.add_option_function<std::string>(
        "--tolerance,--horizontal-pod-autoscaler-tolerance",
        [&options](const std::string &text) {
            double v = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v < 0)
                throw CLI::ValidationError(
                    "--tolerance: \"" + text + "\" is not a number at least 0 (0.1 is 10%)", 2);
            options.tolerance = v;
        },
        "Ratio of current to target within which nothing changes (default 0.1)");
    auto duration = [&c](const std::string &names, double &seconds, const std::string &help) {
        c.add_option_function<std::string>(
            names,
            [&seconds, names](const std::string &text) {
                auto v = controller_duration(text);
                if (!v)
                    throw CLI::ValidationError(names.substr(0, names.find(',')) + ": \"" + text +
                                                   "\" is not a duration (\"5m0s\", \"30s\", "
                                                   "\"300\")",
                                               2);
                seconds = *v;
            },
            help);
    };
    duration("--cpu-initialization-period,--horizontal-pod-autoscaler-cpu-initialization-period",
             options.cpu_initialization_period,
             "After a pod starts, CPU samples count only from a ready pod with a full metric "
             "window since it became ready (default 5m0s)");
    duration("--initial-readiness-delay,--horizontal-pod-autoscaler-initial-readiness-delay",
             options.initial_readiness_delay,
             "After a pod starts, readiness changes within this count as its first readiness "
             "(default 30s)");
    duration("--downscale-stabilization,--horizontal-pod-autoscaler-downscale-stabilization",
             options.downscale_stabilization_window,
             "Scale down only to the highest recommendation of this past window (default 5m0s)");
}

}  // namespace pulse::sidecar
