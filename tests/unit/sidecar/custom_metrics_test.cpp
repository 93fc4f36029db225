// The custom metrics API's pure logic (sidecar/lib/custom_metrics.h): paths, selectors,
// pod and /signals documents, quantities, aggregation and the JSON shapes of
// k8s.io/metrics pkg/apis/custom_metrics v1beta1 and v1beta2 and metav1.Status.
#include "custom_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "common/signals.h"
#include "json_reading.h"

namespace pulse::sidecar::cm {
namespace {

using nlohmann::json;

ApiRequest ok_path(const std::string &path) {
    auto r = parse_api_path(path);
    EXPECT_TRUE(std::holds_alternative<ApiRequest>(r))
        << path << ": "
        << (std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r).message : "");
    return std::holds_alternative<ApiRequest>(r) ? std::get<ApiRequest>(r) : ApiRequest{};
}

ApiError bad_path(const std::string &path) {
    auto r = parse_api_path(path);
    EXPECT_TRUE(std::holds_alternative<ApiError>(r)) << path;
    return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r) : ApiError{};
}

// ---- paths -------------------------------------------------------------------------

TEST(CustomMetricsPath, GroupAndDiscovery) {
    EXPECT_EQ(ok_path("/apis/custom.metrics.k8s.io").kind, RequestKind::group);
    EXPECT_EQ(ok_path("/apis/custom.metrics.k8s.io/").kind, RequestKind::group);
    auto d = ok_path("/apis/custom.metrics.k8s.io/v1beta1");
    EXPECT_EQ(d.kind, RequestKind::discovery);
    EXPECT_EQ(d.version, ApiVersion::v1beta1);
    d = ok_path("/apis/custom.metrics.k8s.io/v1beta2/");
    EXPECT_EQ(d.kind, RequestKind::discovery);
    EXPECT_EQ(d.version, ApiVersion::v1beta2);
}

TEST(CustomMetricsPath, PodsWildcardLiteralAndEncoded) {
    for (const char *star : {"*", "%2A", "%2a"}) {
        auto r =
            ok_path(std::string("/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/") +
                    star + "/pulse_requests_per_second");
        EXPECT_EQ(r.kind, RequestKind::pods) << star;
        EXPECT_EQ(r.version, ApiVersion::v1beta2);
        EXPECT_EQ(r.ns, "default");
        EXPECT_EQ(r.metric, "pulse_requests_per_second");
        EXPECT_TRUE(r.pod.empty());
    }
}

TEST(CustomMetricsPath, SinglePod) {
    auto r = ok_path(
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-7d9f-x2/pulse_error_ratio");
    EXPECT_EQ(r.kind, RequestKind::pod);
    EXPECT_EQ(r.version, ApiVersion::v1beta1);
    EXPECT_EQ(r.ns, "shop");
    EXPECT_EQ(r.pod, "web-7d9f-x2");
    EXPECT_EQ(r.metric, "pulse_error_ratio");
}

TEST(CustomMetricsPath, NamespaceForms) {
    auto r = ok_path(
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/metrics/pulse_requests_in_flight");
    EXPECT_EQ(r.kind, RequestKind::namespace_);
    EXPECT_EQ(r.ns, "shop");
    EXPECT_EQ(r.metric, "pulse_requests_in_flight");
    r = ok_path("/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pulse_requests_in_flight");
    EXPECT_EQ(r.kind, RequestKind::namespace_);
}

TEST(CustomMetricsPath, UnknownMetricIsNotFoundInTheApiserverWording) {
    auto e = bad_path("/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/nope");
    EXPECT_EQ(e.code, 404);
    EXPECT_EQ(e.reason, "NotFound");
    EXPECT_EQ(e.message, "the server could not find the metric nope for pods");
    e = bad_path("/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-1/nope");
    EXPECT_EQ(e.message, "the server could not find the metric nope for pods web-1");
    e = bad_path("/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/metrics/nope");
    EXPECT_EQ(e.message, "the server could not find the metric nope for namespaces");
    e = bad_path(
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/services/*/pulse_error_ratio");
    EXPECT_EQ(e.code, 404);
    EXPECT_EQ(e.message, "the server could not find the metric pulse_error_ratio for services");
    e = bad_path("/apis/custom.metrics.k8s.io/v1beta2/nodes/n1/pulse_error_ratio");
    EXPECT_EQ(e.message, "the server could not find the metric pulse_error_ratio for nodes n1");
}

TEST(CustomMetricsPath, OtherPathsAreNotFound) {
    for (const char *p :
         {"", "/", "/apis", "/apis/metrics.k8s.io/v1beta1", "/apis/custom.metrics.k8s.io/v1",
          "/apis/custom.metrics.k8s.io/v1beta2/namespaces",
          "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default",
          "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods",
          "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*",
          "/apis/custom.metrics.k8s.io/v1beta2//namespaces/default/pods/*/pulse_error_ratio",
          "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/pulse_error_ratio/x/y",
          "/apis/custom.metrics.k8s.ioX/v1beta2"}) {
        auto e = bad_path(p);
        EXPECT_EQ(e.code, 404) << p;
        EXPECT_EQ(e.reason, "NotFound") << p;
    }
}

TEST(CustomMetricsPath, ImpossibleNamesAreNotFound) {
    auto e =
        bad_path("/apis/custom.metrics.k8s.io/v1beta2/namespaces/Bad_NS/pods/*/pulse_error_ratio");
    EXPECT_EQ(e.code, 404);
    EXPECT_EQ(e.message, "namespaces \"Bad_NS\" not found");
    e = bad_path(
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/a%2Fb/pulse_error_ratio");
    EXPECT_EQ(e.code, 404);
    EXPECT_EQ(e.message, "pods \"a/b\" not found");
    e = bad_path(
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/..%2F..%2Fx/"
        "pulse_error_ratio");
    EXPECT_EQ(e.code, 404);
}

TEST(CustomMetricsPath, IsApiPath) {
    EXPECT_TRUE(is_api_path("/apis/custom.metrics.k8s.io"));
    EXPECT_TRUE(is_api_path("/apis/custom.metrics.k8s.io/v1beta2"));
    EXPECT_FALSE(is_api_path("/apis/custom.metrics.k8s.iox"));
    EXPECT_FALSE(is_api_path("/healthz"));
}

TEST(CustomMetricsNames, DnsRules) {
    EXPECT_TRUE(valid_namespace_name("default"));
    EXPECT_TRUE(valid_namespace_name("kube-system"));
    EXPECT_FALSE(valid_namespace_name(""));
    EXPECT_FALSE(valid_namespace_name("-a"));
    EXPECT_FALSE(valid_namespace_name("a-"));
    EXPECT_FALSE(valid_namespace_name("A"));
    EXPECT_FALSE(valid_namespace_name("a.b"));
    EXPECT_FALSE(valid_namespace_name(std::string(64, 'a')));
    EXPECT_TRUE(valid_namespace_name(std::string(63, 'a')));
    EXPECT_TRUE(valid_pod_name("web-5d8c7b9f4-abcde"));
    EXPECT_TRUE(valid_pod_name("a.b.c"));
    EXPECT_FALSE(valid_pod_name("a..b"));
    EXPECT_FALSE(valid_pod_name("a/b"));
    EXPECT_FALSE(valid_pod_name("*"));
    EXPECT_FALSE(valid_pod_name(std::string(254, 'a')));
}

// ---- metricLabelSelector -------------------------------------------------------------

TEST(CustomMetricsSelector, EmptyIsThePod) {
    for (const char *s : {"", "  "}) {
        auto r = parse_metric_selector(s);
        ASSERT_TRUE(std::holds_alternative<MetricSelector>(r)) << s;
        EXPECT_FALSE(std::get<MetricSelector>(r).server);
    }
    EXPECT_TRUE(selector_json(MetricSelector{}).is_null());
}

TEST(CustomMetricsSelector, ServerEqualsName) {
    for (const char *s :
         {"server=shop.example", "server==shop.example", " server = shop.example "}) {
        auto r = parse_metric_selector(s);
        ASSERT_TRUE(std::holds_alternative<MetricSelector>(r)) << s;
        EXPECT_EQ(std::get<MetricSelector>(r).server, "shop.example") << s;
    }
    EXPECT_EQ(selector_json(MetricSelector{"web", {}}),
              json::parse(R"({"matchLabels":{"server":"web"}})"));
}

TEST(CustomMetricsSelector, AnythingElseIsBadRequest) {
    for (const char *s : {"server", "server=", "server!=web", "location=/", "server in (a,b)",
                          "server=a,x=b", "!server", "server=a b"}) {
        auto r = parse_metric_selector(s);
        ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << s;
        const ApiError &e = std::get<ApiError>(r);
        EXPECT_EQ(e.code, 400) << s;
        EXPECT_EQ(e.reason, "BadRequest");
        EXPECT_NE(e.message.find("only server=NAME"), std::string::npos) << e.message;
    }
}

// ---- pods ----------------------------------------------------------------------------

constexpr const char *kPodList = R"({
  "kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
  "items": [
    {"metadata": {"name": "web-a", "namespace": "default", "labels": {"app": "web"},
                  "annotations": {"pulse.dev/sidecar-port": "19145", "other": "x"}},
     "status": {"phase": "Running", "podIP": "10.0.0.5"}},
    {"metadata": {"name": "web-t", "namespace": "default", "deletionTimestamp": "2026-01-01T00:00:00Z"},
     "status": {"phase": "Running", "podIP": "10.0.0.6"}},
    {"metadata": {"name": "web-p", "namespace": "default"}, "status": {"phase": "Pending"}},
    {"metadata": {"name": "web-n", "namespace": "default"}, "status": {"phase": "Running"}},
    {"metadata": {"namespace": "default"}, "status": {"phase": "Running"}}
  ]})";

TEST(CustomMetricsPods, ParsesAListAndSkipsNamelessItems) {
    auto r = parse_pod_list(kPodList, kDefaultPortAnnotation);
    ASSERT_TRUE(std::holds_alternative<std::vector<PodInfo>>(r));
    const auto &pods = std::get<std::vector<PodInfo>>(r);
    ASSERT_EQ(pods.size(), 4u);
    EXPECT_EQ(pods[0].name, "web-a");
    EXPECT_EQ(pods[0].ns, "default");
    EXPECT_EQ(pods[0].phase, "Running");
    EXPECT_EQ(pods[0].ip, "10.0.0.5");
    EXPECT_FALSE(pods[0].terminating);
    EXPECT_EQ(pods[0].port_annotation, "19145");
    EXPECT_TRUE(pods[1].terminating);
    EXPECT_FALSE(pods[1].port_annotation);
    EXPECT_EQ(pods[2].phase, "Pending");
    EXPECT_TRUE(pods[3].ip.empty());
}

TEST(CustomMetricsPods, Eligibility) {
    auto pods = std::get<std::vector<PodInfo>>(parse_pod_list(kPodList, kDefaultPortAnnotation));
    EXPECT_FALSE(pod_ineligible(pods[0]));
    EXPECT_EQ(pod_ineligible(pods[1]), "the pod is terminating");
    EXPECT_EQ(pod_ineligible(pods[2]), "the pod is not running (phase Pending)");
    EXPECT_EQ(pod_ineligible(pods[3]), "the pod has no IP yet");
    PodInfo unknown;
    unknown.ip = "1.2.3.4";
    EXPECT_EQ(pod_ineligible(unknown), "the pod is not running (phase unknown)");
}

TEST(CustomMetricsPods, EmptyAndNullItems) {
    auto r = parse_pod_list(R"({"kind":"PodList","items":[]})", kDefaultPortAnnotation);
    ASSERT_TRUE(std::holds_alternative<std::vector<PodInfo>>(r));
    EXPECT_TRUE(std::get<std::vector<PodInfo>>(r).empty());
    r = parse_pod_list(R"({"kind":"PodList","items":null})", kDefaultPortAnnotation);
    ASSERT_TRUE(std::holds_alternative<std::vector<PodInfo>>(r));
}

TEST(CustomMetricsPods, MalformedLists) {
    for (const char *body : {"", "not json", "[]", "{}", R"({"items": 3})"}) {
        EXPECT_TRUE(
            std::holds_alternative<std::string>(parse_pod_list(body, kDefaultPortAnnotation)))
            << body;
    }
}

TEST(CustomMetricsPods, SinglePod) {
    auto r = parse_pod(R"({"kind":"Pod","metadata":{"name":"web-a","namespace":"shop",
        "annotations":{"custom/port":"8000"}},"status":{"phase":"Running","podIP":"fd00::5"}})",
                       "custom/port");
    ASSERT_TRUE(std::holds_alternative<PodInfo>(r));
    const PodInfo &p = std::get<PodInfo>(r);
    EXPECT_EQ(p.ns, "shop");
    EXPECT_EQ(p.port_annotation, "8000");
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_pod(R"({"metadata":{}})", "x")));
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_pod("nope", "x")));
}

TEST(CustomMetricsPods, SidecarPortFromTheAnnotation) {
    PodInfo p;
    EXPECT_EQ(std::get<int>(sidecar_port(p, 9145)), 9145);
    p.port_annotation = "19145";
    EXPECT_EQ(std::get<int>(sidecar_port(p, 9145)), 19145);
    p.port_annotation = " 80 ";
    EXPECT_EQ(std::get<int>(sidecar_port(p, 9145)), 80);
    for (const char *bad : {"", "0", "65536", "http", "12a", "-1", "123456"}) {
        p.port_annotation = bad;
        EXPECT_TRUE(std::holds_alternative<std::string>(sidecar_port(p, 9145))) << bad;
    }
}

TEST(CustomMetricsPods, SignalsUrl) {
    EXPECT_EQ(signals_url("10.0.0.5", 9145), "http://10.0.0.5:9145/signals");
    EXPECT_EQ(signals_url("fd00::5", 9145), "http://[fd00::5]:9145/signals");
}

// ---- /signals ------------------------------------------------------------------------

constexpr const char *kSignalsDoc = R"({
  "timestamp": "2026-11-27T09:30:00.123Z", "timestamp_unix": 1795772400.123,
  "age_seconds": 0.42, "stale": false, "stale_after_seconds": 5,
  "draining": false, "window_seconds": 29.8, "samples": 31, "last_error": null,
  "pod": {"pulse_requests_per_second": 812.4, "pulse_requests_in_flight": 3,
          "pulse_request_duration_p95_seconds": null, "pulse_error_ratio": 0.25},
  "servers": {"shop.example": {"pulse_requests_per_second": 800.1}, "api": {"pulse_requests_per_second": 12.3}}
})";

TEST(CustomMetricsSignals, ParsesTheSidecarDocument) {
    auto r = parse_signals(kSignalsDoc);
    ASSERT_TRUE(std::holds_alternative<SidecarReading>(r)) << std::get<std::string>(r);
    const auto &s = std::get<SidecarReading>(r);
    EXPECT_DOUBLE_EQ(s.timestamp_unix, 1795772400.123);
    EXPECT_FALSE(s.stale);
    EXPECT_FALSE(s.draining);
    EXPECT_DOUBLE_EQ(s.window_seconds, 29.8);
    EXPECT_DOUBLE_EQ(s.pod.at("pulse_requests_per_second"), 812.4);
    EXPECT_EQ(s.pod.count("pulse_request_duration_p95_seconds"), 0u);  // null: left out
    EXPECT_DOUBLE_EQ(s.servers.at("shop.example").at("pulse_requests_per_second"), 800.1);
    EXPECT_FALSE(reading_unusable(s));
}

TEST(CustomMetricsSignals, ValuesForThePodAndForAServer) {
    auto s = std::get<SidecarReading>(parse_signals(kSignalsDoc));
    EXPECT_EQ(reading_value(s, "pulse_requests_per_second", {}), 812.4);
    EXPECT_EQ(reading_value(s, "pulse_requests_per_second", MetricSelector{"api", {}}), 12.3);
    EXPECT_FALSE(reading_value(s, "pulse_requests_per_second", MetricSelector{"nope", {}}));
    EXPECT_FALSE(reading_value(s, "pulse_request_duration_p95_seconds", {}));
    EXPECT_FALSE(reading_value(s, "pulse_error_ratio", MetricSelector{"api", {}}));
}

TEST(CustomMetricsSignals, StaleDrainingAndNeverScraped) {
    auto stale = std::get<SidecarReading>(parse_signals(
        R"({"timestamp_unix": 1, "stale": true, "draining": false, "window_seconds": 3, "pod": {}})"));
    EXPECT_EQ(reading_unusable(stale), "stale");
    auto draining = std::get<SidecarReading>(parse_signals(
        R"({"timestamp_unix": 1, "stale": false, "draining": true, "window_seconds": 3, "pod": {}})"));
    EXPECT_EQ(reading_unusable(draining), "draining");
    auto never = std::get<SidecarReading>(parse_signals(
        R"({"timestamp": null, "timestamp_unix": null, "stale": false, "draining": false, "pod": {}})"));
    EXPECT_EQ(reading_unusable(never), "stale");
}

TEST(CustomMetricsSignals, NumbersFromTheFutureAreUnusable) {
    auto r = std::get<SidecarReading>(
        parse_signals(R"({"timestamp_unix": 1000, "stale": false, "draining": false, "pod": {}})"));
    EXPECT_EQ(reading_timestamp(r, "pulse_requests_per_second"), 1000);
    // Without the adapter's clock: no check (as before).
    EXPECT_FALSE(reading_unusable(r));
    // Behind the clock, or ahead within the allowance: usable.
    EXPECT_FALSE(reading_unusable(r, "pulse_requests_per_second", 1003.0));
    EXPECT_FALSE(
        reading_unusable(r, "pulse_requests_per_second", 1000.0 - kFutureAllowanceSeconds));
    EXPECT_EQ(
        reading_unusable(r, "pulse_requests_per_second", 1000.0 - kFutureAllowanceSeconds - 0.01),
        "future");
    EXPECT_EQ(reading_unusable(r, {}, 0.0), "future");  // 1,000 s ahead
    EXPECT_FALSE(reading_unusable(r, {}, 999.0, 2.0));
    EXPECT_EQ(reading_unusable(r, {}, 997.0, 2.0), "future");
    // Stale and draining are said first: they need no clock.
    r.stale = true;
    EXPECT_EQ(reading_unusable(r, {}, 0.0), "stale");
    r.stale = false;
    r.draining = true;
    EXPECT_EQ(reading_unusable(r, {}, 0.0), "draining");

    // A config signal is judged by its own evaluation's time.
    auto c = std::get<SidecarReading>(parse_signals(
        R"({"timestamp_unix": null, "stale": true, "pod": {}, "config_signals": {
              "pulse_jobs_waiting": {"timestamp_unix": 5000, "stale": false, "series": []}}})"));
    EXPECT_EQ(reading_timestamp(c, "pulse_jobs_waiting"), 5000);
    EXPECT_EQ(reading_timestamp(c, "pulse_nope"), 0);
    EXPECT_FALSE(reading_unusable(c, "pulse_jobs_waiting", 4999.0));
    EXPECT_EQ(reading_unusable(c, "pulse_jobs_waiting", 4000.0), "future");
    EXPECT_EQ(reading_unusable(c, {}, 4000.0), "stale");  // nginx's numbers: never scraped
}

TEST(CustomMetricsSignals, OldNumbersCalledFreshAreUnusable) {
    auto r = std::get<SidecarReading>(parse_signals(
        R"({"timestamp_unix": 1000, "stale": false, "stale_after_seconds": 3, "pod": {}})"));
    EXPECT_EQ(reading_stale_after(r, "pulse_requests_per_second"), 3);
    // Up to the sidecar's own limit plus the clocks' allowance: usable.
    EXPECT_FALSE(reading_unusable(r, {}, 1000.0 + 3 + kFutureAllowanceSeconds));
    EXPECT_EQ(reading_unusable(r, {}, 1000.0 + 3 + kFutureAllowanceSeconds + 0.01), "old");
    EXPECT_EQ(reading_unusable(r, {}, 5000.0), "old");
    EXPECT_FALSE(reading_unusable(r));  // no clock, no check
    // A sidecar that does not say its limit is not judged by one.
    auto unsaid = std::get<SidecarReading>(
        parse_signals(R"({"timestamp_unix": 1000, "stale": false, "pod": {}})"));
    EXPECT_EQ(reading_stale_after(unsaid, {}), 0);
    EXPECT_FALSE(reading_unusable(unsaid, {}, 5000.0));
    for (const char *bad : {"0", "-3", "\"3\"", "null", "1e999"}) {
        auto doc = std::string(R"({"timestamp_unix": 1000, "stale": false, "pod": {},
                                   "stale_after_seconds": )") +
                   bad + "}";
        auto parsed = parse_signals(doc);
        if (auto *reading = std::get_if<SidecarReading>(&parsed)) {
            EXPECT_EQ(reading_stale_after(*reading, {}), 0) << bad;
        }
    }

    // A config signal by its own evaluation time and limit.
    auto c = std::get<SidecarReading>(parse_signals(
        R"({"timestamp_unix": 5000, "stale": false, "stale_after_seconds": 3, "pod": {},
            "config_signals": {"pulse_jobs_waiting": {"timestamp_unix": 4900, "stale": false,
                               "stale_after_seconds": 45, "series": []}}})"));
    EXPECT_EQ(reading_stale_after(c, "pulse_jobs_waiting"), 45);
    EXPECT_FALSE(reading_unusable(c, "pulse_jobs_waiting", 4950.0));
    EXPECT_EQ(reading_unusable(c, "pulse_jobs_waiting", 4951.0), "old");
    EXPECT_FALSE(reading_unusable(c, {}, 5008.0));
    EXPECT_EQ(reading_unusable(c, {}, 5009.0), "old");
}

TEST(CustomMetricsSignals, DeepNestingIsRefusedUnparsed) {
    using json_reading::kMaxNesting;
    using json_reading::nesting_within;
    auto nested = [](std::size_t depth, const std::string &inner = "") {
        return std::string(depth, '[') + inner + std::string(depth, ']');
    };
    EXPECT_TRUE(nesting_within(nested(kMaxNesting)));
    EXPECT_FALSE(nesting_within(nested(kMaxNesting + 1)));
    EXPECT_TRUE(nesting_within(""));
    EXPECT_TRUE(nesting_within(R"({"a": [1, {"b": []}], "c": {}})", 4));
    EXPECT_FALSE(nesting_within(R"({"a": [1, {"b": []}], "c": {}})", 3));
    // Brackets in strings, escaped quotes included, do not count.
    EXPECT_TRUE(nesting_within(R"(["[[[[", "\"[[[[", "\\", "{{{{"])", 1));
    // Unbalanced closers do not open room for deeper nesting later.
    EXPECT_FALSE(nesting_within("]]]]" + nested(3), 2));

    // A million deep within the 1 MiB body limit: refused before parsing, as garbage.
    std::string deep = R"({"stale": false, "timestamp_unix": 1, "pod": )" + nested(500000) + "}";
    auto r = parse_signals(deep);
    ASSERT_TRUE(std::holds_alternative<std::string>(r));
    EXPECT_EQ(std::get<std::string>(r), "the /signals answer is nested more than 128 levels deep");
    auto list = parse_pod_list(R"({"kind": "PodList", "items": )" + nested(200) + "}", "a");
    ASSERT_TRUE(std::holds_alternative<std::string>(list));
    EXPECT_EQ(std::get<std::string>(list), "the pod list is nested more than 128 levels deep");
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_pod(nested(1 << 20), "a")));
}

TEST(CustomMetricsSignals, MalformedAnswers) {
    for (const char *body :
         {"", "<html>", "[]", R"({"pod": {}})",
          R"({"stale": "no", "timestamp_unix": 1, "pod": {}})", R"({"stale": false, "pod": {}})",
          R"({"stale": false, "timestamp_unix": 1})",
          R"({"stale": false, "timestamp_unix": 1, "pod": []})"}) {
        EXPECT_TRUE(std::holds_alternative<std::string>(parse_signals(body))) << body;
    }
}

// ---- quantities and times ------------------------------------------------------------

TEST(CustomMetricsQuantity, MilliUnits) {
    EXPECT_EQ(format_quantity(0), "0");
    EXPECT_EQ(format_quantity(1.5), "1500m");
    EXPECT_EQ(format_quantity(2), "2000m");
    EXPECT_EQ(format_quantity(812.4), "812400m");
    EXPECT_EQ(format_quantity(0.0004), "0");
    EXPECT_EQ(format_quantity(0.0005), "1m");  // half away from zero
    EXPECT_EQ(format_quantity(0.0015), "2m");
    EXPECT_EQ(format_quantity(0.25), "250m");
    EXPECT_EQ(format_quantity(-1.5), "-1500m");
    EXPECT_EQ(format_quantity(-0.0004), "0");
    EXPECT_EQ(format_quantity(1e30), "9223372036854775807m");
    EXPECT_EQ(format_quantity(std::numeric_limits<double>::quiet_NaN()), "0");
}

// ---- points and aggregation ----------------------------------------------------------

TEST(CustomMetricsPoints, PodPointTakesTheScrapeTimeAndTheWindow) {
    auto s = std::get<SidecarReading>(parse_signals(kSignalsDoc));
    PodInfo pod;
    pod.ns = "default";
    pod.name = "web-a";
    auto p = pod_point(pod, s, "pulse_requests_per_second", {});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, "Pod");
    EXPECT_EQ(p->name, "web-a");
    EXPECT_DOUBLE_EQ(p->timestamp_unix, 1795772400.123);
    EXPECT_EQ(p->window_seconds, 30);
    EXPECT_DOUBLE_EQ(p->value, 812.4);
    auto g = pod_point(pod, s, "pulse_requests_in_flight", {});
    ASSERT_TRUE(g);
    EXPECT_EQ(g->window_seconds, 0);  // instantaneous
    EXPECT_FALSE(pod_point(pod, s, "pulse_request_duration_p95_seconds", {}));
}

TEST(CustomMetricsPoints, NamespaceAggregatesAsTheSignalTableSays) {
    // Summed: quantities that add up over pods; the others take the worst pod.
    std::vector<MetricPoint> pts(2);
    pts[0].value = 1, pts[1].value = 2;
    for (const char *m :
         {"pulse_requests_per_second", "pulse_requests_in_flight", "pulse_websocket_connections"}) {
        EXPECT_DOUBLE_EQ(aggregate_namespace("shop", m, pts)->value, 3) << m;
    }
    for (const char *m :
         {"pulse_request_duration_p50_seconds", "pulse_request_duration_p95_seconds",
          "pulse_request_duration_p99_seconds", "pulse_upstream_duration_p95_seconds",
          "pulse_error_ratio", "pulse_connection_saturation", "jobs_waiting"}) {
        EXPECT_DOUBLE_EQ(aggregate_namespace("shop", m, pts)->value, 2) << m;
    }
    for (const auto &s : pulse::common::kSignals) EXPECT_TRUE(is_signal(s.name));
    EXPECT_FALSE(is_signal("pulse_nope"));
}

TEST(CustomMetricsPoints, NamespaceSumAndMax) {
    std::vector<MetricPoint> pts(3);
    pts[0].value = 1.5, pts[0].timestamp_unix = 100, pts[0].window_seconds = 30;
    pts[1].value = 2.25, pts[1].timestamp_unix = 99, pts[1].window_seconds = 29;
    pts[2].value = 0.5, pts[2].timestamp_unix = 101, pts[2].window_seconds = 31;
    auto sum = aggregate_namespace("shop", "pulse_requests_per_second", pts);
    ASSERT_TRUE(sum);
    EXPECT_EQ(sum->kind, "Namespace");
    EXPECT_EQ(sum->name, "shop");
    EXPECT_DOUBLE_EQ(sum->value, 4.25);
    EXPECT_DOUBLE_EQ(sum->timestamp_unix, 99);  // the oldest
    EXPECT_EQ(sum->window_seconds, 31);
    auto max = aggregate_namespace("shop", "pulse_error_ratio", pts);
    EXPECT_DOUBLE_EQ(max->value, 2.25);
    EXPECT_FALSE(aggregate_namespace("shop", "pulse_error_ratio", {}));
}

// ---- documents -----------------------------------------------------------------------

MetricPoint pod_point_fixture() {
    MetricPoint p;
    p.ns = "default";
    p.name = "web-a";
    p.timestamp_unix = 1795772400.5;
    p.window_seconds = 30;
    p.value = 1.5;
    return p;
}

TEST(CustomMetricsDocuments, V1beta1Shape) {
    json doc = metric_value_list(ApiVersion::v1beta1, "pulse_requests_per_second", {},
                                 {pod_point_fixture()});
    json want = json::parse(R"({
      "kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/v1beta1", "metadata": {},
      "items": [{
        "describedObject": {"kind": "Pod", "namespace": "default", "name": "web-a", "apiVersion": "/v1"},
        "metricName": "pulse_requests_per_second",
        "timestamp": "2026-11-27T09:40:00Z",
        "window": 30,
        "value": "1500m",
        "selector": null
      }]})");
    EXPECT_EQ(doc, want) << doc.dump(2);
}

TEST(CustomMetricsDocuments, V1beta2Shape) {
    json doc = metric_value_list(ApiVersion::v1beta2, "pulse_requests_per_second",
                                 MetricSelector{"shop", {}}, {pod_point_fixture()});
    json want = json::parse(R"({
      "kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/v1beta2", "metadata": {},
      "items": [{
        "describedObject": {"kind": "Pod", "namespace": "default", "name": "web-a", "apiVersion": "/v1"},
        "metric": {"name": "pulse_requests_per_second", "selector": {"matchLabels": {"server": "shop"}}},
        "timestamp": "2026-11-27T09:40:00Z",
        "windowSeconds": 30,
        "value": "1500m"
      }]})");
    EXPECT_EQ(doc, want) << doc.dump(2);
}

TEST(CustomMetricsDocuments, NamespaceObjectHasNoNamespaceField) {
    auto ns = aggregate_namespace("shop", "pulse_requests_per_second", {pod_point_fixture()});
    json doc = metric_value_list(ApiVersion::v1beta2, "pulse_requests_per_second", {}, {*ns});
    EXPECT_EQ(doc["items"][0]["describedObject"],
              json::parse(R"({"kind": "Namespace", "name": "shop", "apiVersion": "/v1"})"));
}

TEST(CustomMetricsDocuments, EmptyListHasAnItemsArray) {
    json doc = metric_value_list(ApiVersion::v1beta2, "pulse_error_ratio", {}, {});
    ASSERT_TRUE(doc["items"].is_array());
    EXPECT_TRUE(doc["items"].empty());
}

TEST(CustomMetricsDocuments, Discovery) {
    for (ApiVersion v : {ApiVersion::v1beta1, ApiVersion::v1beta2}) {
        json d = discovery(v);
        EXPECT_EQ(d["kind"], "APIResourceList");
        EXPECT_EQ(d["apiVersion"], "v1");
        EXPECT_EQ(d["groupVersion"], "custom.metrics.k8s.io/" + std::string(version_name(v)));
        ASSERT_EQ(d["resources"].size(), 2 * pulse::common::kSignals.size());
        for (const auto &s : pulse::common::kSignals) {
            json pods = {{"name", "pods/" + std::string(s.name)},
                         {"singularName", ""},
                         {"namespaced", true},
                         {"kind", "MetricValueList"},
                         {"verbs", {"get"}}};
            json nss = {{"name", "namespaces/" + std::string(s.name)},
                        {"singularName", ""},
                        {"namespaced", false},
                        {"kind", "MetricValueList"},
                        {"verbs", {"get"}}};
            EXPECT_NE(std::find(d["resources"].begin(), d["resources"].end(), pods),
                      d["resources"].end())
                << s.name;
            EXPECT_NE(std::find(d["resources"].begin(), d["resources"].end(), nss),
                      d["resources"].end())
                << s.name;
        }
    }
}

TEST(CustomMetricsDocuments, ApiGroupPrefersV1beta2) {
    json g = api_group();
    EXPECT_EQ(g["kind"], "APIGroup");
    EXPECT_EQ(g["name"], "custom.metrics.k8s.io");
    EXPECT_EQ(g["preferredVersion"]["version"], "v1beta2");
    EXPECT_EQ(g["versions"].size(), 2u);
}

TEST(CustomMetricsDocuments, StatusShape) {
    EXPECT_EQ(status_json(api_error(404, "x not found")),
              json::parse(R"({"kind": "Status", "apiVersion": "v1",
        "metadata": {}, "status": "Failure", "message": "x not found", "reason": "NotFound", "code": 404})"));
    EXPECT_EQ(api_error(400, "").reason, "BadRequest");
    EXPECT_EQ(api_error(401, "").reason, "Unauthorized");
    EXPECT_EQ(api_error(405, "").reason, "MethodNotAllowed");
    EXPECT_EQ(api_error(503, "").reason, "ServiceUnavailable");
    EXPECT_EQ(api_error(500, "").reason, "InternalError");
    EXPECT_EQ(api_error(502, "").reason, "InternalError");
}

// ---- the config's signals -------------------------------------------------------------

Catalog workers_catalog() {
    Catalog c;
    ConfigMetric waiting;
    waiting.name = "pulse_jobs_waiting";
    waiting.objects.push_back({"shop", "deployments", "workers-emails", {{"job", "emails"}}});
    waiting.objects.push_back({"shop", "deployments", "workers-thumbs", {{"job", "thumbs"}}});
    ConfigMetric rate;
    rate.name = "pulse_jobs_done_per_second";
    rate.window_seconds = 60;
    c.metrics = {waiting, rate};
    return c;
}

TEST(CustomMetricsConfig, ObjectPathsForAttachedResources) {
    Catalog c = workers_catalog();
    auto r = parse_api_path(
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/deployments.apps/workers-emails/"
        "pulse_jobs_waiting",
        c);
    ASSERT_TRUE(std::holds_alternative<ApiRequest>(r));
    ApiRequest req = std::get<ApiRequest>(r);
    EXPECT_EQ(req.kind, RequestKind::object);
    EXPECT_EQ(req.ns, "shop");
    EXPECT_EQ(req.resource, "deployments.apps");
    EXPECT_EQ(req.object, "workers-emails");
    EXPECT_EQ(req.metric, "pulse_jobs_waiting");
    auto star = parse_api_path(
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/deployments/%2A/pulse_jobs_waiting",
        c);
    ASSERT_TRUE(std::holds_alternative<ApiRequest>(star));
    EXPECT_EQ(std::get<ApiRequest>(star).object, "*");
    // Not attached to that resource, another group, or a metric with no object.
    for (const char *path :
         {"/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/statefulsets.apps/x/"
          "pulse_jobs_waiting",
          "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/deployments.extensions/x/"
          "pulse_jobs_waiting",
          "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/deployments.apps/x/"
          "pulse_jobs_done_per_second",
          "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/metrics/pulse_jobs_waiting"}) {
        auto e = parse_api_path(path, c);
        ASSERT_TRUE(std::holds_alternative<ApiError>(e)) << path;
        EXPECT_EQ(std::get<ApiError>(e).code, 404) << path;
    }
    // Without the catalog, the config's metrics are unknown.
    EXPECT_EQ(
        bad_path("/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/pulse_jobs_waiting")
            .code,
        404);
    auto pods = parse_api_path(
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/pulse_jobs_done_per_second", c);
    ASSERT_TRUE(std::holds_alternative<ApiRequest>(pods));
    EXPECT_EQ(std::get<ApiRequest>(pods).kind, RequestKind::pods);
}

TEST(CustomMetricsConfig, ResourceKinds) {
    EXPECT_EQ(resource_kind("deployments").kind, "Deployment");
    EXPECT_EQ(resource_kind("deployments").api_version, "apps/v1");
    EXPECT_EQ(resource_kind("deployments").qualified, "deployments.apps");
    EXPECT_EQ(resource_kind("services").api_version, "/v1");
    EXPECT_EQ(resource_kind("services").qualified, "services");
    EXPECT_EQ(resource_kind("widgets").kind, "Widget");
    EXPECT_TRUE(same_resource("deployments", "deployments"));
    EXPECT_TRUE(same_resource("deployments.apps", "deployments"));
    EXPECT_FALSE(same_resource("deployments.extensions", "deployments"));
    EXPECT_FALSE(same_resource("deploymentsx", "deployments"));
    EXPECT_TRUE(same_resource("widgets.example.com", "widgets"));
}

TEST(CustomMetricsConfig, LabelEqualitySelectors) {
    auto r = parse_metric_selector(" job=emails , queue==high ", true);
    ASSERT_TRUE(std::holds_alternative<MetricSelector>(r));
    MetricSelector sel = std::get<MetricSelector>(r);
    EXPECT_FALSE(sel.server);
    ASSERT_EQ(sel.labels.size(), 2u);
    EXPECT_EQ(sel.labels[0], (std::pair<std::string, std::string>{"job", "emails"}));
    EXPECT_EQ(sel.labels[1], (std::pair<std::string, std::string>{"queue", "high"}));
    EXPECT_EQ(selector_json(sel),
              json::parse(R"({"matchLabels":{"job":"emails","queue":"high"}})"));
    for (const char *bad : {"job in (a)", "job!=a", "job", "1job=a", "job=a b", "!job", "job=a,"}) {
        auto e = parse_metric_selector(bad, true);
        ASSERT_TRUE(std::holds_alternative<ApiError>(e)) << bad;
        EXPECT_EQ(std::get<ApiError>(e).code, 400) << bad;
    }
}

TEST(CustomMetricsConfig, ReadsConfigSignalsFromASidecar) {
    const char *doc = R"({"timestamp_unix": null, "stale": true, "draining": false,
        "window_seconds": 30, "pod": {}, "servers": {},
        "config_signals": {
          "pulse_jobs_waiting": {"timestamp_unix": 1000.5, "stale": false, "window_seconds": 0,
            "series": [{"labels": {"job": "emails"}, "value": 3},
                       {"labels": {"job": "thumbs"}, "value": 4},
                       {"labels": {"job": "emails", "queue": "low"}, "value": 2},
                       {"labels": {"job": "nan"}, "value": null}]},
          "pulse_old": {"timestamp_unix": 900, "stale": true, "window_seconds": 60, "series": []}}})";
    auto r = parse_signals(doc);
    ASSERT_TRUE(std::holds_alternative<SidecarReading>(r)) << std::get<std::string>(r);
    SidecarReading reading = std::get<SidecarReading>(r);
    // nginx is stale here (a worker pod), the config signal is not.
    EXPECT_EQ(reading_unusable(reading), "stale");
    EXPECT_FALSE(reading_unusable(reading, "pulse_jobs_waiting"));
    EXPECT_EQ(reading_unusable(reading, "pulse_old"), "stale");
    MetricSelector emails;
    emails.labels = {{"job", "emails"}};
    EXPECT_EQ(reading_value(reading, "pulse_jobs_waiting", emails), 5);  // both emails series
    EXPECT_EQ(reading_value(reading, "pulse_jobs_waiting", MetricSelector{}), 9);
    MetricSelector none;
    none.labels = {{"job", "nope"}};
    EXPECT_FALSE(reading_value(reading, "pulse_jobs_waiting", none));
    EXPECT_FALSE(reading_value(reading, "pulse_missing", emails));
    PodInfo pod{"shop", "w-1", "Running", "10.0.0.1", false, std::nullopt};
    auto point = pod_point(pod, reading, "pulse_jobs_waiting", emails);
    ASSERT_TRUE(point);
    EXPECT_EQ(point->timestamp_unix, 1000.5);
    EXPECT_EQ(point->window_seconds, 0);
    reading.draining = true;
    EXPECT_EQ(reading_unusable(reading, "pulse_jobs_waiting"), "draining");

    for (
        const char *badDoc :
        {R"({"timestamp_unix": 1, "stale": false, "pod": {}, "config_signals": []})",
         R"({"timestamp_unix": 1, "stale": false, "pod": {}, "config_signals": {"x": {"series": 1, "stale": false}}})",
         R"({"timestamp_unix": 1, "stale": false, "pod": {}, "config_signals": {"x": {"series": [{"value": 1}], "stale": false}}})",
         R"({"timestamp_unix": 1, "stale": false, "pod": {}, "config_signals": {"x": {"series": [{"labels": {"a": 1}, "value": 1}], "stale": false}}})"}) {
        EXPECT_TRUE(std::holds_alternative<std::string>(parse_signals(badDoc))) << badDoc;
    }
}

TEST(CustomMetricsConfig, DiscoveryListsPodAndObjectResources) {
    json doc = discovery(ApiVersion::v1beta2, workers_catalog());
    std::set<std::string> names;
    for (const auto &r : doc["resources"]) {
        names.insert(r["name"].get<std::string>());
        EXPECT_EQ(r["kind"], "MetricValueList");
    }
    EXPECT_TRUE(names.count("pods/pulse_jobs_waiting"));
    EXPECT_TRUE(names.count("deployments.apps/pulse_jobs_waiting"));
    EXPECT_TRUE(names.count("pods/pulse_jobs_done_per_second"));
    EXPECT_FALSE(names.count("namespaces/pulse_jobs_waiting"));
    EXPECT_EQ(doc["resources"].size(), 2 * pulse::common::kSignals.size() + 3);
}

TEST(CustomMetricsConfig, ObjectItemShape) {
    MetricPoint p;
    p.kind = "Deployment";
    p.api_version = "apps/v1";
    p.ns = "shop";
    p.name = "workers-emails";
    p.timestamp_unix = 1000;
    p.value = 7;
    json doc = metric_value_list(ApiVersion::v1beta2, "pulse_jobs_waiting", MetricSelector{}, {p});
    EXPECT_EQ(doc["items"][0]["describedObject"],
              json::parse(R"({"kind":"Deployment","apiVersion":"apps/v1","namespace":"shop",
                              "name":"workers-emails"})"));
    EXPECT_EQ(doc["items"][0]["value"], "7000m");
}

}  // namespace
}  // namespace pulse::sidecar::cm
