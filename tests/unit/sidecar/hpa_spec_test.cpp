// HPA objects read into HpaSpec (sidecar/lib/hpa/spec_yaml.h): every API version, the API's
// defaulting (pkg/apis/autoscaling/v*/defaults.go of Kubernetes 1.20), the autoscaling/v1
// round trip the controller reads HPAs through (conversion.go), and an error naming the
// field for each input the API server would refuse.
#include "hpa/spec_yaml.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace pulse::hpa {
namespace {

std::string repo_file(const std::string &path) {
    std::ifstream in(std::string(PULSE_TESTDATA_DIR) + "/../../" + path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

HpaSpec parse_ok(const std::string &text, const std::string &name = {}) {
    auto r = parse_hpa(text, name);
    if (auto *e = std::get_if<std::string>(&r)) ADD_FAILURE() << *e;
    return std::holds_alternative<HpaSpec>(r) ? std::get<HpaSpec>(r) : HpaSpec{};
}

std::string error_of(const std::string &text, const std::string &name = {}) {
    auto r = parse_hpa(text, name);
    auto *e = std::get_if<std::string>(&r);
    return e ? *e : std::string("no error");
}

// A v2beta2/v2 HPA with `spec_rest` (indented two spaces) after the scale target.
std::string v2(const std::string &spec_rest, const std::string &version = "autoscaling/v2beta2") {
    return "apiVersion: " + version +
           "\n"
           "kind: HorizontalPodAutoscaler\n"
           "metadata: {name: web, namespace: shop}\n"
           "spec:\n"
           "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n" +
           spec_rest;
}

std::string with_metrics(const std::string &metrics, const std::string &extra = {}) {
    return v2("  maxReplicas: 10\n  metrics:\n" + metrics + extra);
}

const char *kPods =
    "  - type: Pods\n"
    "    pods:\n"
    "      metric: {name: pulse_requests_per_second}\n"
    "      target: {type: AverageValue, averageValue: \"20\"}\n";

// ---- the shipped objects ------------------------------------------------------------

TEST(HpaSpec, ReadsTheWebDeploysHpa) {
    HpaSpec h = parse_ok(repo_file("conf/kubernetes/base/hpa.yaml"));
    EXPECT_EQ(h.api_version, "autoscaling/v2");
    EXPECT_EQ(h.name, "web");
    EXPECT_EQ(h.ns, "default");  // kustomize adds namespace: shop; the file has none
    EXPECT_EQ(h.scale_target.api_version, "apps/v1");
    EXPECT_EQ(h.scale_target.kind, "Deployment");
    EXPECT_EQ(h.scale_target.name, "web");
    EXPECT_EQ(h.min_replicas, 2);
    EXPECT_EQ(h.max_replicas, 20);
    ASSERT_EQ(h.metrics.size(), 2u);
    EXPECT_EQ(h.metrics[0].type, MetricType::pods);
    EXPECT_EQ(h.metrics[0].name, "pulse_requests_per_second");
    EXPECT_EQ(h.metrics[0].target.type, TargetType::average_value);
    EXPECT_EQ(h.metrics[0].target.average_value_milli, 40000);
    EXPECT_EQ(h.metrics[1].name, "pulse_request_duration_p95_seconds");
    EXPECT_EQ(h.metrics[1].target.average_value_milli, 400);
    ASSERT_TRUE(h.behavior.has_value());
    const auto &up = h.behavior->scale_up;
    EXPECT_EQ(up.stabilization_window_seconds, 60);
    EXPECT_EQ(up.select_policy, SelectPolicy::max);
    ASSERT_EQ(up.policies.size(), 1u);
    EXPECT_EQ(up.policies[0].type, PolicyType::pods);
    EXPECT_EQ(up.policies[0].value, 1);
    EXPECT_EQ(up.policies[0].period_seconds, 300);
    const auto &down = h.behavior->scale_down;
    EXPECT_EQ(down.stabilization_window_seconds, 3600);
    ASSERT_EQ(down.policies.size(), 1u);
    EXPECT_EQ(down.policies[0].period_seconds, 1800);
}

TEST(HpaSpec, PicksOneOfSeveralByName) {
    std::string text = repo_file("conf/kubernetes/workers/jobs/hpa.yaml");
    EXPECT_EQ(error_of(text),
              "2 HorizontalPodAutoscalers (\"workers-emails\", \"workers-thumbnails\"): pick one "
              "by name");
    HpaSpec h = parse_ok(text, "workers-thumbnails");
    EXPECT_EQ(h.name, "workers-thumbnails");
    EXPECT_EQ(h.ns, "shop");
    EXPECT_EQ(h.max_replicas, 8);
    ASSERT_EQ(h.metrics.size(), 1u);
    const MetricSpec &m = h.metrics[0];
    EXPECT_EQ(m.type, MetricType::object);
    EXPECT_EQ(m.name, "pulse_jobs_waiting");
    EXPECT_EQ(m.described_object.api_version, "apps/v1");
    EXPECT_EQ(m.described_object.kind, "Deployment");
    EXPECT_EQ(m.described_object.name, "workers-thumbnails");
    EXPECT_EQ(m.target.type, TargetType::average_value);
    EXPECT_EQ(m.target.average_value_milli, 20000);
    EXPECT_EQ(error_of(text, "workers-videos"),
              "no HorizontalPodAutoscaler named \"workers-videos\" (there are \"workers-emails\", "
              "\"workers-thumbnails\")");
}

TEST(HpaSpec, SkipsOtherKindsAndReadsLists) {
    std::string deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n";
    HpaSpec h = parse_ok(deployment + "---\n" + with_metrics(kPods));
    EXPECT_EQ(h.name, "web");
    EXPECT_EQ(error_of(deployment), "kind: \"Deployment\" is not HorizontalPodAutoscaler");
    EXPECT_EQ(error_of(deployment + "---\n" + deployment),
              "kind: none of the 2 objects is a HorizontalPodAutoscaler");
    // kubectl get hpa -o json: a List
    nlohmann::json hpa = {
        {"apiVersion", "autoscaling/v1"},
        {"kind", "HorizontalPodAutoscaler"},
        {"metadata", {{"name", "api"}}},
        {"spec",
         {{"scaleTargetRef", {{"kind", "Deployment"}, {"name", "api"}}}, {"maxReplicas", 4}}}};
    nlohmann::json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", {hpa}}};
    EXPECT_EQ(parse_ok(list.dump()).name, "api");
    EXPECT_EQ(error_of(""), "no object: expected a HorizontalPodAutoscaler");
}

// ---- autoscaling/v2 and v2beta2 -------------------------------------------------------

TEST(HpaSpec, V2AndV2beta2ReadAlike) {
    std::string body = "  minReplicas: 3\n  maxReplicas: 10\n  metrics:\n" + std::string(kPods);
    HpaSpec a = parse_ok(v2(body, "autoscaling/v2"));
    HpaSpec b = parse_ok(v2(body, "autoscaling/v2beta2"));
    EXPECT_EQ(a.api_version, "autoscaling/v2");
    EXPECT_EQ(b.api_version, "autoscaling/v2beta2");
    EXPECT_EQ(a.min_replicas, 3);
    EXPECT_EQ(b.min_replicas, 3);
    ASSERT_EQ(a.metrics.size(), 1u);
    ASSERT_EQ(b.metrics.size(), 1u);
    EXPECT_EQ(a.metrics[0].target.average_value_milli, b.metrics[0].target.average_value_milli);
}

TEST(HpaSpec, DefaultsMinReplicasAndCpuAt80) {
    // SetDefaults_HorizontalPodAutoscaler: minReplicas 1; no metric is CPU at 80%.
    for (const std::string &metrics : {std::string(), std::string("  metrics: []\n")}) {
        HpaSpec h = parse_ok(v2("  maxReplicas: 5\n" + metrics));
        EXPECT_EQ(h.min_replicas, 1);
        ASSERT_EQ(h.metrics.size(), 1u);
        EXPECT_EQ(h.metrics[0].type, MetricType::resource);
        EXPECT_EQ(h.metrics[0].name, "cpu");
        EXPECT_EQ(h.metrics[0].target.type, TargetType::utilization);
        EXPECT_EQ(h.metrics[0].target.average_utilization, 80);
        EXPECT_FALSE(h.behavior.has_value());
    }
}

TEST(HpaSpec, BehaviorAbsentIsTheControllersOlderPath) {
    EXPECT_FALSE(parse_ok(with_metrics(kPods)).behavior.has_value());
    EXPECT_FALSE(parse_ok(with_metrics(kPods, "  behavior: null\n")).behavior.has_value());
}

TEST(HpaSpec, BehaviorGetsTheApisDefaults) {
    // behavior: {} -> GenerateHPAScaleUpRules(nil), GenerateHPAScaleDownRules(nil)
    HpaSpec h = parse_ok(with_metrics(kPods, "  behavior: {}\n"));
    ASSERT_TRUE(h.behavior.has_value());
    const auto &up = h.behavior->scale_up;
    EXPECT_EQ(up.stabilization_window_seconds, 0);
    EXPECT_EQ(up.select_policy, SelectPolicy::max);
    ASSERT_EQ(up.policies.size(), 2u);
    EXPECT_EQ(up.policies[0].type, PolicyType::pods);
    EXPECT_EQ(up.policies[0].value, 4);
    EXPECT_EQ(up.policies[0].period_seconds, 15);
    EXPECT_EQ(up.policies[1].type, PolicyType::percent);
    EXPECT_EQ(up.policies[1].value, 100);
    EXPECT_EQ(up.policies[1].period_seconds, 15);
    const auto &down = h.behavior->scale_down;
    EXPECT_FALSE(down.stabilization_window_seconds.has_value());  // the controller's flag
    EXPECT_EQ(down.select_policy, SelectPolicy::max);
    ASSERT_EQ(down.policies.size(), 1u);
    EXPECT_EQ(down.policies[0].type, PolicyType::percent);
    EXPECT_EQ(down.policies[0].value, 100);
    EXPECT_EQ(down.policies[0].period_seconds, 15);
}

TEST(HpaSpec, BehaviorKeepsWhatIsWrittenAndFillsTheRest) {
    // copyHPAScalingRules: each of window, selectPolicy, policies taken when written.
    HpaSpec h = parse_ok(with_metrics(kPods,
                                      "  behavior:\n"
                                      "    scaleUp:\n"
                                      "      selectPolicy: Min\n"
                                      "    scaleDown:\n"
                                      "      stabilizationWindowSeconds: 0\n"
                                      "      policies:\n"
                                      "      - {type: Pods, value: 2, periodSeconds: 60}\n"
                                      "      - {type: Percent, value: 10, periodSeconds: 1800}\n"));
    ASSERT_TRUE(h.behavior.has_value());
    const auto &up = h.behavior->scale_up;
    EXPECT_EQ(up.select_policy, SelectPolicy::min);
    EXPECT_EQ(up.stabilization_window_seconds, 0);
    EXPECT_EQ(up.policies.size(), 2u);
    const auto &down = h.behavior->scale_down;
    EXPECT_EQ(down.stabilization_window_seconds, 0);
    EXPECT_EQ(down.select_policy, SelectPolicy::max);
    ASSERT_EQ(down.policies.size(), 2u);
    EXPECT_EQ(down.policies[0].type, PolicyType::pods);
    EXPECT_EQ(down.policies[0].value, 2);
    EXPECT_EQ(down.policies[1].period_seconds, 1800);

    h = parse_ok(with_metrics(kPods, "  behavior:\n    scaleDown: {selectPolicy: Disabled}\n"));
    EXPECT_EQ(h.behavior->scale_down.select_policy, SelectPolicy::disabled);
    EXPECT_EQ(h.behavior->scale_down.policies.size(), 1u);
    EXPECT_EQ(h.behavior->scale_up.policies.size(), 2u);
}

TEST(HpaSpec, EveryMetricType) {
    HpaSpec h = parse_ok(with_metrics(R"(  - type: Resource
    resource:
      name: memory
      target: {type: AverageValue, averageValue: 512Mi}
  - type: ContainerResource
    containerResource:
      name: cpu
      container: app
      target: {type: Utilization, averageUtilization: 60}
  - type: Pods
    pods:
      metric:
        name: pulse_requests_per_second
        selector: {matchLabels: {server: web}}
      target: {type: AverageValue, averageValue: 20}
  - type: Object
    object:
      describedObject: {apiVersion: apps/v1, kind: Deployment, name: workers}
      metric: {name: pulse_jobs_waiting}
      target: {type: Value, value: 1500m}
  - type: External
    external:
      metric:
        name: queue_depth
        selector:
          matchExpressions:
          - {key: queue, operator: In, values: [emails, thumbnails]}
      target: {type: AverageValue, averageValue: "30"}
)"));
    ASSERT_EQ(h.metrics.size(), 5u);
    EXPECT_EQ(h.metrics[0].type, MetricType::resource);
    EXPECT_EQ(h.metrics[0].name, "memory");
    EXPECT_EQ(h.metrics[0].target.type, TargetType::average_value);
    EXPECT_EQ(h.metrics[0].target.average_value_milli, 512LL * 1024 * 1024 * 1000);
    EXPECT_EQ(h.metrics[1].type, MetricType::container_resource);
    EXPECT_EQ(h.metrics[1].name, "cpu");
    EXPECT_EQ(h.metrics[1].container, "app");
    EXPECT_EQ(h.metrics[1].target.type, TargetType::utilization);
    EXPECT_EQ(h.metrics[1].target.average_utilization, 60);
    EXPECT_EQ(h.metrics[2].type, MetricType::pods);
    EXPECT_EQ(h.metrics[2].selector, R"({"matchLabels":{"server":"web"}})");
    EXPECT_EQ(h.metrics[2].target.average_value_milli, 20000);
    EXPECT_EQ(h.metrics[3].type, MetricType::object);
    EXPECT_EQ(h.metrics[3].described_object.name, "workers");
    EXPECT_EQ(h.metrics[3].target.type, TargetType::value);
    EXPECT_EQ(h.metrics[3].target.value_milli, 1500);
    EXPECT_EQ(h.metrics[3].selector, "");
    EXPECT_EQ(h.metrics[4].type, MetricType::external);
    EXPECT_EQ(
        h.metrics[4].selector,
        R"({"matchExpressions":[{"key":"queue","operator":"In","values":["emails","thumbnails"]}]})");
    EXPECT_EQ(h.metrics[4].target.type, TargetType::average_value);
    EXPECT_EQ(h.metrics[4].target.average_value_milli, 30000);
}

TEST(HpaSpec, TheTargetTypeIsTheOneTheControllerActsOn) {
    // Resource: averageValue when set, whatever the type says.
    HpaSpec h = parse_ok(with_metrics(R"(  - type: Resource
    resource: {name: memory, target: {type: Utilization, averageValue: 100Mi}}
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageUtilization: 70}}
)"));
    EXPECT_EQ(h.metrics[0].target.type, TargetType::average_value);
    EXPECT_EQ(h.metrics[1].target.type, TargetType::utilization);
    EXPECT_EQ(h.metrics[1].target.average_utilization, 70);
    // Object: through autoscaling/v1 (targetValue, averageValue) the type is AverageValue
    // when averageValue is set, else Value.
    h = parse_ok(with_metrics(R"(  - type: Object
    object:
      describedObject: {kind: Service, name: web}
      metric: {name: a}
      target: {type: Value, value: 5, averageValue: 2}
  - type: Object
    object:
      describedObject: {kind: Service, name: web}
      metric: {name: b}
      target: {type: Utilization, value: 5}
  - type: External
    external:
      metric: {name: c}
      target: {type: AverageValue, value: 7}
)"));
    EXPECT_EQ(h.metrics[0].target.type, TargetType::average_value);
    EXPECT_EQ(h.metrics[0].target.average_value_milli, 2000);
    EXPECT_EQ(h.metrics[1].target.type, TargetType::value);
    EXPECT_EQ(h.metrics[1].target.value_milli, 5000);
    EXPECT_EQ(h.metrics[2].target.type, TargetType::value);
    EXPECT_EQ(h.metrics[2].target.value_milli, 7000);
}

TEST(HpaSpec, CpuUtilizationComesLastAsTheControllerReadsIt) {
    // Stored and read as autoscaling/v1: targetCPUUtilizationPercentage, the rest in the
    // metrics annotation, which comes back first.
    HpaSpec h = parse_ok(with_metrics(R"(  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 90}}
)" + std::string(kPods)));
    ASSERT_EQ(h.metrics.size(), 2u);  // the second cpu utilization metric is lost
    EXPECT_EQ(h.metrics[0].type, MetricType::pods);
    EXPECT_EQ(h.metrics[1].name, "cpu");
    EXPECT_EQ(h.metrics[1].target.average_utilization, 60);

    // The first cpu metric has a value target: no targetCPUUtilizationPercentage, and the
    // utilization one is lost.
    h = parse_ok(with_metrics(R"(  - type: Resource
    resource: {name: cpu, target: {type: AverageValue, averageValue: 200m}}
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
)"));
    ASSERT_EQ(h.metrics.size(), 1u);
    EXPECT_EQ(h.metrics[0].target.type, TargetType::average_value);
    EXPECT_EQ(h.metrics[0].target.average_value_milli, 200);
}

TEST(HpaSpec, JsonReadsLikeYaml) {
    auto obj = nlohmann::json::parse(R"({
      "apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler",
      "metadata": {"name": "web"},
      "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
               "minReplicas": 2, "maxReplicas": 6,
               "metrics": [{"type": "Pods", "pods": {"metric": {"name": "rps"},
                            "target": {"type": "AverageValue", "averageValue": 20}}}],
               "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}})");
    auto r = parse_hpa_json(obj);
    ASSERT_TRUE(std::holds_alternative<HpaSpec>(r)) << std::get<std::string>(r);
    const auto &h = std::get<HpaSpec>(r);
    EXPECT_EQ(h.min_replicas, 2);
    EXPECT_EQ(h.metrics[0].target.average_value_milli, 20000);
    EXPECT_EQ(h.behavior->scale_down.stabilization_window_seconds, 60);
    HpaSpec text = parse_ok(obj.dump());
    EXPECT_EQ(text.max_replicas, 6);

    obj["spec"]["minReplicas"] = "2";  // a string is not an int32, as the API decodes it
    r = parse_hpa_json(obj);
    ASSERT_TRUE(std::holds_alternative<std::string>(r));
    EXPECT_EQ(std::get<std::string>(r), "spec.minReplicas: \"2\" (a string) is not an integer");
    obj["spec"]["minReplicas"] = 2.5;
    EXPECT_EQ(std::get<std::string>(parse_hpa_json(obj)),
              "spec.minReplicas: \"2.5\" is not an integer");
    EXPECT_EQ(std::get<std::string>(parse_hpa_json(nlohmann::json::array())),
              "the HPA must be a mapping (an object), not a list");
}

// ---- autoscaling/v1 -------------------------------------------------------------------

const char *kV1 =
    "apiVersion: autoscaling/v1\n"
    "kind: HorizontalPodAutoscaler\n"
    "metadata:\n"
    "  name: web\n";

TEST(HpaSpec, V1TargetCpuUtilization) {
    HpaSpec h = parse_ok(std::string(kV1) +
                         "spec:\n"
                         "  scaleTargetRef: {kind: Deployment, name: web}\n"
                         "  minReplicas: 2\n"
                         "  maxReplicas: 5\n"
                         "  targetCPUUtilizationPercentage: 50\n");
    EXPECT_EQ(h.api_version, "autoscaling/v1");
    EXPECT_EQ(h.min_replicas, 2);
    ASSERT_EQ(h.metrics.size(), 1u);
    EXPECT_EQ(h.metrics[0].type, MetricType::resource);
    EXPECT_EQ(h.metrics[0].name, "cpu");
    EXPECT_EQ(h.metrics[0].target.type, TargetType::utilization);
    EXPECT_EQ(h.metrics[0].target.average_utilization, 50);
    EXPECT_FALSE(h.behavior.has_value());

    // No target: the conversion's CPU at 80%; minReplicas 1.
    h = parse_ok(std::string(kV1) +
                 "spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 5}\n");
    EXPECT_EQ(h.min_replicas, 1);
    ASSERT_EQ(h.metrics.size(), 1u);
    EXPECT_EQ(h.metrics[0].target.average_utilization, 80);
}

TEST(HpaSpec, V1AnnotationsAsKubectlPrintsThem) {
    // `kubectl get hpa web -o yaml` on 1.20 (autoscaling/v1) of a v2beta2 HPA with a Pods
    // metric, a CPU utilization metric and a behavior: the other metrics in one annotation
    // (v2beta1's form), the behavior in another (the internal type, Go's field names).
    std::string text = std::string(kV1) + R"(  annotations:
    autoscaling.alpha.kubernetes.io/metrics: '[{"type":"Pods","pods":{"metricName":"rps","targetAverageValue":"20"}},{"type":"External","external":{"metricName":"queue","metricSelector":{"matchLabels":{"q":"a"}},"targetValue":"100"}}]'
    autoscaling.alpha.kubernetes.io/behavior: '{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":1,"PeriodSeconds":300}]},"ScaleDown":{"StabilizationWindowSeconds":null,"SelectPolicy":"Min","Policies":[{"Type":"Percent","Value":10,"PeriodSeconds":60}]}}'
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 8
  targetCPUUtilizationPercentage: 70
)";
    HpaSpec h = parse_ok(text);
    ASSERT_EQ(h.metrics.size(), 3u);
    EXPECT_EQ(h.metrics[0].type, MetricType::pods);
    EXPECT_EQ(h.metrics[0].name, "rps");
    EXPECT_EQ(h.metrics[0].target.average_value_milli, 20000);
    EXPECT_EQ(h.metrics[1].type, MetricType::external);
    EXPECT_EQ(h.metrics[1].selector, R"({"matchLabels":{"q":"a"}})");
    EXPECT_EQ(h.metrics[1].target.type, TargetType::value);
    EXPECT_EQ(h.metrics[1].target.value_milli, 100000);
    EXPECT_EQ(h.metrics[2].name, "cpu");
    EXPECT_EQ(h.metrics[2].target.average_utilization, 70);
    ASSERT_TRUE(h.behavior.has_value());
    EXPECT_EQ(h.behavior->scale_up.stabilization_window_seconds, 0);
    ASSERT_EQ(h.behavior->scale_up.policies.size(), 1u);
    EXPECT_EQ(h.behavior->scale_up.policies[0].period_seconds, 300);
    EXPECT_FALSE(h.behavior->scale_down.stabilization_window_seconds.has_value());
    EXPECT_EQ(h.behavior->scale_down.select_policy, SelectPolicy::min);
    EXPECT_EQ(h.behavior->scale_down.policies[0].type, PolicyType::percent);

    EXPECT_EQ(error_of(std::string(kV1) +
                       "  annotations: {autoscaling.alpha.kubernetes.io/metrics: '[{\"type\": "
                       "\"Pods\", \"pods\": {\"metricName\": \"rps\", \"targetAverageValue\": "
                       "\"x\"}}]'}\n"
                       "spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 5}\n"),
              "metadata.annotations[\"autoscaling.alpha.kubernetes.io/metrics\"][0].pods."
              "targetAverageValue: \"x\" is not a quantity");
    EXPECT_EQ(error_of(std::string(kV1) +
                       "spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 5, "
                       "metrics: []}\n"),
              "spec.metrics: not a field of autoscaling/v1 (use autoscaling/v2beta2 or v2)");
    EXPECT_EQ(error_of(std::string(kV1) +
                       "spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 5, "
                       "targetCPUUtilizationPercentage: 0}\n"),
              "spec.targetCPUUtilizationPercentage: must be greater than 0");
}

// ---- autoscaling/v2beta1 --------------------------------------------------------------

TEST(HpaSpec, V2beta1) {
    HpaSpec h = parse_ok(R"(apiVersion: autoscaling/v2beta1
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, targetAverageUtilization: 75}
  - type: Object
    object:
      target: {kind: Deployment, name: workers}
      metricName: jobs
      targetValue: 10
      averageValue: 4
)");
    ASSERT_EQ(h.metrics.size(), 2u);
    EXPECT_EQ(h.metrics[0].type, MetricType::object);
    EXPECT_EQ(h.metrics[0].target.type, TargetType::average_value);
    EXPECT_EQ(h.metrics[0].target.average_value_milli, 4000);
    EXPECT_EQ(h.metrics[0].described_object.name, "workers");
    EXPECT_EQ(h.metrics[1].name, "cpu");
    EXPECT_EQ(h.metrics[1].target.average_utilization, 75);

    // an Object's targetValue is not optional in this form
    EXPECT_EQ(error_of(R"(apiVersion: autoscaling/v2beta1
kind: HorizontalPodAutoscaler
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 5
  metrics:
  - type: Object
    object: {target: {kind: Deployment, name: workers}, metricName: jobs, averageValue: 4}
)"),
              "spec.metrics[0].object.targetValue: must be positive");
}

// ---- errors ---------------------------------------------------------------------------

struct ErrorCase {
    const char *name;
    std::string text;
    std::string error;
};

TEST(HpaSpec, ErrorsNameTheField) {
    std::vector<ErrorCase> cases = {
        {"unknown metric type", with_metrics(std::string(kPods) + "  - type: Foo\n"),
         "spec.metrics[1].type: unknown metric type \"Foo\" (Resource, ContainerResource, Pods, "
         "Object or External)"},
        {"metric type missing", with_metrics("  - pods: {}\n"), "spec.metrics[0].type: required"},
        {"source missing", with_metrics("  - type: Pods\n"),
         "spec.metrics[0].pods: required for a metric of type Pods"},
        {"another source", with_metrics(std::string(kPods) + "    resource: {name: cpu}\n"),
         "spec.metrics[0].resource: may not be set in a metric of type Pods"},
        {"quantity",
         with_metrics("  - type: Resource\n    resource:\n      name: cpu\n      target: {type: "
                      "AverageValue, averageValue: abc}\n"),
         "spec.metrics[0].resource.target.averageValue: \"abc\" is not a quantity"},
        {"negative quantity",
         with_metrics("  - type: Pods\n    pods:\n      metric: {name: rps}\n      target: "
                      "{type: AverageValue, averageValue: -1}\n"),
         "spec.metrics[0].pods.target.averageValue: must be positive"},
        {"zero quantity",
         with_metrics("  - type: External\n    external:\n      metric: {name: q}\n      "
                      "target: {type: Value, value: '0'}\n"),
         "spec.metrics[0].external.target.value: must be positive"},
        {"target type",
         with_metrics("  - type: Resource\n    resource:\n      name: cpu\n      target: {type: "
                      "Percent, averageUtilization: 50}\n"),
         "spec.metrics[0].resource.target.type: \"Percent\" is not Utilization, Value or "
         "AverageValue"},
        {"target missing", with_metrics("  - type: Resource\n    resource: {name: cpu}\n"),
         "spec.metrics[0].resource.target: required"},
        {"utilization 0",
         with_metrics("  - type: Resource\n    resource: {name: cpu, target: {type: "
                      "Utilization, averageUtilization: 0}}\n"),
         "spec.metrics[0].resource.target.averageUtilization: must be greater than 0"},
        {"resource without a target value",
         with_metrics("  - type: Resource\n    resource: {name: cpu, target: {type: Value, "
                      "value: 1}}\n"),
         "spec.metrics[0].resource.target.averageUtilization: required: set averageUtilization "
         "or averageValue"},
        {"resource with both",
         with_metrics("  - type: Resource\n    resource: {name: cpu, target: {type: "
                      "Utilization, averageUtilization: 50, averageValue: 1}}\n"),
         "spec.metrics[0].resource.target.averageValue: may not be set together with "
         "averageUtilization"},
        {"resource name",
         with_metrics("  - type: Resource\n    resource: {target: {type: "
                      "Utilization, averageUtilization: 50}}\n"),
         "spec.metrics[0].resource.name: required"},
        {"container",
         with_metrics("  - type: ContainerResource\n    containerResource: {name: cpu, target: "
                      "{type: Utilization, averageUtilization: 50}}\n"),
         "spec.metrics[0].containerResource.container: required"},
        {"pods without averageValue",
         with_metrics("  - type: Pods\n    pods: {metric: {name: rps}, target: {type: Value, "
                      "value: 1}}\n"),
         "spec.metrics[0].pods.target.averageValue: required"},
        {"metric name",
         with_metrics("  - type: Pods\n    pods: {metric: {}, target: {type: AverageValue, "
                      "averageValue: 1}}\n"),
         "spec.metrics[0].pods.metric.name: required"},
        {"described object",
         with_metrics("  - type: Object\n    object: {metric: {name: q}, target: {type: Value, "
                      "value: 1}}\n"),
         "spec.metrics[0].object.describedObject: required"},
        {"object without a value",
         with_metrics("  - type: Object\n    object: {describedObject: {kind: Service, name: "
                      "web}, metric: {name: q}, target: {type: Value}}\n"),
         "spec.metrics[0].object.target.value: required: set value or averageValue"},
        {"external with both",
         with_metrics("  - type: External\n    external: {metric: {name: q}, target: {type: "
                      "Value, value: 1, averageValue: 1}}\n"),
         "spec.metrics[0].external.target.value: may not be set together with averageValue"},
        {"selector",
         with_metrics("  - type: Pods\n    pods: {metric: {name: q, selector: a=b}, "
                      "target: {type: AverageValue, averageValue: 1}}\n"),
         "spec.metrics[0].pods.metric.selector: must be a mapping, not \"a=b\""},
        {"metrics not a list", v2("  maxReplicas: 3\n  metrics: {type: Pods}\n"),
         "spec.metrics: must be a list, not a mapping"},
        {"apiVersion", "apiVersion: autoscaling/v3\nkind: HorizontalPodAutoscaler\n",
         "apiVersion: \"autoscaling/v3\" is not autoscaling/v1, autoscaling/v2beta1, "
         "autoscaling/v2beta2 or autoscaling/v2"},
        {"apiVersion missing", "kind: HorizontalPodAutoscaler\n", "apiVersion: required"},
        {"kind missing", "apiVersion: autoscaling/v2\n", "kind: required"},
        {"spec missing", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n",
         "spec: required"},
        {"scale target",
         "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  scaleTargetRef: "
         "{kind: Deployment}\n  maxReplicas: 3\n",
         "spec.scaleTargetRef.name: required"},
        {"maxReplicas missing", v2("  minReplicas: 2\n"), "spec.maxReplicas: required"},
        {"maxReplicas 0", v2("  maxReplicas: 0\n"), "spec.maxReplicas: must be greater than 0"},
        {"maxReplicas below min", v2("  minReplicas: 4\n  maxReplicas: 3\n"),
         "spec.maxReplicas: 3 must be at least minReplicas (4)"},
        {"minReplicas negative", v2("  minReplicas: -1\n  maxReplicas: 3\n"),
         "spec.minReplicas: must be at least 0"},
        {"minReplicas 0", with_metrics(kPods, "  minReplicas: 0\n"),
         "spec.minReplicas: 0 needs at least one Object or External metric"},
        {"minReplicas text", v2("  minReplicas: two\n  maxReplicas: 3\n"),
         "spec.minReplicas: \"two\" is not an integer"},
        {"minReplicas quoted", v2("  minReplicas: \"2\"\n  maxReplicas: 3\n"),
         "spec.minReplicas: \"2\" (a string) is not an integer"},
        {"int32", v2("  maxReplicas: 4294967296\n"),
         "spec.maxReplicas: \"4294967296\" is out of range for an int32"},
        {"window",
         with_metrics(kPods, "  behavior:\n    scaleDown: {stabilizationWindowSeconds: 3601}\n"),
         "spec.behavior.scaleDown.stabilizationWindowSeconds: must be at most 3600"},
        {"negative window",
         with_metrics(kPods, "  behavior:\n    scaleUp: {stabilizationWindowSeconds: -1}\n"),
         "spec.behavior.scaleUp.stabilizationWindowSeconds: must be at least 0"},
        {"select policy",
         with_metrics(kPods, "  behavior:\n    scaleUp: {selectPolicy: Maximum}\n"),
         "spec.behavior.scaleUp.selectPolicy: \"Maximum\" is not Max, Min or Disabled"},
        {"no policy", with_metrics(kPods, "  behavior:\n    scaleUp: {policies: []}\n"),
         "spec.behavior.scaleUp.policies: must specify at least one policy"},
        {"policy type",
         with_metrics(kPods,
                      "  behavior:\n    scaleDown:\n      policies: [{type: Replicas, "
                      "value: 1, periodSeconds: 60}]\n"),
         "spec.behavior.scaleDown.policies[0].type: \"Replicas\" is not Pods or Percent"},
        {"policy value",
         with_metrics(kPods,
                      "  behavior:\n    scaleDown:\n      policies: [{type: Pods, "
                      "periodSeconds: 60}]\n"),
         "spec.behavior.scaleDown.policies[0].value: must be greater than 0"},
        {"policy period",
         with_metrics(kPods,
                      "  behavior:\n    scaleDown:\n      policies: [{type: Pods, value: "
                      "1, periodSeconds: 3600}]\n"),
         "spec.behavior.scaleDown.policies[0].periodSeconds: must be at most 1800"},
        {"yaml", "apiVersion: [autoscaling/v2\n",
         "line 2, column 1: end of sequence flow not found"},
    };
    for (const auto &c : cases) EXPECT_EQ(error_of(c.text), c.error) << c.name << "\n" << c.text;
}

TEST(HpaSpec, MinReplicasZeroWithAnObjectOrExternalMetric) {
    // As a cluster with the HPAScaleToZero gate accepts it.
    HpaSpec h = parse_ok(with_metrics(
        "  - type: External\n    external: {metric: {name: q}, target: {type: AverageValue, "
        "averageValue: 10}}\n",
        "  minReplicas: 0\n"));
    EXPECT_EQ(h.min_replicas, 0);
}

}  // namespace
}  // namespace pulse::hpa
