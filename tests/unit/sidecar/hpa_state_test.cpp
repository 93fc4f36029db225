// STATE.json read into ClusterState (sidecar/lib/hpa/state_json.h): every field, the
// defaults, an error naming the field for each bad input; and the decision's JSON
// (decision_json.h) with its quantities in Kubernetes' canonical form.
#include "hpa/decision_json.h"
#include "hpa/state_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pulse::hpa {
namespace {

// The issue's example.
const char *kExample = R"({
  "time": 1000,
  "currentReplicas": 3,
  "pods": [
    {"name": "web-0", "phase": "Running", "ready": true, "deleting": false,
     "startTime": 0, "readySince": 10,
     "containers": [{"name": "app", "requests": {"cpu": "500m"}},
                    {"name": "nginx", "requests": {"cpu": "500m"}}]}
  ],
  "metrics": {
    "resource": {"cpu": {"web-0": "300m"}},
    "containerResource": {"app/cpu": {"web-0": "250m"}},
    "pods": {"pulse_requests_per_second": {"web-0": "20"}},
    "object": {"pulse_jobs_waiting": "120"},
    "external": {"queue_depth": "8600m"}
  },
  "recommendations": [{"time": 880, "replicas": 4}],
  "scaleUpEvents": [{"time": 900, "change": 1}],
  "scaleDownEvents": []
})";

ClusterState parse_ok(const std::string &text) {
    auto r = parse_state(text);
    if (auto *e = std::get_if<std::string>(&r)) ADD_FAILURE() << *e;
    return std::holds_alternative<ClusterState>(r) ? std::get<ClusterState>(r) : ClusterState{};
}

std::string error_of(const std::string &text) {
    auto r = parse_state(text);
    auto *e = std::get_if<std::string>(&r);
    return e ? *e : std::string("no error");
}

TEST(HpaState, ReadsTheIssuesExample) {
    ClusterState s = parse_ok(kExample);
    EXPECT_DOUBLE_EQ(s.time, 1000);
    EXPECT_EQ(s.current_replicas, 3);
    EXPECT_FALSE(s.status_replicas.has_value());
    ASSERT_EQ(s.pods.size(), 1u);
    const PodState &p = s.pods[0];
    EXPECT_EQ(p.name, "web-0");
    EXPECT_EQ(p.phase, "Running");
    EXPECT_TRUE(p.ready);
    EXPECT_FALSE(p.deleting);
    EXPECT_EQ(p.start_time, 0.0);
    EXPECT_EQ(p.ready_since, 10.0);
    ASSERT_EQ(p.containers.size(), 2u);
    EXPECT_EQ(p.containers[0].name, "app");
    EXPECT_EQ(p.containers[0].requests_milli.at("cpu"), 500);
    EXPECT_EQ(p.containers[1].name, "nginx");
    EXPECT_EQ(s.resource.at("cpu").at("web-0"), 300);
    EXPECT_EQ(s.container_resource.at("app/cpu").at("web-0"), 250);
    EXPECT_EQ(s.pods_metrics.at("pulse_requests_per_second").at("web-0"), 20000);
    EXPECT_EQ(s.object.at("pulse_jobs_waiting"), 120000);
    EXPECT_EQ(s.external.at("queue_depth"), 8600);
    EXPECT_DOUBLE_EQ(s.resource_metric_time, 1000);  // default: time
    EXPECT_DOUBLE_EQ(s.resource_metric_window, 60);
    ASSERT_EQ(s.recommendations.size(), 1u);
    EXPECT_DOUBLE_EQ(s.recommendations[0].time, 880);
    EXPECT_EQ(s.recommendations[0].replicas, 4);
    ASSERT_EQ(s.scale_up_events.size(), 1u);
    EXPECT_DOUBLE_EQ(s.scale_up_events[0].time, 900);
    EXPECT_EQ(s.scale_up_events[0].change, 1);
    EXPECT_TRUE(s.scale_down_events.empty());
}

TEST(HpaState, Defaults) {
    ClusterState s = parse_ok(R"({"time": 12.5, "currentReplicas": 0, "statusReplicas": 2,
        "pods": [{"name": "a"}], "resourceMetricTime": 5, "resourceMetricWindow": 30,
        "metrics": {"pods": {"rps": {"a": 7, "ghost": "1.5"}}}})");
    EXPECT_DOUBLE_EQ(s.time, 12.5);
    EXPECT_EQ(s.current_replicas, 0);
    EXPECT_EQ(s.status_replicas, 2);
    ASSERT_EQ(s.pods.size(), 1u);
    EXPECT_EQ(s.pods[0].phase, "Running");
    EXPECT_TRUE(s.pods[0].ready);
    EXPECT_FALSE(s.pods[0].deleting);
    EXPECT_FALSE(s.pods[0].start_time.has_value());   // not started
    EXPECT_FALSE(s.pods[0].ready_since.has_value());  // transition at the beginning of time
    EXPECT_TRUE(s.pods[0].containers.empty());
    EXPECT_DOUBLE_EQ(s.resource_metric_time, 5);
    EXPECT_DOUBLE_EQ(s.resource_metric_window, 30);
    // a bare number is its text as a quantity; a pod the list lacks is kept
    EXPECT_EQ(s.pods_metrics.at("rps").at("a"), 7000);
    EXPECT_EQ(s.pods_metrics.at("rps").at("ghost"), 1500);
    EXPECT_TRUE(s.recommendations.empty());

    s = parse_ok(R"({"time": 1, "currentReplicas": 1, "pods": [{"name": "a", "startTime": null,
        "phase": "Pending", "ready": false, "deleting": true}], "metrics": {}})");
    EXPECT_EQ(s.pods[0].phase, "Pending");
    EXPECT_FALSE(s.pods[0].ready);
    EXPECT_TRUE(s.pods[0].deleting);
    EXPECT_FALSE(s.pods[0].start_time.has_value());
}

TEST(HpaState, ErrorsNameTheField) {
    struct Case {
        std::string text, error;
    };
    std::vector<Case> cases = {
        {R"({"currentReplicas": 1})", "time: required"},
        {R"({"time": "now", "currentReplicas": 1})", "time: must be a number, not \"now\""},
        {R"({"time": 1})", "currentReplicas: required"},
        {R"({"time": 1, "currentReplicas": -1})", "currentReplicas: must be at least 0"},
        {R"({"time": 1, "currentReplicas": 2.5})", "currentReplicas: must be an integer, not 2.5"},
        {R"({"time": 1, "currentReplicas": 3000000000})",
         "currentReplicas: 3000000000 is out of range"},
        {R"({"time": 1, "currentReplicas": 1, "statusReplicas": "2"})",
         "statusReplicas: must be an integer, not \"2\""},
        {R"({"time": 1, "currentReplicas": 1, "currentreplicas": 2})",
         "currentreplicas: unknown field"},
        {R"({"time": 1, "currentReplicas": 1, "pods": {}})", "pods: must be a list, not {}"},
        {R"({"time": 1, "currentReplicas": 1, "pods": [{"name": "a"}, {"name": "b"},
             {"name": "c", "phase": "Runing"}]})",
         "pods[2].phase: \"Runing\" is not Pending, Running, Succeeded, Failed or Unknown"},
        {R"({"time": 1, "currentReplicas": 1, "pods": [{"phase": "Running"}]})",
         "pods[0].name: required"},
        {R"({"time": 1, "currentReplicas": 1, "pods": [{"name": "a"}, {"name": "a"}]})",
         "pods[1].name: \"a\" is given twice"},
        {R"({"time": 1, "currentReplicas": 1, "pods": [{"name": "a", "ready": "yes"}]})",
         "pods[0].ready: must be true or false, not \"yes\""},
        {R"({"time": 1, "currentReplicas": 1, "pods": [{"name": "a", "readysince": 3}]})",
         "pods[0].readysince: unknown field"},
        {R"({"time": 1, "currentReplicas": 1, "pods": [{"name": "a", "startTime": "0"}]})",
         "pods[0].startTime: must be a number, not \"0\""},
        {R"({"time": 1, "currentReplicas": 1, "pods": [{"name": "a", "containers":
             [{"name": "app", "requests": {"cpu": "half"}}]}]})",
         "pods[0].containers[0].requests.cpu: \"half\" is not a quantity"},
        {R"({"time": 1, "currentReplicas": 1, "pods": [{"name": "a", "containers": [{}]}]})",
         "pods[0].containers[0].name: required"},
        {R"({"time": 1, "currentReplicas": 1,
             "metrics": {"pods": {"pulse_requests_per_second": {"web-0": "x"}}}})",
         "metrics.pods.pulse_requests_per_second.web-0: \"x\" is not a quantity"},
        {R"({"time": 1, "currentReplicas": 1, "metrics": {"resource": {"cpu": {"a": true}}}})",
         "metrics.resource.cpu.a: true is not a quantity"},
        {R"({"time": 1, "currentReplicas": 1, "metrics": {"external": {"q": "1e999"}}})",
         "metrics.external.q: \"1e999\": quantity is out of range"},
        {R"({"time": 1, "currentReplicas": 1, "metrics": {"Pods": {}}})",
         "metrics.Pods: unknown metric type \"Pods\" (resource, containerResource, pods, object "
         "or external)"},
        {R"({"time": 1, "currentReplicas": 1, "metrics": {"containerResource": {"cpu": {}}}})",
         "metrics.containerResource.cpu: must be named container/resource (\"app/cpu\")"},
        {R"({"time": 1, "currentReplicas": 1, "metrics": {"object": {"q": {"a": "1"}}}})",
         "metrics.object.q: {\"a\":\"1\"} is not a quantity"},
        {R"({"time": 1, "currentReplicas": 1, "resourceMetricWindow": -1})",
         "resourceMetricWindow: must be at least 0"},
        {R"({"time": 1, "currentReplicas": 1, "recommendations": [{"time": 1}]})",
         "recommendations[0].replicas: required"},
        {R"({"time": 1, "currentReplicas": 1, "scaleUpEvents": [{"time": 1, "change": -1}]})",
         "scaleUpEvents[0].change: must be at least 0"},
        {R"({"time": 1, "currentReplicas": 1, "scaleDownEvents": [3]})",
         "scaleDownEvents[0]: must be an object, not 3"},
        {R"([1])", "must be an object, not [1]"},
        {R"({"time": 1,)",
         "not JSON: parse error at line 1, column 12: syntax error while "
         "parsing object key - unexpected end of input; expected string "
         "literal"},
    };
    for (const auto &c : cases)
        EXPECT_EQ(error_of(c.text).substr(0, c.error.size()), c.error) << c.text;
}

// ---- the decision's JSON --------------------------------------------------------------

TEST(HpaDecisionJson, EveryField) {
    Decision d;
    d.current_replicas = 3;
    d.desired_replicas = 4;
    d.rescale = true;
    MetricResult pods;
    pods.spec.type = MetricType::pods;
    pods.spec.name = "rps";
    pods.spec.selector = R"({"matchLabels":{"server":"web"}})";
    pods.spec.target.type = TargetType::average_value;
    pods.spec.target.average_value_milli = 20000;
    pods.ok = true;
    pods.proposal = 5;
    pods.current_average_value_milli = 30000;
    MetricResult cpu;
    cpu.spec.type = MetricType::container_resource;
    cpu.spec.name = "cpu";
    cpu.spec.container = "app";
    cpu.spec.target.type = TargetType::utilization;
    cpu.spec.target.average_utilization = 60;
    cpu.ok = true;
    cpu.proposal = 2;
    cpu.current_average_utilization = 50;
    cpu.current_average_value_milli = 1500;
    MetricResult object;
    object.spec.type = MetricType::object;
    object.spec.name = "jobs";
    object.spec.described_object = {"apps/v1", "Deployment", "workers"};
    object.spec.target.type = TargetType::value;
    object.spec.target.value_milli = 1000000;
    object.ok = false;
    object.error = "unable to get metric jobs";
    object.failure = {"ScalingActive", "False", "FailedGetObjectMetric", "..."};
    d.metrics = {pods, cpu, object};
    d.proposed_replicas = 5;
    d.stabilized_replicas = 5;
    d.limit_reason = "ScaleUpLimit";
    d.limit_message = "the desired replica count is increasing faster than the maximum scale rate";
    d.conditions = {{"AbleToScale", "True", "SucceededRescale",
                     "the HPA controller was able to "
                     "update the target scale to 4"}};
    d.recorded_recommendation = TimedReplicas{1000, 5};
    d.recorded_scale_event = ScaleEvent{1000.5, 1};

    EXPECT_EQ(decision_json(d).dump(),
              R"({"desiredReplicas":4,"currentReplicas":3,"rescale":true,"metrics":[)"
              R"({"type":"Pods","name":"rps","selector":{"matchLabels":{"server":"web"}},)"
              R"("target":{"type":"AverageValue","averageValue":"20"},"proposal":5,)"
              R"("current":{"averageValue":"30"}},)"
              R"({"type":"ContainerResource","name":"cpu","container":"app",)"
              R"("target":{"type":"Utilization","averageUtilization":60},"proposal":2,)"
              R"("current":{"averageUtilization":50,"averageValue":"1500m"}},)"
              R"({"type":"Object","name":"jobs","describedObject":{"apiVersion":"apps/v1",)"
              R"("kind":"Deployment","name":"workers"},"target":{"type":"Value","value":"1k"},)"
              R"("error":"unable to get metric jobs","reason":"FailedGetObjectMetric"}],)"
              R"("proposedReplicas":5,"stabilizedReplicas":5,"limit":{"reason":"ScaleUpLimit",)"
              R"("message":"the desired replica count is increasing faster than the maximum )"
              R"(scale rate"},"conditions":[{"type":"AbleToScale","status":"True",)"
              R"("reason":"SucceededRescale","message":"the HPA controller was able to update )"
              R"(the target scale to 4"}],"recordedRecommendation":{"time":1000,"replicas":5},)"
              R"("recordedScaleEvent":{"time":1000.5,"change":1,"direction":"up"}})");
}

TEST(HpaDecisionJson, NothingRecorded) {
    Decision d;
    d.current_replicas = 0;
    d.desired_replicas = 0;
    d.conditions = {{"ScalingActive", "False", "ScalingDisabled",
                     "scaling is disabled since the replica count of the target is zero"}};
    auto j = decision_json(d);
    EXPECT_TRUE(j["limit"].is_null());
    EXPECT_TRUE(j["proposedReplicas"].is_null());
    EXPECT_TRUE(j["stabilizedReplicas"].is_null());
    EXPECT_TRUE(j["recordedRecommendation"].is_null());
    EXPECT_TRUE(j["recordedScaleEvent"].is_null());
    EXPECT_EQ(j["metrics"], nlohmann::ordered_json::array());
    EXPECT_EQ(j["rescale"], false);

    d.current_replicas = 5;
    d.desired_replicas = 3;
    d.recorded_scale_event = ScaleEvent{60, 2};
    EXPECT_EQ(decision_json(d)["recordedScaleEvent"]["direction"], "down");
}

}  // namespace
}  // namespace pulse::hpa
