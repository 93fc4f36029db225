// The config's signals (signal_config.h) evaluated over the window of their sources'
// scrapes (series_window.h), with the rule that keeps them honest for an autoscaler: a
// signal that reads a source whose last scrape failed is absent, never 0 and never an old
// number, and says why. docs/workers.md describes it for users.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "promql/evaluator.h"
#include "series_window.h"
#include "signal_config.h"

namespace pulse::sidecar {

struct SourceStatus {
    bool scraped = false;  // a scrape finished, good or bad
    bool up = false;       // the last one was good
    std::string last_error;
};

// One series of a signal: the labels the expression leaves (no __name__), and its value.
struct SignalSeries {
    promql::Labels labels;
    double value = 0;
};

struct SignalValue {
    std::vector<SignalSeries> series;  // sorted by labels; empty when absent
    std::string absent_reason;         // why there is no series; empty when there are
};

struct SourceState {
    std::string name, url;
    bool scraped = false;
    bool up = false;
    std::string last_error;       // of the last scrape; empty when it was good
    double last_scrape_unix = 0;  // when the last scrape finished
    double duration_seconds = 0;  // how long it took
    std::size_t samples = 0;      // in the last good scrape
};

// What the sidecar and the adapter serve from: the last evaluation and the sources' health.
struct EngineSnapshot {
    double evaluated_unix = 0;        // 0: not evaluated yet
    std::vector<SignalValue> values;  // per config signal, in config order
    std::vector<SourceState> sources;
};

// Every vector selector in the expression.
void collect_selectors(const promql::Node &expr, std::vector<promql::VectorSelector> &out);
// The longest range any selector of the expression reads (0 for instant ones only): the
// window the custom metrics API reports for the signal.
std::int64_t longest_range_ms(const promql::Node &expr);

class SignalEvaluator {
  public:
    SignalEvaluator(const SidecarConfig &config, std::size_t sources);

    // The selectors of every signal, for SeriesWindow.
    std::vector<promql::VectorSelector> selectors() const;

    // Every signal, in config order, at `t_ms`.
    std::vector<SignalValue> evaluate(const SeriesWindow &window,
                                      const std::vector<SourceStatus> &sources, std::int64_t t_ms);

  private:
    SidecarConfig config_;
    // Per signal, the sources it has ever read a series from: it depends on them from then
    // on, also while a source is down and its series have left the window.
    std::vector<std::vector<bool>> reads_;
};

// True when `labels` has every pair of `required`.
bool has_labels(const promql::Labels &labels,
                const std::vector<std::pair<std::string, std::string>> &required);

// The sum of the signal's series that have every pair of `required`; nullopt when none
// has them (or the signal is absent).
std::optional<double> sum_matching(
    const SignalValue &value, const std::vector<std::pair<std::string, std::string>> &required);

}  // namespace pulse::sidecar
