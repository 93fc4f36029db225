// The config's PromQL signals evaluated over the window of their sources' scrapes
// (sidecar/lib/config_signals.h): per-series results, scalars, the rule that a signal that
// ever read a down source is absent, the reasons a signal is absent, the helpers the
// adapter uses, and the "sources"/"config_signals" part of /signals (signals_json.h).
#include "config_signals.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "exposition_parser.h"
#include "promql/parser.h"
#include "series_window.h"
#include "signal_config.h"
#include "signals_json.h"

namespace pulse::sidecar {
namespace {

using promql::Labels;

constexpr std::int64_t kS = 1000;
constexpr std::int64_t kM = 60 * kS;

const char *kConfig = R"yaml(
sources:
  - name: A
    url: http://127.0.0.1:9121/metrics
    interval: 2s
  - name: B
    url: https://user:secret@b.internal/metrics
    interval: 5s
signals:
  - name: jobs_waiting
    help: Jobs waiting, per job.
    expr: label_replace(queue_size{key=~"queue:.*"}, "job", "$2", "key", "queue:(.):(.*)")
  - name: pending_total
    expr: sum(pending)
  - name: pending_a
    expr: sum(pending{job="A"})
  - name: pending_a_quarter
    expr: scalar(sum(pending{job="A"})) / 4
  - name: pending_b_max
    expr: max_over_time(pending{job="B"}[1m])
  - name: nothing
    expr: sum(rate(not_exported_total[1m]))
  - name: clash
    expr: label_replace(dup, "a", "same", "", "")
  - name: sizes
    expr: '{__name__=~"alpha_size|zeta_size"}'
)yaml";

// A's exposition; `pending` is A's pending value.
std::string a_text(int pending) {
    return "# TYPE queue_size gauge\n"
           "queue_size{key=\"queue:1:reports\"} 4\n"
           "queue_size{key=\"queue:2:emails\"} 3\n"
           "queue_size{key=\"lock:x\"} 1\n"
           "# TYPE pending gauge\n"
           "pending " +
           std::to_string(pending) +
           "\n"
           "alpha_size{queue=\"z\"} 10\n"
           "zeta_size{queue=\"a\"} 20\n"
           "# TYPE dup gauge\n"
           "dup{a=\"1\"} 1\n"
           "dup{a=\"2\"} 2\n";
}

std::string b_text(int pending) {
    return "# TYPE pending gauge\npending " + std::to_string(pending) + "\n";
}

SidecarConfig config_of(std::string_view yaml) {
    auto r = parse_config(yaml, "workers.yaml");
    if (auto *e = std::get_if<ConfigError>(&r)) {
        ADD_FAILURE() << e->message;
        return {};
    }
    return std::get<SidecarConfig>(std::move(r));
}

promql::NodePtr parsed(std::string_view expr) {
    auto r = promql::parse(expr);
    if (auto *e = std::get_if<promql::ParseError>(&r)) {
        ADD_FAILURE() << expr << ": " << e->describe(expr);
        return nullptr;
    }
    return std::get<promql::NodePtr>(r);
}

class ConfigSignals : public ::testing::Test {
  protected:
    ConfigSignals() : config(config_of(kConfig)), evaluator(config, config.sources.size()) {
        std::vector<ScrapeTarget> targets;
        for (const SourceConfig &s : config.sources)
            targets.push_back({s.name, instance_of(s.url)});
        window = std::make_unique<SeriesWindow>(targets, evaluator.selectors());
        status.resize(config.sources.size());
    }

    void scrape(std::size_t source, const std::string &text, std::int64_t t_ms) {
        // As the engine does: the text parsed straight into the window.
        auto r = window->ingest_text(source, text, TextFormat::prometheus_0_0_4, t_ms);
        if (auto *e = std::get_if<ParseError>(&r))
            ADD_FAILURE() << "exposition line " << e->line << ": " << e->message;
        status[source] = {true, true, ""};
    }
    void fail(std::size_t source, const std::string &error, std::int64_t t_ms) {
        window->fail(source, t_ms);
        status[source] = {true, false, error};
    }
    void evaluate(std::int64_t t_ms) { values = evaluator.evaluate(*window, status, t_ms); }

    const SignalValue &value(std::string_view name) const {
        for (std::size_t i = 0; i < config.signals.size(); ++i) {
            if (config.signals[i].name == name) return values.at(i);
        }
        ADD_FAILURE() << "no signal " << name;
        static const SignalValue none;
        return none;
    }
    // The value of a signal with exactly one series (NaN, with a failure, otherwise).
    double single(std::string_view name) const {
        const SignalValue &v = value(name);
        if (v.series.size() != 1) {
            ADD_FAILURE() << name << ": " << v.series.size() << " series, absent_reason \""
                          << v.absent_reason << "\"";
            return std::numeric_limits<double>::quiet_NaN();
        }
        EXPECT_EQ(v.absent_reason, "") << name;
        return v.series[0].value;
    }

    SidecarConfig config;
    SignalEvaluator evaluator;
    std::unique_ptr<SeriesWindow> window;
    std::vector<SourceStatus> status;
    std::vector<SignalValue> values;
    const std::int64_t t1 = 1'700'000'000'000;
};

TEST_F(ConfigSignals, ConfigHasTwoSourcesAndTheSignals) {
    ASSERT_EQ(config.sources.size(), 2u);
    ASSERT_EQ(config.signals.size(), 8u);
    EXPECT_EQ(instance_of(config.sources[1].url), "b.internal:443");
}

TEST_F(ConfigSignals, PerSeriesResultsHaveLabelsWithoutNameSortedByLabels) {
    scrape(0, a_text(5), t1);
    scrape(1, b_text(7), t1);
    evaluate(t1);
    ASSERT_EQ(values.size(), config.signals.size());

    // Sorted by the labels label_replace leaves: emails first, though A exposes reports first
    // and reports' key sorts first.
    const SignalValue &jobs = value("jobs_waiting");
    EXPECT_EQ(jobs.absent_reason, "");
    ASSERT_EQ(jobs.series.size(), 2u);
    EXPECT_EQ(
        jobs.series[0].labels,
        (Labels{{"instance", "127.0.0.1:9121"}, {"job", "emails"}, {"key", "queue:2:emails"}}));
    EXPECT_EQ(jobs.series[0].value, 3);
    EXPECT_EQ(
        jobs.series[1].labels,
        (Labels{{"instance", "127.0.0.1:9121"}, {"job", "reports"}, {"key", "queue:1:reports"}}));
    EXPECT_EQ(jobs.series[1].value, 4);

    // Sorted by labels without __name__: the evaluator's order (by labels with the name,
    // alpha_size{queue="z"} first) is not that.
    const SignalValue &sizes = value("sizes");
    ASSERT_EQ(sizes.series.size(), 2u);
    EXPECT_EQ(sizes.series[0].labels,
              (Labels{{"instance", "127.0.0.1:9121"}, {"job", "A"}, {"queue", "a"}}));
    EXPECT_EQ(sizes.series[0].value, 20);
    EXPECT_EQ(sizes.series[1].labels,
              (Labels{{"instance", "127.0.0.1:9121"}, {"job", "A"}, {"queue", "z"}}));
    EXPECT_EQ(sizes.series[1].value, 10);

    // An aggregation without grouping: one series, no labels.
    EXPECT_EQ(single("pending_total"), 5 + 7);
    EXPECT_TRUE(value("pending_total").series[0].labels.empty());
    EXPECT_EQ(single("pending_a"), 5);
    // A range function keeps the labels but the name: B's target labels.
    EXPECT_EQ(single("pending_b_max"), 7);
    EXPECT_EQ(value("pending_b_max").series[0].labels,
              (Labels{{"instance", "b.internal:443"}, {"job", "B"}}));

    // A later scrape moves the numbers.
    scrape(0, a_text(9), t1 + 2 * kS);
    scrape(1, b_text(2), t1 + 2 * kS);
    evaluate(t1 + 2 * kS);
    EXPECT_EQ(single("pending_total"), 9 + 2);
    EXPECT_EQ(single("pending_b_max"), 7);  // the max of 7 and 2 over the last minute
}

TEST_F(ConfigSignals, AScalarExpressionIsOneSeriesWithoutLabels) {
    scrape(0, a_text(5), t1);
    scrape(1, b_text(7), t1);
    evaluate(t1);
    const SignalValue &q = value("pending_a_quarter");
    EXPECT_EQ(q.absent_reason, "");
    ASSERT_EQ(q.series.size(), 1u);
    EXPECT_TRUE(q.series[0].labels.empty());
    EXPECT_EQ(q.series[0].value, 1.25);
}

TEST_F(ConfigSignals, ASignalThatReadADownSourceIsAbsentAlsoAfterItsSeriesArePruned) {
    scrape(0, a_text(5), t1);
    scrape(1, b_text(7), t1);
    evaluate(t1);
    ASSERT_EQ(single("pending_total"), 12);

    // B fails: every signal that read B is absent; those reading A only are not.
    const std::int64_t t2 = t1 + 5 * kS;
    scrape(0, a_text(6), t2);
    fail(1, "connection refused", t2);
    evaluate(t2);
    for (const char *name : {"pending_total", "pending_b_max"}) {
        const SignalValue &v = value(name);
        EXPECT_TRUE(v.series.empty()) << name;
        EXPECT_EQ(v.absent_reason, "source B is down: connection refused") << name;
        EXPECT_EQ(v.absent_reason.rfind("source B is down", 0), 0u) << name;
    }
    EXPECT_EQ(single("pending_a"), 6);
    EXPECT_EQ(single("pending_a_quarter"), 1.5);
    EXPECT_EQ(value("jobs_waiting").series.size(), 2u);
    EXPECT_EQ(value("nothing").absent_reason, "the expression selects no series");

    // Long after, B's series have left the window: B is still down, and what read it is
    // still absent (a sum of A's part alone would be a wrong number, not a missing one).
    const std::int64_t t3 = t2 + kM + 5 * kM + kS;
    scrape(0, a_text(8), t3);
    fail(1, "", t3);
    window->prune(t3);
    EXPECT_TRUE(window->select({{"job", promql::LabelMatcher::Op::equal, "B", 0}}).empty());
    EXPECT_EQ(window->series_count(), 8u);  // A's only: 3 queue_size, pending, 2 sizes, 2 dup
    evaluate(t3);
    EXPECT_EQ(value("pending_total").absent_reason, "source B is down");
    EXPECT_TRUE(value("pending_total").series.empty());
    EXPECT_EQ(value("pending_b_max").absent_reason, "source B is down");
    EXPECT_EQ(single("pending_a"), 8);

    // B back: the signals are back, with B's new value.
    const std::int64_t t4 = t3 + 5 * kS;
    scrape(1, b_text(1), t4);
    evaluate(t4);
    EXPECT_EQ(single("pending_total"), 8 + 1);
    EXPECT_EQ(single("pending_b_max"), 1);
}

TEST_F(ConfigSignals, ASourceDownBeforeASignalReadItDoesNotMakeItAbsent) {
    // B never scraped well: pending_total has only ever read A, and is A's sum.
    scrape(0, a_text(5), t1);
    fail(1, "timeout", t1);
    evaluate(t1);
    EXPECT_EQ(single("pending_total"), 5);
    EXPECT_EQ(value("pending_b_max").absent_reason, "the expression selects no series");
}

TEST_F(ConfigSignals, ReasonsForAbsence) {
    // Nothing scraped yet.
    evaluate(t1);
    EXPECT_EQ(value("pending_total").absent_reason, "no source scraped yet");
    EXPECT_TRUE(value("pending_total").series.empty());
    EXPECT_EQ(value("nothing").absent_reason, "no source scraped yet");

    scrape(0, a_text(5), t1 + kS);
    scrape(1, b_text(7), t1 + kS);
    evaluate(t1 + kS);
    // A signal selecting nothing.
    EXPECT_TRUE(value("nothing").series.empty());
    EXPECT_EQ(value("nothing").absent_reason, "the expression selects no series");
    // An evaluation error: label_replace makes dup{a="1"} and dup{a="2"} the same series.
    const SignalValue &clash = value("clash");
    EXPECT_TRUE(clash.series.empty());
    EXPECT_EQ(clash.absent_reason.rfind("evaluation failed", 0), 0u) << clash.absent_reason;
    EXPECT_NE(clash.absent_reason.find("same labelset"), std::string::npos) << clash.absent_reason;
    // Present signals have no reason.
    EXPECT_EQ(value("pending_total").absent_reason, "");
}

TEST_F(ConfigSignals, SumMatchingAndHasLabels) {
    scrape(0, a_text(5), t1);
    scrape(1, b_text(7), t1);
    evaluate(t1);
    const SignalValue &jobs = value("jobs_waiting");
    using Req = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(sum_matching(jobs, Req{{"job", "emails"}}), std::optional<double>(3));
    EXPECT_EQ(sum_matching(jobs, Req{{"job", "reports"}}), std::optional<double>(4));
    EXPECT_EQ(sum_matching(jobs, Req{}), std::optional<double>(7));
    EXPECT_EQ(sum_matching(jobs, Req{{"instance", "127.0.0.1:9121"}}), std::optional<double>(7));
    EXPECT_EQ(sum_matching(jobs, Req{{"job", "emails"}, {"key", "queue:2:emails"}}),
              std::optional<double>(3));
    EXPECT_EQ(sum_matching(jobs, Req{{"job", "emails"}, {"key", "queue:1:reports"}}), std::nullopt);
    EXPECT_EQ(sum_matching(jobs, Req{{"job", "nope"}}), std::nullopt);
    EXPECT_EQ(sum_matching(jobs, Req{{"nope", "emails"}}), std::nullopt);
    // An absent signal sums to nothing, not 0.
    EXPECT_EQ(sum_matching(value("nothing"), Req{}), std::nullopt);
    // A series of 0 is a sum of 0, not nothing.
    SignalValue zero;
    zero.series.push_back({{{"job", "x"}}, 0});
    EXPECT_EQ(sum_matching(zero, Req{{"job", "x"}}), std::optional<double>(0));

    Labels labels{{"instance", "h:80"}, {"job", "emails"}};
    EXPECT_TRUE(has_labels(labels, {}));
    EXPECT_TRUE(has_labels(labels, {{"job", "emails"}}));
    EXPECT_TRUE(has_labels(labels, {{"job", "emails"}, {"instance", "h:80"}}));
    EXPECT_FALSE(has_labels(labels, {{"job", "reports"}}));
    EXPECT_FALSE(has_labels(labels, {{"job", "emails"}, {"instance", "h:81"}}));
    EXPECT_FALSE(has_labels(labels, {{"queue", "emails"}}));
    EXPECT_FALSE(has_labels({}, {{"job", "emails"}}));
}

TEST(ConfigSignalsSelectors, LongestRangeMs) {
    EXPECT_EQ(longest_range_ms(*parsed("x")), 0);
    EXPECT_EQ(longest_range_ms(*parsed("1 + 2")), 0);
    EXPECT_EQ(longest_range_ms(*parsed("rate(x[1m])")), 60'000);
    // In every kind of node: binary (either side), aggregation, unary, call arguments.
    EXPECT_EQ(longest_range_ms(*parsed("sum(rate(a[1m])) / sum(rate(b[5m])) + c")), 300'000);
    EXPECT_EQ(longest_range_ms(*parsed("rate(a[7m]) - rate(b[5m])")), 420'000);
    EXPECT_EQ(longest_range_ms(*parsed("-max_over_time(c[90s])")), 90'000);
    EXPECT_EQ(longest_range_ms(*parsed("sum by (k) (rate(x[10m]))")), 600'000);
    EXPECT_EQ(longest_range_ms(*parsed("label_replace(rate(x[2m]), \"a\", \"b\", \"c\", \"d\")")),
              120'000);
    EXPECT_EQ(longest_range_ms(*parsed("max_over_time(x[3m]) > bool 1")), 180'000);
    EXPECT_EQ(longest_range_ms(*parsed("(rate(x[1h]))")), 3'600'000);
}

TEST(ConfigSignalsSelectors, CollectSelectors) {
    std::vector<promql::VectorSelector> out;
    collect_selectors(*parsed("a + on(k) sum(rate(b{c=\"d\"}[2m]))"), out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].name, "a");
    EXPECT_EQ(out[0].range_ms, 0);
    ASSERT_EQ(out[0].matchers.size(), 1u);
    EXPECT_EQ(out[0].matchers[0].name, "__name__");
    EXPECT_EQ(out[0].matchers[0].value, "a");
    EXPECT_EQ(out[1].name, "b");
    EXPECT_EQ(out[1].range_ms, 120'000);
    ASSERT_EQ(out[1].matchers.size(), 2u);
    EXPECT_EQ(out[1].matchers[1].name, "c");
    EXPECT_EQ(out[1].matchers[1].op, promql::LabelMatcher::Op::equal);
    EXPECT_EQ(out[1].matchers[1].value, "d");

    // Appends; a selector without a name; none in a number.
    collect_selectors(*parsed("{job=~\"x.*\"}"), out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[2].name, "");
    ASSERT_EQ(out[2].matchers.size(), 1u);
    EXPECT_EQ(out[2].matchers[0].op, promql::LabelMatcher::Op::regex);
    collect_selectors(*parsed("1 + 2"), out);
    EXPECT_EQ(out.size(), 3u);

    // The evaluator's selectors: every signal's, in config order.
    SidecarConfig config = config_of(kConfig);
    SignalEvaluator evaluator(config, config.sources.size());
    std::vector<std::string> names;
    for (const auto &s : evaluator.selectors())
        names.push_back(s.name + (s.range_ms ? "[" + std::to_string(s.range_ms) + "]" : ""));
    EXPECT_EQ(names,
              (std::vector<std::string>{"queue_size", "pending", "pending", "pending",
                                        "pending[60000]", "not_exported_total[60000]", "dup", ""}));
}

TEST_F(ConfigSignals, AddConfigToJsonShape) {
    // Before any evaluation: what the engine starts with.
    EngineSnapshot first;
    first.values.resize(config.signals.size());
    for (auto &v : first.values) v.absent_reason = "no source scraped yet";
    for (const SourceConfig &s : config.sources) {
        SourceState state;
        state.name = s.name;
        state.url = s.url;
        first.sources.push_back(state);
    }
    nlohmann::json doc = nlohmann::json::object();
    add_config_to_json(doc, config, first, 1'700'000'000.0);
    ASSERT_TRUE(doc["sources"].is_object());
    EXPECT_EQ(doc["sources"].size(), 2u);
    EXPECT_EQ(doc["sources"]["A"]["up"], false);
    EXPECT_EQ(doc["sources"]["A"]["last_error"], "not scraped yet");
    EXPECT_EQ(doc["sources"]["A"]["samples"], 0);
    EXPECT_EQ(doc["sources"]["B"]["url"], "https://user:secret@b.internal/metrics");
    ASSERT_TRUE(doc["config_signals"].is_object());
    EXPECT_EQ(doc["config_signals"].size(), config.signals.size());
    for (const SignalConfig &s : config.signals) {
        auto &j = doc["config_signals"][s.name];
        EXPECT_EQ(j["stale"], true) << s.name;
        EXPECT_EQ(j["series"], nlohmann::json::array()) << s.name;
        EXPECT_EQ(j["absent_reason"], "no source scraped yet") << s.name;
        EXPECT_TRUE(j["timestamp"].is_null()) << s.name;
    }

    // After an evaluation with B down.
    scrape(0, a_text(5), t1);
    scrape(1, b_text(7), t1);
    evaluate(t1);
    const std::int64_t t2 = t1 + 5 * kS;
    scrape(0, a_text(6), t2);
    fail(1, "connection refused", t2);
    evaluate(t2);
    EngineSnapshot snap;
    snap.evaluated_unix = static_cast<double>(t2) / 1000;
    snap.values = values;
    SourceState a{"A", config.sources[0].url, true, true, "", snap.evaluated_unix, 0.01, 8};
    SourceState b{
        "B", config.sources[1].url, true, false, "connection refused", snap.evaluated_unix, 0.5, 1};
    snap.sources = {a, b};
    const double e = snap.evaluated_unix;

    doc = nlohmann::json::object();
    doc["kept"] = 1;  // merged into the document, not replacing it
    add_config_to_json(doc, config, snap, e + 1);
    EXPECT_EQ(doc["kept"], 1);
    EXPECT_EQ(doc["sources"]["A"]["up"], true);
    EXPECT_TRUE(doc["sources"]["A"]["last_error"].is_null());
    EXPECT_EQ(doc["sources"]["A"]["samples"], 8);
    EXPECT_EQ(doc["sources"]["B"]["up"], false);
    EXPECT_EQ(doc["sources"]["B"]["last_error"], "connection refused");
    EXPECT_EQ(doc["sources"]["B"]["samples"], 1);

    auto &signals = doc["config_signals"];
    EXPECT_EQ(signals.size(), config.signals.size());
    auto &jobs = signals["jobs_waiting"];
    EXPECT_EQ(jobs["series"], nlohmann::json::parse(R"([
                {"labels": {"instance": "127.0.0.1:9121", "job": "emails", "key": "queue:2:emails"},
                 "value": 3},
                {"labels": {"instance": "127.0.0.1:9121", "job": "reports", "key": "queue:1:reports"},
                 "value": 4}])"));
    EXPECT_TRUE(jobs["absent_reason"].is_null());
    EXPECT_EQ(jobs["window_seconds"], 0);
    EXPECT_EQ(jobs["stale"], false);
    EXPECT_EQ(jobs["timestamp_unix"], e);
    EXPECT_EQ(jobs["age_seconds"], 1);
    // A scalar: one series, labels an empty object.
    EXPECT_EQ(signals["pending_a_quarter"]["series"],
              nlohmann::json::parse(R"([{"labels": {}, "value": 1.5}])"));
    // Absent: no series, and why.
    EXPECT_EQ(signals["pending_total"]["series"], nlohmann::json::array());
    EXPECT_EQ(signals["pending_total"]["absent_reason"], "source B is down: connection refused");
    EXPECT_EQ(signals["pending_b_max"]["window_seconds"], 60);
    EXPECT_EQ(signals["nothing"]["window_seconds"], 60);
    EXPECT_EQ(signals["nothing"]["absent_reason"], "the expression selects no series");

    // Stale when older than 3 x the longest interval (B's 5 s).
    auto stale_at = [&](double now) {
        nlohmann::json d = nlohmann::json::object();
        add_config_to_json(d, config, snap, now);
        return d["config_signals"]["pending_a"]["stale"];
    };
    EXPECT_EQ(stale_at(e), false);
    EXPECT_EQ(stale_at(e + 14.9), false);
    EXPECT_EQ(stale_at(e + 15), false);
    EXPECT_EQ(stale_at(e + 15.1), true);
    EXPECT_EQ(stale_at(e + 3600), true);
    // The limit is in the document, so a reader with another clock can hold it to that.
    EXPECT_EQ(jobs["stale_after_seconds"], 15);

    // A value that is not a number is null.
    snap.values[2].series = {{{}, std::numeric_limits<double>::quiet_NaN()}};
    doc = nlohmann::json::object();
    add_config_to_json(doc, config, snap, e);
    EXPECT_TRUE(doc["config_signals"]["pending_a"]["series"][0]["value"].is_null());
}

}  // namespace
}  // namespace pulse::sidecar
