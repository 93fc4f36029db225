// The families pulse-sidecar (run and adapter) exposes about itself on /metrics, through
// prometheus-cpp, and the /metrics page they make with the config signals.
#pragma once

#include <prometheus/detail/builder.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <string>
#include <string_view>

namespace pulse::sidecar {

class SignalEngine;

// A family of `Metric` (prometheus::Counter, Gauge, Histogram) registered in `registry`.
template <typename Metric>
prometheus::Family<Metric> &add_family(prometheus::Registry &registry, std::string_view name,
                                       std::string_view help) {
    return prometheus::detail::Builder<Metric>()
        .Name(std::string(name))
        .Help(std::string(help))
        .Register(registry);
}

// The /metrics page (text format 0.0.4): the families of `registry`, then, when `engine` is
// not null, the config signals' families, built for this answer and handed back to the
// system once written (thousands of series).
std::string metrics_page(const prometheus::Registry &registry, SignalEngine *engine);

}  // namespace pulse::sidecar
