// The /signals document: every signal for the pod and per server, with the time of the
// scrape they come from and how old it is, so no reader mistakes old numbers for fresh.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config_signals.h"
#include "signal_config.h"
#include "signals.h"

namespace pulse::sidecar {

struct SignalsMeta {
    std::optional<double> last_good_scrape_unix;  // seconds since the epoch
    double now_unix = 0;
    double stale_after_seconds = 5;
    bool draining = false;
    std::string last_error;  // empty when the last scrape was good
};

nlohmann::json signals_to_json(const Signals &signals, const SignalsMeta &meta);

// The config's part of /signals (docs/workers.md): "sources", each source's health, and
// "config_signals", each signal's series (labels and value) with the time of the
// evaluation, its window, whether it is too old to use, and why it is absent when it is.
// Merged into the document signals_to_json makes.
void add_config_to_json(nlohmann::json &doc, const SidecarConfig &config,
                        const EngineSnapshot &snapshot, double now_unix);

}  // namespace pulse::sidecar
