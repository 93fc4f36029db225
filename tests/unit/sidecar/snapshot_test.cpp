// summarize() and Histogram::add (sidecar/lib/nginx_snapshot.h), on Exposition values built
// by hand in both naming styles: text 0.0.4 (counter family "x_total") and OpenMetrics
// (counter family "x", samples "x_total" and "x_created").
#include "nginx_snapshot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace pulse::sidecar {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using Labels = std::vector<std::pair<std::string, std::string>>;

Sample sample(std::string name, Labels labels, double value) {
    Sample s;
    s.name = std::move(name);
    s.labels = std::move(labels);
    s.value = value;
    return s;
}

enum class Style { text_0_0_4, openmetrics };

// A counter family: "x_total" in 0.0.4; "x" with "x_total" and "x_created" in OpenMetrics
// (_created must not be counted as requests).
MetricFamily counter(Style style, const std::string &base,
                     const std::vector<std::pair<Labels, double>> &series) {
    MetricFamily f;
    f.kind = MetricKind::counter;
    f.name = style == Style::openmetrics ? base : base + "_total";
    for (const auto &[labels, value] : series) {
        f.samples.push_back(sample(base + "_total", labels, value));
        if (style == Style::openmetrics)
            f.samples.push_back(sample(base + "_created", labels, 1.7e9));
    }
    return f;
}

MetricFamily gauge(const std::string &name, const std::vector<std::pair<Labels, double>> &series) {
    MetricFamily f;
    f.kind = MetricKind::gauge;
    f.name = name;
    for (const auto &[labels, value] : series) f.samples.push_back(sample(name, labels, value));
    return f;
}

struct HistogramSeries {
    Labels labels;
    std::vector<std::pair<std::string, double>> buckets;  // le text, cumulative count
    double sum;
    double count;
};

MetricFamily histogram(Style style, const std::string &name,
                       const std::vector<HistogramSeries> &series) {
    MetricFamily f;
    f.kind = MetricKind::histogram;
    f.name = name;
    for (const auto &s : series) {
        for (const auto &[le, count] : s.buckets) {
            Labels labels = s.labels;
            labels.emplace_back("le", le);
            f.samples.push_back(sample(name + "_bucket", labels, count));
        }
        f.samples.push_back(sample(name + "_sum", s.labels, s.sum));
        f.samples.push_back(sample(name + "_count", s.labels, s.count));
        if (style == Style::openmetrics)
            f.samples.push_back(sample(name + "_created", s.labels, 1.7e9));
    }
    return f;
}

Labels req(const std::string &server, const std::string &location, const std::string &method,
           const std::string &status) {
    return {{"server", server}, {"location", location}, {"method", method}, {"status", status}};
}

const std::string kOver = "__overflow__";

// Two servers (a, b), exact status codes, the overflow series, two locations per histogram,
// and families that look alike but must not be counted.
Exposition module_exposition(Style style) {
    Exposition e;
    e.families.push_back(counter(style, "nginx_http_requests",
                                 {
                                     {req("a", "/", "GET", "200"), 100},
                                     {req("a", "/api", "GET", "500"), 7},
                                     {req("b", "/", "POST", "503"), 3},
                                     {req("b", "/", "GET", "404"), 11},
                                     {req("b", "/", "GET", "200"), 50},
                                     {req(kOver, kOver, kOver, kOver), 9},
                                 }));
    e.families.push_back(histogram(
        style, "nginx_http_request_duration_seconds",
        {
            {{{"server", "a"}, {"location", "/"}},
             {{"0.1", 60}, {"0.5", 90}, {"+Inf", 100}},
             12,
             100},
            {{{"server", "a"}, {"location", "/api"}}, {{"0.1", 5}, {"0.5", 6}, {"+Inf", 7}}, 2, 7},
            {{{"server", "b"}, {"location", "/"}}, {{"0.1", 40}, {"0.5", 60}, {"+Inf", 64}}, 9, 64},
            {{{"server", kOver}, {"location", kOver}}, {{"0.1", 1}, {"0.5", 5}, {"+Inf", 9}}, 3, 9},
        }));
    e.families.push_back(
        gauge("nginx_http_requests_in_flight",
              {{{{"server", "a"}}, 3}, {{{"server", "b"}}, 2}, {{{"server", kOver}}, 1}}));
    e.families.push_back(gauge(
        "nginx_http_websocket_connections",
        {{{{"server", "a"}, {"location", "/ws"}}, 4}, {{{"server", "b"}, {"location", "/"}}, 0}}));
    e.families.push_back(
        histogram(style, "nginx_http_upstream_response_seconds",
                  {
                      {{{"upstream", "app"}}, {{"0.1", 10}, {"1", 20}, {"+Inf", 25}}, 5, 25},
                      {{{"upstream", "api"}}, {{"0.1", 1}, {"1", 2}, {"+Inf", 3}}, 1, 3},
                  }));
    e.families.push_back(gauge("nginx_connections", {{{{"state", "active"}}, 42},
                                                     {{{"state", "reading"}}, 5},
                                                     {{{"state", "writing"}}, 7},
                                                     {{{"state", "waiting"}}, 30}}));
    e.families.push_back(gauge("nginx_connections_limit", {{{}, 1024}}));
    // Look-alikes that are not the request counter, duration or upstream response.
    e.families.push_back(counter(style, "nginx_http_upstream_requests",
                                 {{{{"upstream", "app"}, {"status", "5xx"}}, 1000}}));
    e.families.push_back(counter(style, "nginx_connections_accepted", {{{}, 5000}}));
    e.families.push_back(
        histogram(style, "nginx_http_upstream_connect_seconds",
                  {{{{"upstream", "app"}}, {{"0.1", 500}, {"1", 600}, {"+Inf", 700}}, 50, 700}}));
    e.families.push_back(counter(style, "nginx_http_response_bytes",
                                 {{{{"server", "a"}, {"location", "/"}}, 123456}}));
    return e;
}

class SnapshotSummarize : public ::testing::TestWithParam<Style> {};

TEST_P(SnapshotSummarize, PodTotalsIncludeOverflowAndExactFiveHundredsAreErrors) {
    NginxSnapshot s = summarize(module_exposition(GetParam()), 12.5);
    EXPECT_EQ(s.time, 12.5);
    EXPECT_EQ(s.pod.requests, 180);  // 100 + 7 + 3 + 11 + 50 + 9 (overflow)
    EXPECT_EQ(s.pod.errors, 10);     // 500 (7) + 503 (3); not 404, 200 or the overflow
    EXPECT_EQ(s.pod.in_flight, 6);   // 3 + 2 + 1 (overflow)
    EXPECT_EQ(s.pod.websockets, 4);
    EXPECT_EQ(s.connections_active, 42);
    EXPECT_EQ(s.connections_limit, 1024);
}

TEST_P(SnapshotSummarize, PerServerTotalsLeaveOverflowOut) {
    NginxSnapshot s = summarize(module_exposition(GetParam()), 0);
    ASSERT_EQ(s.servers.size(), 2u);
    EXPECT_EQ(s.servers.count(kOver), 0u);
    const TrafficTotals &a = s.servers.at("a");
    const TrafficTotals &b = s.servers.at("b");
    EXPECT_EQ(a.requests, 107);
    EXPECT_EQ(a.errors, 7);
    EXPECT_EQ(a.in_flight, 3);
    EXPECT_EQ(a.websockets, 4);
    EXPECT_EQ(b.requests, 64);
    EXPECT_EQ(b.errors, 3);
    EXPECT_EQ(b.in_flight, 2);
    EXPECT_EQ(b.websockets, 0);
}

TEST_P(SnapshotSummarize, DurationHistogramsMergeLocationsBucketByBucket) {
    NginxSnapshot s = summarize(module_exposition(GetParam()), 0);
    const std::vector<double> bounds{0.1, 0.5, kInf};
    EXPECT_EQ(s.pod.duration.bounds, bounds);
    EXPECT_EQ(s.pod.duration.counts, (std::vector<double>{106, 161, 180}));
    EXPECT_EQ(s.pod.duration.sum, 26);
    EXPECT_EQ(s.pod.duration.count(), 180);
    EXPECT_EQ(s.servers.at("a").duration.bounds, bounds);
    EXPECT_EQ(s.servers.at("a").duration.counts, (std::vector<double>{65, 96, 107}));
    EXPECT_EQ(s.servers.at("a").duration.sum, 14);
    EXPECT_EQ(s.servers.at("b").duration.counts, (std::vector<double>{40, 60, 64}));
    EXPECT_EQ(s.servers.at("b").duration.sum, 9);
}

TEST_P(SnapshotSummarize, UpstreamResponseSumsUpstreamsAndNothingElse) {
    NginxSnapshot s = summarize(module_exposition(GetParam()), 0);
    EXPECT_EQ(s.upstream_response.bounds, (std::vector<double>{0.1, 1, kInf}));
    EXPECT_EQ(s.upstream_response.counts, (std::vector<double>{11, 22, 28}));
    EXPECT_EQ(s.upstream_response.sum, 6);
}

INSTANTIATE_TEST_SUITE_P(Snapshot, SnapshotSummarize,
                         ::testing::Values(Style::text_0_0_4, Style::openmetrics),
                         [](const auto &info) {
                             return info.param == Style::openmetrics ? "OpenMetrics" : "Text004";
                         });

TEST(SnapshotSummarizeClasses, StatusClassFiveXxIsAnErrorOthersAreNot) {
    Exposition e;
    e.families.push_back(counter(Style::text_0_0_4, "nginx_http_requests",
                                 {{req("a", "/", "GET", "2xx"), 80},
                                  {req("a", "/", "GET", "4xx"), 12},
                                  {req("a", "/", "GET", "5xx"), 6},
                                  {req("a", "/", "GET", "other"), 2},
                                  {req("a", "/", "GET", "50"), 1},       // not a status
                                  {req("a", "/", "GET", "5000"), 1}}));  // not a status
    NginxSnapshot s = summarize(e, 0);
    EXPECT_EQ(s.pod.requests, 102);
    EXPECT_EQ(s.pod.errors, 6);
    EXPECT_EQ(s.servers.at("a").errors, 6);
}

TEST(SnapshotSummarizeEmpty, AbsentFamiliesLeaveZeros) {
    NginxSnapshot s = summarize(Exposition{}, 3);
    EXPECT_EQ(s.time, 3);
    EXPECT_EQ(s.pod.requests, 0);
    EXPECT_EQ(s.pod.errors, 0);
    EXPECT_TRUE(s.pod.duration.empty());
    EXPECT_TRUE(s.upstream_response.empty());
    EXPECT_TRUE(s.servers.empty());
    EXPECT_EQ(s.connections_active, 0);
    EXPECT_EQ(s.connections_limit, 0);
}

TEST(SnapshotSummarizeLe, BoundsAreMatchedByValueNotByText) {
    Exposition e;
    e.families.push_back(histogram(
        Style::text_0_0_4, "nginx_http_request_duration_seconds",
        {
            {{{"server", "a"}, {"location", "/"}}, {{"0.1", 1}, {"1", 2}, {"+Inf", 3}}, 1, 3},
            {{{"server", "a"}, {"location", "/x"}},
             {{"1e-1", 10}, {"1.0", 20}, {"+Inf", 30}},
             1,
             30},
        }));
    NginxSnapshot s = summarize(e, 0);
    EXPECT_EQ(s.pod.duration.bounds, (std::vector<double>{0.1, 1, kInf}));
    EXPECT_EQ(s.pod.duration.counts, (std::vector<double>{11, 22, 33}));
}

TEST(SnapshotSummarizeLe, DifferentBucketSetsMergeConservatively) {
    // Location "/" has 0.1 and 0.5, "/slow" 0.25 and 0.5. At 0.25 "/" contributes its count
    // at 0.1 (observations between 0.1 and 0.5 counted as slower than 0.25); at 0.1 "/slow"
    // contributes 0.
    Exposition e;
    e.families.push_back(histogram(
        Style::openmetrics, "nginx_http_request_duration_seconds",
        {
            {{{"server", "a"}, {"location", "/"}}, {{"0.1", 10}, {"0.5", 20}, {"+Inf", 30}}, 4, 30},
            {{{"server", "a"}, {"location", "/slow"}},
             {{"0.25", 4}, {"0.5", 6}, {"+Inf", 8}},
             2,
             8},
        }));
    NginxSnapshot s = summarize(e, 0);
    EXPECT_EQ(s.pod.duration.bounds, (std::vector<double>{0.1, 0.25, 0.5, kInf}));
    EXPECT_EQ(s.pod.duration.counts, (std::vector<double>{10, 14, 26, 38}));
    EXPECT_EQ(s.pod.duration.sum, 6);
    EXPECT_EQ(s.servers.at("a").duration.counts, (std::vector<double>{10, 14, 26, 38}));
}

TEST(SnapshotSummarizeLe, MissingInfBucketIsTakenFromCount) {
    Exposition e;
    e.families.push_back(histogram(Style::text_0_0_4, "nginx_http_request_duration_seconds",
                                   {{{{"server", "a"}, {"location", "/"}}, {{"0.1", 4}}, 1, 5}}));
    NginxSnapshot s = summarize(e, 0);
    EXPECT_EQ(s.pod.duration.bounds, (std::vector<double>{0.1, kInf}));
    EXPECT_EQ(s.pod.duration.counts, (std::vector<double>{4, 5}));
}

TEST(SnapshotSummarizeServer, SeriesWithoutServerLabelCountForThePodOnly) {
    Exposition e;
    e.families.push_back(gauge("nginx_http_requests_in_flight", {{{}, 5}, {{{"server", "a"}}, 1}}));
    NginxSnapshot s = summarize(e, 0);
    EXPECT_EQ(s.pod.in_flight, 6);
    ASSERT_EQ(s.servers.size(), 1u);
    EXPECT_EQ(s.servers.at("a").in_flight, 1);
}

TEST(SnapshotHistogramAdd, SameBoundsAddCounts) {
    Histogram a{{0.1, 1, kInf}, {1, 2, 3}, 0.5};
    Histogram b{{0.1, 1, kInf}, {10, 20, 30}, 5};
    a.add(b);
    EXPECT_EQ(a.bounds, (std::vector<double>{0.1, 1, kInf}));
    EXPECT_EQ(a.counts, (std::vector<double>{11, 22, 33}));
    EXPECT_EQ(a.sum, 5.5);
}

TEST(SnapshotHistogramAdd, EmptyTakesTheOther) {
    Histogram a;
    Histogram b{{0.1, kInf}, {1, 2}, 3};
    a.add(b);
    EXPECT_EQ(a.bounds, b.bounds);
    EXPECT_EQ(a.counts, b.counts);
    EXPECT_EQ(a.sum, 3);
    a.add(Histogram{});
    EXPECT_EQ(a.counts, b.counts);
}

TEST(SnapshotHistogramAdd, UnionOfBoundsTakesTheNextLowerCount) {
    Histogram a{{0.1, 0.5, kInf}, {10, 20, 30}, 0};
    Histogram b{{0.05, 0.25, kInf}, {1, 4, 8}, 0};
    a.add(b);
    EXPECT_EQ(a.bounds, (std::vector<double>{0.05, 0.1, 0.25, 0.5, kInf}));
    // 0.05: 0 + 1; 0.1: 10 + 1; 0.25: 10 + 4; 0.5: 20 + 4; +Inf: 30 + 8
    EXPECT_EQ(a.counts, (std::vector<double>{1, 11, 14, 24, 38}));
}

}  // namespace
}  // namespace pulse::sidecar
