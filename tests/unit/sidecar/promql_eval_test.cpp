// The PromQL evaluator (sidecar/lib/promql/evaluator.h) against Prometheus 2.42.
//
// Most cases are ported from Prometheus' own promql/testdata/*.test files at tag v2.42.0
// (their `load` blocks and expected values, compared within Prometheus' test tolerance of
// 1e-6 relative, as there). Where a value must match bit for bit it was read from a real
// Prometheus 2.42 (`promtool test rules`, which runs the same engine and prints the value's
// shortest round-trip digits) and is compared exactly; those are marked "exact".
// Expressions are built by hand (ast.h), so these tests do not depend on the parser, except
// PromqlEvalParsed at the end, which runs a few testdata expressions through parse().
#include "promql/evaluator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "promql/parser.h"

namespace pulse::promql {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kS = 1000;
constexpr std::int64_t kM = 60 * kS;

// ---- building expressions by hand -----------------------------------------------------------

template <typename T>
NodePtr node(T value, std::size_t pos = 0) {
    auto n = std::make_shared<Node>();
    n->value = std::move(value);
    n->pos = pos;
    return n;
}

NodePtr num(double v, std::size_t pos = 0) {
    return node(NumberLiteral{v}, pos);
}
NodePtr str(std::string s, std::size_t pos = 0) {
    return node(StringLiteral{std::move(s)}, pos);
}

LabelMatcher eq(std::string n, std::string v, std::size_t pos = 0) {
    return {std::move(n), LabelMatcher::Op::equal, std::move(v), pos};
}
LabelMatcher ne(std::string n, std::string v, std::size_t pos = 0) {
    return {std::move(n), LabelMatcher::Op::not_equal, std::move(v), pos};
}
LabelMatcher re(std::string n, std::string v, std::size_t pos = 0) {
    return {std::move(n), LabelMatcher::Op::regex, std::move(v), pos};
}
LabelMatcher nre(std::string n, std::string v, std::size_t pos = 0) {
    return {std::move(n), LabelMatcher::Op::not_regex, std::move(v), pos};
}

// `name{matchers}` or `name{matchers}[range]`; the name becomes the first matcher.
NodePtr sel(std::string name, std::vector<LabelMatcher> matchers = {}, std::int64_t range_ms = 0,
            std::size_t pos = 0) {
    VectorSelector vs;
    vs.name = name;
    if (!name.empty()) vs.matchers.push_back(eq("__name__", name, pos));
    for (auto &m : matchers) vs.matchers.push_back(std::move(m));
    vs.range_ms = range_ms;
    return node(std::move(vs), pos);
}

NodePtr range(std::string name, std::int64_t range_ms, std::vector<LabelMatcher> matchers = {}) {
    return sel(std::move(name), std::move(matchers), range_ms);
}

NodePtr call(std::string fn, std::vector<NodePtr> args, std::size_t pos = 0) {
    return node(Call{std::move(fn), std::move(args)}, pos);
}

NodePtr agg(AggregationOp op, NodePtr e, std::vector<std::string> grouping = {},
            bool without = false, std::size_t pos = 0) {
    Aggregation a;
    a.op = op;
    a.without = without;
    a.grouping = std::move(grouping);
    a.expr = std::move(e);
    return node(std::move(a), pos);
}
NodePtr sum_by(std::vector<std::string> by, NodePtr e) {
    return agg(AggregationOp::sum, std::move(e), std::move(by));
}

struct Match {
    bool return_bool = false;
    bool has_matching = false;
    bool on = false;
    std::vector<std::string> labels;
};
Match on(std::vector<std::string> labels, bool return_bool = false) {
    return {return_bool, true, true, std::move(labels)};
}
Match ignoring(std::vector<std::string> labels, bool return_bool = false) {
    return {return_bool, true, false, std::move(labels)};
}
const Match kBool{true, false, false, {}};

NodePtr bin(BinaryOp op, NodePtr l, NodePtr r, Match m = {}, std::size_t pos = 0) {
    Binary b;
    b.op = op;
    b.return_bool = m.return_bool;
    b.has_matching = m.has_matching;
    b.on = m.on;
    b.matching_labels = std::move(m.labels);
    b.lhs = std::move(l);
    b.rhs = std::move(r);
    return node(std::move(b), pos);
}

NodePtr neg(NodePtr e, std::size_t pos = 0) {
    return node(Unary{true, std::move(e)}, pos);
}
NodePtr plus(NodePtr e) {
    return node(Unary{false, std::move(e)});
}

// ---- labels and Prometheus' test notation ---------------------------------------------------

// `name{a="x", b="y"}` or `{a="x"}` or `name`; sorted by label name.
Labels parse_labels(std::string_view s) {
    Labels out;
    std::size_t i = 0;
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] != '{' && s[i] != ' ') ++i;
    if (i > start) out.emplace_back("__name__", std::string(s.substr(start, i - start)));
    if (i < s.size() && s[i] == '{') {
        ++i;
        while (i < s.size() && s[i] != '}') {
            while (s[i] == ' ' || s[i] == ',') ++i;
            if (s[i] == '}') break;
            const std::size_t eq_pos = s.find('=', i);
            std::string name(s.substr(i, eq_pos - i));
            i = eq_pos + 1;
            const char quote = s[i++];
            std::string value;
            while (s[i] != quote) {
                if (s[i] == '\\') {
                    ++i;
                    value += s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
                    ++i;
                    continue;
                }
                value += s[i++];
            }
            ++i;
            out.emplace_back(std::move(name), std::move(value));
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Where the labels part of a `load`/expectation line ends.
std::size_t labels_end(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    bool in_braces = false, in_quotes = false;
    for (; i < line.size(); ++i) {
        const char c = line[i];
        if (in_quotes) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_quotes = false;
            }
        } else if (c == '"') {
            in_quotes = true;
        } else if (c == '{') {
            in_braces = true;
        } else if (c == '}') {
            return i + 1;
        } else if (!in_braces && (c == ' ' || c == '\t')) {
            return i;
        }
    }
    return i;
}

double number(std::string_view s) {
    const std::string t(s);
    if (t == "stale") return stale_marker();
    return std::strtod(t.c_str(), nullptr);  // also Inf, +Inf, -Inf, NaN
}

// The values of a `load` line, as Prometheus' test language spells them: `1 2 _ stale`,
// `0+10x5` (0, 10, ... 50: six values), `5x3` (four fives), `_x3` (three missing).
// Repeated additions accumulate as Go's do, so rounding matches.
std::vector<Point> expand(std::string_view values, std::int64_t interval_ms) {
    std::vector<Point> out;
    std::int64_t t = 0;
    std::istringstream in{std::string(values)};
    std::string tok;
    while (in >> tok) {
        const std::size_t x = tok.rfind('x');
        const bool repeat = x != std::string::npos && x > 0 && x + 1 < tok.size() &&
                            tok.find_first_not_of("0123456789", x + 1) == std::string::npos;
        if (!repeat) {
            if (tok != "_") out.push_back({t, number(tok)});
            t += interval_ms;
            continue;
        }
        const int n = std::stoi(tok.substr(x + 1));
        const std::string head = tok.substr(0, x);
        if (head == "_") {
            t += interval_ms * n;
            continue;
        }
        // `a+b`, `a-b` or `a`: the increment's sign is the last + or - not at the start
        // and not in an exponent.
        std::size_t op = std::string::npos;
        for (std::size_t i = 1; i < head.size(); ++i)
            if ((head[i] == '+' || head[i] == '-') && head[i - 1] != 'e' && head[i - 1] != 'E')
                op = i;
        double v = number(head.substr(0, op));
        const double inc = op == std::string::npos ? 0 : number(head.substr(op));
        out.push_back({t, v});
        t += interval_ms;
        for (int i = 0; i < n; ++i) {
            v += inc;
            out.push_back({t, v});
            t += interval_ms;
        }
    }
    return out;
}

// A `load <interval>` block: one series a line.
void load(MemoryStorage &storage, std::int64_t interval_ms, std::string_view block) {
    std::istringstream in{std::string(block)};
    std::string line;
    while (std::getline(in, line)) {
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        const std::size_t end = labels_end(line);
        storage.add(
            Series{parse_labels(line.substr(0, end)), expand(line.substr(end), interval_ms)});
    }
}

// ---- checking results -------------------------------------------------------------------------

std::string describe(const EvalResult &r) {
    std::ostringstream out;
    out.precision(17);
    if (const auto *e = std::get_if<EvalError>(&r)) {
        out << "error at " << e->pos << ": " << e->message;
    } else if (const auto *s = std::get_if<Scalar>(&r)) {
        out << "scalar " << s->v;
    } else {
        const auto &v = std::get<InstantVector>(r);
        out << "vector of " << v.size() << ":";
        for (const auto &s : v) {
            out << "\n  {";
            for (std::size_t i = 0; i < s.labels.size(); ++i)
                out << (i ? ", " : "") << s.labels[i].first << "=\"" << s.labels[i].second << '"';
            out << "} " << s.v;
        }
    }
    return out.str();
}

// Prometheus' test tolerance (promql/test.go almostEqual): relative 1e-6, NaN equal to NaN.
bool almost_equal(double a, double b) {
    if (std::isnan(a) && std::isnan(b)) return true;
    if (a == b) return true;
    constexpr double kEpsilon = 1e-6;
    constexpr double kMinNormal = 2.2250738585072014e-308;
    const double diff = std::fabs(a - b);
    if (a == 0 || b == 0 || diff < kMinNormal) return diff < kEpsilon * kMinNormal;
    return diff / (std::fabs(a) + std::fabs(b)) < kEpsilon;
}

bool bit_equal(double a, double b) {
    if (std::isnan(a) && std::isnan(b)) return true;
    return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

enum class Cmp { near, exact };

// The result is this vector (one `labels value` a line; order does not matter).
::testing::AssertionResult vector_is(const EvalResult &r, std::string_view expected,
                                     Cmp cmp = Cmp::near) {
    const auto *got = std::get_if<InstantVector>(&r);
    if (got == nullptr) return ::testing::AssertionFailure() << "got " << describe(r);
    std::vector<std::pair<Labels, double>> want;
    std::istringstream in{std::string(expected)};
    std::string line;
    while (std::getline(in, line)) {
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        const std::size_t end = labels_end(line);
        want.emplace_back(parse_labels(line.substr(0, end)), number(line.substr(end)));
    }
    std::sort(want.begin(), want.end(),
              [](const auto &a, const auto &b) { return a.first < b.first; });
    std::vector<std::pair<Labels, double>> have;
    for (const auto &s : *got) have.emplace_back(s.labels, s.v);
    std::sort(have.begin(), have.end(),
              [](const auto &a, const auto &b) { return a.first < b.first; });
    bool ok = want.size() == have.size();
    for (std::size_t i = 0; ok && i < want.size(); ++i) {
        ok = want[i].first == have[i].first &&
             (cmp == Cmp::exact ? bit_equal(want[i].second, have[i].second)
                                : almost_equal(want[i].second, have[i].second));
    }
    if (ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected\n" << expected << "\ngot " << describe(r);
}

::testing::AssertionResult is_empty(const EvalResult &r) {
    return vector_is(r, "");
}

::testing::AssertionResult scalar_is(const EvalResult &r, double expected, Cmp cmp = Cmp::near) {
    const auto *s = std::get_if<Scalar>(&r);
    if (s == nullptr) return ::testing::AssertionFailure() << "got " << describe(r);
    if (cmp == Cmp::exact ? bit_equal(s->v, expected) : almost_equal(s->v, expected))
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "expected scalar " << expected << ", got " << describe(r);
}

::testing::AssertionResult error_is(const EvalResult &r, std::size_t pos, std::string_view text) {
    const auto *e = std::get_if<EvalError>(&r);
    if (e != nullptr && e->pos == pos && e->message.find(text) != std::string::npos)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected an error at " << pos << " containing \""
                                         << text << "\", got " << describe(r);
}

// The one value of a one-element vector (NaN otherwise, which fails any comparison).
double only_value(const EvalResult &r) {
    const auto *v = std::get_if<InstantVector>(&r);
    return v != nullptr && v->size() == 1 ? (*v)[0].v : kNaN;
}

const std::string kDupLabelset = "vector cannot contain metrics with the same labelset";

// ---- staleness, lookback and ranges (staleness.test) ---------------------------------------

TEST(PromqlEvalStaleness, StaleMarkerIsPrometheusStaleNaN) {
    EXPECT_EQ(std::bit_cast<std::uint64_t>(stale_marker()), 0x7ff0000000000002ULL);
    EXPECT_TRUE(std::isnan(stale_marker()));
    EXPECT_TRUE(is_stale_marker(stale_marker()));
    EXPECT_FALSE(is_stale_marker(kNaN));
    EXPECT_FALSE(is_stale_marker(std::bit_cast<double>(0x7ff0000000000001ULL)));
    EXPECT_FALSE(is_stale_marker(1.0));
    EXPECT_FALSE(is_stale_marker(kInf));
}

class PromqlEvalStalenessTest : public ::testing::Test {
  protected:
    void SetUp() override { load(storage_, 10 * kS, "metric 0 1 stale 2"); }
    EvalResult at(std::int64_t t, const NodePtr &e) { return evaluate(*e, storage_, t); }
    MemoryStorage storage_;
};

TEST_F(PromqlEvalStalenessTest, InstantVectorDropsASeriesWhoseNewestSampleIsStale) {
    EXPECT_TRUE(vector_is(at(10 * kS, sel("metric")), "metric 1"));
    EXPECT_TRUE(is_empty(at(20 * kS, sel("metric"))));
    EXPECT_TRUE(is_empty(at(29 * kS, sel("metric"))));
    EXPECT_TRUE(vector_is(at(30 * kS, sel("metric")), "metric 2"));
    EXPECT_TRUE(vector_is(at(40 * kS, sel("metric")), "metric 2"));
}

TEST_F(PromqlEvalStalenessTest, LookbackIsFiveMinutesIncludingItsStart) {
    // The last sample is at 30s: still there at exactly 30s + 5m, gone 1 ms later.
    EXPECT_TRUE(vector_is(at(330 * kS, sel("metric")), "metric 2"));
    EXPECT_TRUE(is_empty(at(330 * kS + 1, sel("metric"))));
}

TEST_F(PromqlEvalStalenessTest, RangeVectorsLeaveStaleMarkersOut) {
    auto count = [](std::int64_t r) { return call("count_over_time", {range("metric", r)}); };
    EXPECT_TRUE(vector_is(at(30 * kS, count(60 * kS)), "{} 3"));
    EXPECT_TRUE(vector_is(at(10 * kS, count(1 * kS)), "{} 1"));
    EXPECT_TRUE(is_empty(at(20 * kS, count(1 * kS))));
    // [10s] at 20s holds the sample at 10s (the range includes its start) and the stale one.
    EXPECT_TRUE(vector_is(at(20 * kS, count(10 * kS)), "{} 1"));
}

TEST(PromqlEvalStaleness, SingleSampleGoesStaleAfterTheLookback) {
    MemoryStorage st;
    load(st, 10 * kS, "metric 0");
    for (std::int64_t t : {0 * kS, 150 * kS, 300 * kS})
        EXPECT_TRUE(vector_is(evaluate(*sel("metric"), st, t), "metric 0")) << t;
    EXPECT_TRUE(is_empty(evaluate(*sel("metric"), st, 301 * kS)));
    // Nothing before the first sample.
    EXPECT_TRUE(is_empty(evaluate(*sel("metric"), st, -1)));
}

TEST(PromqlEvalStaleness, LookbackOption) {
    MemoryStorage st;
    load(st, 10 * kS, "metric 7");
    EvalOptions one_minute;
    one_minute.lookback_ms = 60 * kS;
    EXPECT_TRUE(vector_is(evaluate(*sel("metric"), st, 60 * kS, one_minute), "metric 7"));
    EXPECT_TRUE(is_empty(evaluate(*sel("metric"), st, 60 * kS + 1, one_minute)));
    // 0 means Prometheus' default, 5 minutes.
    EvalOptions zero;
    zero.lookback_ms = 0;
    EXPECT_TRUE(vector_is(evaluate(*sel("metric"), st, 300 * kS, zero), "metric 7"));
    EXPECT_TRUE(is_empty(evaluate(*sel("metric"), st, 300 * kS + 1, zero)));
}

TEST(PromqlEvalStaleness, StaleMarkerInsideARangeDoesNotHideOlderSamples) {
    MemoryStorage st;
    load(st, 15 * kS, "c_total 10 20 stale 40 50");
    // Points 10 (0s), 20 (15s), 40 (45s), 50 (60s) in [0s, 60s]: the marker is skipped, not a
    // reset.
    EXPECT_TRUE(
        vector_is(evaluate(*call("increase", {range("c_total", 60 * kS)}), st, 60 * kS), "{} 40"));
    // max_over_time of a range holding only the marker: no points, no result.
    EXPECT_TRUE(
        is_empty(evaluate(*call("max_over_time", {range("c_total", 5 * kS)}), st, 30 * kS)));
}

// ---- selectors and matchers (selectors.test) -----------------------------------------------

class PromqlEvalSelectorsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        load(storage_, 10 * kS, R"(
            http_requests{job="api-server", instance="0", group="production"} 0+10x1000 100+30x1000
            http_requests{job="api-server", instance="1", group="production"} 0+20x1000 200+30x1000
            http_requests{job="api-server", instance="0", group="canary"}     0+30x1000 300+80x1000
            http_requests{job="api-server", instance="1", group="canary"}     0+40x2000
        )");
    }
    EvalResult at(std::int64_t t, const NodePtr &e) { return evaluate(*e, storage_, t); }
    NodePtr rate_1m(std::vector<LabelMatcher> ms) {
        return call("rate", {range("http_requests", 60 * kS, std::move(ms))});
    }
    MemoryStorage storage_;
};

TEST_F(PromqlEvalSelectorsTest, RateOverAllAndFilteredSeries) {
    EXPECT_TRUE(vector_is(at(8000 * kS, rate_1m({})), R"(
        {job="api-server", instance="0", group="production"} 1
        {job="api-server", instance="1", group="production"} 2
        {job="api-server", instance="0", group="canary"} 3
        {job="api-server", instance="1", group="canary"} 4)"));
    EXPECT_TRUE(vector_is(at(18000 * kS, rate_1m({})), R"(
        {job="api-server", instance="0", group="production"} 3
        {job="api-server", instance="1", group="production"} 3
        {job="api-server", instance="0", group="canary"} 8
        {job="api-server", instance="1", group="canary"} 4)"));
    EXPECT_TRUE(vector_is(at(8000 * kS, rate_1m({re("group", "pro.*")})), R"(
        {job="api-server", instance="0", group="production"} 1
        {job="api-server", instance="1", group="production"} 2)"));
    EXPECT_TRUE(vector_is(at(18000 * kS, rate_1m({re("group", ".*ry"), eq("instance", "1")})),
                          R"({job="api-server", instance="1", group="canary"} 4)"));
}

// A range function leaves the name out whether it sorts first (read in place) or after a
// label such as "Zone" or "_0" (copied), with and without a cache shared across expressions;
// the results then meet other vectors by their labels alone.
TEST(PromqlEvalSelectors, RangeFunctionsDropTheNameWhereverItSorts) {
    MemoryStorage st;
    load(st, 15 * kS, R"(
        requests{Zone="eu", job="a"} 0+15x40
        requests{_0="x", job="b"}    0+30x40
        requests{job="c"}            0+45x40
    )");
    const NodePtr rate = call("rate", {range("requests", 60 * kS, {})});
    const char *want = R"(
        {Zone="eu", job="a"} 1
        {_0="x", job="b"} 2
        {job="c"} 3)";
    EXPECT_TRUE(vector_is(evaluate(*rate, st, 400 * kS), want));
    EvalCache cache;
    EvalOptions options;
    options.cache = &cache;
    EXPECT_TRUE(vector_is(evaluate(*rate, st, 400 * kS, options), want));
    // The same series again, from the cache, under a binary operation that matches them.
    const NodePtr ratio = bin(BinaryOp::div, rate, rate);
    EXPECT_TRUE(vector_is(evaluate(*ratio, st, 400 * kS, options), R"(
        {Zone="eu", job="a"} 1
        {_0="x", job="b"} 1
        {job="c"} 1)"));
}

TEST_F(PromqlEvalSelectorsTest, MissingLabelsMatchTheEmptyString) {
    const std::string all = R"(
        http_requests{job="api-server", instance="0", group="production"} 0
        http_requests{job="api-server", instance="1", group="production"} 0
        http_requests{job="api-server", instance="0", group="canary"} 0
        http_requests{job="api-server", instance="1", group="canary"} 0)";
    EXPECT_TRUE(vector_is(at(0, sel("http_requests", {ne("foo", "bar")})), all));
    EXPECT_TRUE(
        vector_is(at(0, sel("http_requests", {ne("foo", "bar"), eq("job", "api-server")})), all));
    EXPECT_TRUE(
        vector_is(at(0, sel("http_requests", {nre("foo", "bar"), eq("job", "api-server")})), all));
    EXPECT_TRUE(vector_is(
        at(0, sel("http_requests", {nre("foo", "bar"), eq("job", "api-server"), eq("instance", "1"),
                                    ne("x", "y"), eq("z", ""), ne("group", "")})),
        R"(
        http_requests{job="api-server", instance="1", group="production"} 0
        http_requests{job="api-server", instance="1", group="canary"} 0)"));
    EXPECT_TRUE(is_empty(at(0, sel("http_requests", {ne("group", ""), eq("job", "")}))));
    EXPECT_TRUE(is_empty(at(0, sel("http_requests", {re("nonexistent", ".+")}))));
    EXPECT_EQ(
        std::get<InstantVector>(at(0, sel("http_requests", {re("nonexistent", ".*")}))).size(), 4u);
}

TEST_F(PromqlEvalSelectorsTest, RegexesAreAnchoredAndSpeakRe2) {
    auto groups = [&](LabelMatcher m) {
        std::vector<std::string> out;
        const EvalResult r = at(0, sel("http_requests", {m, eq("instance", "0")}));
        if (!std::holds_alternative<InstantVector>(r)) return std::vector<std::string>{describe(r)};
        for (const auto &s : std::get<InstantVector>(r))
            for (const auto &[n, v] : s.labels)
                if (n == "group") out.push_back(v);
        return out;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(groups(re("group", "prod")), V{});                 // anchored: no substring match
    EXPECT_EQ(groups(re("group", "prod|canary")), V{"canary"});  // anchors around the whole
    EXPECT_EQ(groups(re("group", "c.*|p.*")), (V{"canary", "production"}));
    EXPECT_EQ(groups(nre("group", "can.*")), V{"production"});
    // RE2 syntax, run by RE2 (issue prometheus#7994 cases too).
    EXPECT_EQ(groups(re("group", "(?i:PRO).*")), V{"production"});
    EXPECT_EQ(groups(re("group", ".*?(?i:PRO).*")), V{"production"});
    EXPECT_EQ(groups(re("group", ".*(?i:DUC).*")), V{"production"});
    EXPECT_EQ(groups(re("group", ".*(?i:TION)")), V{"production"});
    EXPECT_EQ(groups(re("group", "(?i)CANARY")), V{"canary"});
    EXPECT_EQ(groups(re("group", "(?i)[B-D]anary")), V{"canary"});
    EXPECT_EQ(groups(re("group", "(?i:C)ANARY")), V{});  // the flag stays inside its group
    EXPECT_EQ(groups(re("group", "(?:(?i)C)ANARY")), V{});
    EXPECT_EQ(groups(re("group", "(c(?i)ANARY)")), V{"canary"});
    EXPECT_EQ(groups(re("group", "(?P<g>c)anary")), V{"canary"});
    EXPECT_EQ(groups(re("group", "\\Qcanary\\E")), V{"canary"});
    EXPECT_EQ(groups(re("group", "c\\x61nary")), V{"canary"});
    EXPECT_EQ(groups(re("group", "[[:alpha:]]{6}")), V{"canary"});
    EXPECT_EQ(groups(re("group", "\\pL+")), (V{"canary", "production"}));
    EXPECT_EQ(groups(re("group", "[[:^digit:]]+")), (V{"canary", "production"}));
    EXPECT_EQ(groups(re("group", "(?U)(c.+)(.*)")), V{"canary"});
    EXPECT_EQ(groups(re("group", "\\143anary")), V{"canary"});  // octal
}

TEST(PromqlEvalSelectors, RegexesReadUtf8AsGoDoes) {
    MemoryStorage st;
    st.add(Series{{{"__name__", "s"}, {"v", "hello"}}, {{0, 1}}});
    st.add(Series{{{"__name__", "s"}, {"v", "h\u00e9llo"}}, {{0, 2}}});        // héllo
    st.add(Series{{{"__name__", "s"}, {"v", "h\u65e5llo"}}, {{0, 3}}});        // 日: 3 bytes
    st.add(Series{{{"__name__", "s"}, {"v", "h\xffllo"}}, {{0, 4}}});          // invalid byte
    st.add(Series{{{"__name__", "s"}, {"v", "h\xc3llo"}}, {{0, 5}}});          // truncated é
    st.add(Series{{{"__name__", "s"}, {"v", "h\xed\xa0\x80llo"}}, {{0, 6}}});  // a surrogate
    st.add(Series{{{"__name__", "s"}, {"v", "H\u00c9LLO"}}, {{0, 7}}});        // HÉLLO
    auto values = [&](const std::string &pattern) {
        std::vector<double> out;
        const EvalResult r = evaluate(*sel("s", {re("v", pattern)}), st, 0);
        if (const auto *v = std::get_if<InstantVector>(&r))
            for (const auto &smp : *v) out.push_back(smp.v);
        std::sort(out.begin(), out.end());
        return out;
    };
    using V = std::vector<double>;
    // `.` is one character, however many bytes it takes.
    EXPECT_EQ(values("h.llo"), (V{1, 2, 3, 4, 5}));
    EXPECT_EQ(values("h..llo"), V{});
    EXPECT_EQ(values("h[\u00e9\u65e5]llo"), (V{2, 3}));
    EXPECT_EQ(values("h\\x{e9}llo"), V{2});
    EXPECT_EQ(values("(?i)h\u00c9llo"), (V{2, 7}));  // Unicode case folding
    EXPECT_EQ(values("\\pL+"), (V{1, 2, 3, 7}));
    // A byte that is not UTF-8 is one character U+FFFD, as Go reads it: a surrogate's three
    // bytes are three.
    EXPECT_EQ(values("h\\x{FFFD}llo"), (V{4, 5}));
    EXPECT_EQ(values("h[^e]llo"), (V{2, 3, 4, 5}));
    EXPECT_EQ(values("h...llo"), V{6});
    EXPECT_EQ(values(".*"), (V{1, 2, 3, 4, 5, 6, 7}));
    // label_replace() copies the value's own bytes.
    const EvalResult r = evaluate(
        *call("label_replace", {sel("s"), str("w"), str("[$1]"), str("v"), str("h(.+)l(.)o")}), st,
        0);
    ASSERT_TRUE(std::holds_alternative<InstantVector>(r)) << describe(r);
    std::map<double, std::string> w;
    for (const auto &smp : std::get<InstantVector>(r))
        for (const auto &[n, v] : smp.labels)
            if (n == "w") w[smp.v] = v;
    EXPECT_EQ(w, (std::map<double, std::string>{{1, "[e]"},
                                                {2, "[\u00e9]"},
                                                {3, "[\u65e5]"},
                                                {4, "[\xff]"},
                                                {5, "[\xc3]"},
                                                {6, "[\xed\xa0\x80]"}}));
}

TEST_F(PromqlEvalSelectorsTest, InvalidRegexIsAnErrorAtItsMatcher) {
    EXPECT_TRUE(error_is(at(0, sel("http_requests", {eq("job", "x", 15), re("group", "(", 24)})),
                         24, "invalid regular expression"));
    EXPECT_TRUE(error_is(at(0, sel("http_requests", {re("group", "a)b", 3)})), 3,
                         "invalid regular expression"));
    // Back-references are not RE2.
    EXPECT_TRUE(error_is(at(0, sel("http_requests", {re("group", "(a)\\1", 5)})), 5,
                         "invalid regular expression"));
}

TEST(PromqlEvalSelectors, LiteralBracesAndDotsFollowRe2) {
    MemoryStorage st;
    load(st, 10 * kS, R"(
        s{v="a{b}c"} 1
        s{v="abbc"} 2
        s{v="line1\nline2"} 3
    )");
    EXPECT_TRUE(vector_is(evaluate(*sel("s", {re("v", "a{b}c")}), st, 0), R"(s{v="a{b}c"} 1)"));
    EXPECT_TRUE(vector_is(evaluate(*sel("s", {re("v", "ab{2}c")}), st, 0), R"(s{v="abbc"} 2)"));
    // `.` does not match a newline (RE2 without the s flag); (?s) makes it.
    EXPECT_TRUE(is_empty(evaluate(*sel("s", {re("v", "line1.line2")}), st, 0)));
    EXPECT_EQ(only_value(evaluate(*sel("s", {re("v", "(?s)line1.line2")}), st, 0)), 3);
}

TEST(PromqlEvalSelectors, LongValuesAndPathologicalPatterns) {
    // A backtracking matcher recurses once per character (200 kB would overflow the stack)
    // and takes exponential time on (a*)*b or (a+)+b; RE2 does neither.
    MemoryStorage st;
    st.add(Series{{{"__name__", "s"}, {"v", std::string(200000, 'a')}}, {{0, 1}}});
    st.add(Series{{{"__name__", "s"}, {"v", std::string(40, 'a')}}, {{0, 2}}});
    st.add(Series{{{"__name__", "t"}, {"v", std::string(100000, 'a')}}, {{0, 3}}});
    EXPECT_EQ(std::get<InstantVector>(evaluate(*sel("s", {re("v", ".*")}), st, 0)).size(), 2u);
    EXPECT_EQ(only_value(evaluate(*sel("s", {re("v", "a{40}")}), st, 0)), 2);
    EXPECT_TRUE(is_empty(evaluate(*sel("s", {re("v", "(a*)*b")}), st, 0)));
    EXPECT_TRUE(is_empty(evaluate(*sel("t", {re("v", "(a+)+b")}), st, 0)));
    EXPECT_EQ(only_value(evaluate(*sel("t", {nre("v", "(a+)+b")}), st, 0)), 3);
    EXPECT_EQ(only_value(evaluate(*sel("t", {re("v", "(a|aa)+")}), st, 0)), 3);
    const EvalResult t = evaluate(
        *call("label_replace", {sel("t"), str("w"), str("${1}-[$2]"), str("v"), str("(a+)+(b?)")}),
        st, 0);
    ASSERT_TRUE(std::holds_alternative<InstantVector>(t)) << describe(t);
    EXPECT_EQ(std::get<InstantVector>(t).at(0).labels.back().second,
              std::string(100000, 'a') + "-[]");
    const EvalResult r = evaluate(
        *call("label_replace", {sel("s"), str("w"), str("$2"), str("v"), str("(a*)(a{3})")}), st,
        0);
    ASSERT_TRUE(std::holds_alternative<InstantVector>(r)) << describe(r);
    for (const auto &smp : std::get<InstantVector>(r)) EXPECT_EQ(smp.labels.back().second, "aaa");
}

TEST(PromqlEvalSelectors, RangeSelectorHoldsBothEnds) {
    MemoryStorage st;
    load(st, 10 * kS, "m 1 2 3 4 5 6 7");
    auto count = [&](std::int64_t t, std::int64_t r) {
        return only_value(evaluate(*call("count_over_time", {range("m", r)}), st, t));
    };
    EXPECT_EQ(count(60 * kS, 60 * kS), 7);  // 0s .. 60s
    EXPECT_EQ(count(60 * kS, 60 * kS - 1), 6);
    EXPECT_EQ(count(55 * kS, 10 * kS), 1);  // 50s only
    EXPECT_EQ(count(50 * kS, 10 * kS), 2);  // 40s and 50s
}

TEST(PromqlEvalSelectors, TopLevelRangeVectorOrStringIsAnError) {
    MemoryStorage st;
    load(st, 10 * kS, "m 1");
    EXPECT_TRUE(
        error_is(evaluate(*sel("m", {}, 5 * kM, 3), st, 0), 3,
                 "a range vector is not supported as a signal: wrap it in rate(), increase(), "
                 "avg_over_time() or another function over time"));
    EXPECT_TRUE(error_is(evaluate(*str("x", 2), st, 0), 2, "string"));
}

TEST(PromqlEvalSelectors, MemoryStorageSelectsWithEveryMatcher) {
    MemoryStorage st;
    st.add(Series{{{"job", "a"}, {"__name__", "up"}, {"empty", ""}}, {{0, 1}}});
    st.add(Series{{{"__name__", "up"}, {"job", "b"}}, {{0, 2}}});
    st.add(Series{{{"__name__", "down"}, {"job", "a"}}, {{0, 3}}});
    EXPECT_EQ(st.select({eq("__name__", "up")}).size(), 2u);
    const auto both = st.select({eq("__name__", "up"), re("job", "a|c")});
    ASSERT_EQ(both.size(), 1u);
    // Stored sorted by name, with the empty label dropped (as Prometheus has none).
    EXPECT_EQ(both[0]->labels, (Labels{{"__name__", "up"}, {"job", "a"}}));
    EXPECT_EQ(st.select({eq("empty", "")}).size(), 3u);
    EXPECT_EQ(st.select({ne("job", "a"), nre("__name__", "d.*")}).size(), 1u);
    EXPECT_TRUE(st.select({re("job", "(")}).empty());  // an invalid regex matches nothing
}

TEST(PromqlEvalSelectors, MemoryStorageMergesASeriesAddedTwice) {
    MemoryStorage st;
    st.add(Series{{{"__name__", "m"}}, {{20 * kS, 2}, {0, 0}}});
    st.add(Series{{{"__name__", "m"}}, {{10 * kS, 1}, {20 * kS, 99}}});
    const auto s = st.select({eq("__name__", "m")});
    ASSERT_EQ(s.size(), 1u);
    ASSERT_EQ(s[0]->points.size(), 3u);  // sorted; the second sample at 20s is dropped
    EXPECT_EQ(s[0]->points[1].t_ms, 10 * kS);
    EXPECT_EQ(s[0]->points[2].v, 2);
    EXPECT_EQ(only_value(evaluate(*sel("m"), st, 25 * kS)), 2);
}

// ---- rate, increase, delta, irate (functions.test) -----------------------------------------

TEST(PromqlEvalRate, IncreaseOverWholeAndLongerRange) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        http_requests{path="/foo"} 0+10x10
        http_requests{path="/bar"} 0+10x5 0+10x5
    )");
    for (std::int64_t r : {50 * kM, 100 * kM}) {
        EXPECT_TRUE(vector_is(evaluate(*call("increase", {range("http_requests", r)}), st, 50 * kM),
                              R"({path="/foo"} 100
                                 {path="/bar"} 90)"))
            << r;
    }
}

TEST(PromqlEvalRate, IncreaseCountsAResetAsStartingFromZero) {
    MemoryStorage st;
    load(st, 5 * kM, R"(http_requests{path="/foo"} 0 1 2 3 2 3 4)");
    EXPECT_TRUE(
        vector_is(evaluate(*call("increase", {range("http_requests", 30 * kM)}), st, 30 * kM),
                  R"({path="/foo"} 7)"));
}

TEST(PromqlEvalRate, ResetsInTheMiddleAndAtTheEnd) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        testcounter_reset_middle 0+10x4 0+10x5
        testcounter_reset_end    0+10x9 0 10
    )");
    EXPECT_TRUE(vector_is(
        evaluate(*call("rate", {range("testcounter_reset_middle", 50 * kM)}), st, 50 * kM),
        "{} 0.03"));
    EXPECT_TRUE(vector_is(
        evaluate(*call("rate", {range("testcounter_reset_end", 5 * kM)}), st, 50 * kM), "{} 0"));
}

TEST(PromqlEvalRate, PerSecondAndExact) {
    MemoryStorage st;
    load(st, 5 * kM, "calculate_rate_window 0+80x10");
    // exact
    EXPECT_TRUE(
        vector_is(evaluate(*call("rate", {range("calculate_rate_window", 50 * kM)}), st, 50 * kM),
                  "{} 0.26666666666666666", Cmp::exact));
}

TEST(PromqlEvalRate, ZeroCutoffForLeftSideExtrapolation) {
    MemoryStorage st;
    load(st, 4 * kM, R"(
        testcounter_zero_cutoff{start="0m"} 0+240x10
        testcounter_zero_cutoff{start="1m"} 60+240x10
        testcounter_zero_cutoff{start="2m"} 120+240x10
        testcounter_zero_cutoff{start="3m"} 180+240x10
        testcounter_zero_cutoff{start="4m"} 240+240x10
        testcounter_zero_cutoff{start="5m"} 300+240x10
    )");
    auto rate20m = call("rate", {range("testcounter_zero_cutoff", 20 * kM)});
    EXPECT_TRUE(vector_is(evaluate(*rate20m, st, 10 * kM), R"(
        {start="0m"} 0.5
        {start="1m"} 0.55
        {start="2m"} 0.6
        {start="3m"} 0.65
        {start="4m"} 0.7
        {start="5m"} 0.6)"));
    // Normal half-interval cutoff.
    EXPECT_TRUE(vector_is(evaluate(*rate20m, st, 50 * kM), R"(
        {start="0m"} 0.6
        {start="1m"} 0.6
        {start="2m"} 0.6
        {start="3m"} 0.6
        {start="4m"} 0.6
        {start="5m"} 0.6)"));
}

TEST(PromqlEvalRate, ExtrapolationRulesWorkedByHand) {
    // Samples every 15s; rate over [1m] at t=100s sees 45s (v=30), 60s, 75s, 90s (v=60).
    // sampledInterval 45s, average 15s, threshold 16.5s. durationToStart = 45s - 40s = 5s
    // (< 16.5: extrapolate all of it), durationToEnd = 10s (< 16.5): interval 45 + 5 + 10 = 60s;
    // increase = 30 * 60 / 45 = 40, rate = 40 / 60.
    MemoryStorage st;
    load(st, 15 * kS, "c_total 0+10x20");
    EXPECT_DOUBLE_EQ(only_value(evaluate(*call("increase", {range("c_total", kM)}), st, 100 * kS)),
                     40);
    EXPECT_DOUBLE_EQ(only_value(evaluate(*call("rate", {range("c_total", kM)}), st, 100 * kS)),
                     40.0 / 60);
    // A gap: samples only at 0s and 10s of a [1m] range ending at 60s. durationToEnd 50s is
    // over 1.1 * 10s, so only half an average interval (5s) is added at the end; the start
    // (0s, exactly at the range's start) adds 0: 10s + 0 + 5s = 15s; delta 5 * 15/10 = 7.5.
    MemoryStorage gap;
    load(gap, 10 * kS, "g 100 105");
    EXPECT_DOUBLE_EQ(only_value(evaluate(*call("delta", {range("g", kM)}), gap, 60 * kS)), 7.5);
    // The same as a counter: the zero point (100 / 5 * 10s = 200s before) is further than the
    // start, so nothing changes.
    EXPECT_DOUBLE_EQ(only_value(evaluate(*call("increase", {range("g", kM)}), gap, 60 * kS)), 7.5);
    // A counter at 2 then 12 over 10s: zero point 2s before the first sample, closer than the
    // 5s to the range start (t=15s, [15s] range starts at 0s; samples at 5s and 15s).
    MemoryStorage zero;
    zero.add(Series{{{"__name__", "z"}}, {{5 * kS, 2}, {15 * kS, 12}}});
    // interval 10 + 2 (zero point) + 0 = 12s: increase 10 * 12 / 10 = 12.
    EXPECT_DOUBLE_EQ(only_value(evaluate(*call("increase", {range("z", 15 * kS)}), zero, 15 * kS)),
                     12);
    // delta() is no counter: 10 + 5 (start) = 15s: 15.
    EXPECT_DOUBLE_EQ(only_value(evaluate(*call("delta", {range("z", 15 * kS)}), zero, 15 * kS)),
                     15);
}

TEST(PromqlEvalRate, FewerThanTwoPointsGiveNothing) {
    MemoryStorage st;
    load(st, 10 * kS, "c_total 5");
    for (const char *f : {"rate", "increase", "delta", "irate"})
        EXPECT_TRUE(is_empty(evaluate(*call(f, {range("c_total", kM)}), st, 30 * kS))) << f;
}

TEST(PromqlEvalRate, ExactValuesFromPrometheus) {
    // exact: irregular samples (ms timestamps) and a non-integer range in seconds.
    MemoryStorage st;
    st.add(Series{{{"__name__", "c_total"}},
                  {{1250, 3}, {16300, 9.5}, {31100, 9.5}, {47900, 1}, {61000, 4.25}, {75500, 30}}});
    const std::int64_t t = 80 * kS;
    EXPECT_TRUE(vector_is(evaluate(*call("rate", {range("c_total", 90 * kS)}), st, t),
                          "{} 0.4634680134680135", Cmp::exact));
    EXPECT_TRUE(vector_is(evaluate(*call("increase", {range("c_total", 61500)}), st, t),
                          "{} 41.55405405405405", Cmp::exact));
    EXPECT_TRUE(vector_is(evaluate(*call("delta", {range("c_total", 45 * kS)}), st, t),
                          "{} 47.28260869565217", Cmp::exact));
    // The range in seconds is not whole: 61.5.
    EXPECT_TRUE(vector_is(evaluate(*call("rate", {range("c_total", 61500)}), st, t),
                          "{} 0.6756756756756757", Cmp::exact));
    EXPECT_TRUE(vector_is(evaluate(*call("irate", {range("c_total", 45 * kS)}), st, t),
                          "{} 1.7758620689655173", Cmp::exact));
}

TEST(PromqlEvalRate, IrateAndIdelta) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        http_requests{path="/foo"} 0+10x10
        http_requests{path="/bar"} 0+10x5 0+10x5
    )");
    auto irate = call("irate", {range("http_requests", 50 * kM)});
    EXPECT_TRUE(vector_is(evaluate(*irate, st, 50 * kM), R"(
        {path="/foo"} .03333333333333333333
        {path="/bar"} .03333333333333333333)"));
    // At 30m /bar's last two samples are 50 then 0: a reset, the rate of 0 over 5m.
    EXPECT_TRUE(vector_is(evaluate(*irate, st, 30 * kM), R"(
        {path="/foo"} .03333333333333333333
        {path="/bar"} 0)"));

    MemoryStorage d;
    load(d, 5 * kM, R"(
        http_requests{path="/foo"} 0 50 100 150
        http_requests{path="/bar"} 0 50 100 50
    )");
    EXPECT_TRUE(
        vector_is(evaluate(*call("idelta", {range("http_requests", 20 * kM)}), d, 20 * kM), R"(
        {path="/foo"} 50
        {path="/bar"} -50)"));
}

TEST(PromqlEvalRate, Delta) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        http_requests{path="/foo"} 0 50 100 150 200
        http_requests{path="/bar"} 200 150 100 50 0
    )");
    EXPECT_TRUE(
        vector_is(evaluate(*call("delta", {range("http_requests", 20 * kM)}), st, 20 * kM), R"(
        {path="/foo"} 200
        {path="/bar"} -200)"));
}

TEST(PromqlEvalRate, DroppingTheNameCanCollideLabelSets) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        testmetric1{src="a",dst="b"} 0 1
        testmetric2{src="a",dst="b"} 1 2
    )");
    auto both = [](std::int64_t r) {
        return range("", r, {re("__name__", "testmetric1|testmetric2")});
    };
    EXPECT_TRUE(error_is(evaluate(*call("rate", {both(10 * kM)}, 4), st, 5 * kM), 4, kDupLabelset));
    // changes() likewise (functions.test).
    EXPECT_TRUE(error_is(evaluate(*call("changes", {both(5 * kM)}), st, 0), 0, kDupLabelset));
    // last_over_time keeps the name: no collision.
    EXPECT_TRUE(vector_is(evaluate(*call("last_over_time", {both(10 * kM)}), st, 5 * kM), R"(
        testmetric1{src="a",dst="b"} 1
        testmetric2{src="a",dst="b"} 2)"));
    // One of them alone is fine, its name dropped.
    EXPECT_TRUE(vector_is(evaluate(*call("rate", {range("testmetric1", 10 * kM)}), st, 5 * kM),
                          R"({src="a",dst="b"} 0.0016666666666666668)", Cmp::exact));
}

// ---- functions over time (functions.test) ---------------------------------------------------

TEST(PromqlEvalOverTime, AvgAndSumWithInfinitiesAndOverflow) {
    MemoryStorage st;
    load(st, 10 * kS, R"(
        metric 1 2 3 4 5
        metric2 1 2 3 4 Inf
        metric3 1 2 3 4 -Inf
        metric4 1 2 3 Inf -Inf
        metric5 Inf 0 Inf
        metric5c Inf Inf Inf -Inf
        metric6 1 2 3 -Inf -Inf
        metric6b -Inf 0 -Inf
        metric6c -Inf -Inf -Inf Inf
        metric7 1 2 -Inf -Inf Inf
        metric8 9.988465674311579e+307 9.988465674311579e+307
        metric9 -9.988465674311579e+307 -9.988465674311579e+307 -9.988465674311579e+307
        metric10 -9.988465674311579e+307 9.988465674311579e+307
    )");
    struct Case {
        const char *metric;
        double avg;
        double sum_over_count;
    };
    const Case cases[] = {
        {"metric", 3, 3},
        {"metric2", kInf, kInf},
        {"metric3", -kInf, -kInf},
        {"metric4", kNaN, kNaN},
        {"metric5", kInf, kInf},
        {"metric5c", kNaN, kNaN},
        {"metric6", -kInf, -kInf},
        {"metric6b", -kInf, -kInf},
        {"metric6c", kNaN, kNaN},
        {"metric7", kNaN, kNaN},
        // The incremental mean does not overflow where sum/count does.
        {"metric8", 9.988465674311579e+307, kInf},
        {"metric9", -9.988465674311579e+307, -kInf},
        {"metric10", 0, 0},
    };
    for (const auto &c : cases) {
        auto r = [&](const char *f) { return call(f, {range(c.metric, kM)}); };
        EXPECT_TRUE(almost_equal(only_value(evaluate(*r("avg_over_time"), st, kM)), c.avg))
            << c.metric;
        auto ratio = bin(BinaryOp::div, r("sum_over_time"), r("count_over_time"));
        EXPECT_TRUE(almost_equal(only_value(evaluate(*ratio, st, kM)), c.sum_over_count))
            << c.metric;
    }
}

TEST(PromqlEvalOverTime, SumOverTimeIsKahanCompensated) {
    // Plain addition loses the 1s next to 1e16 (1e16 + 1 == 1e16); Prometheus 2.42's
    // sum_over_time keeps them with Neumaier's compensation (and sum() does not).
    MemoryStorage st;
    load(st, 10 * kS, "m 1e16 1 1 1 1 -1e16");
    EXPECT_EQ(only_value(evaluate(*call("sum_over_time", {range("m", kM)}), st, kM)), 4);
    MemoryStorage many;
    load(many, 10 * kS, R"(
        m{i="1"} 1e16
        m{i="2"} 1
        m{i="3"} 1
        m{i="4"} -1e16
    )");
    // sum() adds in label order: ((1e16 + 1) + 1) - 1e16 = 0 in float64.
    EXPECT_EQ(only_value(evaluate(*agg(AggregationOp::sum, sel("m")), many, 0)), 0);
}

TEST(PromqlEvalOverTime, StddevStdvarAndQuantile) {
    MemoryStorage st;
    load(st, 10 * kS, R"(
        metric 0 8 8 2 3
        flat 1.5990505637277868 1.5990505637277868 1.5990505637277868
    )");
    EXPECT_TRUE(almost_equal(
        only_value(evaluate(*call("stdvar_over_time", {range("metric", kM)}), st, kM)), 10.56));
    EXPECT_TRUE(almost_equal(
        only_value(evaluate(*call("stddev_over_time", {range("metric", kM)}), st, kM)), 3.249615));
    EXPECT_EQ(only_value(evaluate(*call("stdvar_over_time", {range("flat", kM)}), st, kM)), 0);
    EXPECT_EQ(only_value(evaluate(*call("stddev_over_time", {range("flat", kM)}), st, kM)), 0);

    MemoryStorage q;
    load(q, 10 * kS, R"(
        data{test="two samples"} 0 1
        data{test="three samples"} 0 1 2
        data{test="uneven samples"} 0 1 4
    )");
    auto qot = [&](double phi) {
        return evaluate(*call("quantile_over_time", {num(phi), range("data", kM)}), q, kM);
    };
    EXPECT_TRUE(vector_is(qot(0), R"({test="two samples"} 0
        {test="three samples"} 0
        {test="uneven samples"} 0)"));
    EXPECT_TRUE(vector_is(qot(0.5), R"({test="two samples"} 0.5
        {test="three samples"} 1
        {test="uneven samples"} 1)"));
    EXPECT_TRUE(vector_is(qot(0.75), R"({test="two samples"} 0.75
        {test="three samples"} 1.5
        {test="uneven samples"} 2.5)"));
    EXPECT_TRUE(vector_is(qot(0.8), R"({test="two samples"} 0.8
        {test="three samples"} 1.6
        {test="uneven samples"} 2.8)"));
    EXPECT_TRUE(vector_is(qot(1), R"({test="two samples"} 1
        {test="three samples"} 2
        {test="uneven samples"} 4)"));
    EXPECT_TRUE(vector_is(qot(-1), R"({test="two samples"} -Inf
        {test="three samples"} -Inf
        {test="uneven samples"} -Inf)"));
    EXPECT_TRUE(vector_is(qot(2), R"({test="two samples"} +Inf
        {test="three samples"} +Inf
        {test="uneven samples"} +Inf)"));
}

TEST(PromqlEvalOverTime, QuantileSortsNaNFirst) {
    // Values NaN 1 2 NaN 5 sort as NaN NaN 1 2 5 (vectorByValueHeap.Less). exact.
    MemoryStorage st;
    load(st, 10 * kS, "q NaN 1 2 NaN 5");
    auto qot = [&](double phi) {
        return evaluate(*call("quantile_over_time", {num(phi), range("q", kM)}), st, kM);
    };
    EXPECT_TRUE(vector_is(qot(0.5), "{} 1", Cmp::exact));
    EXPECT_TRUE(vector_is(qot(0.9), "{} 3.8000000000000003", Cmp::exact));
    EXPECT_TRUE(vector_is(qot(0.1), "{} NaN"));
}

TEST(PromqlEvalOverTime, MinMaxLastWithNaN) {
    MemoryStorage st;
    load(st, 10 * kS, R"(
        data{type="numbers"} 2 0 3
        data{type="some_nan"} 2 0 NaN
        data{type="some_nan2"} 2 NaN 1
        data{type="some_nan3"} NaN 0 1
        data{type="only_nan"} NaN NaN NaN
    )");
    EXPECT_TRUE(vector_is(evaluate(*call("min_over_time", {range("data", kM)}), st, kM), R"(
        {type="numbers"} 0
        {type="some_nan"} 0
        {type="some_nan2"} 1
        {type="some_nan3"} 0
        {type="only_nan"} NaN)"));
    EXPECT_TRUE(vector_is(evaluate(*call("max_over_time", {range("data", kM)}), st, kM), R"(
        {type="numbers"} 3
        {type="some_nan"} 2
        {type="some_nan2"} 2
        {type="some_nan3"} 1
        {type="only_nan"} NaN)"));
    // last_over_time keeps the metric name.
    EXPECT_TRUE(vector_is(evaluate(*call("last_over_time", {range("data", kM)}), st, kM), R"(
        data{type="numbers"} 3
        data{type="some_nan"} NaN
        data{type="some_nan2"} 1
        data{type="some_nan3"} 1
        data{type="only_nan"} NaN)"));
}

TEST(PromqlEvalOverTime, ResetsAndChanges) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        http_requests{path="/foo"} 1 2 3 0 1 0 0 1 2 0
        http_requests{path="/bar"} 1 2 3 4 5 1 2 3 4 5
        http_requests{path="/biz"} 0 0 0 0 0 1 1 1 1 1
    )");
    auto at50 = [&](const char *f, std::int64_t r) {
        return evaluate(*call(f, {range("http_requests", r)}), st, 50 * kM);
    };
    EXPECT_TRUE(vector_is(at50("resets", 20 * kM), R"({path="/foo"} 1
        {path="/bar"} 0
        {path="/biz"} 0)"));
    EXPECT_TRUE(vector_is(at50("resets", 50 * kM), R"({path="/foo"} 3
        {path="/bar"} 1
        {path="/biz"} 0)"));
    EXPECT_TRUE(vector_is(at50("changes", 30 * kM), R"({path="/foo"} 4
        {path="/bar"} 5
        {path="/biz"} 1)"));
    EXPECT_TRUE(vector_is(at50("changes", 50 * kM), R"({path="/foo"} 8
        {path="/bar"} 9
        {path="/biz"} 1)"));
    EXPECT_TRUE(
        is_empty(evaluate(*call("resets", {range("nonexistent_metric", 50 * kM)}), st, 50 * kM)));

    MemoryStorage nan;
    load(nan, 5 * kM, R"(
        x{a="b"} NaN NaN NaN
        x{a="c"} 0 NaN 0
    )");
    EXPECT_TRUE(vector_is(evaluate(*call("changes", {range("x", 15 * kM)}), nan, 15 * kM),
                          R"({a="b"} 0
                             {a="c"} 2)"));
}

TEST(PromqlEvalOverTime, DerivAndPredictLinear) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        testcounter_reset_middle 0+10x4 0+10x5
        http_requests{job="app-server", instance="1", group="canary"} 0+80x10
    )");
    EXPECT_TRUE(
        vector_is(evaluate(*call("deriv", {range("http_requests", 50 * kM)}), st, 50 * kM),
                  R"({group="canary", instance="1", job="app-server"} 0.26666666666666666)"));
    EXPECT_TRUE(vector_is(
        evaluate(*call("deriv", {range("testcounter_reset_middle", 100 * kM)}), st, 50 * kM),
        "{} 0.010606060606060607"));
    EXPECT_TRUE(vector_is(
        evaluate(*call("predict_linear", {range("testcounter_reset_middle", 100 * kM), num(3600)}),
                 st, 50 * kM),
        "{} 76.81818181818181"));
}

TEST(PromqlEvalOverTime, AbsentAndPresentOverTime) {
    MemoryStorage st;
    EXPECT_TRUE(vector_is(
        evaluate(*call("absent_over_time", {range("http_requests", 5 * kM)}), st, kM), "{} 1"));
    EXPECT_TRUE(vector_is(evaluate(*call("absent_over_time",
                                         {range("http_requests", 5 * kM, {eq("handler", "/foo")})}),
                                   st, kM),
                          R"({handler="/foo"} 1)"));
    EXPECT_TRUE(vector_is(
        evaluate(*call("absent_over_time", {range("http_requests", 5 * kM,
                                                  {eq("handler", "/foo"), eq("handler", "/bar"),
                                                   eq("instance", "127.0.0.1")})}),
                 st, kM),
        R"({instance="127.0.0.1"} 1)"));
    load(st, kM, R"(
        http_requests{path="/foo",instance="127.0.0.1",job="httpd"} 1+1x10
        httpd_log_lines_total{instance="127.0.0.1",job="node"} 1
        ssl_certificate_expiry_seconds{job="ingress"} NaN NaN NaN NaN NaN
    )");
    auto absent = [&](NodePtr r, std::int64_t t) {
        return evaluate(*call("absent_over_time", {std::move(r)}), st, t);
    };
    EXPECT_TRUE(is_empty(absent(range("http_requests", 5 * kM), 5 * kM)));
    EXPECT_TRUE(is_empty(absent(range("httpd_log_lines_total", 30 * kS), 0)));
    EXPECT_TRUE(vector_is(absent(range("httpd_log_lines_total", 30 * kS), kM), "{} 1"));
    EXPECT_TRUE(is_empty(absent(range("http_requests", 5 * kM), 15 * kM)));
    EXPECT_TRUE(vector_is(absent(range("http_requests", 5 * kM), 16 * kM), "{} 1"));
    EXPECT_TRUE(
        is_empty(absent(range("", 4 * kM, {eq("job", "ingress")}), 5 * kM)));  // NaN is a value
    EXPECT_TRUE(vector_is(absent(range("", 4 * kM, {eq("job", "ingress")}), 10 * kM),
                          R"({job="ingress"} 1)"));
    EXPECT_TRUE(vector_is(
        evaluate(*call("present_over_time", {range("http_requests", 5 * kM)}), st, 15 * kM),
        R"({instance="127.0.0.1", job="httpd", path="/foo"} 1)"));
    EXPECT_TRUE(is_empty(
        evaluate(*call("present_over_time", {range("http_requests", 5 * kM)}), st, 16 * kM)));
}

// ---- histogram_quantile (histograms.test, quantile.go) ---------------------------------------

class PromqlEvalHistogramTest : public ::testing::Test {
  protected:
    void SetUp() override {
        load(storage_, 5 * kM, R"(
            testhistogram_bucket{le="0.1", start="positive"}  0+5x10
            testhistogram_bucket{le=".2", start="positive"}   0+7x10
            testhistogram_bucket{le="1e0", start="positive"}  0+11x10
            testhistogram_bucket{le="+Inf", start="positive"} 0+12x10
            testhistogram_bucket{le="-.2", start="negative"}  0+1x10
            testhistogram_bucket{le="-0.1", start="negative"} 0+2x10
            testhistogram_bucket{le="0.3", start="negative"}  0+2x10
            testhistogram_bucket{le="+Inf", start="negative"} 0+3x10
            testhistogram2_bucket{le="0"}    0+0x10
            testhistogram2_bucket{le="2"}    0+1x10
            testhistogram2_bucket{le="4"}    0+2x10
            testhistogram2_bucket{le="6"}    0+3x10
            testhistogram2_bucket{le="+Inf"} 0+3x10
            request_duration_seconds_bucket{job="job1", instance="ins1", le="0.1"}  0+1x10
            request_duration_seconds_bucket{job="job1", instance="ins1", le="0.2"}  0+3x10
            request_duration_seconds_bucket{job="job1", instance="ins1", le="+Inf"} 0+4x10
            request_duration_seconds_bucket{job="job1", instance="ins2", le="0.1"}  0+2x10
            request_duration_seconds_bucket{job="job1", instance="ins2", le="0.2"}  0+5x10
            request_duration_seconds_bucket{job="job1", instance="ins2", le="+Inf"} 0+6x10
            request_duration_seconds_bucket{job="job2", instance="ins1", le="0.1"}  0+3x10
            request_duration_seconds_bucket{job="job2", instance="ins1", le="0.2"}  0+4x10
            request_duration_seconds_bucket{job="job2", instance="ins1", le="+Inf"} 0+6x10
            request_duration_seconds_bucket{job="job2", instance="ins2", le="0.1"}  0+4x10
            request_duration_seconds_bucket{job="job2", instance="ins2", le="0.2"}  0+7x10
            request_duration_seconds_bucket{job="job2", instance="ins2", le="+Inf"} 0+9x10
            mixed_bucket{job="job1", instance="ins1", le="0.1"}    0+1x10
            mixed_bucket{job="job1", instance="ins1", le="0.2"}    0+1x10
            mixed_bucket{job="job1", instance="ins1", le="2e-1"}   0+1x10
            mixed_bucket{job="job1", instance="ins1", le="2.0e-1"} 0+1x10
            mixed_bucket{job="job1", instance="ins1", le="+Inf"}   0+4x10
            mixed_bucket{job="job1", instance="ins2", le="+inf"}   0+0x10
            mixed_bucket{job="job1", instance="ins2", le="+Inf"}   0+0x10
            nonmonotonic_bucket{le="0.1"}  0+2x10
            nonmonotonic_bucket{le="1"}    0+1x10
            nonmonotonic_bucket{le="10"}   0+5x10
            nonmonotonic_bucket{le="100"}  0+4x10
            nonmonotonic_bucket{le="1000"} 0+9x10
            nonmonotonic_bucket{le="+Inf"} 0+8x10
            empty_bucket{le="0.1", job="job1", instance="ins1"}  0x10
            empty_bucket{le="0.2", job="job1", instance="ins1"}  0x10
            empty_bucket{le="+Inf", job="job1", instance="ins1"} 0x10
            request_duration_seconds2_bucket{job="job1", instance="ins1", le="0.1"}  0+1x10
            request_duration_seconds2_bucket{job="job1", instance="ins1", le="0.2"}  0+3x10
            request_duration_seconds2_bucket{job="job1", instance="ins1", le="+Inf"} 0+4x10
        )");
    }
    EvalResult hq(double q, NodePtr v, std::int64_t t = 50 * kM) {
        return evaluate(*call("histogram_quantile", {num(q), std::move(v)}), storage_, t);
    }
    static NodePtr rate5m(const char *m) { return call("rate", {range(m, 5 * kM)}); }
    MemoryStorage storage_;
};

TEST_F(PromqlEvalHistogramTest, QuantileOutOfRangeOrNaN) {
    EXPECT_TRUE(vector_is(hq(-0.1, sel("testhistogram_bucket")), R"({start="positive"} -Inf
        {start="negative"} -Inf)"));
    EXPECT_TRUE(vector_is(hq(1.01, sel("testhistogram_bucket")), R"({start="positive"} +Inf
        {start="negative"} +Inf)"));
    EXPECT_TRUE(vector_is(hq(kNaN, sel("testhistogram_bucket")), R"({start="positive"} NaN
        {start="negative"} NaN)"));
}

TEST_F(PromqlEvalHistogramTest, LowestAndHighestBuckets) {
    EXPECT_TRUE(vector_is(hq(0, sel("testhistogram_bucket", {eq("start", "positive")})),
                          R"({start="positive"} 0)"));
    EXPECT_TRUE(vector_is(hq(0, sel("testhistogram_bucket", {eq("start", "negative")})),
                          R"({start="negative"} -0.2)"));
    EXPECT_TRUE(vector_is(hq(1, sel("testhistogram_bucket")), R"({start="positive"} 1
        {start="negative"} 0.3)"));
}

TEST_F(PromqlEvalHistogramTest, InterpolatesWithinBuckets) {
    const char *q02 = R"({start="positive"} 0.048
        {start="negative"} -0.2)";
    const char *q05 = R"({start="positive"} 0.15
        {start="negative"} -0.15)";
    const char *q08 = R"({start="positive"} 0.72
        {start="negative"} 0.3)";
    EXPECT_TRUE(vector_is(hq(0.2, sel("testhistogram_bucket")), q02));
    EXPECT_TRUE(vector_is(hq(0.5, sel("testhistogram_bucket")), q05));
    EXPECT_TRUE(vector_is(hq(0.8, sel("testhistogram_bucket")), q08));
    EXPECT_TRUE(vector_is(hq(0.2, rate5m("testhistogram_bucket")), q02));
    EXPECT_TRUE(vector_is(hq(0.5, rate5m("testhistogram_bucket")), q05));
    EXPECT_TRUE(vector_is(hq(0.8, rate5m("testhistogram_bucket")), q08));
    // Exactly in the middle of a bucket.
    EXPECT_TRUE(vector_is(hq(1. / 6., sel("testhistogram2_bucket"), 7 * kM), "{} 1"));
    EXPECT_TRUE(vector_is(hq(0.5, sel("testhistogram2_bucket"), 7 * kM), "{} 3"));
    EXPECT_TRUE(vector_is(hq(5. / 6., sel("testhistogram2_bucket"), 7 * kM), "{} 5"));
    auto r15 = call("rate", {range("testhistogram2_bucket", 15 * kM)});
    EXPECT_TRUE(vector_is(hq(0.5, r15, 47 * kM), "{} 3"));
}

TEST_F(PromqlEvalHistogramTest, AggregatedByLe) {
    auto by = [](std::vector<std::string> labels, AggregationOp op = AggregationOp::sum) {
        return agg(op, rate5m("request_duration_seconds_bucket"), std::move(labels));
    };
    EXPECT_TRUE(vector_is(hq(0.3, by({"le"})), "{} 0.075"));
    EXPECT_TRUE(vector_is(hq(0.5, by({"le"})), "{} 0.1277777777777778"));
    EXPECT_TRUE(vector_is(hq(0.3, by({"le"}, AggregationOp::avg)), "{} 0.075"));
    EXPECT_TRUE(vector_is(hq(0.5, by({"le"}, AggregationOp::avg)), "{} 0.12777777777777778"));
    EXPECT_TRUE(vector_is(hq(0.5, by({"le", "instance"})), R"({instance="ins1"} 0.1333333333
        {instance="ins2"} 0.125)"));
    EXPECT_TRUE(vector_is(hq(0.3, by({"le", "job"})), R"({job="job1"} 0.1
        {job="job2"} 0.0642857142857143)"));
    const char *by_all = R"({instance="ins1", job="job1"} 0.15
        {instance="ins2", job="job1"} 0.1333333333333333
        {instance="ins1", job="job2"} 0.1
        {instance="ins2", job="job2"} 0.1166666666666667)";
    EXPECT_TRUE(vector_is(hq(0.5, by({"le", "job", "instance"})), by_all));
    EXPECT_TRUE(vector_is(hq(0.5, rate5m("request_duration_seconds_bucket")), by_all));
}

TEST_F(PromqlEvalHistogramTest, NonMonotonicBucketsAreMadeMonotonic) {
    EXPECT_TRUE(vector_is(hq(0.01, sel("nonmonotonic_bucket")), "{} 0.0045"));
    EXPECT_TRUE(vector_is(hq(0.5, sel("nonmonotonic_bucket")), "{} 8.5"));
    EXPECT_TRUE(vector_is(hq(0.99, sel("nonmonotonic_bucket")), "{} 979.75"));
}

TEST_F(PromqlEvalHistogramTest, EqualBoundsSpelledDifferentlyAreCoalesced) {
    EXPECT_TRUE(vector_is(hq(0.5, rate5m("mixed_bucket")), R"({instance="ins1", job="job1"} 0.15
        {instance="ins2", job="job1"} NaN)"));
    EXPECT_TRUE(vector_is(hq(0.75, rate5m("mixed_bucket")), R"({instance="ins1", job="job1"} 0.2
        {instance="ins2", job="job1"} NaN)"));
    EXPECT_TRUE(vector_is(hq(1, rate5m("mixed_bucket")), R"({instance="ins1", job="job1"} 0.2
        {instance="ins2", job="job1"} NaN)"));
}

TEST_F(PromqlEvalHistogramTest, NoObservationsIsNaN) {
    EXPECT_TRUE(vector_is(hq(0.2, rate5m("empty_bucket")), R"({instance="ins1", job="job1"} NaN)"));
}

TEST_F(PromqlEvalHistogramTest, TwoHistogramsWithTheSameLabelsAfterTheNameIsDropped) {
    EXPECT_TRUE(
        error_is(evaluate(*call("histogram_quantile",
                                {num(0.99), sel("", {re("__name__", "request_duration.*")})}, 7),
                          storage_, 50 * kM),
                 7, kDupLabelset));
}

TEST(PromqlEvalHistogram, EdgeCasesOfBucketQuantile) {
    MemoryStorage st;
    load(st, kM, R"(
        noinf_bucket{le="1"} 1
        noinf_bucket{le="2"} 2
        single_bucket{le="+Inf"} 3
        weird_bucket{le="1"} 5
        weird_bucket{le="abc"} 7
        weird_bucket{le="2"} 9
        weird_bucket{le="+Inf"} 10
        nole_bucket{x="1"} 4
        nan_bucket{le="0.1"} NaN
        nan_bucket{le="1"} 2
        nan_bucket{le="+Inf"} 4
    )");
    auto hq = [&](double q, const char *m) {
        return evaluate(*call("histogram_quantile", {num(q), sel(m)}), st, 0);
    };
    EXPECT_TRUE(vector_is(hq(0.5, "noinf_bucket"), "{} NaN"));   // highest bucket not +Inf
    EXPECT_TRUE(vector_is(hq(0.5, "single_bucket"), "{} NaN"));  // fewer than two buckets
    // A bucket whose le does not parse is left out: 1 -> 5, 2 -> 9, +Inf -> 10; rank 5.
    EXPECT_TRUE(vector_is(hq(0.5, "weird_bucket"), "{} 1"));
    EXPECT_TRUE(vector_is(hq(0.7, "weird_bucket"), "{} 1.5"));
    EXPECT_TRUE(is_empty(hq(0.5, "nole_bucket")));  // no le at all: no bucket, no result
    // A NaN count is left as it is (ensureMonotonic does not touch it) and poisons the
    // interpolation that uses it.
    EXPECT_TRUE(vector_is(hq(0.5, "nan_bucket"), "{} NaN"));
    EXPECT_TRUE(vector_is(hq(0.25, "nan_bucket"), "{} NaN"));
}

// ---- aggregations (aggregators.test) ---------------------------------------------------------

class PromqlEvalAggregationTest : public ::testing::Test {
  protected:
    void SetUp() override {
        load(storage_, 5 * kM, R"(
            http_requests{job="api-server", instance="0", group="production"} 0+10x10
            http_requests{job="api-server", instance="1", group="production"} 0+20x10
            http_requests{job="api-server", instance="0", group="canary"}     0+30x10
            http_requests{job="api-server", instance="1", group="canary"}     0+40x10
            http_requests{job="app-server", instance="0", group="production"} 0+50x10
            http_requests{job="app-server", instance="1", group="production"} 0+60x10
            http_requests{job="app-server", instance="0", group="canary"}     0+70x10
            http_requests{job="app-server", instance="1", group="canary"}     0+80x10
            foo{job="api-server", instance="0", region="europe"} 0+90x10
            foo{job="api-server"} 0+100x10
        )");
    }
    EvalResult at50(const NodePtr &e) { return evaluate(*e, storage_, 50 * kM); }
    static NodePtr api() { return sel("http_requests", {eq("job", "api-server")}); }
    MemoryStorage storage_;
};

TEST_F(PromqlEvalAggregationTest, ByWithoutAndNone) {
    EXPECT_TRUE(vector_is(at50(sum_by({"group"}, api())), R"({group="canary"} 700
        {group="production"} 300)"));
    EXPECT_TRUE(vector_is(at50(agg(AggregationOp::avg, api(), {"group"})), R"({group="canary"} 350
        {group="production"} 150)"));
    EXPECT_TRUE(vector_is(at50(agg(AggregationOp::count, api(), {"group"})), R"({group="canary"} 2
        {group="production"} 2)"));
    EXPECT_TRUE(vector_is(at50(agg(AggregationOp::sum, api(), {"instance"}, true)), R"(
        {group="canary",job="api-server"} 700
        {group="production",job="api-server"} 300)"));
    EXPECT_TRUE(vector_is(at50(sum_by({}, api())), "{} 1000"));
    EXPECT_TRUE(vector_is(at50(agg(AggregationOp::sum, api())), "{} 1000"));
    // Empty without() keeps every label but the name.
    EXPECT_TRUE(vector_is(
        at50(agg(AggregationOp::sum,
                 sel("http_requests", {eq("job", "api-server"), eq("group", "production")}), {},
                 true)),
        R"({group="production",job="api-server",instance="0"} 100
                             {group="production",job="api-server",instance="1"} 200)"));
    // Labels named in by() that no series has are not in the output.
    EXPECT_TRUE(vector_is(at50(sum_by({"job", "nonexistent"}, sel("http_requests"))), R"(
        {job="api-server"} 1000
        {job="app-server"} 2600)"));
    EXPECT_TRUE(vector_is(at50(sum_by({"job", "group"}, sel("http_requests"))), R"(
        {group="canary", job="api-server"} 700
        {group="canary", job="app-server"} 1500
        {group="production", job="api-server"} 300
        {group="production", job="app-server"} 1100)"));
    // by (__name__) keeps the name.
    EXPECT_TRUE(vector_is(at50(sum_by({"__name__"}, sel("foo"))), "foo 1900"));
}

TEST_F(PromqlEvalAggregationTest, WithoutOverMismatchedLabels) {
    // sum without (instance) (http_requests{job="api-server"} or foo), with the `or` spelled
    // as the union of two selectors through a regex on the name.
    auto both = sel("", {re("__name__", "http_requests|foo"), eq("job", "api-server")});
    EXPECT_TRUE(vector_is(at50(agg(AggregationOp::sum, both, {"instance"}, true)), R"(
        {group="canary",job="api-server"} 700
        {group="production",job="api-server"} 300
        {region="europe",job="api-server"} 900
        {job="api-server"} 1000)"));
}

TEST_F(PromqlEvalAggregationTest, SumMinMaxAvgAddedUp) {
    auto by_job = [](AggregationOp op) { return agg(op, sel("http_requests"), {"job"}); };
    auto e = bin(BinaryOp::add,
                 bin(BinaryOp::add,
                     bin(BinaryOp::add, by_job(AggregationOp::sum), by_job(AggregationOp::min)),
                     by_job(AggregationOp::max)),
                 by_job(AggregationOp::avg));
    EXPECT_TRUE(vector_is(at50(e), R"({job="app-server"} 4550
        {job="api-server"} 1750)"));
    EXPECT_TRUE(vector_is(at50(by_job(AggregationOp::min)), R"({job="api-server"} 100
        {job="app-server"} 500)"));
    EXPECT_TRUE(vector_is(at50(by_job(AggregationOp::max)), R"({job="api-server"} 400
        {job="app-server"} 800)"));
    EXPECT_TRUE(vector_is(at50(by_job(AggregationOp::count)), R"({job="api-server"} 4
        {job="app-server"} 4)"));
    EXPECT_TRUE(vector_is(at50(sum_by({"job"}, sum_by({"group"}, api()))), "{} 1000"));
}

TEST(PromqlEvalAggregation, GroupingKeyHasSeparators) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        label_grouping_test{a="aa", b="bb"} 0+10x10
        label_grouping_test{a="a", b="abb"} 0+20x10
    )");
    EXPECT_TRUE(vector_is(evaluate(*sum_by({"a", "b"}, sel("label_grouping_test")), st, 50 * kM),
                          R"({a="a", b="abb"} 200
                             {a="aa", b="bb"} 100)"));
}

TEST(PromqlEvalAggregation, MinMaxReplaceNaN) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        http_requests{job="api-server", instance="0", group="production"} 1
        http_requests{job="api-server", instance="1", group="production"} 2
        http_requests{job="api-server", instance="0", group="canary"}     NaN
        http_requests{job="api-server", instance="1", group="canary"}     3
        http_requests{job="api-server", instance="2", group="canary"}     4
        only_nan{a="1"} NaN
        only_nan{a="2"} NaN
    )");
    auto at0 = [&](const NodePtr &e) { return evaluate(*e, st, 0); };
    EXPECT_TRUE(vector_is(at0(agg(AggregationOp::max, sel("http_requests"))), "{} 4"));
    EXPECT_TRUE(vector_is(at0(agg(AggregationOp::min, sel("http_requests"))), "{} 1"));
    EXPECT_TRUE(vector_is(at0(agg(AggregationOp::max, sel("http_requests"), {"group"})), R"(
        {group="production"} 2
        {group="canary"} 4)"));
    EXPECT_TRUE(vector_is(at0(agg(AggregationOp::min, sel("http_requests"), {"group"})), R"(
        {group="production"} 1
        {group="canary"} 3)"));
    // The NaN is the first of its group (instance 0 sorts first): replaced by what follows.
    EXPECT_TRUE(vector_is(
        at0(agg(AggregationOp::max, sel("http_requests", {eq("group", "canary")}))), "{} 4"));
    EXPECT_TRUE(vector_is(at0(agg(AggregationOp::min, sel("only_nan"))), "{} NaN"));
    EXPECT_TRUE(vector_is(at0(agg(AggregationOp::sum, sel("http_requests"))), "{} NaN"));
    EXPECT_TRUE(vector_is(at0(agg(AggregationOp::count, sel("only_nan"))), "{} 2"));
}

TEST(PromqlEvalAggregation, AvgIsAnIncrementalMean) {
    MemoryStorage st;
    load(st, 10 * kS, R"(
        data{test="ten",point="a"} 8
        data{test="ten",point="b"} 10
        data{test="ten",point="c"} 12
        data{test="inf",point="a"} 0
        data{test="inf",point="b"} Inf
        data{test="inf",point="d"} Inf
        data{test="inf",point="c"} 0
        data{test="-inf",point="a"} -Inf
        data{test="-inf",point="b"} -Inf
        data{test="-inf",point="c"} 0
        data{test="inf2",point="a"} Inf
        data{test="inf2",point="b"} 0
        data{test="inf2",point="c"} Inf
        data{test="-inf2",point="a"} -Inf
        data{test="-inf2",point="b"} 0
        data{test="-inf2",point="c"} -Inf
        data{test="inf3",point="b"} Inf
        data{test="inf3",point="c"} Inf
        data{test="inf3",point="d"} -Inf
        data{test="-inf3",point="b"} -Inf
        data{test="-inf3",point="c"} Inf
        data{test="-inf3",point="d"} -Inf
        data{test="nan",point="a"} -Inf
        data{test="nan",point="b"} 0
        data{test="nan",point="c"} Inf
        data{test="big",point="a"} 9.988465674311579e+307
        data{test="big",point="b"} 9.988465674311579e+307
        data{test="big",point="c"} 9.988465674311579e+307
        data{test="big",point="d"} 9.988465674311579e+307
        data{test="-big",point="a"} -9.988465674311579e+307
        data{test="-big",point="b"} -9.988465674311579e+307
        data{test="-big",point="c"} -9.988465674311579e+307
        data{test="-big",point="d"} -9.988465674311579e+307
        data{test="bigzero",point="a"} -9.988465674311579e+307
        data{test="bigzero",point="b"} -9.988465674311579e+307
        data{test="bigzero",point="c"} 9.988465674311579e+307
        data{test="bigzero",point="d"} 9.988465674311579e+307
        mean{i="1"} 0.1
        mean{i="2"} 0.2
        mean{i="3"} 0.4
    )");
    auto avg = [&](const char *test) {
        return only_value(
            evaluate(*agg(AggregationOp::avg, sel("data", {eq("test", test)})), st, kM));
    };
    EXPECT_EQ(avg("ten"), 10);
    EXPECT_EQ(avg("inf"), kInf);
    EXPECT_EQ(avg("inf2"), kInf);
    EXPECT_TRUE(std::isnan(avg("inf3")));
    EXPECT_EQ(avg("-inf"), -kInf);
    EXPECT_EQ(avg("-inf2"), -kInf);
    EXPECT_TRUE(std::isnan(avg("-inf3")));
    EXPECT_TRUE(std::isnan(avg("nan")));
    EXPECT_EQ(avg("big"), 9.988465674311579e+307);
    EXPECT_EQ(avg("-big"), -9.988465674311579e+307);
    EXPECT_EQ(avg("bigzero"), 0);
    // exact: mean 0.1, then m += 0.2/2 - m/2, then m += 0.4/3 - m/3: 0.23333333333333334,
    // where the sum divided by three is 0.23333333333333336.
    EXPECT_TRUE(vector_is(evaluate(*agg(AggregationOp::avg, sel("mean")), st, 0),
                          "{} 0.23333333333333334", Cmp::exact));
}

// ---- binary operators (operators.test) --------------------------------------------------------

class PromqlEvalOperatorsTest : public PromqlEvalAggregationTest {
  protected:
    static NodePtr sum_job() { return sum_by({"job"}, sel("http_requests")); }
    static NodePtr count_job() { return agg(AggregationOp::count, sel("http_requests"), {"job"}); }
};

TEST_F(PromqlEvalOperatorsTest, VectorScalarArithmetic) {
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::sub, sum_job(), count_job())), R"({job="api-server"} 996
        {job="app-server"} 2596)"));
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::sub, num(2), sum_job())), R"({job="api-server"} -998
        {job="app-server"} -2598)"));
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::div, num(1000), sum_job())), R"({job="api-server"} 1
        {job="app-server"} 0.38461538461538464)"));
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::mod, sum_job(), num(3))), R"({job="api-server"} 1
        {job="app-server"} 2)"));
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::mod, sum_job(), num(0.3))), R"({job="api-server"} 0.1
        {job="app-server"} 0.2)"));
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::pow, sum_job(), num(2))), R"({job="api-server"} 1000000
        {job="app-server"} 6760000)"));
    // % 2 ^ 3 ^ 2, with ^ right-associative: % 512.
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::mod, sum_job(),
                                   bin(BinaryOp::pow, num(2), bin(BinaryOp::pow, num(3), num(2))))),
                          R"({job="api-server"} 488
                             {job="app-server"} 40)"));
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::pow, count_job(), count_job())), R"({job="api-server"} 256
        {job="app-server"} 256)"));
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::div, sum_job(), num(0))), R"({job="api-server"} +Inf
        {job="app-server"} +Inf)"));
    auto one = [] {
        return sel("http_requests",
                   {eq("group", "canary"), eq("instance", "0"), eq("job", "api-server")});
    };
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::div, bin(BinaryOp::mul, num(-1), one()), num(0))),
                          R"({group="canary", instance="0", job="api-server"} -Inf)"));
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::div, bin(BinaryOp::mul, num(0), one()), num(0))),
                          R"({group="canary", instance="0", job="api-server"} NaN)"));
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::mod, bin(BinaryOp::mul, num(0), one()), num(0))),
                          R"({group="canary", instance="0", job="api-server"} NaN)"));
}

TEST_F(PromqlEvalOperatorsTest, UnaryMinusDropsTheNameUnaryPlusDoesNot) {
    auto one = [] {
        return sel("http_requests",
                   {eq("job", "api-server"), eq("instance", "0"), eq("group", "production")});
    };
    EXPECT_TRUE(
        vector_is(at50(neg(one())), R"({job="api-server",instance="0",group="production"} -100)"));
    EXPECT_TRUE(
        vector_is(at50(plus(one())),
                  R"(http_requests{job="api-server",instance="0",group="production"} 100)"));
    EXPECT_TRUE(vector_is(at50(neg(neg(neg(sum_job())))), R"({job="api-server"} -1000
        {job="app-server"} -2600)"));
    EXPECT_TRUE(scalar_is(at50(neg(neg(neg(num(1))))), -1));
}

TEST_F(PromqlEvalOperatorsTest, ComparisonsFilterAndKeepTheName) {
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::gt, sum_job(), num(1000))), R"({job="app-server"} 2600)"));
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::lt, num(1000), sum_job())), R"({job="app-server"} 2600)"));
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::le, sum_job(), num(1000))), R"({job="api-server"} 1000)"));
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::ne, sum_job(), num(1000))), R"({job="app-server"} 2600)"));
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::eq, sum_job(), num(1000))), R"({job="api-server"} 1000)"));
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::eq, sum_job(), num(1000), kBool)), R"({job="api-server"} 1
        {job="app-server"} 0)"));
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::eq, sum_job(), sum_job(), kBool)), R"({job="api-server"} 1
        {job="app-server"} 1)"));
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::ne, sum_job(), sum_job(), kBool)), R"({job="api-server"} 0
        {job="app-server"} 0)"));
    auto one = sel("http_requests",
                   {eq("job", "api-server"), eq("instance", "0"), eq("group", "production")});
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::eq, one, num(100), kBool)),
                          R"({job="api-server", instance="0", group="production"} 1)"));
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::ge, one, num(100))),
                  R"(http_requests{job="api-server", instance="0", group="production"} 100)"));
    EXPECT_TRUE(scalar_is(at50(bin(BinaryOp::eq, num(0), num(1), kBool)), 0));
    EXPECT_TRUE(scalar_is(at50(bin(BinaryOp::eq, num(1), num(1), kBool)), 1));
}

TEST(PromqlEvalOperators, ComparisonBetweenVectors) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        test_total{instance="localhost"} 50
        test_smaller{instance="localhost"} 10
    )");
    auto at = [&](const NodePtr &e) { return evaluate(*e, st, 5 * kM); };
    EXPECT_TRUE(vector_is(at(bin(BinaryOp::gt, sel("test_total"), sel("test_smaller"), kBool)),
                          R"({instance="localhost"} 1)"));
    EXPECT_TRUE(vector_is(at(bin(BinaryOp::gt, sel("test_total"), sel("test_smaller"))),
                          R"(test_total{instance="localhost"} 50)"));
    EXPECT_TRUE(vector_is(at(bin(BinaryOp::lt, sel("test_total"), sel("test_smaller"), kBool)),
                          R"({instance="localhost"} 0)"));
    EXPECT_TRUE(is_empty(at(bin(BinaryOp::lt, sel("test_total"), sel("test_smaller")))));
}

TEST(PromqlEvalOperators, NaNComparesFalse) {
    MemoryStorage st;
    load(st, 5 * kM, "x NaN");
    EXPECT_TRUE(is_empty(evaluate(*bin(BinaryOp::eq, sel("x"), sel("x")), st, 0)));
    EXPECT_TRUE(vector_is(evaluate(*bin(BinaryOp::ne, sel("x"), sel("x")), st, 0), "x NaN"));
    EXPECT_TRUE(vector_is(evaluate(*bin(BinaryOp::ge, sel("x"), num(kNaN), kBool), st, 0), "{} 0"));
}

TEST_F(PromqlEvalOperatorsTest, OnAndIgnoring) {
    auto canary = sel("http_requests", {eq("group", "canary")});
    auto production = sel("http_requests", {eq("group", "production")});
    const char *ratio = R"({instance="0", job="api-server"} 3
        {instance="0", job="app-server"} 1.4
        {instance="1", job="api-server"} 2
        {instance="1", job="app-server"} 1.3333333333333333)";
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::div, canary, production, on({"instance", "job"}))), ratio));
    EXPECT_TRUE(
        vector_is(at50(bin(BinaryOp::div, canary, production, ignoring({"group"}))), ratio));
    // A comparison with on() keeps only the on() labels, name included.
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::gt, canary, production, on({"instance", "job"}))), R"(
        {instance="0", job="api-server"} 300
        {instance="0", job="app-server"} 700
        {instance="1", job="api-server"} 400
        {instance="1", job="app-server"} 800)"));
    // ... and with ignoring() everything else, the name included.
    EXPECT_TRUE(vector_is(at50(bin(BinaryOp::gt, canary, production, ignoring({"group"}))), R"(
        http_requests{instance="0", job="api-server"} 300
        http_requests{instance="0", job="app-server"} 700
        http_requests{instance="1", job="api-server"} 400
        http_requests{instance="1", job="app-server"} 800)"));
}

TEST(PromqlEvalOperators, OnEmptyAndIgnoringEmpty) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        random{foo="bar"} 2
        metricA{baz="meh"} 3
        metricB{baz="meh"} 4
    )");
    auto at = [&](const NodePtr &e) { return evaluate(*e, st, 5 * kM); };
    EXPECT_TRUE(vector_is(at(bin(BinaryOp::add, sel("random"), sel("metricA"), on({}))), "{} 5"));
    EXPECT_TRUE(vector_is(at(bin(BinaryOp::add, sel("metricA"), sel("metricB"), ignoring({}))),
                          R"({baz="meh"} 7)"));
    EXPECT_TRUE(
        vector_is(at(bin(BinaryOp::add, sel("metricA"), sel("metricB"))), R"({baz="meh"} 7)"));
    EXPECT_TRUE(is_empty(at(bin(BinaryOp::add, sel("random"), sel("metricA")))));
    EXPECT_TRUE(is_empty(at(bin(BinaryOp::add, sel("random"), sel("nothing")))));
}

TEST(PromqlEvalOperators, MatchingErrors) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        o{a="x", c="q"} 1
        o{a="x", c="r"} 2
        p{a="x", c="q"} 3
    )");
    auto at = [&](const NodePtr &e) { return evaluate(*e, st, 0); };
    // Two on the right with the same match group: many-to-many.
    EXPECT_TRUE(error_is(at(bin(BinaryOp::add, sel("p"), sel("o"), on({"a"}), 9)), 9,
                         "found duplicate series for the match group {a=\"x\"} on the right "
                         "hand-side of the operation: [{__name__=\"o\", a=\"x\", c=\"r\"}, "
                         "{__name__=\"o\", a=\"x\", c=\"q\"}];many-to-many matching not allowed: "
                         "matching labels must be unique on one side"));
    EXPECT_TRUE(error_is(at(bin(BinaryOp::add, sel("p"), sel("o"), ignoring({"c"}), 2)), 2,
                         "many-to-many matching not allowed"));
    // Two on the left: group_left would be needed.
    EXPECT_TRUE(error_is(at(bin(BinaryOp::add, sel("o"), sel("p"), on({"a"}), 4)), 4,
                         "multiple matches for labels: many-to-one matching must be explicit "
                         "(group_left/group_right)"));
    // ... also with bool, where nothing is filtered out.
    EXPECT_TRUE(error_is(at(bin(BinaryOp::lt, sel("o"), sel("p"), ignoring({"c"}, true))), 0,
                         "multiple matches for labels"));
    // A filter that keeps only one of the two left samples is fine.
    EXPECT_TRUE(vector_is(at(bin(BinaryOp::gt, sel("o"), sel("p"), ignoring({"c"}))), ""));
    EXPECT_TRUE(vector_is(at(bin(BinaryOp::gt, sel("p"), sel("o"), on({"c"}))), R"({c="q"} 3)"));
    // Nothing on one side: nothing to match, no error.
    EXPECT_TRUE(is_empty(at(bin(BinaryOp::add, sel("nothing"), sel("o"), on({"a"})))));
}

TEST(PromqlEvalOperators, DroppingTheNameCanCollideLabelSets) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        testmetric1{src="a",dst="b"} 0
        testmetric2{src="a",dst="b"} 1
    )");
    auto both = [] { return sel("", {re("__name__", "testmetric1|testmetric2")}); };
    auto at = [&](const NodePtr &e) { return evaluate(*e, st, 0); };
    EXPECT_TRUE(error_is(at(neg(both(), 1)), 1, kDupLabelset));
    EXPECT_TRUE(error_is(at(bin(BinaryOp::add, both(), num(1), {}, 6)), 6, kDupLabelset));
    EXPECT_TRUE(error_is(at(bin(BinaryOp::gt, both(), num(0), kBool, 6)), 6, kDupLabelset));
    EXPECT_TRUE(error_is(at(call("clamp_min", {both(), num(0)}, 8)), 8, kDupLabelset));
    // A filtering comparison keeps the names: fine.
    EXPECT_TRUE(vector_is(at(bin(BinaryOp::ge, both(), num(0))), R"(
        testmetric1{src="a",dst="b"} 0
        testmetric2{src="a",dst="b"} 1)"));
}

TEST(PromqlEvalOperators, ScalarArithmetic) {
    MemoryStorage st;
    auto at = [&](const NodePtr &e) { return evaluate(*e, st, 50 * kM); };
    EXPECT_TRUE(scalar_is(at(bin(BinaryOp::add, num(1), num(1))), 2));
    EXPECT_TRUE(scalar_is(at(bin(BinaryOp::sub, num(1), num(-1))), 2));
    EXPECT_TRUE(scalar_is(at(bin(BinaryOp::div, num(1), num(0))), kInf));
    EXPECT_TRUE(scalar_is(at(bin(BinaryOp::div, num(-1), num(0))), -kInf));
    EXPECT_TRUE(scalar_is(at(bin(BinaryOp::div, num(0), num(0))), kNaN));
    EXPECT_TRUE(scalar_is(at(bin(BinaryOp::mod, num(1), num(0))), kNaN));
    // -2^---1*3 = -(2^-1)*3; 2/-2^---1*3+2 = 2/-(2^-1)*3+2
    EXPECT_TRUE(
        scalar_is(at(bin(BinaryOp::mul, neg(bin(BinaryOp::pow, num(2), num(-1))), num(3))), -1.5));
    EXPECT_TRUE(scalar_is(
        at(bin(BinaryOp::add,
               bin(BinaryOp::mul,
                   bin(BinaryOp::div, num(2), neg(bin(BinaryOp::pow, num(2), num(-1)))), num(3)),
               num(2))),
        -10));
    // math.Mod keeps the dividend's sign.
    EXPECT_TRUE(scalar_is(at(bin(BinaryOp::mod, num(-7), num(3))), -1, Cmp::exact));
    EXPECT_TRUE(
        scalar_is(at(bin(BinaryOp::mod, num(10), num(3.3))), 0.10000000000000053, Cmp::exact));
}

TEST(PromqlEvalOperators, PowerIsGosMathPow) {
    // exact: Go's math.Pow, which rounds differently from the C library (its results are
    // the second values in these comments).
    MemoryStorage st;
    auto at = [&](double x, double y) {
        return evaluate(*bin(BinaryOp::pow, num(x), num(y)), st, 0);
    };
    EXPECT_TRUE(scalar_is(at(100, 1.5), 1000.0000000000002, Cmp::exact));  // libc 1000
    EXPECT_TRUE(scalar_is(at(0.3, 3), 0.027, Cmp::exact));                 // 0.026999999999999996
    EXPECT_TRUE(scalar_is(at(2, 1.5), 2.8284271247461898, Cmp::exact));    // ...903
    EXPECT_TRUE(scalar_is(at(0.1, 10), 1.0000000000000011e-10, Cmp::exact));  // ...06e-10
    EXPECT_TRUE(scalar_is(at(5, -0.7), 0.32413131933855255, Cmp::exact));     // ...249
    EXPECT_TRUE(scalar_is(at(2, 0.5), std::sqrt(2.0), Cmp::exact));
    EXPECT_TRUE(scalar_is(at(-8, 1.0 / 3), kNaN));
    EXPECT_TRUE(scalar_is(at(0, -1), kInf, Cmp::exact));
    EXPECT_TRUE(scalar_is(at(-0.0, -3), -kInf, Cmp::exact));
    EXPECT_TRUE(scalar_is(at(kNaN, 0), 1, Cmp::exact));
    EXPECT_TRUE(scalar_is(at(-1, kInf), 1, Cmp::exact));
    EXPECT_TRUE(scalar_is(at(-kInf, 3), -kInf, Cmp::exact));
    // On a vector (operators.test: node_cpu ^ 2).
    MemoryStorage v;
    load(v, 5 * kM, R"(node_cpu{mode="idle"} 3
        node_cpu{mode="user"} 1)");
    EXPECT_TRUE(
        vector_is(evaluate(*bin(BinaryOp::pow, sel("node_cpu"), num(2)), v, 0), R"({mode="idle"} 9
        {mode="user"} 1)"));
    EXPECT_TRUE(vector_is(evaluate(*bin(BinaryOp::pow, sel("node_cpu"), num(1.7)), v, 0),
                          R"({mode="idle"} 6.473007839923779
                             {mode="user"} 1)",
                          Cmp::exact));
}

TEST(PromqlEvalOperators, ScalarOperandsAndTypes) {
    MemoryStorage st;
    load(st, 5 * kM, R"(m{a="1"} 3)");
    // 1 - m is computed with the scalar on the left; m < 5 keeps m's value.
    EXPECT_TRUE(vector_is(evaluate(*bin(BinaryOp::sub, num(1), sel("m")), st, 0), R"({a="1"} -2)"));
    EXPECT_TRUE(vector_is(evaluate(*bin(BinaryOp::gt, num(5), sel("m")), st, 0), R"(m{a="1"} 3)"));
    EXPECT_TRUE(
        vector_is(evaluate(*bin(BinaryOp::gt, num(5), sel("m"), kBool), st, 0), R"({a="1"} 1)"));
    EXPECT_TRUE(is_empty(evaluate(*bin(BinaryOp::lt, num(5), sel("m")), st, 0)));
}

// ---- functions (functions.test) ----------------------------------------------------------------

class PromqlEvalFunctionsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        load(storage_, 5 * kM, R"(
            testmetric{src="source-value-10",dst="original-destination-value"} 0
            testmetric{src="source-value-20",dst="original-destination-value"} 1
            test_clamp{src="clamp-a"} -50
            test_clamp{src="clamp-b"} 0
            test_clamp{src="clamp-c"} 100
        )");
    }
    EvalResult at(const NodePtr &e, std::int64_t t = 0) { return evaluate(*e, storage_, t); }
    static NodePtr lr(std::string dst, std::string repl, std::string src, std::string regex,
                      std::size_t pos = 0) {
        return call("label_replace",
                    {sel("testmetric"), str(std::move(dst)), str(std::move(repl)),
                     str(std::move(src)), str(std::move(regex))},
                    pos);
    }
    MemoryStorage storage_;
};

TEST_F(PromqlEvalFunctionsTest, LabelReplace) {
    EXPECT_TRUE(vector_is(at(lr("dst", "destination-value-$1", "src", "source-value-(.*)")), R"(
        testmetric{src="source-value-10",dst="destination-value-10"} 0
        testmetric{src="source-value-20",dst="destination-value-20"} 1)"));
    const char *unchanged = R"(
        testmetric{src="source-value-10",dst="original-destination-value"} 0
        testmetric{src="source-value-20",dst="original-destination-value"} 1)";
    // Full-string match only.
    EXPECT_TRUE(vector_is(at(lr("dst", "destination-value-$1", "src", "value-(.*)")), unchanged));
    EXPECT_TRUE(vector_is(at(lr("dst", "$1-value-$2", "src", "(.*)-value-(.*)")), R"(
        testmetric{src="source-value-10",dst="source-value-10"} 0
        testmetric{src="source-value-20",dst="source-value-20"} 1)"));
    // A missing source label is "", which this regex does not match.
    EXPECT_TRUE(
        vector_is(at(lr("dst", "value-$1", "nonexistent-src", "source-value-(.*)")), unchanged));
    // ... and this one does.
    EXPECT_TRUE(vector_is(at(lr("dst", "value-$1", "nonexistent-src", "(.*)")), R"(
        testmetric{src="source-value-10",dst="value-"} 0
        testmetric{src="source-value-20",dst="value-"} 1)"));
    EXPECT_TRUE(vector_is(at(lr("dst", "value-$1", "src", "non-matching-regex")), unchanged));
    // An empty result drops the label.
    EXPECT_TRUE(vector_is(at(lr("dst", "", "dst", ".*")), R"(
        testmetric{src="source-value-10"} 0
        testmetric{src="source-value-20"} 1)"));
}

TEST_F(PromqlEvalFunctionsTest, LabelReplaceErrors) {
    EXPECT_TRUE(error_is(at(lr("dst", "value-$1", "src", "(.*", 3)), 3,
                         "invalid regular expression in label_replace(): (.*"));
    EXPECT_TRUE(error_is(at(lr("invalid-label-name", "", "src", "(.*)", 3)), 3,
                         "invalid destination label name in label_replace(): invalid-label-name"));
    EXPECT_TRUE(error_is(at(lr("src", "", "", "", 3)), 3, kDupLabelset));
    // The regex is checked even when there is nothing to replace.
    EXPECT_TRUE(error_is(
        at(call("label_replace", {sel("nothing"), str("a"), str("b"), str("c"), str("[")}, 5)), 5,
        "invalid regular expression"));
}

TEST_F(PromqlEvalFunctionsTest, LabelReplaceTemplateIsGos) {
    auto one = [&](std::string repl, std::string regex) {
        auto r =
            at(call("label_replace", {sel("testmetric", {eq("src", "source-value-10")}), str("out"),
                                      str(std::move(repl)), str("src"), str(std::move(regex))}));
        const auto *v = std::get_if<InstantVector>(&r);
        if (v == nullptr || v->size() != 1) return std::string("<") + describe(r) + ">";
        for (const auto &[n, val] : (*v)[0].labels)
            if (n == "out") return val;
        return std::string("<no label>");
    };
    EXPECT_EQ(one("${1}x", "(s.*)-(\\d+)"), "source-valuex");
    EXPECT_EQ(one("$1x", "(s.*)-(\\d+)"), "<no label>");  // $1x is the group named "1x": ""
    EXPECT_EQ(one("$2-$1", "(s.*)-(\\d+)"), "10-source-value");
    EXPECT_EQ(one("$$1", "(s.*)"), "$1");
    EXPECT_EQ(one("a$", ".*"), "a$");      // a lone $ stays
    EXPECT_EQ(one("${1", "(.*)"), "${1");  // so does an unclosed brace
    EXPECT_EQ(one("$0", "source-(.*)"), "source-value-10");
    EXPECT_EQ(one("$9", "(.*)"), "<no label>");  // no such group
    EXPECT_EQ(one("$num/${word}", "(?P<word>[a-z]+)-value-(?P<num>\\d+)"), "10/source");
    EXPECT_EQ(one("$1", "(?i)(SOURCE)-.*"), "source");
    EXPECT_EQ(one("[$1]", "source-value-1(\\d)?0?"), "[0]");  // leftmost-first, like RE2
    EXPECT_EQ(one("[$1]", "(s|so)(.*)"), "[s]");
    // A name given twice: the leftmost group of that name that matched, as Go's Expand.
    EXPECT_EQ(one("$n", "(?P<n>x).*|(?P<n>s)ource.*"), "s");
    EXPECT_EQ(one("${n}-$n", "(?P<n>s)(?P<n>o).*"), "s-s");
    EXPECT_EQ(one("$kind:$id", "(?P<kind>[a-z]+)-value-(?P<id>\\d+)"), "source:10");
    // The pattern is anchored textually, ^(?:...)$, and searched for, as Go does:
    // "s)|(x" is ^(?:s)|(x)$, which matches at the start of the value.
    EXPECT_EQ(one("$0", "s)|(x"), "s");
}

TEST_F(PromqlEvalFunctionsTest, LabelReplaceCanRenameTheMetric) {
    EXPECT_TRUE(vector_is(
        at(call("label_replace", {sel("test_clamp", {eq("src", "clamp-a")}), str("__name__"),
                                  str("renamed"), str("src"), str(".*")})),
        R"(renamed{src="clamp-a"} -50)"));
}

TEST_F(PromqlEvalFunctionsTest, Clamp) {
    EXPECT_TRUE(
        vector_is(at(call("clamp_max", {sel("test_clamp"), num(75)})), R"({src="clamp-a"} -50
        {src="clamp-b"} 0
        {src="clamp-c"} 75)"));
    EXPECT_TRUE(
        vector_is(at(call("clamp_min", {sel("test_clamp"), num(-25)})), R"({src="clamp-a"} -25
        {src="clamp-b"} 0
        {src="clamp-c"} 100)"));
    EXPECT_TRUE(
        vector_is(at(call("clamp", {sel("test_clamp"), num(-25), num(75)})), R"({src="clamp-a"} -25
        {src="clamp-b"} 0
        {src="clamp-c"} 75)"));
    EXPECT_TRUE(vector_is(
        at(call("clamp_max", {call("clamp_min", {sel("test_clamp"), num(-20)}), num(70)})),
        R"({src="clamp-a"} -20
                             {src="clamp-b"} 0
                             {src="clamp-c"} 70)"));
    const char *all_nan = R"({src="clamp-a"} NaN
        {src="clamp-b"} NaN
        {src="clamp-c"} NaN)";
    EXPECT_TRUE(vector_is(at(call("clamp", {sel("test_clamp"), num(0), num(kNaN)})), all_nan));
    EXPECT_TRUE(vector_is(at(call("clamp", {sel("test_clamp"), num(kNaN), num(0)})), all_nan));
    EXPECT_TRUE(is_empty(at(call("clamp", {sel("test_clamp"), num(5), num(-5)}))));
    // Go's math.Max/Min: NaN wins over numbers, an infinity over NaN.
    EXPECT_TRUE(vector_is(at(call("clamp_min", {sel("test_clamp"), num(kNaN)})), all_nan));
    EXPECT_TRUE(vector_is(at(call("clamp_max", {sel("test_clamp"), num(kNaN)})), all_nan));
    MemoryStorage st;
    load(st, kM, "n NaN");
    EXPECT_TRUE(vector_is(evaluate(*call("clamp_max", {sel("n"), num(-kInf)}), st, 0), "{} -Inf"));
    EXPECT_TRUE(vector_is(evaluate(*call("clamp_min", {sel("n"), num(kInf)}), st, 0), "{} +Inf"));
    EXPECT_TRUE(vector_is(evaluate(*call("clamp_min", {sel("n"), num(1)}), st, 0), "{} NaN"));
}

TEST_F(PromqlEvalFunctionsTest, ScalarAndVector) {
    EXPECT_TRUE(scalar_is(at(call("scalar", {sel("test_clamp", {eq("src", "clamp-c")})})), 100));
    EXPECT_TRUE(scalar_is(at(call("scalar", {sel("test_clamp")})), kNaN));  // three elements
    EXPECT_TRUE(scalar_is(at(call("scalar", {sel("nothing")})), kNaN));
    EXPECT_TRUE(vector_is(at(call("vector", {num(1)})), "{} 1"));
    EXPECT_TRUE(
        vector_is(at(call("vector", {call("scalar", {sel("test_clamp", {eq("src", "clamp-a")})})})),
                  "{} -50"));
    // A scalar on each side of the operator gives a scalar.
    EXPECT_TRUE(scalar_is(
        at(bin(BinaryOp::mul, call("scalar", {sel("test_clamp", {eq("src", "clamp-a")})}), num(2))),
        -100));
}

TEST_F(PromqlEvalFunctionsTest, TimeTimestampAndDates) {
    MemoryStorage st;
    load(st, 10 * kS, "metric 1 1");
    EXPECT_TRUE(vector_is(evaluate(*call("timestamp", {sel("metric")}), st, 0), "{} 0"));
    EXPECT_TRUE(vector_is(evaluate(*call("timestamp", {sel("metric")}), st, 5 * kS), "{} 0"));
    EXPECT_TRUE(vector_is(evaluate(*call("timestamp", {sel("metric")}), st, 10 * kS), "{} 10"));
    // Of anything but a bare selector, the evaluation time.
    EXPECT_TRUE(vector_is(
        evaluate(*call("timestamp", {bin(BinaryOp::mul, sel("metric"), num(1))}), st, 15 * kS),
        "{} 15"));
    EXPECT_TRUE(scalar_is(evaluate(*call("time", {}), st, 1), 0.001));
    EXPECT_TRUE(vector_is(evaluate(*call("vector", {call("time", {})}), st, 60 * kM), "{} 3600"));
    auto date = [&](const char *f, double unix) {
        return only_value(evaluate(*call(f, {call("vector", {num(unix)})}), st, 0));
    };
    EXPECT_EQ(only_value(evaluate(*call("year", {}), st, 0)), 1970);
    EXPECT_EQ(only_value(evaluate(*call("day_of_week", {}), st, 0)), 4);  // a Thursday
    EXPECT_EQ(date("year", 1136239445), 2006);
    EXPECT_EQ(date("month", 1136239445), 1);
    EXPECT_EQ(date("day_of_month", 1136239445), 2);
    EXPECT_EQ(date("day_of_year", 1136239445), 2);
    EXPECT_EQ(date("day_of_week", 1136239445), 1);
    EXPECT_EQ(date("hour", 1136239445), 22);
    EXPECT_EQ(date("minute", 1136239445), 4);
    EXPECT_EQ(date("year", 1230767999), 2008);
    EXPECT_EQ(date("year", 1230768000), 2009);
    EXPECT_EQ(date("month", 1456790399) + date("day_of_month", 1456790399) / 100, 2.29);
    EXPECT_EQ(date("day_of_year", 1483191420), 366);
    EXPECT_EQ(date("day_of_year", 1672493820), 365);
    EXPECT_EQ(date("days_in_month", 1454284800), 29);
    EXPECT_EQ(date("days_in_month", 1485907200), 28);
    // NaN becomes Go's int64 of NaN (math.MinInt64 seconds), a time whose hour Go says is 15.
    EXPECT_EQ(date("hour", kNaN), 15);
}

TEST_F(PromqlEvalFunctionsTest, MathFunctionsAreGos) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        exp_root_log{l="x"} 10
        exp_root_log{l="y"} 20
        three 3
        tenth 0.1
        one_and_half 1.5
    )");
    auto f = [&](const char *fn, NodePtr arg) {
        return evaluate(*call(fn, {std::move(arg)}), st, 5 * kM);
    };
    EXPECT_TRUE(vector_is(f("exp", sel("exp_root_log")), R"({l="x"} 22026.465794806718
        {l="y"} 485165195.4097903)"));
    EXPECT_TRUE(vector_is(f("ln", sel("exp_root_log")), R"({l="x"} 2.302585092994046
        {l="y"} 2.995732273553991)"));
    EXPECT_TRUE(vector_is(f("ln", bin(BinaryOp::sub, sel("exp_root_log"), num(20))), R"({l="x"} NaN
        {l="y"} -Inf)"));
    EXPECT_TRUE(vector_is(f("sqrt", sel("exp_root_log")), R"({l="x"} 3.1622776601683795
        {l="y"} 4.47213595499958)"));
    EXPECT_TRUE(vector_is(f("log2", sel("exp_root_log")), R"({l="x"} 3.3219280948873626
        {l="y"} 4.321928094887363)"));
    EXPECT_TRUE(vector_is(f("log10", sel("exp_root_log")), R"({l="x"} 1
        {l="y"} 1.301029995663981)"));
    // exact: where Go's Exp/Log (amd64) round differently from the C library.
    EXPECT_TRUE(vector_is(f("exp", sel("one_and_half")), "{} 4.4816890703380654", Cmp::exact));
    EXPECT_TRUE(vector_is(f("ln", sel("three")), "{} 1.0986122886681096", Cmp::exact));
    EXPECT_TRUE(vector_is(f("log2", sel("three")), "{} 1.5849625007211563", Cmp::exact));
    EXPECT_TRUE(vector_is(f("log10", sel("tenth")), "{} -0.9999999999999999", Cmp::exact));
    EXPECT_TRUE(vector_is(f("log2", call("vector", {num(0.25)})), "{} -2", Cmp::exact));
}

TEST_F(PromqlEvalFunctionsTest, SimpleFunctions) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        test_sgn{src="sgn-a"} -Inf
        test_sgn{src="sgn-b"} Inf
        test_sgn{src="sgn-c"} NaN
        test_sgn{src="sgn-d"} -50
        test_sgn{src="sgn-e"} 0
        test_sgn{src="sgn-f"} 100
        r{v="a"} 0.4
        r{v="b"} 0.5
        r{v="c"} -0.5
        r{v="d"} -1.5
        r{v="e"} 2.25
    )");
    EXPECT_TRUE(vector_is(evaluate(*call("sgn", {sel("test_sgn")}), st, 0), R"(
        {src="sgn-a"} -1
        {src="sgn-b"} 1
        {src="sgn-c"} NaN
        {src="sgn-d"} -1
        {src="sgn-e"} 0
        {src="sgn-f"} 1)"));
    EXPECT_TRUE(
        vector_is(evaluate(*call("abs", {sel("test_sgn", {re("src", "sgn-[ad]")})}), st, 0), R"(
        {src="sgn-a"} +Inf
        {src="sgn-d"} 50)"));
    // round(): ties up (floor(x + 0.5)).
    EXPECT_TRUE(vector_is(evaluate(*call("round", {sel("r")}), st, 0), R"(
        {v="a"} 0
        {v="b"} 1
        {v="c"} 0
        {v="d"} -1
        {v="e"} 2)"));
    EXPECT_TRUE(vector_is(evaluate(*call("round", {sel("r"), num(0.5)}), st, 0), R"(
        {v="a"} 0.5
        {v="b"} 0.5
        {v="c"} -0.5
        {v="d"} -1.5
        {v="e"} 2.5)"));
    EXPECT_TRUE(
        vector_is(evaluate(*call("ceil", {sel("r", {eq("v", "d")})}), st, 0), R"({v="d"} -1)"));
    EXPECT_TRUE(
        vector_is(evaluate(*call("floor", {sel("r", {eq("v", "d")})}), st, 0), R"({v="d"} -2)"));
}

TEST_F(PromqlEvalFunctionsTest, AbsentAndSort) {
    EXPECT_TRUE(vector_is(at(call("absent", {sel("nonexistent")})), "{} 1"));
    EXPECT_TRUE(vector_is(
        at(call("absent", {sel("nonexistent", {eq("job", "testjob"), eq("instance", "testinstance"),
                                               re("method", ".x")})})),
        R"({instance="testinstance", job="testjob"} 1)"));
    EXPECT_TRUE(vector_is(
        at(call("absent", {sel("nonexistent",
                               {eq("job", "testjob"), eq("job", "testjob2"), eq("foo", "bar")})})),
        R"({foo="bar"} 1)"));
    EXPECT_TRUE(vector_is(
        at(call("absent", {sel("nonexistent",
                               {eq("job", "testjob"), re("job", "testjob2"), eq("foo", "bar")})})),
        R"({foo="bar"} 1)"));
    EXPECT_TRUE(is_empty(at(call("absent", {sel("testmetric")}))));
    EXPECT_TRUE(vector_is(
        at(call("absent", {agg(AggregationOp::sum, sel("nonexistent", {eq("job", "x")}))})),
        "{} 1"));

    // sort() and sort_desc() keep their order at the top (NaN last in both).
    MemoryStorage st;
    load(st, 5 * kM, R"(
        h{i="0"} 300
        h{i="1"} NaN
        h{i="2"} 100
        h{i="3"} 200
    )");
    auto order = [&](const char *fn) {
        std::vector<std::string> out;
        const EvalResult r = evaluate(*call(fn, {sel("h")}), st, 0);
        if (!std::holds_alternative<InstantVector>(r)) return std::vector<std::string>{describe(r)};
        for (const auto &s : std::get<InstantVector>(r)) out.push_back(s.labels[1].second);
        return out;
    };
    EXPECT_EQ(order("sort"), (std::vector<std::string>{"2", "3", "0", "1"}));
    EXPECT_EQ(order("sort_desc"), (std::vector<std::string>{"0", "3", "2", "1"}));
}

// ---- types and malformed trees ----------------------------------------------------------------

TEST(PromqlEvalTypes, ChecksWhatPrometheusParserChecks) {
    MemoryStorage st;
    load(st, 5 * kM, "m 1");
    auto err = [&](const NodePtr &e) { return evaluate(*e, st, 0); };
    EXPECT_TRUE(error_is(err(call("nope", {}, 4)), 4, "unknown function with name \"nope\""));
    EXPECT_TRUE(
        error_is(err(call("rate", {sel("m", {}, 0, 5)}, 0)), 5,
                 "expected type range vector in call to function \"rate\", got instant vector"));
    EXPECT_TRUE(
        error_is(err(call("abs", {range("m", kM)})), 0,
                 "expected type instant vector in call to function \"abs\", got range vector"));
    EXPECT_TRUE(
        error_is(err(call("rate", {}, 2)), 2, "expected 1 argument(s) in call to \"rate\", got 0"));
    EXPECT_TRUE(error_is(err(call("round", {sel("m"), num(1), num(2)}, 2)), 2,
                         "expected at most 2 argument(s) in call to \"round\", got 3"));
    EXPECT_TRUE(error_is(err(call("label_join", {sel("m"), str("a")}, 2)), 2,
                         "expected at least 3 argument(s) in call to \"label_join\", got 2"));
    EXPECT_TRUE(
        error_is(err(call("label_replace", {sel("m"), str("a"), num(1, 9), str("b"), str("c")})), 9,
                 "expected type string"));
    EXPECT_TRUE(error_is(err(agg(AggregationOp::sum, num(1, 4), {}, false, 0)), 4,
                         "expected type instant vector in aggregation expression, got scalar"));
    EXPECT_TRUE(error_is(err(bin(BinaryOp::gt, num(1), num(2), {}, 3)), 3,
                         "comparisons between scalars must use BOOL modifier"));
    EXPECT_TRUE(error_is(err(bin(BinaryOp::add, sel("m"), num(2), kBool, 3)), 3,
                         "bool modifier can only be used on comparison operators"));
    EXPECT_TRUE(error_is(err(bin(BinaryOp::add, sel("m"), num(2), on({"a"}), 3)), 3,
                         "vector matching only allowed between instant vectors"));
    EXPECT_TRUE(error_is(err(bin(BinaryOp::add, range("m", kM), num(2), {}, 3)), 3,
                         "binary expression must contain only scalar and instant vector types"));
    EXPECT_TRUE(error_is(err(neg(str("x"), 1)), 1, "unary expression only allowed"));
    EXPECT_TRUE(error_is(err(bin(BinaryOp::add, nullptr, num(2), {}, 6)), 6, "missing"));
    // A matching clause with no labels between a vector and a scalar is allowed.
    EXPECT_TRUE(vector_is(err(bin(BinaryOp::add, sel("m"), num(2), on({}))), "{} 3"));
}

// ---- through the parser -------------------------------------------------------------------------

// A few testdata expressions run as written, through parse(), for the functions and syntax
// pulse's parser accepts.
EvalResult run(const MemoryStorage &st, std::int64_t t, std::string_view expr) {
    ParseResult p = parse(expr);
    if (const auto *e = std::get_if<ParseError>(&p))
        return EvalError{e->pos, "parse error: " + e->describe(expr)};
    return evaluate(*std::get<NodePtr>(p), st, t);
}

TEST(PromqlEvalParsed, TestdataExpressions) {
    MemoryStorage st;
    load(st, 5 * kM, R"(
        http_requests{job="api-server", instance="0", group="production"} 0+10x10
        http_requests{job="api-server", instance="1", group="production"} 0+20x10
        http_requests{job="api-server", instance="0", group="canary"}     0+30x10
        http_requests{job="api-server", instance="1", group="canary"}     0+40x10
        http_requests{job="app-server", instance="0", group="production"} 0+50x10
        http_requests{job="app-server", instance="1", group="production"} 0+60x10
        http_requests{job="app-server", instance="0", group="canary"}     0+70x10
        http_requests{job="app-server", instance="1", group="canary"}     0+80x10
        request_duration_seconds_bucket{job="job1", instance="ins1", le="0.1"}  0+1x10
        request_duration_seconds_bucket{job="job1", instance="ins1", le="0.2"}  0+3x10
        request_duration_seconds_bucket{job="job1", instance="ins1", le="+Inf"} 0+4x10
        request_duration_seconds_bucket{job="job1", instance="ins2", le="0.1"}  0+2x10
        request_duration_seconds_bucket{job="job1", instance="ins2", le="0.2"}  0+5x10
        request_duration_seconds_bucket{job="job1", instance="ins2", le="+Inf"} 0+6x10
    )");
    EXPECT_TRUE(
        vector_is(run(st, 50 * kM, "SUM(http_requests) BY (job) - COUNT(http_requests) BY (job)"),
                  R"({job="api-server"} 996
                             {job="app-server"} 2596)"));
    EXPECT_TRUE(vector_is(run(st, 50 * kM, "-10^3 * - SUM(http_requests) BY (job) ^ -1"),
                          R"({job="api-server"} 1
                             {job="app-server"} 0.38461538461538464)"));
    EXPECT_TRUE(vector_is(run(st, 50 * kM, "SUM(http_requests) BY (job) % 2 ^ 3 ^ 2"),
                          R"({job="api-server"} 488
                             {job="app-server"} 40)"));
    EXPECT_TRUE(vector_is(
        run(st, 50 * kM,
            R"(http_requests{job="api-server", group="canary"} + rate(http_requests{job="api-server"}[5m]) * 5 * 60)"),
        R"({group="canary", instance="0", job="api-server"} 330
                             {group="canary", instance="1", job="api-server"} 440)"));
    EXPECT_TRUE(vector_is(run(st, 50 * kM, "rate(http_requests[25m]) * 25 * 60"), R"(
        {group="canary", instance="0", job="api-server"} 150
        {group="canary", instance="0", job="app-server"} 350
        {group="canary", instance="1", job="api-server"} 200
        {group="canary", instance="1", job="app-server"} 400
        {group="production", instance="0", job="api-server"} 50
        {group="production", instance="0", job="app-server"} 249.99999999999997
        {group="production", instance="1", job="api-server"} 100
        {group="production", instance="1", job="app-server"} 300)"));
    EXPECT_TRUE(vector_is(
        run(st, 50 * kM,
            R"(http_requests{group="canary"} / ignoring(group) http_requests{group="production"})"),
        R"(
        {instance="0", job="api-server"} 3
        {instance="0", job="app-server"} 1.4
        {instance="1", job="api-server"} 2
        {instance="1", job="app-server"} 1.3333333333333333)"));
    EXPECT_TRUE(vector_is(run(st, 50 * kM, "SUM(http_requests) BY (job) == bool 1000"),
                          R"({job="api-server"} 1
                             {job="app-server"} 0)"));
    EXPECT_TRUE(scalar_is(run(st, 50 * kM, "1 - -1"), 2));
    EXPECT_TRUE(vector_is(run(st, 50 * kM,
                              "histogram_quantile(0.5, "
                              "sum(rate(request_duration_seconds_bucket[5m])) by (le, instance))"),
                          R"({instance="ins1"} 0.15
                             {instance="ins2"} 0.13333333333333333)"));
    EXPECT_TRUE(error_is(run(st, 50 * kM, "http_requests[5m]"), 0,
                         "a range vector is not supported as a signal"));
}

}  // namespace
}  // namespace pulse::promql
