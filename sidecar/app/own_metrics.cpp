#include "own_metrics.h"

#include <prometheus/text_serializer.h>

#include <malloc.h>

#include <iterator>
#include <vector>

#include "signal_engine.h"

namespace pulse::sidecar {

std::string metrics_page(const prometheus::Registry &registry, SignalEngine *engine) {
    std::vector<prometheus::MetricFamily> families = registry.Collect();
    if (engine == nullptr) return prometheus::TextSerializer().Serialize(families);
    std::vector<prometheus::MetricFamily> config_signals = engine->collect();
    families.insert(families.end(), std::make_move_iterator(config_signals.begin()),
                    std::make_move_iterator(config_signals.end()));
    std::string body = prometheus::TextSerializer().Serialize(families);
    families.clear();
    families.shrink_to_fit();
    malloc_trim(0);
    return body;
}

}  // namespace pulse::sidecar
