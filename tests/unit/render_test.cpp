// Rendering the zone as an exposition (ngx_module/core/render.h).
#include "core/render.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/buckets.h"
#include "core/labels.h"

namespace pulse {
namespace {

using namespace std::literals;

// A bump allocator over one aligned malloc'd buffer (see series_store_test.cpp).
class TestArena final : public Arena {
  public:
    explicit TestArena(std::size_t capacity)
        : capacity_(capacity),
          buffer_(static_cast<unsigned char *>(std::aligned_alloc(64, (capacity + 127) / 64 * 64)),
                  &std::free) {}

    void *allocate(std::size_t size) override {
        std::size_t align = size >= 64 ? 64 : 8;
        std::size_t offset = (used_ + align - 1) / align * align;
        if (offset > capacity_ || size > capacity_ - offset) return nullptr;
        used_ = offset + size;
        return buffer_.get() + offset;
    }

  private:
    std::size_t capacity_;
    std::size_t used_ = 0;
    std::unique_ptr<unsigned char, decltype(&std::free)> buffer_;
};

constexpr std::uint64_t kNoBudget = UINT64_MAX;

// ---------------------------------------------------------------------------------------
// Reading the output back

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// The value text of the sample whose series (everything before the value) is `series`.
std::optional<std::string> value_of(const std::string &text, const std::string &series) {
    std::optional<std::string> found;
    for (const auto &line : lines_of(text)) {
        if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
            line[series.size()] == ' ') {
            EXPECT_FALSE(found.has_value()) << "series appears twice: " << series;
            found = line.substr(series.size() + 1);
        }
    }
    return found;
}

std::size_t count_lines_starting(const std::string &text, const std::string &prefix) {
    std::size_t n = 0;
    for (const auto &line : lines_of(text)) n += line.rfind(prefix, 0) == 0;
    return n;
}

// Checks the rules every scrape keeps (docs/architecture.md, "Family names"): one HELP and
// one TYPE per family, families never split, no duplicate series, histogram buckets
// cumulative and monotonic with +Inf equal to _count. Stores the families seen, in order, in
// `families_out`.
void check_exposition_rules(const std::string &text, Format format,
                            std::vector<std::string> *families_out = nullptr) {
    std::vector<std::string> families;
    std::set<std::string> help_seen, type_seen, series_seen;
    std::map<std::string, std::string> type_of;
    std::string current;
    std::string current_type;
    // histogram series (labels without le) -> bucket values in order, and _count
    std::map<std::string, std::vector<std::pair<std::string, double>>> buckets;
    std::map<std::string, double> counts;

    auto lines = lines_of(text);
    for (std::size_t n = 0; n < lines.size(); ++n) {
        const std::string &line = lines[n];
        SCOPED_TRACE(line);
        if (line == "# EOF") {
            EXPECT_EQ(format, Format::openmetrics);
            EXPECT_EQ(n + 1, lines.size()) << "# EOF must be last";
            continue;
        }
        if (line.rfind("# HELP ", 0) == 0) {
            std::string name = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(help_seen.insert(name).second) << "second HELP for " << name;
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            std::string rest = line.substr(7);
            std::string name = rest.substr(0, rest.find(' '));
            EXPECT_TRUE(type_seen.insert(name).second) << "second TYPE for " << name;
            EXPECT_TRUE(help_seen.count(name)) << "TYPE without HELP for " << name;
            current = name;
            current_type = rest.substr(rest.find(' ') + 1);
            families.push_back(name);
            continue;
        }
        ASSERT_NE(line.rfind("#", 0), 0u) << "unexpected comment";
        std::size_t space = line.rfind(' ');
        ASSERT_NE(space, std::string::npos);
        std::string series = line.substr(0, space);
        std::string value = line.substr(space + 1);
        EXPECT_TRUE(series_seen.insert(series).second) << "duplicate series";
        std::string name = series.substr(0, series.find('{'));
        ASSERT_FALSE(current.empty()) << "sample before any TYPE";
        // The sample belongs to the family whose header came last: families never split.
        std::string suffix;
        if (name != current) {
            ASSERT_EQ(name.rfind(current, 0), 0u) << "sample outside its family " << current;
            suffix = name.substr(current.size());
        }
        if (current_type == "counter") {
            EXPECT_EQ(suffix, format == Format::openmetrics ? "_total" : "");
        } else if (current_type == "gauge") {
            EXPECT_EQ(suffix, "");
        } else {
            ASSERT_EQ(current_type, "histogram");
            EXPECT_TRUE(suffix == "_bucket" || suffix == "_sum" || suffix == "_count") << suffix;
            if (suffix == "_bucket") {
                std::size_t le = series.rfind("le=\"");
                ASSERT_NE(le, std::string::npos);
                std::string le_value = series.substr(le + 4, series.size() - le - 4 - 2);
                std::string id = current + series.substr(name.size(), le - name.size());
                buckets[id].emplace_back(le_value, std::stod(value));
            } else if (suffix == "_count") {
                std::string labels = series.substr(name.size());
                if (!labels.empty()) labels.pop_back();  // drop '}' to match the bucket id
                counts[current + labels + (labels.empty() ? "{" : ",")] = std::stod(value);
            }
        }
    }
    for (const auto &[id, b] : buckets) {
        SCOPED_TRACE(id);
        ASSERT_FALSE(b.empty());
        EXPECT_EQ(b.back().first, "+Inf");
        for (std::size_t i = 1; i < b.size(); ++i) {
            EXPECT_LE(b[i - 1].second, b[i].second)
                << "buckets not cumulative at le=" << b[i].first;
            if (b[i].first != "+Inf") {
                EXPECT_LT(std::stod(b[i - 1].first), std::stod(b[i].first)) << "le not increasing";
            }
        }
        ASSERT_TRUE(counts.count(id)) << "histogram without _count";
        EXPECT_EQ(b.back().second, counts[id]) << "+Inf differs from _count";
    }
    EXPECT_EQ(buckets.size(), counts.size());
    if (format == Format::openmetrics) {
        EXPECT_TRUE(text.ends_with("# EOF\n"));
    } else {
        EXPECT_EQ(text.find("# EOF"), std::string::npos);
    }
    if (families_out != nullptr) *families_out = families;
}

// ---------------------------------------------------------------------------------------
// Fixture

const std::vector<double> kCurrent = {0.05, 0.1, 0.5, 1};
const std::vector<double> kOld = {0.1, 1};

class RenderTest : public ::testing::Test {
  protected:
    void SetUp() override {
        header_ = SeriesStore::create(arena_, kSlots, 256, kCurrent);
        ASSERT_NE(header_, nullptr);
        in_.bounds = kCurrent;
        in_.live_slots.assign(kSlots, true);
        in_.series_limit = 4096;
    }

    SeriesStore store() const { return SeriesStore(header_); }

    Record *series(Family f, std::initializer_list<std::string_view> labels,
                   std::span<const double> bounds = kCurrent, std::uint64_t budget = kNoBudget) {
        return store().resolve(arena_, f, encode_key(labels), bounds, budget);
    }

    static void add(Record *r, std::uint32_t slot, std::uint64_t n, std::uint32_t index = 0) {
        SeriesStore::add(r->slot_values(slot)[index], n);
    }

    // What the module does for one observation of `ms` milliseconds.
    static void observe(Record *r, std::uint32_t slot, std::uint64_t ms) {
        auto b = r->bounds();
        auto thresholds = millisecond_thresholds(b);
        SeriesStore::add(r->slot_values(slot)[bucket_index(thresholds, ms)], 1);
        SeriesStore::add(r->slot_values(slot)[b.size() + 1], ms);
    }

    std::string render_text() { return render(store(), in_); }

    static constexpr std::uint32_t kSlots = 4;
    TestArena arena_{std::size_t{4} << 20};
    ZoneHeader *header_ = nullptr;
    RenderInputs in_;
};

// ---------------------------------------------------------------------------------------
// Families

TEST_F(RenderTest, EachFamilyOnceWithOneHelpAndOneTypeAndEmptyFamiliesAbsent) {
    add(series(Family::requests, {"a", "/", "GET", "2xx"}), 0, 3);
    add(series(Family::requests_in_flight, {"a"}), 0, 1);
    add(series(Family::requests, {"b", "/", "GET", "2xx"}), 1, 2);
    add(series(Family::response_bytes, {"a", "/"}), 0, 100);
    add(series(Family::requests, {"a", "/x", "POST", "5xx"}), 2, 1);
    observe(series(Family::request_duration, {"a", "/"}), 0, 30);
    add(series(Family::requests_in_flight, {"b"}), 3, 1);
    observe(series(Family::request_duration, {"b", "/"}), 1, 3000);
    series(Family::upstream_requests, {"app", "2xx"});  // exists, never counted: shows 0
    in_.connections = ConnectionStats{10, 10, 3, 1, 1, 1};

    std::string text = render_text();
    std::vector<std::string> families;
    check_exposition_rules(text, Format::prometheus_text, &families);

    const std::vector<std::string> expected = {
        "nginx_http_requests_total",
        "nginx_http_request_duration_seconds",
        "nginx_http_response_bytes_total",
        "nginx_http_requests_in_flight",
        "nginx_http_upstream_requests_total",
        "nginx_connections_accepted_total",
        "nginx_connections_handled_total",
        "nginx_connections",
        "nginx_connections_limit",
        "nginx_pulse_series",
        "nginx_pulse_series_limit",
        "nginx_pulse_series_dropped_total",
        "nginx_pulse_shm_bytes",
        "nginx_pulse_info",
    };
    EXPECT_EQ(families, expected);
    for (const auto &f : expected) {
        EXPECT_EQ(count_lines_starting(text, "# HELP " + f + " "), 1u) << f;
        EXPECT_EQ(count_lines_starting(text, "# TYPE " + f + " "), 1u) << f;
    }
    // Families without series are absent altogether.
    for (auto absent :
         {"nginx_http_request_bytes_total", "nginx_http_websocket_connections",
          "nginx_http_upstream_connect_seconds", "nginx_http_upstream_header_seconds",
          "nginx_http_upstream_response_seconds", "nginx_http_cache_policy_responses_total"}) {
        EXPECT_EQ(text.find(absent), std::string::npos) << absent;
    }
    EXPECT_EQ(
        value_of(
            text,
            "nginx_http_requests_total{server=\"a\",location=\"/\",method=\"GET\",status=\"2xx\"}"),
        "3");
    EXPECT_EQ(
        value_of(
            text,
            "nginx_http_requests_total{server=\"b\",location=\"/\",method=\"GET\",status=\"2xx\"}"),
        "2");
    EXPECT_EQ(value_of(text, "nginx_http_upstream_requests_total{upstream=\"app\",status=\"2xx\"}"),
              "0");
    EXPECT_EQ(value_of(text, "nginx_pulse_series"), "9");
    EXPECT_EQ(value_of(text, "nginx_pulse_series_limit"), "4096");
    EXPECT_EQ(value_of(text, "nginx_pulse_series_dropped_total"), "0");
    EXPECT_EQ(value_of(text, "nginx_connections{state=\"active\"}"), "3");
    EXPECT_EQ(value_of(text, "nginx_connections_accepted_total"), "10");
}

TEST_F(RenderTest, ConnectionFamiliesAbsentWithoutConnectionStats) {
    add(series(Family::requests, {"a", "/", "GET", "2xx"}), 0, 1);
    std::string text = render_text();
    check_exposition_rules(text, Format::prometheus_text);
    EXPECT_EQ(text.find("nginx_connections_accepted_total"), std::string::npos);
    EXPECT_EQ(text.find("nginx_connections{"), std::string::npos);
    EXPECT_NE(text.find("# TYPE nginx_connections_limit gauge\n"), std::string::npos);
}

TEST_F(RenderTest, SelfMetricsAndInfo) {
    in_.shm_used_bytes = 1234;
    in_.shm_free_bytes = 5678;
    in_.connection_limit = 2048;
    in_.module_version = "0.1.0";
    in_.server_version = "1.22.1";
    std::string text = render_text();
    check_exposition_rules(text, Format::prometheus_text);
    EXPECT_EQ(value_of(text, "nginx_pulse_shm_bytes{state=\"used\"}"), "1234");
    EXPECT_EQ(value_of(text, "nginx_pulse_shm_bytes{state=\"free\"}"), "5678");
    EXPECT_EQ(value_of(text, "nginx_connections_limit"), "2048");
    EXPECT_EQ(value_of(text, "nginx_pulse_info{version=\"0.1.0\",nginx_version=\"1.22.1\"}"), "1");
    EXPECT_EQ(value_of(text, "nginx_pulse_series"), "0");
    // Only the zone's untouched overflow records exist: no request family shows.
    EXPECT_EQ(text.find("nginx_http_"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Overflow

TEST_F(RenderTest, ZeroValuedOverflowSeriesAreAbsentNonZeroOnesPresent) {
    // Budget 1: the first series is real, every other one folds into __overflow__.
    Record *real = series(Family::requests, {"a", "/", "GET", "2xx"}, {}, 1);
    add(real, 0, 5);
    Record *over = series(Family::requests, {"b", "/", "GET", "2xx"}, {}, 1);
    ASSERT_TRUE(over->overflow);
    add(over, 2, 4);
    // Overflow records that took series but no value yet, and a histogram overflow with
    // bounds other than the zone's, all zero.
    Record *zero_counter = series(Family::response_bytes, {"b", "/"}, {}, 1);
    ASSERT_TRUE(zero_counter->overflow);
    Record *zero_hist = series(Family::upstream_connect, {"u"}, kOld, 1);
    ASSERT_TRUE(zero_hist->overflow);
    // A histogram overflow with a value.
    Record *hist = series(Family::request_duration, {"b", "/"}, kCurrent, 1);
    ASSERT_TRUE(hist->overflow);
    observe(hist, 1, 70);
    // A gauge overflow whose only value sits in a dead slot counts as zero.
    Record *gauge = series(Family::requests_in_flight, {"c"}, {}, 1);
    ASSERT_TRUE(gauge->overflow);
    add(gauge, 3, 2);
    in_.live_slots[3] = false;

    std::string text = render_text();
    check_exposition_rules(text, Format::prometheus_text);

    const std::string o = "\"__overflow__\"";
    EXPECT_EQ(value_of(text, "nginx_http_requests_total{server=" + o + ",location=" + o +
                                 ",method=" + o + ",status=" + o + "}"),
              "4");
    EXPECT_EQ(
        value_of(
            text,
            "nginx_http_requests_total{server=\"a\",location=\"/\",method=\"GET\",status=\"2xx\"}"),
        "5");
    EXPECT_EQ(value_of(text, "nginx_http_request_duration_seconds_count{server=" + o +
                                 ",location=" + o + "}"),
              "1");
    EXPECT_EQ(value_of(text, "nginx_http_request_duration_seconds_bucket{server=" + o +
                                 ",location=" + o + ",le=\"0.1\"}"),
              "1");
    EXPECT_EQ(value_of(text, "nginx_pulse_series_dropped_total"), "5");

    // Zero-valued overflow series (and with them their otherwise empty families) are absent.
    EXPECT_EQ(text.find("nginx_http_response_bytes_total"), std::string::npos);
    EXPECT_EQ(text.find("nginx_http_upstream_connect_seconds"), std::string::npos);
    EXPECT_EQ(text.find("nginx_http_requests_in_flight"), std::string::npos);
    // None of the zone's untouched fallback records shows.
    std::size_t overflow_lines = 0;
    for (const auto &line : lines_of(text)) {
        overflow_lines += line[0] != '#' && line.find("__overflow__") != std::string::npos;
    }
    EXPECT_EQ(overflow_lines, 1u + (4u + 1u) + 2u);  // counter; 4 buckets, +Inf; _sum, _count
}

// Found by tests/fuzz/exposition_writer_fuzz.cpp: label values that differ only in invalid
// UTF-8 are written the same (each bad byte as U+FFFD), so the exposition must show them as
// one series; written twice, a histogram's buckets repeated and the text did not parse.
TEST_F(RenderTest, SeriesThatShowTheSameLabelsAreOneSeries) {
    observe(series(Family::request_duration, {"a\xff", "/"}), 0, 20);
    observe(series(Family::request_duration, {"a\xfe", "/"}), 1, 30);
    observe(series(Family::request_duration, {"a\xef\xbf\xbd", "/"}), 0, 40);
    add(series(Family::requests, {"s\xc0", "/", "GET", "2xx"}), 0, 2);
    add(series(Family::requests, {"s\xc1", "/", "GET", "2xx"}), 0, 3);
    for (Format f : {Format::prometheus_text, Format::openmetrics}) {
        in_.format = f;
        std::string text = render_text();
        const std::string shown = "a\xef\xbf\xbd";
        EXPECT_EQ(count_lines_starting(text, "nginx_http_request_duration_seconds_count{"), 1u)
            << text;
        EXPECT_EQ(value_of(text, "nginx_http_request_duration_seconds_count{server=\"" + shown +
                                     "\",location=\"/\"}"),
                  "3");
        EXPECT_EQ(value_of(text, "nginx_http_request_duration_seconds_bucket{server=\"" + shown +
                                     "\",location=\"/\",le=\"0.05\"}"),
                  "3");
        EXPECT_EQ(value_of(text,
                           "nginx_http_requests_total{server=\"s\xef\xbf\xbd\",location=\"/"
                           "\",method=\"GET\",status=\"2xx\"}"),
                  "5");
    }
}

// ---------------------------------------------------------------------------------------
// Histograms

TEST_F(RenderTest, HistogramBucketsAreCumulativeInfEqualsCountAndSumIsInSeconds) {
    Record *h = series(Family::request_duration, {"a", "/"});
    observe(h, 0, 20);    // le 0.05
    observe(h, 1, 80);    // le 0.1
    observe(h, 2, 400);   // le 0.5
    observe(h, 3, 1000);  // le 1 (equal to the bound)
    Record *slow = series(Family::request_duration, {"a", "/slow"});
    observe(slow, 0, 5000);  // above every bound

    std::string text = render_text();
    check_exposition_rules(text, Format::prometheus_text);

    const std::string p = "nginx_http_request_duration_seconds";
    const std::string l = "server=\"a\",location=\"/\"";
    EXPECT_EQ(value_of(text, p + "_bucket{" + l + ",le=\"0.05\"}"), "1");
    EXPECT_EQ(value_of(text, p + "_bucket{" + l + ",le=\"0.1\"}"), "2");
    EXPECT_EQ(value_of(text, p + "_bucket{" + l + ",le=\"0.5\"}"), "3");
    EXPECT_EQ(value_of(text, p + "_bucket{" + l + ",le=\"1\"}"), "4");
    EXPECT_EQ(value_of(text, p + "_bucket{" + l + ",le=\"+Inf\"}"), "4");
    EXPECT_EQ(value_of(text, p + "_count{" + l + "}"), "4");
    EXPECT_EQ(value_of(text, p + "_sum{" + l + "}"), "1.5");

    const std::string s = "server=\"a\",location=\"/slow\"";
    for (auto le : {"0.05", "0.1", "0.5", "1"}) {
        EXPECT_EQ(value_of(text, p + "_bucket{" + s + ",le=\"" + le + "\"}"), "0") << le;
    }
    EXPECT_EQ(value_of(text, p + "_bucket{" + s + ",le=\"+Inf\"}"), "1");
    EXPECT_EQ(value_of(text, p + "_count{" + s + "}"), "1");
    EXPECT_EQ(value_of(text, p + "_sum{" + s + "}"), "5");
}

TEST_F(RenderTest, HistogramRecordsWithOldAndCurrentBoundsMergeOnCurrentBounds) {
    // Recorded before a reload with {0.1, 1}: 3 under 0.1, 2 under 1, 1 above; 5 s in all.
    Record *old = series(Family::request_duration, {"a", "/"}, kOld);
    add(old, 0, 3, 0);
    add(old, 1, 2, 1);
    add(old, 2, 1, 2);
    add(old, 0, 5000, 3);
    // Recorded after it with {0.05, 0.1, 0.5, 1}: one in each bucket and one above; 2 s.
    Record *cur = series(Family::request_duration, {"a", "/"}, kCurrent);
    ASSERT_NE(old, cur);
    for (std::uint32_t i = 0; i < 5; ++i) add(cur, i % kSlots, 1, i);
    add(cur, 3, 2000, 5);

    std::string text = render_text();
    check_exposition_rules(text, Format::prometheus_text);

    const std::string p = "nginx_http_request_duration_seconds";
    const std::string l = "server=\"a\",location=\"/\"";
    // old folded: le0.05 0 (not known <= 0.05), le0.1 3, le0.5 3, le1 5, +Inf 6
    // current:    le0.05 1, le0.1 2, le0.5 3, le1 4, +Inf 5
    EXPECT_EQ(value_of(text, p + "_bucket{" + l + ",le=\"0.05\"}"), "1");
    EXPECT_EQ(value_of(text, p + "_bucket{" + l + ",le=\"0.1\"}"), "5");
    EXPECT_EQ(value_of(text, p + "_bucket{" + l + ",le=\"0.5\"}"), "6");
    EXPECT_EQ(value_of(text, p + "_bucket{" + l + ",le=\"1\"}"), "9");
    EXPECT_EQ(value_of(text, p + "_bucket{" + l + ",le=\"+Inf\"}"), "11");
    EXPECT_EQ(value_of(text, p + "_count{" + l + "}"), "11");
    EXPECT_EQ(value_of(text, p + "_sum{" + l + "}"), "7");
    EXPECT_EQ(count_lines_starting(text, p + "_count{"), 1u) << "one series, not two";
    EXPECT_EQ(text.find("le=\"10\""), std::string::npos);
}

TEST(FoldHistogram, HandComputedCases) {
    struct Case {
        const char *what;
        std::vector<double> from;
        std::vector<std::uint64_t> counts;  // non-cumulative, +Inf last
        std::vector<double> to;
        std::vector<std::uint64_t> initial;   // to.size() + 1 entries
        std::vector<std::uint64_t> expected;  // cumulative, +Inf last
    };
    const Case cases[] = {
        {"coarse onto fine",
         {0.1, 1},
         {3, 2, 1},
         {0.05, 0.1, 0.5, 1},
         {0, 0, 0, 0, 0},
         {0, 3, 3, 5, 6}},
        {"fine onto coarse",
         {0.05, 0.1, 0.5, 1},
         {1, 2, 3, 4, 5},
         {0.1, 1},
         {0, 0, 0},
         {3, 10, 15}},
        {"identical bounds", {0.1, 1}, {4, 5, 6}, {0.1, 1}, {0, 0, 0}, {4, 9, 15}},
        {"interleaved bounds",
         {0.07, 0.3},
         {2, 3, 4},
         {0.05, 0.1, 0.5},
         {0, 0, 0, 0},
         {0, 2, 5, 9}},
        {"all of from above to", {5, 10}, {1, 2, 3}, {0.1, 1}, {0, 0, 0}, {0, 0, 6}},
        {"no from bounds: everything in +Inf", {}, {7}, {1}, {0, 0}, {0, 7}},
        {"adds to what is there", {0.1, 1}, {1, 1, 1}, {0.1, 1}, {10, 20, 30}, {11, 22, 33}},
        {"no to bounds", {0.1}, {2, 3}, {}, {1}, {6}},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.what);
        ASSERT_EQ(c.counts.size(), c.from.size() + 1);
        std::vector<std::uint64_t> out = c.initial;
        fold_histogram(c.from, c.counts, c.to, out);
        EXPECT_EQ(out, c.expected);
        for (std::size_t i = 1; i < out.size(); ++i) EXPECT_LE(out[i - 1], out[i]);
    }
}

// ---------------------------------------------------------------------------------------
// Slots

TEST_F(RenderTest, GaugesOfDeadSlotsAreExcludedCountersAreNot) {
    Record *g = series(Family::requests_in_flight, {"a"});
    Record *ws = series(Family::websocket_connections, {"a", "/ws"});
    Record *c = series(Family::requests, {"a", "/", "GET", "2xx"});
    Record *h = series(Family::request_duration, {"a", "/"});
    for (std::uint32_t s = 0; s < kSlots; ++s) {
        add(g, s, 1u << s);    // 1, 2, 4, 8
        add(ws, s, 16u << s);  // 16, 32, 64, 128
        add(c, s, 1u << s);
        observe(h, s, 10);
    }
    in_.live_slots = {true, false, true, false};

    std::string text = render_text();
    check_exposition_rules(text, Format::prometheus_text);
    EXPECT_EQ(value_of(text, "nginx_http_requests_in_flight{server=\"a\"}"), "5");
    EXPECT_EQ(value_of(text, "nginx_http_websocket_connections{server=\"a\",location=\"/ws\"}"),
              "80");
    EXPECT_EQ(
        value_of(
            text,
            "nginx_http_requests_total{server=\"a\",location=\"/\",method=\"GET\",status=\"2xx\"}"),
        "15");
    EXPECT_EQ(
        value_of(text, "nginx_http_request_duration_seconds_count{server=\"a\",location=\"/\"}"),
        "4");

    // Slots beyond live_slots' length count as dead for gauges.
    in_.live_slots = {true};
    text = render_text();
    EXPECT_EQ(value_of(text, "nginx_http_requests_in_flight{server=\"a\"}"), "1");
    EXPECT_EQ(
        value_of(
            text,
            "nginx_http_requests_total{server=\"a\",location=\"/\",method=\"GET\",status=\"2xx\"}"),
        "15");
}

// ---------------------------------------------------------------------------------------
// Escaping and formats

TEST_F(RenderTest, LabelValuesAreEscapedAndValidUtf8) {
    add(series(Family::response_bytes, {"a\"b\\c\nd", "\xff/x\xe2\x82"}), 0, 1);
    add(series(Family::cache_policy_responses, {"caf\xc3\xa9", "/", "fingerprinted"}), 0, 2);
    std::string text = render_text();
    check_exposition_rules(text, Format::prometheus_text);
    EXPECT_EQ(value_of(text,
                       "nginx_http_response_bytes_total{server=\"a\\\"b\\\\c\\nd\",location=\""
                       "\xef\xbf\xbd/x\xef\xbf\xbd\xef\xbf\xbd\"}"),
              "1");
    EXPECT_EQ(value_of(text,
                       "nginx_http_cache_policy_responses_total{server=\"caf\xc3\xa9\","
                       "location=\"/\",policy=\"fingerprinted\"}"),
              "2");
    EXPECT_EQ(text.find('\xff'), std::string::npos);
}

TEST_F(RenderTest, OpenMetricsEndsWithEofAndNamesCounterFamiliesWithoutTotal) {
    add(series(Family::requests, {"a", "/", "GET", "2xx"}), 0, 3);
    observe(series(Family::request_duration, {"a", "/"}), 0, 30);
    add(series(Family::requests_in_flight, {"a"}), 0, 1);
    in_.connections = ConnectionStats{1, 1, 1, 0, 1, 0};
    in_.format = Format::openmetrics;

    std::string text = render_text();
    check_exposition_rules(text, Format::openmetrics);
    EXPECT_TRUE(text.ends_with("\n# EOF\n"));
    EXPECT_EQ(count_lines_starting(text, "# EOF"), 1u);
    for (auto counter : {"nginx_http_requests", "nginx_pulse_series_dropped",
                         "nginx_connections_accepted", "nginx_connections_handled"}) {
        EXPECT_EQ(count_lines_starting(text, "# TYPE "s + counter + " counter"), 1u) << counter;
        EXPECT_EQ(count_lines_starting(text, "# HELP "s + counter + " "), 1u) << counter;
        EXPECT_EQ(count_lines_starting(text, "# TYPE "s + counter + "_total"), 0u) << counter;
    }
    EXPECT_EQ(
        value_of(
            text,
            "nginx_http_requests_total{server=\"a\",location=\"/\",method=\"GET\",status=\"2xx\"}"),
        "3");
    EXPECT_EQ(value_of(text, "nginx_pulse_series_dropped_total"), "0");
    EXPECT_EQ(count_lines_starting(text, "# TYPE nginx_http_request_duration_seconds histogram"),
              1u);
    EXPECT_EQ(count_lines_starting(text, "# TYPE nginx_http_requests_in_flight gauge"), 1u);

    in_.format = Format::prometheus_text;
    std::string plain = render_text();
    EXPECT_EQ(plain.find("# EOF"), std::string::npos);
    EXPECT_EQ(count_lines_starting(plain, "# TYPE nginx_http_requests_total counter"), 1u);
}

// ---------------------------------------------------------------------------------------
// A realistic store through the real promtool

// Builds a store like a busy server's: several families, 50 series, odd label values.
void fill_realistic(SeriesStore store, Arena &arena, std::span<const double> bounds) {
    auto r = [&](Family f, std::initializer_list<std::string_view> l) {
        return store.resolve(arena, f, encode_key(l), bounds, kNoBudget);
    };
    auto thresholds = millisecond_thresholds(bounds);
    auto observe = [&](Record *h, std::uint32_t slot, std::uint64_t ms) {
        SeriesStore::add(h->slot_values(slot)[bucket_index(thresholds, ms)], 1);
        SeriesStore::add(h->slot_values(slot)[thresholds.size() + 1], ms);
    };
    const std::string_view servers[] = {"example.com", "api.example.com"};
    const std::string_view locations[] = {"/", "= /metrics", "^~ /static/", "~* \\.png$",
                                          "@fallback \"quoted\"\n\xff"};
    const std::string_view methods[] = {"GET", "POST", "OTHER"};
    std::uint64_t n = 1;
    for (auto s : servers) {
        for (auto l : locations) {
            for (auto m : methods) {
                if (m != "GET" && l != "/") continue;
                SeriesStore::add(r(Family::requests, {s, l, m, "2xx"})->slot_values(n % 4)[0], n);
                ++n;
            }
            SeriesStore::add(r(Family::requests, {s, l, "GET", "4xx"})->slot_values(0)[0], 1);
            Record *h = r(Family::request_duration, {s, l});
            for (std::uint64_t ms : {1, 7, 30, 120, 480, 999, 1000, 12000}) observe(h, ms % 4, ms);
        }
        SeriesStore::add(r(Family::requests_in_flight, {s})->slot_values(2)[0], 3);
        SeriesStore::add(r(Family::websocket_connections, {s, "/ws"})->slot_values(3)[0], 2);
        SeriesStore::add(r(Family::cache_policy_responses, {s, "^~ /static/", "fingerprinted"})
                             ->slot_values(0)[0],
                         9);
    }
    for (auto u : {"app", "10.0.0.1:8080"}) {
        SeriesStore::add(r(Family::upstream_requests, {u, "2xx"})->slot_values(0)[0], 40);
        SeriesStore::add(r(Family::upstream_requests, {u, "5xx"})->slot_values(1)[0], 2);
        observe(r(Family::upstream_connect, {u}), 0, 1);
        observe(r(Family::upstream_header, {u}), 1, 20);
        observe(r(Family::upstream_response, {u}), 2, 45);
    }
}

std::string run_promtool(const std::string &promtool, const std::string &text, int &exit_code) {
    char path[] = "/tmp/pulse-render-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        exit_code = -1;
        return "mkstemp failed";
    }
    ::close(fd);
    {
        std::ofstream f(path, std::ios::binary);
        f << text;
    }
    std::string cmd = "'" + promtool + "' check metrics < '" + path + "' 2>&1";
    std::string output;
    FILE *p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        exit_code = -1;
        ::unlink(path);
        return "popen failed";
    }
    char buf[4096];
    for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, p)) > 0;) output.append(buf, got);
    int status = ::pclose(p);
    ::unlink(path);
    exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return output;
}

TEST_F(RenderTest, RealisticStoreHas50SeriesAndKeepsEveryRule) {
    fill_realistic(store(), arena_, kCurrent);
    EXPECT_EQ(store().series(), 50u);
    EXPECT_EQ(store().dropped(), 0u);
    in_.connections = ConnectionStats{100, 100, 12, 1, 3, 8};
    for (Format f : {Format::prometheus_text, Format::openmetrics}) {
        in_.format = f;
        check_exposition_rules(render_text(), f);
    }
}

TEST_F(RenderTest, RealisticStorePassesPromtoolCheckMetrics) {
    const char *promtool = std::getenv("PULSE_PROMTOOL");
    if (promtool == nullptr || *promtool == '\0' || ::access(promtool, X_OK) != 0) {
        GTEST_SKIP() << "set PULSE_PROMTOOL to an executable promtool (Debian package "
                        "'prometheus', e.g. build/tools/prometheus/usr/bin/promtool) to run "
                        "`promtool check metrics` on the rendered output";
    }
    fill_realistic(store(), arena_, kCurrent);
    ASSERT_EQ(store().series(), 50u);
    in_.connections = ConnectionStats{100, 100, 12, 1, 3, 8};
    in_.connection_limit = 1024;
    in_.module_version = "0.1.0";
    in_.server_version = "1.22.1";
    std::string text = render_text();
    int code = 0;
    std::string output = run_promtool(promtool, text, code);
    EXPECT_EQ(code, 0) << output << "\n--- input ---\n" << text;
    EXPECT_EQ(output, "") << "\n--- input ---\n" << text;
}

}  // namespace
}  // namespace pulse
