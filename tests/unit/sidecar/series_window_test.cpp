// The sidecar's window of scraped series (sidecar/lib/series_window.h): the labels a series
// gets (target labels, exported_*, empty ones dropped), its identity, staleness markers,
// what is kept for the selectors, pruning, select(), and instance_of(). Where the window
// claims to answer as Prometheus' TSDB would, it is compared with a promql::MemoryStorage
// holding every sample that TSDB would hold.
#include "series_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "exposition_parser.h"
#include "promql/evaluator.h"
#include "promql/parser.h"

namespace pulse::sidecar {
namespace {

using promql::LabelMatcher;
using promql::Labels;

constexpr std::int64_t kS = 1000;
constexpr std::int64_t kM = 60 * kS;
constexpr std::int64_t kLookback = 5 * kM;

// A good scrape's text (format 0.0.4) of `target` at `t_ms`, as the sidecar ingests it.
void ingest(SeriesWindow &w, std::size_t target, std::string_view text, std::int64_t t_ms) {
    auto r = w.ingest_text(target, text, TextFormat::prometheus_0_0_4, t_ms);
    if (auto *e = std::get_if<ParseError>(&r))
        ADD_FAILURE() << "exposition line " << e->line << ": " << e->message << "\n" << text;
}

// One selector per text: "x", "y{k=\"v\"}", "x[1m]".
std::vector<promql::VectorSelector> selectors(std::initializer_list<std::string_view> texts) {
    std::vector<promql::VectorSelector> out;
    for (std::string_view t : texts) {
        auto r = promql::parse(t);
        if (auto *e = std::get_if<promql::ParseError>(&r)) {
            ADD_FAILURE() << t << ": " << e->describe(t);
            continue;
        }
        const auto *s = std::get_if<promql::VectorSelector>(&std::get<promql::NodePtr>(r)->value);
        if (!s) {
            ADD_FAILURE() << t << " is not a selector";
            continue;
        }
        out.push_back(*s);
    }
    return out;
}

promql::InstantVector eval(const promql::Storage &storage, std::string_view expr,
                           std::int64_t t_ms) {
    auto parsed = promql::parse(expr);
    if (auto *e = std::get_if<promql::ParseError>(&parsed)) {
        ADD_FAILURE() << expr << ": " << e->describe(expr);
        return {};
    }
    auto r = promql::evaluate(*std::get<promql::NodePtr>(parsed), storage, t_ms);
    if (auto *e = std::get_if<promql::EvalError>(&r)) {
        ADD_FAILURE() << expr << ": " << e->message;
        return {};
    }
    if (!std::holds_alternative<promql::InstantVector>(r)) {
        ADD_FAILURE() << expr << ": not a vector";
        return {};
    }
    auto v = std::get<promql::InstantVector>(std::move(r));
    std::sort(v.begin(), v.end(), [](const auto &a, const auto &b) { return a.labels < b.labels; });
    return v;
}

// Every sample the window holds for a series it selected.
std::vector<promql::Point> points(const SeriesWindow &w, const promql::Series *s) {
    std::vector<promql::Point> out;
    w.read_points(*s, std::numeric_limits<std::int64_t>::min(),
                  std::numeric_limits<std::int64_t>::max(), out);
    return out;
}

// "label=value,..." of the series' labels, for compact expectations.
std::string label_string(const Labels &labels) {
    std::string out;
    for (const auto &[n, v] : labels) out += (out.empty() ? "" : ",") + n + "=" + v;
    return out;
}

std::string value_of(const Labels &labels, std::string_view name) {
    for (const auto &[n, v] : labels) {
        if (n == name) return v;
    }
    return "<none>";
}

LabelMatcher eq(std::string n, std::string v) {
    return {std::move(n), LabelMatcher::Op::equal, std::move(v), 0};
}
LabelMatcher ne(std::string n, std::string v) {
    return {std::move(n), LabelMatcher::Op::not_equal, std::move(v), 0};
}
LabelMatcher re(std::string n, std::string v) {
    return {std::move(n), LabelMatcher::Op::regex, std::move(v), 0};
}

// The selected series' label strings, sorted.
std::vector<std::string> selected(const SeriesWindow &w, const std::vector<LabelMatcher> &m) {
    std::vector<std::string> out;
    for (const promql::Series *s : w.select(m)) out.push_back(label_string(s->labels));
    std::sort(out.begin(), out.end());
    return out;
}

// The one series select() returns for `m` (nullptr, with a failure, when not exactly one).
const promql::Series *one(const SeriesWindow &w, const std::vector<LabelMatcher> &m) {
    auto found = w.select(m);
    if (found.size() != 1) {
        ADD_FAILURE() << "select found " << found.size() << " series, expected 1";
        return nullptr;
    }
    return found[0];
}

// Every series the window can select with its samples, as "labels: t=v t=v ...".
std::vector<std::string> dump(const SeriesWindow &w) {
    std::vector<std::string> out;
    for (const promql::Series *s : w.select({re("__name__", ".+")})) {
        std::string line = label_string(s->labels) + ":";
        for (const promql::Point &p : points(w, s)) {
            line += " " + std::to_string(p.t_ms) + "=" +
                    (promql::is_stale_marker(p.v) ? std::string("stale") : std::to_string(p.v));
        }
        out.push_back(line);
    }
    return out;
}

// ---- a scrape's text parsed straight into the window ----------------------------------------

TEST(SeriesWindow, TextIngestFollowsSeriesWhereverTheyAreWritten) {
    // Series that stay, move within the text, change their label order, leave and come back,
    // repeat within one scrape, carry job/instance of their own, and a target that fails:
    // the series found where the last scrape wrote them must be the ones a full lookup finds.
    const std::vector<std::string> scrapes = {
        "a{k=\"1\"} 1\na{k=\"2\"} 2\nb 3\n",
        "a{k=\"1\"} 2\na{k=\"2\"} 3\nb 4\n",
        "b 5\na{k=\"2\"} 4\na{k=\"1\"} 3\n",
        "b 6\na{k=\"2\"} 5\n",
        "FAIL",
        "b 7\na{k=\"2\"} 6\na{k=\"1\"} 7\n",
        "a{k=\"3\",j=\"x\"} 1\na{j=\"x\",k=\"3\"} 2\nb 8\n",
        "a{j=\"x\",k=\"3\"} 3\nb{job=\"mine\",instance=\"i\"} 9\nb 9\n",
        "a{j=\"x\",k=\"3\"} 4\nb{job=\"mine\",instance=\"i\"} 10\nb 10\n",
    };
    const std::size_t series_after[] = {3, 3, 3, 3, 3, 3, 4, 5, 5};
    SeriesWindow w({{"app", "h:80"}}, selectors({"a[1m]", "b[1m]"}));
    std::int64_t t = 1000;
    for (std::size_t i = 0; i < scrapes.size(); ++i) {
        const std::string &text = scrapes[i];
        SCOPED_TRACE(text);
        if (text == "FAIL") {
            w.fail(0, t);
        } else {
            auto n = w.ingest_text(0, text, TextFormat::prometheus_0_0_4, t);
            ASSERT_TRUE(std::holds_alternative<std::size_t>(n));
            EXPECT_EQ(std::get<std::size_t>(n),
                      static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')));
        }
        EXPECT_EQ(w.series_count(), series_after[i]);
        t += 1000;
    }
    // What the window held when scrapes were parsed whole and each series looked up.
    EXPECT_EQ(dump(w),
              (std::vector<std::string>{
                  "__name__=a,instance=h:80,j=x,job=app,k=3: 7000=1.000000 8000=3.000000 "
                  "9000=4.000000",
                  "__name__=a,instance=h:80,job=app,k=1: 1000=1.000000 2000=2.000000 "
                  "3000=3.000000 4000=stale 6000=7.000000 7000=stale",
                  "__name__=a,instance=h:80,job=app,k=2: 1000=2.000000 2000=3.000000 "
                  "3000=4.000000 4000=5.000000 5000=stale 6000=6.000000 7000=stale",
                  "__name__=b,exported_instance=i,exported_job=mine,instance=h:80,job=app: "
                  "8000=9.000000 9000=10.000000",
                  "__name__=b,instance=h:80,job=app: 1000=3.000000 2000=4.000000 3000=5.000000 "
                  "4000=6.000000 5000=stale 6000=7.000000 7000=8.000000 8000=9.000000 "
                  "9000=10.000000",
              }));
    // Written in two orders within one scrape, {j, k} is one series; b with its own job
    // and instance is another series than b.
    EXPECT_EQ(selected(w, {eq("__name__", "b")}),
              (std::vector<std::string>{
                  "__name__=b,exported_instance=i,exported_job=mine,instance=h:80,job=app",
                  "__name__=b,instance=h:80,job=app"}));
}

TEST(SeriesWindow, TextThatDoesNotParseChangesNothing) {
    SeriesWindow w({{"app", "h:80"}}, selectors({"a[1m]"}));
    ASSERT_TRUE(std::holds_alternative<std::size_t>(
        w.ingest_text(0, "a{k=\"1\"} 1\n", TextFormat::prometheus_0_0_4, 1000)));
    const auto before = dump(w);
    // Good lines first, then a bad one: none of the good ones is taken.
    auto r = w.ingest_text(0, "a{k=\"1\"} 2\na{k=\"2\"} 3\na{k=} 4\n", TextFormat::prometheus_0_0_4,
                           2000);
    ASSERT_TRUE(std::holds_alternative<ParseError>(r));
    EXPECT_EQ(std::get<ParseError>(r).line, 3u);
    EXPECT_EQ(dump(w), before);
    EXPECT_EQ(w.sample_count(), 1u);
    // The next good scrape continues as if the bad one never came.
    ASSERT_TRUE(std::holds_alternative<std::size_t>(
        w.ingest_text(0, "a{k=\"1\"} 5\n", TextFormat::prometheus_0_0_4, 3000)));
    EXPECT_EQ(dump(w), (std::vector<std::string>{
                           "__name__=a,instance=h:80,job=app,k=1: 1000=1.000000 3000=5.000000"}));
}

TEST(SeriesWindow, OpenMetricsTextIsIngestedToo) {
    SeriesWindow w({{"app", "h:80"}}, selectors({"a_total[1m]"}));
    auto r = w.ingest_text(0, "# TYPE a counter\na_total{k=\"1\"} 4\n# EOF\n",
                           TextFormat::openmetrics_1_0, 1000);
    ASSERT_TRUE(std::holds_alternative<std::size_t>(r));
    EXPECT_EQ(std::get<std::size_t>(r), 1u);
    EXPECT_EQ(
        dump(w),
        (std::vector<std::string>{"__name__=a_total,instance=h:80,job=app,k=1: 1000=4.000000"}));
}

// ---- labels and identity --------------------------------------------------------------------

TEST(SeriesWindow, AddsTargetLabelsAndRenamesExposedJobAndInstance) {
    SeriesWindow w({{"redis", "127.0.0.1:9121"}, {"api", "api.internal:443"}},
                   selectors({"x", "plain"}));
    const std::string e =
        "x{job=\"queue\",instance=\"10.0.0.7:80\",k=\"v\"} 1\n"
        "plain 2\n";
    ingest(w, 0, e, 1000);
    ingest(w, 1, e, 1000);

    EXPECT_EQ(
        selected(w, {eq("__name__", "x")}),
        (std::vector<std::string>{"__name__=x,exported_instance=10.0.0.7:80,exported_job=queue,"
                                  "instance=127.0.0.1:9121,job=redis,k=v",
                                  "__name__=x,exported_instance=10.0.0.7:80,exported_job=queue,"
                                  "instance=api.internal:443,job=api,k=v"}));
    EXPECT_EQ(selected(w, {eq("__name__", "plain")}),
              (std::vector<std::string>{"__name__=plain,instance=127.0.0.1:9121,job=redis",
                                        "__name__=plain,instance=api.internal:443,job=api"}));

    // Labels are sorted by name (promql::Labels' contract), and target_of names the target.
    for (const promql::Series *s : w.select({eq("__name__", "x")})) {
        EXPECT_TRUE(std::is_sorted(s->labels.begin(), s->labels.end()));
        EXPECT_EQ(w.target_of(s), value_of(s->labels, "job") == "redis" ? 0u : 1u);
    }
    // The evaluator sees the target's job, and the exposed one under exported_job.
    auto v = eval(w, "x{job=\"api\", exported_job=\"queue\"}", 1000);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(value_of(v[0].labels, "instance"), "api.internal:443");
    EXPECT_EQ(v[0].v, 1);
    EXPECT_TRUE(eval(w, "x{job=\"queue\"}", 1000).empty());
    EXPECT_EQ(w.series_count(), 4u);
}

// Prometheus (scrape.go, resolveConflictingExposedLabels) prefixes "exported_" again while
// the name is taken: x{job="a",exported_job="b"} from target job "t" is stored as
// {job="t", exported_job="b", exported_exported_job="a"}.
TEST(SeriesWindow, ExposedExportedJobPushesTheRenamedJobFurther) {
    SeriesWindow w({{"t", "h:80"}}, selectors({"x"}));
    ingest(w, 0, "x{job=\"a\",exported_job=\"b\"} 1\n", 1000);
    EXPECT_EQ(selected(w, {eq("__name__", "x")}),
              (std::vector<std::string>{
                  "__name__=x,exported_exported_job=a,exported_job=b,instance=h:80,job=t"}));
    // Both target labels exposed; exported_instance is taken, exported_job is free.
    ingest(w, 0,
           "x{job=\"a\",instance=\"i\",exported_instance=\"e\",exported_exported_job=\"z\"} 2\n",
           2000);
    auto all = selected(w, {eq("__name__", "x"), eq("exported_instance", "e")});
    EXPECT_EQ(all, (std::vector<std::string>{
                       "__name__=x,exported_exported_instance=i,exported_exported_job=z,"
                       "exported_instance=e,exported_job=a,instance=h:80,job=t"}));
}

TEST(SeriesWindow, DropsEmptyLabelValues) {
    SeriesWindow w({{"app", "h:80"}}, selectors({"x"}));
    ingest(w, 0, "x{a=\"\",b=\"1\",job=\"\",instance=\"\"} 1\n", 1000);
    EXPECT_EQ(selected(w, {eq("__name__", "x")}),
              (std::vector<std::string>{"__name__=x,b=1,instance=h:80,job=app"}));
    // And the same series without the empty label is the same series.
    ingest(w, 0, "x{b=\"1\"} 2\n", 2000);
    EXPECT_EQ(w.series_count(), 1u);
    auto v = eval(w, "x", 2000);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].v, 2);
    // A selector asking for a="" matches it (an absent label is ""), one for a!="" does not.
    EXPECT_EQ(eval(w, "x{a=\"\"}", 2000).size(), 1u);
    EXPECT_TRUE(eval(w, "x{a!=\"\"}", 2000).empty());
}

TEST(SeriesWindow, SameSeriesWithLabelsInAnotherOrderIsOneSeries) {
    SeriesWindow w({{"app", "h:80"}}, selectors({"x[1m]"}));
    ingest(w, 0, "x{a=\"1\",b=\"2\"} 1\n", 1000);
    ingest(w, 0, "x{b=\"2\",a=\"1\"} 2\n", 2000);
    EXPECT_EQ(w.series_count(), 1u);
    const promql::Series *s = one(w, {eq("__name__", "x")});
    ASSERT_NE(s, nullptr);
    // Two samples, and no staleness marker: the second scrape did not lose the series.
    ASSERT_EQ(points(w, s).size(), 2u);
    EXPECT_EQ(points(w, s)[0].t_ms, 1000);
    EXPECT_EQ(points(w, s)[0].v, 1);
    EXPECT_EQ(points(w, s)[1].t_ms, 2000);
    EXPECT_EQ(points(w, s)[1].v, 2);
}

TEST(SeriesWindow, DuplicateSamplesInOneScrapeKeepTheFirst) {
    SeriesWindow w({{"app", "h:80"}}, selectors({"x[1m]"}));
    // The same series three times, once with its labels in another order.
    const std::string e =
        "x{a=\"1\",b=\"2\"} 10\nx{b=\"2\",a=\"1\"} 20\nx{a=\"1\",b=\"2\"} 30\nx{a=\"9\"} 40\n";
    ingest(w, 0, e, 1000);
    EXPECT_EQ(w.series_count(), 2u);
    EXPECT_EQ(w.sample_count(), 2u);
    const promql::Series *s = one(w, {eq("__name__", "x"), eq("a", "1")});
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(points(w, s).size(), 1u);
    EXPECT_EQ(points(w, s)[0].v, 10);

    // The next scrape: one sample each again, the duplicate series not taken for gone.
    ingest(w, 0, e, 2000);
    EXPECT_EQ(w.sample_count(), 4u);
    ASSERT_EQ(points(w, s).size(), 2u);
    EXPECT_EQ(points(w, s)[1].v, 10);
    EXPECT_FALSE(std::isnan(points(w, s)[1].v));
}

// ---- staleness ------------------------------------------------------------------------------

TEST(SeriesWindow, SeriesMissingFromTheNextScrapeGetsAStalenessMarker) {
    // x is read over a range (its samples are kept), y by instant selectors only.
    SeriesWindow w({{"app", "h:80"}}, selectors({"x[1m]", "y"}));
    ingest(w, 0,
           "x{k=\"a\"} 1\n"
           "x{k=\"b\"} 2\n"
           "y{k=\"a\"} 3\n"
           "y{k=\"b\"} 4\n",
           1000);
    ASSERT_EQ(eval(w, "x", 1000).size(), 2u);
    ASSERT_EQ(eval(w, "y", 1000).size(), 2u);
    EXPECT_EQ(eval(w, "y{k=\"b\"}", 1000).at(0).v, 4);

    ingest(w, 0,
           "x{k=\"a\"} 5\n"
           "y{k=\"a\"} 6\n",
           2000);
    // At once: without the marker, the lookback would keep returning b for 5 minutes.
    auto x = eval(w, "x", 2000);
    ASSERT_EQ(x.size(), 1u);
    EXPECT_EQ(value_of(x[0].labels, "k"), "a");
    EXPECT_EQ(x[0].v, 5);
    auto y = eval(w, "y", 2000);
    ASSERT_EQ(y.size(), 1u);
    EXPECT_EQ(value_of(y[0].labels, "k"), "a");
    EXPECT_EQ(y[0].v, 6);
    EXPECT_TRUE(eval(w, "x{k=\"b\"}", 2500).empty());
    // Before the marker, b's value was there (x keeps its samples).
    auto before = eval(w, "x{k=\"b\"}", 1999);
    ASSERT_EQ(before.size(), 1u);
    EXPECT_EQ(before[0].v, 2);

    const promql::Series *b = one(w, {eq("__name__", "x"), eq("k", "b")});
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(points(w, b).size(), 2u);
    EXPECT_EQ(points(w, b)[1].t_ms, 2000);
    EXPECT_TRUE(promql::is_stale_marker(points(w, b)[1].v));
    const promql::Series *yb = one(w, {eq("__name__", "y"), eq("k", "b")});
    ASSERT_NE(yb, nullptr);
    ASSERT_EQ(points(w, yb).size(), 1u);  // its last sample, which is the marker
    EXPECT_TRUE(promql::is_stale_marker(points(w, yb)[0].v));

    // One marker only: still missing from the next scrape, it gets nothing more.
    ingest(w, 0, "x{k=\"a\"} 7\ny{k=\"a\"} 8\n", 3000);
    EXPECT_EQ(points(w, b).size(), 2u);
    // Back again, it is returned again.
    ingest(w, 0, "x{k=\"a\"} 9\nx{k=\"b\"} 10\ny{k=\"a\"} 11\ny{k=\"b\"} 12\n", 4000);
    x = eval(w, "x", 4000);
    ASSERT_EQ(x.size(), 2u);
    EXPECT_EQ(x[1].v, 10);
    EXPECT_EQ(eval(w, "y", 4000).size(), 2u);
    // Its samples in the last minute: 2 and 10, the marker left out.
    EXPECT_EQ(eval(w, "avg_over_time(x{k=\"b\"}[1m])", 4000).at(0).v, 6);
    EXPECT_EQ(eval(w, "min_over_time(x{k=\"b\"}[1m])", 4000).at(0).v, 2);
}

TEST(SeriesWindow, FailedScrapeMarksEverySeriesOfItsTargetStale) {
    SeriesWindow w({{"a", "a:80"}, {"b", "b:80"}}, selectors({"x[1m]", "y"}));
    const std::string e = "x{k=\"1\"} 1\nx{k=\"2\"} 2\ny 3\nunread 4\n";
    ingest(w, 0, e, 1000);
    ingest(w, 1, e, 1000);
    ASSERT_EQ(eval(w, "x", 1000).size(), 4u);
    ASSERT_EQ(eval(w, "y", 1000).size(), 2u);
    std::size_t samples = w.sample_count();
    EXPECT_EQ(samples, 6u);

    w.fail(0, 2000);
    auto x = eval(w, "x", 2000);
    ASSERT_EQ(x.size(), 2u);
    EXPECT_EQ(value_of(x[0].labels, "job"), "b");
    EXPECT_EQ(value_of(x[1].labels, "job"), "b");
    auto y = eval(w, "y", 2000);
    ASSERT_EQ(y.size(), 1u);
    EXPECT_EQ(value_of(y[0].labels, "job"), "b");
    for (const promql::Series *s : w.select({eq("job", "a")})) {
        EXPECT_TRUE(promql::is_stale_marker(points(w, s).back().v)) << label_string(s->labels);
        EXPECT_EQ(points(w, s).back().t_ms, 2000);
    }
    // x's two series get a marker each; y's last sample is now its marker.
    EXPECT_EQ(w.sample_count(), samples + 2);

    // Failing again adds nothing: the series were already marked.
    w.fail(0, 3000);
    EXPECT_EQ(w.sample_count(), samples + 2);
    // A good scrape brings them back.
    ingest(w, 0, e, 4000);
    EXPECT_EQ(eval(w, "x", 4000).size(), 4u);  // b's are 3 s old: still within the lookback
    EXPECT_EQ(eval(w, "x{job=\"a\"}", 4000).size(), 2u);
    EXPECT_EQ(eval(w, "y", 4000).size(), 2u);
}

// ---- what is kept -----------------------------------------------------------------------------

TEST(SeriesWindow, KeepsNothingForUnreadSeriesAndTheLastSampleForInstantOnes) {
    SeriesWindow w({{"app", "h:80"}}, selectors({"y{k=\"a\"}"}));
    for (int i = 0; i < 5; ++i) {
        ingest(w, 0,
               "y{k=\"a\"} " + std::to_string(10 + i) + "\ny{k=\"b\"} " + std::to_string(20 + i) +
                   "\nz " + std::to_string(30 + i) + "\n",
               1000 * (i + 1));
    }
    EXPECT_EQ(w.series_count(), 3u);  // known, but only one holds anything
    EXPECT_EQ(w.sample_count(), 1u);
    const promql::Series *a = one(w, {eq("__name__", "y"), eq("k", "a")});
    ASSERT_NE(a, nullptr);
    ASSERT_EQ(points(w, a).size(), 1u);
    EXPECT_EQ(points(w, a)[0].t_ms, 5000);
    EXPECT_EQ(points(w, a)[0].v, 14);
    EXPECT_TRUE(w.select({eq("__name__", "y"), eq("k", "b")}).empty());
    EXPECT_TRUE(w.select({eq("__name__", "z")}).empty());
    EXPECT_EQ(eval(w, "y{k=\"a\"}", 5000).at(0).v, 14);
}

TEST(SeriesWindow, RangeSelectorKeepsAboutItsRangeAndAnswersAsAllSamplesWould) {
    // x read over 1m (and by an instant selector, which needs less), y instant, z unread.
    const ScrapeTarget target{"app", "h:9100"};
    SeriesWindow w({target}, selectors({"x[1m]", "x", "y"}));
    promql::Series full_a, full_b;  // everything Prometheus' TSDB would hold for x
    full_a.labels = {{"__name__", "x"}, {"instance", "h:9100"}, {"job", "app"}, {"k", "a"}};
    full_b.labels = {{"__name__", "x"}, {"instance", "h:9100"}, {"job", "app"}, {"k", "b"}};

    const std::int64_t t0 = 1'700'000'000'000;
    double a = 100, b = 0;
    std::vector<std::int64_t> times;
    for (int i = 0; i < 200; ++i) {
        std::int64_t t = t0 + i * kS;
        times.push_back(t);
        // a: a counter with uneven increments and a reset at 150.
        a = i == 150 ? 3 : a + (i * 7919 % 13) + 0.25 * (i % 4);
        // b: gone from scrapes 100 to 119 (one staleness marker, at 100), then back.
        bool b_present = i < 100 || i >= 120;
        b += 1.5;
        const std::string a_text = std::to_string(a), b_text = std::to_string(b);
        std::string text = "x{k=\"a\"} " + a_text + "\n";
        if (b_present) text += "x{k=\"b\"} " + b_text + "\n";
        text += "y " + std::to_string(i) + "\nz 1\n";
        // The value as written, for the full storage.
        full_a.points.push_back({t, std::strtod(a_text.c_str(), nullptr)});
        if (b_present)
            full_b.points.push_back({t, std::strtod(b_text.c_str(), nullptr)});
        else if (i == 100)
            full_b.points.push_back({t, promql::stale_marker()});
        ingest(w, 0, text, t);  // no prune(): the trimming on ingest alone bounds x
    }
    promql::MemoryStorage full;
    full.add(full_a);
    full.add(full_b);

    // About a minute of x: its 61 samples in [t - 1m, t], and fewer than a block (20 samples
    // for a [1m] range at 1 s) of older ones, which go a whole block at a time; y one
    // sample, z none.
    std::size_t held = w.sample_count();
    EXPECT_GE(held, 61u + 61u + 1u);
    EXPECT_LT(held, 61u + 61u + 1u + 2 * 20u);
    w.prune(times.back());
    EXPECT_EQ(w.sample_count(), held);  // prune drops the same whole blocks
    EXPECT_EQ(w.series_count(), 4u);

    // Over the window (evaluated at the last scrape, as the sidecar does, and a little after)
    // the same answers as over every sample. The window now only holds the last minute, so
    // this is checked at the last scrapes; the loop below checks every scrape.
    for (const char *expr : {"rate(x[1m])", "increase(x[1m])", "delta(x[1m])",
                             "avg_over_time(x[1m])", "min_over_time(x[1m])", "x"}) {
        for (std::int64_t t : {times.back(), times.back() + 500}) {
            auto got = eval(w, expr, t);
            auto want = eval(full, expr, t);
            ASSERT_EQ(got.size(), want.size()) << expr;
            ASSERT_EQ(got.size(), 2u) << expr;
            for (std::size_t i = 0; i < got.size(); ++i) {
                EXPECT_EQ(label_string(got[i].labels), label_string(want[i].labels)) << expr;
                EXPECT_EQ(got[i].v, want[i].v) << expr << " at " << t;
            }
        }
    }
    // By hand: the smallest of a's samples in [t - 1m, t] (the reset at 150 is in it), and
    // their mean.
    double lowest = full_a.points[139].v, total = 0;
    for (std::size_t i = 139; i < 200; ++i) {
        lowest = std::min(lowest, full_a.points[i].v);
        total += full_a.points[i].v;
    }
    EXPECT_EQ(eval(w, "min_over_time(x{k=\"a\"}[1m])", times.back()).at(0).v, lowest);
    EXPECT_NEAR(eval(w, "avg_over_time(x{k=\"a\"}[1m])", times.back()).at(0).v, total / 61,
                1e-12 * total / 61);
}

TEST(SeriesWindow, RateOverTheWindowEqualsRateOverAllSamplesAtEveryScrape) {
    SeriesWindow w({{"app", "h:9100"}}, selectors({"x[1m]"}));
    promql::MemoryStorage full;
    promql::Series a, b;
    a.labels = {{"__name__", "x"}, {"instance", "h:9100"}, {"job", "app"}, {"k", "a"}};
    b.labels = {{"__name__", "x"}, {"instance", "h:9100"}, {"job", "app"}, {"k", "b"}};
    const std::int64_t t0 = 1'700'000'000'000;
    // Built first (MemoryStorage takes whole series), then scraped one by one.
    std::vector<std::string> texts;
    double va = 100, vb = 0;
    for (int i = 0; i < 200; ++i) {
        std::int64_t t = t0 + i * kS;
        va = i == 150 ? 3 : va + (i * 7919 % 13) + 0.25 * (i % 4);
        vb += 0.5 * (i % 3);
        bool b_present = i < 100 || i >= 120;
        a.points.push_back({t, va});
        if (b_present)
            b.points.push_back({t, vb});
        else if (i == 100)
            b.points.push_back({t, promql::stale_marker()});
        char line[160];
        std::snprintf(line, sizeof line, "x{k=\"a\"} %.17g\n", va);
        std::string text = line;
        if (b_present) {
            std::snprintf(line, sizeof line, "x{k=\"b\"} %.17g\n", vb);
            text += line;
        }
        texts.push_back(text);
    }
    full.add(a);
    full.add(b);

    std::size_t compared = 0;
    for (int i = 0; i < 200; ++i) {
        std::int64_t t = t0 + i * kS;
        ingest(w, 0, texts[i], t);
        // Trimmed on ingest (a at scrapes 121 and 191), and once by prune().
        if (i == 130) w.prune(t);
        for (const char *expr :
             {"rate(x[1m])", "increase(x[1m])", "min_over_time(x[1m])", "avg_over_time(x[1m])"}) {
            auto got = eval(w, expr, t);
            auto want = eval(full, expr, t);
            ASSERT_EQ(got.size(), want.size()) << expr << " at scrape " << i;
            for (std::size_t j = 0; j < got.size(); ++j) {
                EXPECT_EQ(label_string(got[j].labels), label_string(want[j].labels));
                EXPECT_EQ(got[j].v, want[j].v) << expr << " at scrape " << i;
                ++compared;
            }
        }
        // By hand for a: the smallest of every scrape in [t - 1m, t] (the first sample of the
        // range included: a grows but at the reset).
        double lowest = a.points[i].v;
        for (int j = std::max(0, i - 60); j <= i; ++j) lowest = std::min(lowest, a.points[j].v);
        EXPECT_EQ(eval(w, "min_over_time(x{k=\"a\"}[1m])", t).at(0).v, lowest) << i;
    }
    EXPECT_GT(compared, 3u * 150u);
}

// ---- pruning --------------------------------------------------------------------------------

TEST(SeriesWindow, PruneForgetsSeriesGoneLongerThanTheRangeAndTheLookback) {
    SeriesWindow w({{"app", "h:80"}}, selectors({"x[1m]", "y", "alive"}));
    const std::int64_t t0 = 10'000'000;
    ingest(w, 0, "x 1\ny 2\nz 3\nalive 4\n", t0);
    ingest(w, 0, "alive 5\n", t0 + kS);  // x, y and z leave: stale at t0 + 1s
    EXPECT_EQ(w.series_count(), 4u);

    // Gone for exactly range + lookback: their samples are out of reach, but they are kept.
    const std::int64_t edge = t0 + kS + kM + kLookback;
    ingest(w, 0, "alive 6\n", edge);
    w.prune(edge);
    EXPECT_EQ(w.series_count(), 4u);
    EXPECT_EQ(w.sample_count(), 1u);  // alive's last sample
    EXPECT_TRUE(w.select({eq("__name__", "x")}).empty());

    // A millisecond later they are forgotten; the series still scraped is not.
    w.prune(edge + 1);
    EXPECT_EQ(w.series_count(), 1u);
    EXPECT_EQ(selected(w, {re("__name__", ".+")}),
              (std::vector<std::string>{"__name__=alive,instance=h:80,job=app"}));
    EXPECT_EQ(eval(w, "alive", edge + 1).at(0).v, 6);

    // A forgotten series that comes back is a series again.
    ingest(w, 0, "alive 7\nx 8\n", edge + 2);
    EXPECT_EQ(w.series_count(), 2u);
    auto x = eval(w, "x", edge + 2);
    ASSERT_EQ(x.size(), 1u);
    EXPECT_EQ(x[0].v, 8);
    // Only the new sample: the old 1 is not back.
    EXPECT_EQ(eval(w, "min_over_time(x[1m])", edge + 2).at(0).v, 8);
}

TEST(SeriesWindow, PruneKeepsTheRangeOfSeriesStillScraped) {
    SeriesWindow w({{"app", "h:80"}}, selectors({"x[30s]", "y"}));
    for (int i = 0; i <= 100; ++i) ingest(w, 0, "x " + std::to_string(i) + "\ny 1\n", i * kS);
    w.prune(100 * kS);
    // [70s, 100s]: 31 samples of x, and y's last; older samples of x go a whole block (16
    // samples here) at a time, so fewer than a block of them may still be held.
    EXPECT_GE(w.sample_count(), 32u);
    EXPECT_LT(w.sample_count(), 32u + 16u);
    const promql::Series *x = one(w, {eq("__name__", "x")});
    ASSERT_NE(x, nullptr);
    auto held = points(w, x);
    EXPECT_LE(held.front().t_ms, 70 * kS);
    EXPECT_GT(held.front().t_ms, 70 * kS - 16 * kS);
    EXPECT_EQ(held.back().t_ms, 100 * kS);
    std::vector<promql::Point> range;
    w.read_points(*x, 70 * kS, 100 * kS, range);
    EXPECT_EQ(range.size(), 31u);
    // Far later, a series still in its target's last scrape is never forgotten.
    w.prune(100 * kS + 10 * kLookback);
    EXPECT_EQ(w.series_count(), 2u);
    EXPECT_EQ(w.sample_count(), 0u);
}

// ---- select ---------------------------------------------------------------------------------

TEST(SeriesWindow, SelectWithAndWithoutAMetricNameEquality) {
    SeriesWindow w({{"app", "h:80"}}, selectors({"x", "y{k=\"v\"}", "z[1m]"}));
    ingest(w, 0,
           "x{k=\"v\"} 1\nx{k=\"w\"} 2\ny{k=\"v\"} 3\ny{k=\"w\"} 4\nz{k=\"v\"} 5\n"
           "u{k=\"v\"} 6\n",
           1000);
    auto names = [&](const std::vector<LabelMatcher> &m) {
        std::vector<std::string> out;
        for (const promql::Series *s : w.select(m))
            out.push_back(value_of(s->labels, "__name__") + "/" + value_of(s->labels, "k"));
        std::sort(out.begin(), out.end());
        return out;
    };
    using V = std::vector<std::string>;
    // By name.
    EXPECT_EQ(names({eq("__name__", "x")}), (V{"x/v", "x/w"}));
    EXPECT_EQ(names({eq("__name__", "y")}), (V{"y/v"}));  // y{k="w"}: no selector reads it
    EXPECT_EQ(names({eq("__name__", "u")}), V{});
    EXPECT_EQ(names({eq("__name__", "nope")}), V{});
    EXPECT_EQ(names({eq("__name__", "x"), eq("k", "w")}), (V{"x/w"}));
    EXPECT_EQ(names({eq("k", "w"), eq("__name__", "x")}), (V{"x/w"}));  // name not first
    EXPECT_EQ(names({eq("__name__", "x"), eq("k", "none")}), V{});
    // Without a name equality: every series holding samples is considered.
    EXPECT_EQ(names({eq("k", "v")}), (V{"x/v", "y/v", "z/v"}));
    EXPECT_EQ(names({ne("k", "v")}), (V{"x/w"}));
    EXPECT_EQ(names({re("__name__", "x|z")}), (V{"x/v", "x/w", "z/v"}));
    EXPECT_EQ(names({ne("__name__", "x")}), (V{"y/v", "z/v"}));
    EXPECT_EQ(names({eq("job", "app")}), (V{"x/v", "x/w", "y/v", "z/v"}));
    EXPECT_EQ(names({eq("job", "other")}), V{});
}

// ---- instance_of ------------------------------------------------------------------------------

TEST(SeriesWindow, InstanceOfUrls) {
    EXPECT_EQ(instance_of("http://127.0.0.1:9121/metrics"), "127.0.0.1:9121");
    EXPECT_EQ(instance_of("http://redis-exporter/metrics"), "redis-exporter:80");
    EXPECT_EQ(instance_of("https://billing.internal/metrics"), "billing.internal:443");
    EXPECT_EQ(instance_of("https://billing.internal:8443/metrics"), "billing.internal:8443");
    EXPECT_EQ(instance_of("http://host:8080"), "host:8080");
    EXPECT_EQ(instance_of("http://host"), "host:80");
    EXPECT_EQ(instance_of("https://host"), "host:443");
    EXPECT_EQ(instance_of("http://host?x=1"), "host:80");
    EXPECT_EQ(instance_of("http://host:81?x=1"), "host:81");
    EXPECT_EQ(instance_of("http://host#frag"), "host:80");
    // IPv6 literals: the colons inside the brackets are no port.
    EXPECT_EQ(instance_of("http://[::1]:9121/metrics"), "[::1]:9121");
    EXPECT_EQ(instance_of("http://[::1]/metrics"), "[::1]:80");
    EXPECT_EQ(instance_of("https://[2001:db8::7]/metrics"), "[2001:db8::7]:443");
    // Userinfo is not part of the instance (and its colon is no port).
    EXPECT_EQ(instance_of("http://user:secret@host/metrics"), "host:80");
    EXPECT_EQ(instance_of("https://user:secret@host:8443/metrics"), "host:8443");
    EXPECT_EQ(instance_of("http://user@[::1]:9121/"), "[::1]:9121");
    EXPECT_EQ(instance_of("http://user:p@ss@host/"), "host:80");
    // A path with an @ or a colon does not confuse it.
    EXPECT_EQ(instance_of("http://host/a@b:9/metrics"), "host:80");
}

}  // namespace
}  // namespace pulse::sidecar
