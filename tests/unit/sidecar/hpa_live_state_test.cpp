// The live cluster's answers read into the model (sidecar/lib/hpa/live_state.h), on
// documents shaped as kube-apiserver 1.20, metrics-server and the custom metrics adapters
// write them: the scale subresource, a PodList, a PodMetricsList, MetricValueLists of both
// custom metrics versions, an ExternalMetricValueList, discovery; the selectors and paths
// the controller asks with; errors naming the document and the field; and the state written
// back as STATE.json that `hpa decide` reads.
#include "hpa/live_state.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hpa/decide.h"
#include "hpa/spec_yaml.h"
#include "hpa/state_json.h"

namespace pulse::hpa {
namespace {

using json = nlohmann::json;
using Values = std::map<std::string, std::int64_t>;

constexpr double kT0 = 1612325106;  // 2021-02-03T04:05:06Z

template <typename T, typename V>
T ok(const V &result) {
    if (auto *e = std::get_if<ReadError>(&result)) {
        ADD_FAILURE() << e->message;
        return T{};
    }
    return std::get<T>(result);
}

template <typename V>
std::string error(const V &result) {
    if (auto *e = std::get_if<ReadError>(&result)) return e->message;
    ADD_FAILURE() << "no error";
    return {};
}

// ---- times -----------------------------------------------------------------------------

TEST(HpaLiveTime, GoDurations) {
    EXPECT_EQ(parse_go_duration("30s"), 30.0);
    EXPECT_EQ(parse_go_duration("1m0s"), 60.0);
    EXPECT_EQ(parse_go_duration("1m30s"), 90.0);
    EXPECT_EQ(parse_go_duration("5m0s"), 300.0);
    EXPECT_DOUBLE_EQ(*parse_go_duration("300ms"), 0.3);
    EXPECT_EQ(parse_go_duration("1.5h"), 5400.0);
    EXPECT_EQ(parse_go_duration("0"), 0.0);
    EXPECT_EQ(parse_go_duration("0s"), 0.0);
    EXPECT_DOUBLE_EQ(*parse_go_duration("1us"), 1e-6);
    for (const char *bad : {"", "5", "-1s", "1x", "s", "1m30", ".s", "+"})
        EXPECT_FALSE(parse_go_duration(bad)) << bad;
}

// ---- the scale and the pods ---------------------------------------------------------------

TEST(HpaLiveScale, ReadsSpecStatusAndSelector) {
    auto doc = json::parse(R"({
      "kind": "Scale", "apiVersion": "autoscaling/v1",
      "metadata": {"name": "web", "namespace": "shop", "uid": "5d1e5f4c-0c2e-4a59-9a3a-1c4b8a3c3e11",
                   "resourceVersion": "1834", "creationTimestamp": "2021-02-03T04:00:00Z"},
      "spec": {"replicas": 3},
      "status": {"replicas": 4,
                 "selector": "app.kubernetes.io/component=web,app.kubernetes.io/name=web"}})");
    auto scale = ok<LiveScale>(read_scale(doc));
    EXPECT_EQ(scale.spec_replicas, 3);
    EXPECT_EQ(scale.status_replicas, 4);
    EXPECT_EQ(scale.selector, "app.kubernetes.io/component=web,app.kubernetes.io/name=web");

    // A target scaled to 0: spec.replicas is omitted; a custom resource without a selector.
    scale = ok<LiveScale>(read_scale(json::parse(
        R"({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "w"},
            "spec": {}, "status": {"replicas": 0}})")));
    EXPECT_EQ(scale.spec_replicas, 0);
    EXPECT_EQ(scale.status_replicas, 0);
    EXPECT_EQ(scale.selector, "");
}

TEST(HpaLiveScale, ErrorsNameTheField) {
    EXPECT_EQ(error(read_scale(json::parse(R"({"spec": {"replicas": "3"}})"))),
              "Scale: spec.replicas: must be an integer, not a string");
    EXPECT_EQ(error(read_scale(json::parse(R"({"spec": {"replicas": -1}})"))),
              "Scale: spec.replicas: -1 is not a replica count");
    EXPECT_EQ(error(read_scale(json::parse(R"({"status": {"selector": 7}})"))),
              "Scale: status.selector: must be a string, not a number");
    EXPECT_EQ(error(read_scale(json::parse(R"({"kind": "Status", "code": 404})"))),
              "Scale: kind: \"Status\" is not Scale");
    EXPECT_EQ(error(read_scale(json::parse("[]"))), "Scale: must be a JSON object, not a list");
}

const char *kPodList = R"({
  "kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "2011"},
  "items": [
    {"metadata": {"name": "web-7d4b9c-abcde", "namespace": "shop",
                  "labels": {"app.kubernetes.io/name": "web"},
                  "creationTimestamp": "2021-02-03T04:00:00Z"},
     "spec": {"initContainers": [{"name": "init", "image": "busybox",
                                  "resources": {"requests": {"cpu": "1"}}}],
              "containers": [{"name": "nginx", "image": "nginx",
                              "resources": {"requests": {"cpu": "250m", "memory": "64Mi"},
                                            "limits": {"cpu": "1"}}},
                             {"name": "pulse-sidecar", "image": "pulse-sidecar",
                              "resources": {"requests": {"cpu": "50m"}}}]},
     "status": {"phase": "Running", "podIP": "10.244.0.10",
                "startTime": "2021-02-03T04:00:02Z",
                "conditions": [
                  {"type": "Initialized", "status": "True", "lastProbeTime": null,
                   "lastTransitionTime": "2021-02-03T04:00:02Z"},
                  {"type": "Ready", "status": "True", "lastProbeTime": null,
                   "lastTransitionTime": "2021-02-03T04:00:30Z"},
                  {"type": "ContainersReady", "status": "True", "lastProbeTime": null,
                   "lastTransitionTime": "2021-02-03T04:00:30Z"}]}},
    {"metadata": {"name": "web-7d4b9c-fghij", "namespace": "shop"},
     "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]},
     "status": {"phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                                "lastTransitionTime": "2021-02-03T04:05:00Z"}]}},
    {"metadata": {"name": "web-7d4b9c-klmno", "namespace": "shop",
                  "deletionTimestamp": "2021-02-03T04:05:00Z", "deletionGracePeriodSeconds": 30},
     "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
     "status": {"phase": "Running", "startTime": "2021-02-03T03:00:00Z",
                "conditions": [{"type": "Ready", "status": "Unknown",
                                "lastTransitionTime": "2021-02-03T04:04:36Z"}]}},
    {"metadata": {"name": "web-7d4b9c-pqrst", "namespace": "shop"},
     "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
     "status": {"phase": "Failed", "startTime": "2021-02-03T03:00:00Z",
                "conditions": [{"type": "Ready", "status": "False",
                                "lastTransitionTime": null}]}}
  ]})";

TEST(HpaLivePods, ReadsWhatTheControllerReads) {
    auto live = ok<LivePods>(read_pod_list(json::parse(kPodList)));
    ASSERT_EQ(live.pods.size(), 4u);
    const PodState &a = live.pods[0];
    EXPECT_EQ(a.name, "web-7d4b9c-abcde");
    EXPECT_EQ(a.phase, "Running");
    EXPECT_TRUE(a.ready);
    EXPECT_FALSE(a.deleting);
    EXPECT_EQ(a.start_time, kT0 - 304);
    EXPECT_EQ(a.ready_since, kT0 - 276);
    ASSERT_EQ(a.containers.size(), 2u);  // not the init container
    EXPECT_EQ(a.containers[0].name, "nginx");
    EXPECT_EQ(a.containers[0].requests_milli.at("cpu"), 250);
    EXPECT_EQ(a.containers[0].requests_milli.at("memory"), 64LL * 1024 * 1024 * 1000);
    EXPECT_EQ(a.containers[1].requests_milli.at("cpu"), 50);

    const PodState &b = live.pods[1];  // Pending, not started, no Ready condition
    EXPECT_EQ(b.phase, "Pending");
    EXPECT_FALSE(b.ready);
    EXPECT_FALSE(b.start_time);
    EXPECT_FALSE(b.ready_since);
    ASSERT_EQ(b.containers.size(), 1u);
    EXPECT_TRUE(b.containers[0].requests_milli.empty());

    const PodState &c = live.pods[2];  // terminating, its node lost
    EXPECT_TRUE(c.deleting);
    EXPECT_FALSE(c.ready);
    EXPECT_EQ(c.ready_since, kT0 - 30);
    EXPECT_EQ(live.ready_unknown, std::vector<std::string>{"web-7d4b9c-klmno"});

    const PodState &d = live.pods[3];
    EXPECT_EQ(d.phase, "Failed");
    EXPECT_FALSE(d.ready);
    EXPECT_FALSE(d.ready_since);  // a null lastTransitionTime
}

TEST(HpaLivePods, NoPhaseIsUnknownAndAnEmptyListHasNoPods) {
    auto live = ok<LivePods>(read_pod_list(
        json::parse(R"({"kind": "PodList", "items": [{"metadata": {"name": "p"}}]})")));
    ASSERT_EQ(live.pods.size(), 1u);
    EXPECT_EQ(live.pods[0].phase, "Unknown");
    EXPECT_FALSE(live.pods[0].ready);
    EXPECT_TRUE(ok<LivePods>(read_pod_list(json::parse(R"({"kind": "PodList", "items": []})")))
                    .pods.empty());
    EXPECT_TRUE(ok<LivePods>(read_pod_list(json::parse(R"({"kind": "PodList", "items": null})")))
                    .pods.empty());
}

TEST(HpaLivePods, ErrorsNameTheField) {
    auto with = [](const char *pod) {
        return read_pod_list(
            json::parse(std::string(R"({"kind": "PodList", "items": [)") + pod + "]}"));
    };
    EXPECT_EQ(error(with(R"({"metadata": {}})")), "PodList: items[0].metadata.name: required");
    EXPECT_EQ(error(with(R"({"metadata": {"name": "p"}, "status": {"phase": "Runing"}})")),
              "PodList: items[0].status.phase: \"Runing\" is not Pending, Running, Succeeded, "
              "Failed or Unknown");
    EXPECT_EQ(error(with(R"({"metadata": {"name": "p"}, "status": {"startTime": "yesterday"}})")),
              "PodList: items[0].status.startTime: \"yesterday\" is not an RFC 3339 time");
    EXPECT_EQ(
        error(with(R"({"metadata": {"name": "p"}, "status": {"conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": 5}]}})")),
        "PodList: items[0].status.conditions[0].lastTransitionTime: must be a time string, not a "
        "number");
    std::string e = error(with(R"({"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "resources": {"requests": {"cpu": "x"}}}]}})"));
    EXPECT_EQ(e.rfind("PodList: items[0].spec.containers[0].resources.requests.cpu: \"x\" is not "
                      "a quantity (",
                      0),
              0u)
        << e;
    EXPECT_EQ(error(read_pod_list(json::parse(R"({"kind": "PodList", "items": {}})"))),
              "PodList: items: must be a list, not an object");
    EXPECT_EQ(error(read_pod_list(json::parse(R"({"kind": "Pod", "metadata": {"name": "p"}})"))),
              "PodList: kind: \"Pod\" is not PodList");
}

// ---- metrics.k8s.io ----------------------------------------------------------------------

// metrics-server's answer: web-2's sidecar has no memory sample yet.
const char *kPodMetrics = R"({
  "kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
  "metadata": {"selfLink": "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods"},
  "items": [
    {"metadata": {"name": "web-0", "namespace": "shop", "creationTimestamp": "2021-02-03T04:05:10Z"},
     "timestamp": "2021-02-03T04:05:06Z", "window": "30s",
     "containers": [{"name": "nginx", "usage": {"cpu": "101m", "memory": "10Mi"}},
                    {"name": "pulse-sidecar", "usage": {"cpu": "2m", "memory": "5Mi"}}]},
    {"metadata": {"name": "web-1", "namespace": "shop"},
     "timestamp": "2021-02-03T04:05:01Z", "window": "1m0s",
     "containers": [{"name": "nginx", "usage": {"cpu": "1500u", "memory": "12Mi"}},
                    {"name": "pulse-sidecar", "usage": {"cpu": "0", "memory": "6Mi"}}]},
    {"metadata": {"name": "web-2", "namespace": "shop"},
     "timestamp": "2021-02-03T04:05:06Z", "window": "30s",
     "containers": [{"name": "nginx", "usage": {"cpu": "90m", "memory": "9Mi"}},
                    {"name": "pulse-sidecar", "usage": {"cpu": "1m"}}]},
    {"metadata": {"name": "web-3", "namespace": "shop"},
     "timestamp": "2021-02-03T04:05:06Z", "window": "30s", "containers": []}
  ]})";

TEST(HpaLiveResourceMetrics, PodTotalsAsTheControllerAddsThem) {
    auto usage = ok<std::vector<PodUsage>>(read_pod_metrics(json::parse(kPodMetrics)));
    ASSERT_EQ(usage.size(), 4u);
    EXPECT_EQ(usage[1].window, 60.0);
    EXPECT_EQ(usage[1].ns, "shop");

    auto cpu = ok<ResourceSamples>(resource_samples(usage, "cpu"));
    // 1500u is 2m as MilliValue() rounds it up; a pod without containers is missing.
    EXPECT_EQ(cpu.values, (Values{{"web-0", 103}, {"web-1", 2}, {"web-2", 91}}));
    EXPECT_EQ(cpu.timestamp, kT0);  // the first item's
    EXPECT_EQ(cpu.window, 30.0);

    // A container without the resource leaves its pod out.
    auto memory = ok<ResourceSamples>(resource_samples(usage, "memory"));
    EXPECT_EQ(memory.values.count("web-2"), 0u);
    EXPECT_EQ(memory.values.at("web-0"), 15LL * 1024 * 1024 * 1000);

    EXPECT_EQ(error(resource_samples({}, "cpu")), "no metrics returned from resource metrics API");
}

TEST(HpaLiveResourceMetrics, OneContainer) {
    auto usage = ok<std::vector<PodUsage>>(read_pod_metrics(json::parse(kPodMetrics)));
    usage.pop_back();  // web-3 has no containers
    auto nginx = ok<ResourceSamples>(container_samples(usage, "nginx", "cpu"));
    EXPECT_EQ(nginx.values, (Values{{"web-0", 101}, {"web-1", 2}, {"web-2", 90}}));
    auto sidecar = ok<ResourceSamples>(container_samples(usage, "pulse-sidecar", "memory"));
    EXPECT_EQ(sidecar.values.size(), 2u);  // web-2's sidecar has no memory sample
    EXPECT_EQ(error(container_samples(usage, "app", "cpu")),
              "failed to get container metrics: container app not present in metrics for pod "
              "shop/web-0");
}

TEST(HpaLiveResourceMetrics, ErrorsNameTheField) {
    EXPECT_EQ(error(read_pod_metrics(json::parse(
                  R"({"kind": "PodMetricsList", "items": [{"metadata": {"name": "a"},
                      "timestamp": "2021-02-03T04:05:06Z", "window": "30 seconds"}]})"))),
              "PodMetricsList: items[0].window: \"30 seconds\" is not a duration");
    EXPECT_EQ(error(read_pod_metrics(json::parse(
                  R"({"kind": "PodMetricsList", "items": [{"metadata": {"name": "a"},
                      "containers": [{"name": "c", "usage": {"cpu": ["1"]}}]}]})"))),
              "PodMetricsList: items[0].containers[0].usage.cpu: must be a quantity string, not a "
              "list");
    // A null timestamp is Go's zero time.
    auto usage = ok<std::vector<PodUsage>>(read_pod_metrics(json::parse(
        R"({"kind": "PodMetricsList", "items": [{"metadata": {"name": "a"}, "timestamp": null}]})")));
    EXPECT_EQ(usage.at(0).timestamp, -62135596800.0);
}

// ---- custom and external metrics ---------------------------------------------------------

TEST(HpaLiveCustomMetrics, PreferredVersion) {
    auto group = json::parse(R"({
      "kind": "APIGroup", "apiVersion": "v1", "name": "custom.metrics.k8s.io",
      "versions": [{"groupVersion": "custom.metrics.k8s.io/v1beta2", "version": "v1beta2"},
                   {"groupVersion": "custom.metrics.k8s.io/v1beta1", "version": "v1beta1"}],
      "preferredVersion": {"groupVersion": "custom.metrics.k8s.io/v1beta2", "version": "v1beta2"}})");
    EXPECT_EQ(ok<std::string>(custom_metrics_version(group)), "v1beta2");
    group["preferredVersion"]["groupVersion"] = "custom.metrics.k8s.io/v1beta3";
    group["versions"].erase(0);
    EXPECT_EQ(ok<std::string>(custom_metrics_version(group)), "v1beta1");
    group["versions"] = json::array();
    EXPECT_EQ(error(custom_metrics_version(group)), "no known available metric versions found");
}

TEST(HpaLiveCustomMetrics, PodsMetricOfEitherVersion) {
    // v1beta2 (pulse's adapter, as the aggregator forwards it)
    auto v2 = json::parse(R"({
      "kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/v1beta2",
      "metadata": {"selfLink": "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/%2A/pulse_requests_per_second"},
      "items": [
        {"describedObject": {"kind": "Pod", "namespace": "shop", "name": "web-0", "apiVersion": "/v1"},
         "metric": {"name": "pulse_requests_per_second", "selector": null},
         "timestamp": "2021-02-03T04:05:06Z", "windowSeconds": 6, "value": "30"},
        {"describedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1", "apiVersion": "/v1"},
         "metric": {"name": "pulse_requests_per_second", "selector": null},
         "timestamp": "2021-02-03T04:05:06Z", "windowSeconds": 6, "value": "29500m"}]})");
    EXPECT_EQ(ok<Values>(read_pods_metric(v2)), (Values{{"web-0", 30000}, {"web-1", 29500}}));
    auto v1 = json::parse(R"({
      "kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/v1beta1", "metadata": {},
      "items": [{"describedObject": {"kind": "Pod", "namespace": "shop", "name": "web-0", "apiVersion": "/v1"},
                 "metricName": "pulse_requests_per_second", "timestamp": "2021-02-03T04:05:06Z",
                 "value": "1k", "selector": null}]})");
    EXPECT_EQ(ok<Values>(read_pods_metric(v1)).at("web-0"), 1000000);
    EXPECT_EQ(error(read_pods_metric(json::parse(R"({"kind": "MetricValueList", "items": []})"))),
              "no metrics returned from custom metrics API");
    std::string e = error(read_pods_metric(json::parse(
        R"({"kind": "MetricValueList", "items": [{"describedObject": {"name": "a"}, "value": "x"}]})")));
    EXPECT_EQ(e.rfind("MetricValueList: items[0].value: \"x\" is not a quantity (", 0), 0u) << e;
    EXPECT_EQ(
        error(read_pods_metric(json::parse(
            R"({"kind": "MetricValueList", "items": [{"describedObject": {}, "value": "1"}]})"))),
        "MetricValueList: items[0].describedObject.name: required");
    EXPECT_EQ(
        error(read_pods_metric(json::parse(
            R"({"kind": "MetricValueList", "items": [{"describedObject": {"name": "a"}}]})"))),
        "MetricValueList: items[0].value: required");
}

TEST(HpaLiveCustomMetrics, ObjectMetricIsExactlyOneValue) {
    auto one = json::parse(R"({
      "kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/v1beta1", "metadata": {},
      "items": [{"describedObject": {"kind": "Deployment", "namespace": "shop", "name": "workers-emails",
                                     "apiVersion": "apps/v1"},
                 "metricName": "pulse_jobs_waiting", "timestamp": "2021-02-03T04:05:06Z",
                 "value": "350", "selector": null}]})");
    EXPECT_EQ(ok<std::int64_t>(read_object_metric(one)), 350000);
    auto two = one;
    two["items"].push_back(one["items"][0]);
    EXPECT_EQ(error(read_object_metric(two)),
              "the custom metrics API server returned 2 results when we asked for exactly one");
    EXPECT_EQ(error(read_object_metric(json::parse(R"({"kind": "MetricValueList", "items": []})"))),
              "the custom metrics API server returned 0 results when we asked for exactly one");
}

TEST(HpaLiveExternalMetrics, SumOfTheSeries) {
    auto doc = json::parse(R"({
      "kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1", "metadata": {},
      "items": [{"metricName": "queue_depth", "metricLabels": {"queue": "emails"},
                 "timestamp": "2021-02-03T04:05:06Z", "value": "8"},
                {"metricName": "queue_depth", "metricLabels": {"queue": "thumbnails"},
                 "timestamp": "2021-02-03T04:05:06Z", "value": "600m"}]})");
    EXPECT_EQ(ok<std::int64_t>(read_external_metric(doc)), 8600);
    EXPECT_EQ(error(read_external_metric(
                  json::parse(R"({"kind": "ExternalMetricValueList", "items": []})"))),
              "no metrics returned from external metrics API");
    EXPECT_EQ(
        error(read_external_metric(json::parse(R"({"kind": "MetricValueList", "items": []})"))),
        "ExternalMetricValueList: kind: \"MetricValueList\" is not ExternalMetricValueList");
}

// ---- selectors and paths ------------------------------------------------------------------

TEST(HpaLiveSelectors, AsLabelSelectorAsSelectorWritesThem) {
    EXPECT_EQ(ok<std::string>(label_selector_string("")), "");
    EXPECT_EQ(ok<std::string>(label_selector_string("{}")), "");
    EXPECT_EQ(ok<std::string>(label_selector_string(R"({"matchLabels": {"queue": "emails"}})")),
              "queue=emails");
    EXPECT_EQ(ok<std::string>(label_selector_string(R"({
        "matchLabels": {"zone": "a", "app": "web"},
        "matchExpressions": [
          {"key": "tier", "operator": "In", "values": ["gold", "bronze", "silver"]},
          {"key": "canary", "operator": "DoesNotExist"},
          {"key": "env", "operator": "NotIn", "values": ["dev"]},
          {"key": "region", "operator": "Exists", "values": []}]})")),
              "app=web,!canary,env notin (dev),region,tier in (bronze,gold,silver),zone=a");
    EXPECT_EQ(
        error(label_selector_string(
            R"({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]})")),
        "selector: matchExpressions[0]: \"Equals\" is not a valid pod selector operator");
    EXPECT_EQ(error(label_selector_string(
                  R"({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})")),
              "selector: matchExpressions[0]: for 'in', 'notin' operators, values set can't be "
              "empty");
    EXPECT_EQ(
        error(label_selector_string(
            R"({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["b"]}]})")),
        "selector: matchExpressions[0]: values set must be empty for exists and does not "
        "exist");
}

TEST(HpaLivePaths, Resources) {
    EXPECT_EQ(split_api_version("apps/v1"), (std::pair<std::string, std::string>{"apps", "v1"}));
    EXPECT_EQ(split_api_version("v1"), (std::pair<std::string, std::string>{"", "v1"}));
    auto deploy = builtin_resource({"apps/v1", "Deployment", "web"});
    ASSERT_TRUE(deploy);
    EXPECT_EQ(deploy->resource, "deployments");
    EXPECT_EQ(custom_metrics_resource(*deploy), "deployments.apps");
    // apps/v1beta1 is not served since 1.16: the group's kinds are read at v1.
    EXPECT_EQ(builtin_resource({"apps/v1beta1", "StatefulSet", "db"})->version, "v1");
    auto service = builtin_resource({"v1", "Service", "web"});
    ASSERT_TRUE(service);
    EXPECT_EQ(custom_metrics_resource(*service), "services");
    auto ingress = builtin_resource({"networking.k8s.io/v1beta1", "Ingress", "edge"});
    ASSERT_TRUE(ingress);
    EXPECT_EQ(custom_metrics_resource(*ingress), "ingresses.networking.k8s.io");
    EXPECT_EQ(ingress->version, "v1beta1");
    EXPECT_FALSE(builtin_resource({"example.com/v1", "Deployment", "x"}));
    EXPECT_FALSE(builtin_resource({"example.com/v1", "Gateway", "x"}));

    auto discovery = json::parse(R"({
      "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "example.com/v1",
      "resources": [
        {"name": "gatewaystatuses", "singularName": "", "namespaced": true, "kind": "GatewayStatus", "verbs": ["get"]},
        {"name": "gateways/status", "singularName": "", "namespaced": true, "kind": "Gateway", "verbs": ["get"]},
        {"name": "gateways", "singularName": "gateway", "namespaced": true, "kind": "Gateway",
         "verbs": ["get", "list"]},
        {"name": "gateways/scale", "singularName": "", "namespaced": true, "group": "autoscaling",
         "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}]})");
    EXPECT_EQ(resource_of_kind(discovery, "Gateway"), "gateways");
    EXPECT_FALSE(resource_of_kind(discovery, "Route"));
    EXPECT_FALSE(resource_of_kind(json::object(), "Gateway"));
}

TEST(HpaLivePaths, TheControllerRequests) {
    EXPECT_EQ(hpa_path("v2beta2", "shop", "web"),
              "/apis/autoscaling/v2beta2/namespaces/shop/horizontalpodautoscalers/web");
    EXPECT_EQ(scale_path("shop", *builtin_resource({"apps/v1", "Deployment", "web"}), "web"),
              "/apis/apps/v1/namespaces/shop/deployments/web/scale");
    EXPECT_EQ(scale_path("shop", *builtin_resource({"apps/v1", "StatefulSet", "db"}), "db"),
              "/apis/apps/v1/namespaces/shop/statefulsets/db/scale");
    EXPECT_EQ(scale_path("shop", *builtin_resource({"apps/v1", "ReplicaSet", "rs"}), "rs"),
              "/apis/apps/v1/namespaces/shop/replicasets/rs/scale");
    EXPECT_EQ(scale_path("shop", *builtin_resource({"v1", "ReplicationController", "rc"}), "rc"),
              "/api/v1/namespaces/shop/replicationcontrollers/rc/scale");
    EXPECT_EQ(scale_path("shop", ApiResource{"example.com", "v1", "gateways"}, "gw"),
              "/apis/example.com/v1/namespaces/shop/gateways/gw/scale");

    const std::string selector = "app.kubernetes.io/component=web,app.kubernetes.io/name=web";
    const std::string escaped =
        "app.kubernetes.io%2Fcomponent%3Dweb%2Capp.kubernetes.io%2Fname%3Dweb";
    EXPECT_EQ(pods_path("shop", selector), "/api/v1/namespaces/shop/pods?labelSelector=" + escaped);
    EXPECT_EQ(pods_path("shop", ""), "/api/v1/namespaces/shop/pods");
    EXPECT_EQ(pod_metrics_path("shop", selector),
              "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=" + escaped);
    EXPECT_EQ(pods_metric_path("v1beta2", "shop", "pulse_requests_per_second", selector, ""),
              "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/"
              "pulse_requests_per_second?labelSelector=" +
                  escaped);
    EXPECT_EQ(pods_metric_path("v1beta1", "shop", "m", "a=b", "tier in (gold,silver)"),
              "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/m?labelSelector=a%3Db"
              "&metricLabelSelector=tier%20in%20%28gold%2Csilver%29");
    ObjectReference workers{"apps/v1", "Deployment", "workers-emails"};
    EXPECT_EQ(object_metric_path("v1beta2", "shop", workers, "deployments.apps",
                                 "pulse_jobs_waiting", ""),
              "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/deployments.apps/"
              "workers-emails/pulse_jobs_waiting");
    EXPECT_EQ(object_metric_path("v1beta1", "shop", {"v1", "Service", "web"}, "services", "rps",
                                 "queue=emails"),
              "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/services/web/rps"
              "?metricLabelSelector=queue%3Demails");
    // A Namespace: the HPA's own, whatever name is written.
    EXPECT_EQ(object_metric_path("v1beta2", "shop", {"v1", "Namespace", "other"}, "namespaces",
                                 "load", ""),
              "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/metrics/load");
    EXPECT_EQ(external_metric_path("shop", "queue_depth", "queue=emails"),
              "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth"
              "?labelSelector=queue%3Demails");
}

// ---- the state, whole -----------------------------------------------------------------

// The web HPA as the API serves it (autoscaling/v2beta2), its scale, 3 ready pods and
// pulse's adapter's answer: 30 requests per second each against a target of 20.
TEST(HpaLiveState, AssembledStateDecidesAndRoundTripsAsStateJson) {
    auto hpa = std::get<HpaSpec>(parse_hpa_json(json::parse(R"({
      "apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler",
      "metadata": {"name": "web", "namespace": "shop"},
      "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
               "minReplicas": 2, "maxReplicas": 6,
               "metrics": [{"type": "Pods", "pods": {"metric": {"name": "pulse_requests_per_second"},
                                                     "target": {"type": "AverageValue", "averageValue": "20"}}}],
               "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 8}]},
                            "scaleDown": {"stabilizationWindowSeconds": 20, "selectPolicy": "Max",
                                          "policies": [{"type": "Pods", "value": 1, "periodSeconds": 8}]}}},
      "status": {"currentReplicas": 3, "desiredReplicas": 3}})")));
    auto scale = ok<LiveScale>(read_scale(json::parse(
        R"({"kind": "Scale", "spec": {"replicas": 3}, "status": {"replicas": 3, "selector": "app=web"}})")));
    json pods = {{"kind", "PodList"}, {"items", json::array()}};
    json values = {{"kind", "MetricValueList"}, {"items", json::array()}};
    for (int i = 0; i < 3; ++i) {
        const std::string name = "web-" + std::to_string(i);
        pods["items"].push_back({{"metadata", {{"name", name}}},
                                 {"status",
                                  {{"phase", "Running"},
                                   {"startTime", "2021-02-03T04:00:00Z"},
                                   {"conditions",
                                    {{{"type", "Ready"},
                                      {"status", "True"},
                                      {"lastTransitionTime", "2021-02-03T04:00:10Z"}}}}}}});
        values["items"].push_back(
            {{"describedObject", {{"kind", "Pod"}, {"name", name}}}, {"value", "30"}});
    }
    ClusterState state;
    state.time = kT0;
    state.current_replicas = scale.spec_replicas;
    state.status_replicas = scale.status_replicas;
    state.resource_metric_time = kT0;
    state.recommendations.push_back({kT0, scale.spec_replicas});
    state.pods = ok<LivePods>(read_pod_list(pods)).pods;
    state.pods_metrics["pulse_requests_per_second"] = ok<Values>(read_pods_metric(values));

    // 90 / 20 = 4.5: 5 pods; one pod per 8 s from 3: 4.
    Decision d = decide(hpa, state, ControllerOptions{});
    EXPECT_EQ(d.proposed_replicas, 5);
    EXPECT_EQ(d.desired_replicas, 4);
    EXPECT_EQ(d.limit_reason, "ScaleUpLimit");

    auto back = parse_state_json(json::parse(state_json(state).dump()));
    ASSERT_TRUE(std::holds_alternative<ClusterState>(back)) << std::get<std::string>(back);
    const ClusterState &s = std::get<ClusterState>(back);
    EXPECT_EQ(s.time, kT0);
    EXPECT_EQ(s.current_replicas, 3);
    EXPECT_EQ(s.status_replicas, 3);
    ASSERT_EQ(s.pods.size(), 3u);
    EXPECT_EQ(s.pods[0].ready_since, kT0 - 296);
    EXPECT_EQ(s.pods_metrics, state.pods_metrics);
    ASSERT_EQ(s.recommendations.size(), 1u);
    EXPECT_EQ(s.recommendations[0].replicas, 3);
    Decision again = decide(hpa, s, ControllerOptions{});
    EXPECT_EQ(again.desired_replicas, 4);
    EXPECT_EQ(again.conditions.size(), d.conditions.size());
}

TEST(HpaLiveState, StateJsonWritesEveryField) {
    ClusterState s;
    s.time = 1000.5;
    s.current_replicas = 2;
    PodState p;
    p.name = "a";
    p.phase = "Pending";
    p.ready = false;
    p.start_time = 10;
    p.containers.push_back({"app", {{"cpu", 500}}});
    s.pods.push_back(p);
    s.resource["cpu"]["a"] = 250;
    s.container_resource["app/cpu"]["a"] = 1500;
    s.object["jobs"] = 120000;
    s.external["queue"] = 8600;
    s.resource_metric_time = 990;
    s.resource_metric_window = 30;
    s.scale_up_events.push_back({900, 1});
    auto j = state_json(s);
    EXPECT_EQ(
        j.dump(),
        R"({"time":1000.5,"currentReplicas":2,"pods":[{"name":"a","phase":"Pending","ready":false,)"
        R"("deleting":false,"startTime":10,"containers":[{"name":"app","requests":{"cpu":"500m"}}]}],)"
        R"("metrics":{"resource":{"cpu":{"a":"250m"}},"containerResource":{"app/cpu":{"a":"1500m"}},)"
        R"("pods":{},"object":{"jobs":"120"},"external":{"queue":"8600m"}},)"
        R"("resourceMetricTime":990,"resourceMetricWindow":30,"recommendations":[],)"
        R"("scaleUpEvents":[{"time":900,"change":1}],"scaleDownEvents":[]})");
    auto back = parse_state_json(json::parse(j.dump()));
    ASSERT_TRUE(std::holds_alternative<ClusterState>(back)) << std::get<std::string>(back);
    EXPECT_EQ(std::get<ClusterState>(back).container_resource, s.container_resource);
}

}  // namespace
}  // namespace pulse::hpa
