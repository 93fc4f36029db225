// Evaluates a PromQL expression (ast.h) at one instant over stored samples, with
// Prometheus 2.42's semantics: the 5-minute lookback (a sample exactly 5 minutes old still
// counts) and staleness markers for instant selectors, closed ranges [t - range, t] for
// range selectors (Prometheus 3 made both left-open), rate/increase/delta extrapolation and
// counter resets, histogram_quantile's interpolation and `le` handling, aggregation and
// vector matching rules, and the metric name dropped where Prometheus drops it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ast.h"

namespace pulse::promql {

// Label sets are sorted by name; "__name__" holds the metric name.
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Point {
    std::int64_t t_ms = 0;
    double v = 0;
};

// Prometheus' staleness marker: a NaN with this bit pattern (value.StaleNaN), written when
// a series disappears from its target's scrape.
bool is_stale_marker(double v);
double stale_marker();

struct Series {
    Labels labels;
    std::vector<Point> points;  // ascending time; a Storage may keep them elsewhere
};

// Label matchers compiled once (their regular expressions), for a Storage that tests many
// label sets against the same selector.
class MatcherSet {
  public:
    explicit MatcherSet(const std::vector<LabelMatcher> &matchers);
    ~MatcherSet();
    // True when every matcher matches; an invalid regular expression matches nothing.
    bool matches(const Labels &labels) const;

  private:
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

bool labels_match(const std::vector<LabelMatcher> &matchers, const Labels &labels);

// What the evaluator reads: the series matching every matcher.
class Storage {
  public:
    virtual ~Storage() = default;
    virtual std::vector<const Series *> select(const std::vector<LabelMatcher> &matchers) const = 0;
    // True when select() answers in label order already (the evaluator then does not sort).
    virtual bool selects_in_label_order() const { return false; }
    // The samples of a selected series in [mint, maxt], oldest first, staleness markers
    // included, appended to `out`. The default reads series.points; a storage that keeps
    // samples another way (compressed: sidecar/lib/series_window.h) reads its own.
    virtual void read_points(const Series &series, std::int64_t mint, std::int64_t maxt,
                             std::vector<Point> &out) const;
    // The newest sample of a selected series at or before `maxt`.
    virtual std::optional<Point> newest_point(const Series &series, std::int64_t maxt) const;
    // A hint that read_points() will soon read this series (the evaluator gives it a few
    // series ahead); a storage whose series are each a cache miss away fetches them early.
    virtual void prefetch(const Series &) const {}
};

// A Storage over series held in memory (tests, the sidecar's window).
class MemoryStorage : public Storage {
  public:
    void add(Series series);
    std::vector<const Series *> select(const std::vector<LabelMatcher> &matchers) const override;

  private:
    std::vector<Series> series_;
};

struct InstantSample {
    Labels labels;
    double v = 0;
};

struct Scalar {
    double v = 0;
};

using InstantVector = std::vector<InstantSample>;

struct EvalError {
    std::size_t pos = 0;  // byte offset in the expression
    std::string message;  // as Prometheus words it where it has an equivalent
};

using EvalResult = std::variant<InstantVector, Scalar, EvalError>;

// Shared by the evaluations of several expressions at one instant over one storage (the
// sidecar's signals after a scrape): a range function over the same selector (e.g.
// rate(x[1m]) in five signals) is computed once. Not thread-safe; one per evaluation pass.
class EvalCache {
  public:
    EvalCache();
    ~EvalCache();
    EvalCache(const EvalCache &) = delete;
    EvalCache &operator=(const EvalCache &) = delete;
    struct Impl;
    Impl &impl() { return *impl_; }

  private:
    std::unique_ptr<Impl> impl_;
};

struct EvalOptions {
    std::int64_t lookback_ms = 5 * 60 * 1000;  // Prometheus' --query.lookback-delta default
    EvalCache *cache = nullptr;                // valid for one storage and one t_ms
};

// The expression's value at `t_ms`, as Prometheus' instant query at that time answers it.
// One difference: a range vector at the top level (`x[5m]`), for which Prometheus answers
// a matrix, is an error here, since a signal is an instant value.
EvalResult evaluate(const Node &expr, const Storage &storage, std::int64_t t_ms,
                    const EvalOptions &options = {});

// Label matchers and label_replace() run their patterns on RE2, which speaks the syntax of
// Prometheus' Go regexp, anchored as Prometheus anchors them: ^(?:pattern)$. What RE2 makes
// of `pattern` that way; the parser asks, so that what the evaluator cannot run is refused
// at parse time, and the compiled pattern is kept for the evaluation.
struct RegexCheck {
    std::string error;           // RE2's error ("pattern too large - compile failed", ...)
    bool matches_empty = false;  // when it compiles: whether it matches ""
};
RegexCheck check_regex(const std::string &pattern);

}  // namespace pulse::promql
