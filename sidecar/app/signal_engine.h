// The config's sources scraped on their own intervals, and its signals evaluated over the
// window of their scrapes (sidecar/lib/series_window.h, config_signals.h) when someone reads
// them after a new scrape. `pulse-sidecar run` serves the result on /signals and /metrics;
// `pulse-sidecar adapter` serves it as Object metrics. Readers take an immutable snapshot;
// nothing they do waits for a scrape (a reader may wait for one evaluation).
#pragma once

#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config_signals.h"
#include "signal_config.h"

namespace pulse::sidecar {

class SignalEngine {
  public:
    // Registers the signals' and the sources' families in `registry`, which must outlive
    // the engine. `log_prefix` starts each log line ("pulse-sidecar: ").
    SignalEngine(SidecarConfig config, prometheus::Registry &registry, std::string log_prefix);
    ~SignalEngine();
    SignalEngine(const SignalEngine &) = delete;
    SignalEngine &operator=(const SignalEngine &) = delete;

    void start();
    void stop();

    const SidecarConfig &config() const { return config_; }
    // The signals at the last scrape, evaluated now if they were not since.
    std::shared_ptr<const EngineSnapshot> snapshot();
    // The config signals' families for /metrics, from the snapshot (evaluated if not yet):
    // built when asked, so that no gauge per series is kept between reads.
    std::vector<prometheus::MetricFamily> collect();

    // Window sizes, for tests and the bench.
    std::size_t series_count() const;
    std::size_t sample_count() const;

  private:
    struct Metrics;
    void scrape_loop(std::size_t source);
    void evaluate_locked(std::int64_t t_ms);

    SidecarConfig config_;
    std::string log_prefix_;
    std::unique_ptr<Metrics> metrics_;
    std::vector<std::thread> threads_;

    mutable std::mutex mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    SignalEvaluator evaluator_;
    std::unique_ptr<SeriesWindow> window_;
    std::vector<SourceState> sources_;
    std::int64_t last_t_ms_ = 0;
    std::int64_t last_prune_ms_ = 0;
    std::uint64_t scrapes_ = 0;  // good and failed
    std::uint64_t evaluated_scrapes_ = 0;
    std::shared_ptr<const EngineSnapshot> snapshot_;
};

}  // namespace pulse::sidecar
