#include "config_signals.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <variant>

namespace pulse::sidecar {

namespace {

// One evaluation pass's selections, shared by its signals: the same selector in several
// signals is matched once, and the sources of its series found once.
struct Selection {
    std::vector<const promql::Series *> series;
    std::vector<std::size_t> targets;  // the sources they come from
};
using SelectCache = std::unordered_map<std::string, Selection>;

std::string selection_key(const std::vector<promql::LabelMatcher> &matchers) {
    std::string key;
    for (const promql::LabelMatcher &m : matchers) {
        key += m.name;
        key += static_cast<char>('0' + static_cast<int>(m.op));
        key += m.value;
        key += '\0';
    }
    return key;
}

// The window as the evaluator sees it, noting which sources a signal's selectors read.
class RecordingStorage : public promql::Storage {
  public:
    RecordingStorage(const SeriesWindow &window, SelectCache &cache, std::vector<bool> &reads)
        : window_(window), cache_(cache), reads_(reads) {}

    std::vector<const promql::Series *> select(
        const std::vector<promql::LabelMatcher> &matchers) const override {
        std::string key = selection_key(matchers);
        auto it = cache_.find(key);
        if (it == cache_.end()) {
            Selection selection{window_.select(matchers), {}};
            for (const promql::Series *s : selection.series) {
                const std::size_t target = window_.target_of(s);
                if (std::find(selection.targets.begin(), selection.targets.end(), target) ==
                    selection.targets.end())
                    selection.targets.push_back(target);
            }
            it = cache_.emplace(std::move(key), std::move(selection)).first;
        }
        for (std::size_t target : it->second.targets) reads_[target] = true;
        return it->second.series;
    }
    bool selects_in_label_order() const override { return window_.selects_in_label_order(); }
    void read_points(const promql::Series &series, std::int64_t mint, std::int64_t maxt,
                     std::vector<promql::Point> &out) const override {
        window_.read_points(series, mint, maxt, out);
    }
    std::optional<promql::Point> newest_point(const promql::Series &series,
                                              std::int64_t maxt) const override {
        return window_.newest_point(series, maxt);
    }
    void prefetch(const promql::Series &series) const override { window_.prefetch(series); }

  private:
    const SeriesWindow &window_;
    SelectCache &cache_;
    std::vector<bool> &reads_;
};

template <typename F>
void walk(const promql::Node &node, F &&visit) {
    visit(node);
    std::visit(
        [&](const auto &v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, promql::Call>) {
                for (const auto &a : v.args) walk(*a, visit);
            } else if constexpr (std::is_same_v<T, promql::Aggregation>) {
                walk(*v.expr, visit);
            } else if constexpr (std::is_same_v<T, promql::Binary>) {
                walk(*v.lhs, visit);
                walk(*v.rhs, visit);
            } else if constexpr (std::is_same_v<T, promql::Unary>) {
                walk(*v.expr, visit);
            }
        },
        node.value);
}

}  // namespace

void collect_selectors(const promql::Node &expr, std::vector<promql::VectorSelector> &out) {
    walk(expr, [&](const promql::Node &n) {
        if (auto *s = std::get_if<promql::VectorSelector>(&n.value)) out.push_back(*s);
    });
}

std::int64_t longest_range_ms(const promql::Node &expr) {
    std::vector<promql::VectorSelector> selectors;
    collect_selectors(expr, selectors);
    std::int64_t longest = 0;
    for (const auto &s : selectors) longest = std::max(longest, s.range_ms);
    return longest;
}

SignalEvaluator::SignalEvaluator(const SidecarConfig &config, std::size_t sources)
    : config_(config), reads_(config.signals.size(), std::vector<bool>(sources, false)) {}

std::vector<promql::VectorSelector> SignalEvaluator::selectors() const {
    std::vector<promql::VectorSelector> out;
    for (const SignalConfig &s : config_.signals) collect_selectors(*s.parsed, out);
    return out;
}

std::vector<SignalValue> SignalEvaluator::evaluate(const SeriesWindow &window,
                                                   const std::vector<SourceStatus> &sources,
                                                   std::int64_t t_ms) {
    std::vector<SignalValue> out(config_.signals.size());
    // The series the selections hand out are the window's views for this pass.
    struct Release {
        const SeriesWindow &window;
        ~Release() { window.release_views(); }
    } release{window};
    promql::EvalCache cache;  // rate(x[1m]) read by several signals is computed once
    SelectCache selections;
    promql::EvalOptions options;
    options.cache = &cache;
    for (std::size_t i = 0; i < config_.signals.size(); ++i) {
        const SignalConfig &signal = config_.signals[i];
        SignalValue &value = out[i];
        RecordingStorage storage(window, selections, reads_[i]);
        promql::EvalResult result = promql::evaluate(*signal.parsed, storage, t_ms, options);

        // A source it reads is down: its part of the answer is missing or old, so the
        // whole answer would mislead.
        std::string down;
        for (std::size_t s = 0; s < sources.size() && s < reads_[i].size(); ++s) {
            if (!reads_[i][s] || sources[s].up) continue;
            down = "source " + config_.sources[s].name + " is down" +
                   (sources[s].last_error.empty() ? "" : ": " + sources[s].last_error);
            break;
        }
        if (!down.empty()) {
            value.absent_reason = down;
            continue;
        }
        if (auto *e = std::get_if<promql::EvalError>(&result)) {
            value.absent_reason =
                "evaluation failed at position " + std::to_string(e->pos + 1) + ": " + e->message;
            continue;
        }
        if (auto *scalar = std::get_if<promql::Scalar>(&result)) {
            value.series.push_back({{}, scalar->v});
            continue;
        }
        for (promql::InstantSample &sample : std::get<promql::InstantVector>(result)) {
            SignalSeries series;
            for (auto &label : sample.labels) {
                if (label.first != "__name__") series.labels.push_back(std::move(label));
            }
            series.value = sample.v;
            value.series.push_back(std::move(series));
        }
        std::sort(value.series.begin(), value.series.end(),
                  [](const SignalSeries &a, const SignalSeries &b) { return a.labels < b.labels; });
        if (value.series.empty()) {
            bool any_scraped = false, any_up = false;
            for (const SourceStatus &s : sources) {
                any_scraped |= s.scraped;
                any_up |= s.up;
            }
            value.absent_reason = !any_scraped ? "no source scraped yet"
                                  : !any_up    ? "every source is down"
                                               : "the expression selects no series";
        }
    }
    return out;
}

bool has_labels(const promql::Labels &labels,
                const std::vector<std::pair<std::string, std::string>> &required) {
    for (const auto &r : required) {
        if (std::find(labels.begin(), labels.end(), r) == labels.end()) return false;
    }
    return true;
}

std::optional<double> sum_matching(
    const SignalValue &value, const std::vector<std::pair<std::string, std::string>> &required) {
    std::optional<double> sum;
    for (const SignalSeries &s : value.series) {
        if (has_labels(s.labels, required)) sum = sum.value_or(0) + s.value;
    }
    return sum;
}

}  // namespace pulse::sidecar
