// The replica calculator against kube-controller-manager 1.20's own test cases
// (pkg/controller/podautoscaler/replica_calculator_test.go, and a few of horizontal_test.go
// for the paths only the controller exercises): each test is named after the Go test it
// restates, with the Go test's inputs and expected numbers.
//
// The Go harness, restated: pods are named test-pod-<i>, Running, Ready, with two containers
// (container1, container2) that both request the case's request; a pod's start time and its
// Ready condition's lastTransitionTime are Go's zero time unless the case sets the start
// time ("hot" is now, "cool" three minutes ago); the resource samples are stamped with the
// zero time too (the cases leave the timestamp unset), with a one-minute window. The
// calculator runs with tolerance 0.1, a 2 minute CPU initialization period and a 10 second
// initial readiness delay.
#include "hpa/quantity.h"
#include "hpa/replica_calculator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

// The cases are designated initializers that leave the Go test's unset fields at their
// defaults, as the Go literals do; GCC 12 would warn about each omitted member.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using namespace pulse::hpa;

constexpr double kGoZeroTime = 0;    // time.Time{}
constexpr double kNow = 1000000000;  // time.Now() while the Go test runs

double hot_cpu_creation_time() {
    return kNow;
}
double cool_cpu_creation_time() {
    return kNow - 3 * 60;
}

ControllerOptions testing_options() {
    ControllerOptions o;
    o.tolerance = 0.1;
    o.cpu_initialization_period = 2 * 60;
    o.initial_readiness_delay = 10;
    return o;
}

// The Go test's metricType; its zero value is objectMetric.
enum class Kind { object, object_per_pod, external, external_per_pod, pods };

struct ResourceInfo {
    std::string name = "cpu";
    std::vector<std::string> requests;
    std::vector<std::vector<std::int64_t>> levels;  // per pod, per container
    std::vector<std::string> pod_names;
    std::int32_t target_utilization = 0;
    std::int32_t expected_utilization = 0;
    std::int64_t expected_value = 0;
};

struct MetricInfo {
    std::string name;
    std::vector<std::int64_t> levels;
    bool single_object = false;
    std::string selector;  // JSON
    Kind kind = Kind::object;
    std::int64_t target_utilization = 0;
    std::int64_t per_pod_target_utilization = 0;
    std::int64_t expected_utilization = 0;
};

struct Case {
    std::int32_t current_replicas = 0;
    std::int32_t expected_replicas = 0;
    std::string expected_error;
    std::optional<ResourceInfo> resource;
    std::optional<MetricInfo> metric;
    std::string container;
    std::vector<bool> pod_readiness;
    std::vector<double> pod_start_time;
    std::vector<std::string> pod_phase;
    std::vector<bool> pod_deletion_timestamp;
};

constexpr int kContainersPerPod = 2;
const char *const kLabelSelector = R"({"matchLabels":{"label":"value"}})";

std::vector<std::vector<std::int64_t>> make_pod_metric_levels(
    std::vector<std::int64_t> per_container) {
    std::vector<std::vector<std::int64_t>> levels;
    for (std::int64_t v : per_container)
        levels.push_back(std::vector<std::int64_t>(kContainersPerPod, v));
    return levels;
}

std::vector<std::string> repeat(const std::string &q, int n) {
    return std::vector<std::string>(n, q);
}

std::string pod_name(std::size_t i) {
    return "test-pod-" + std::to_string(i);
}

ClusterState state_for(const Case &tc) {
    ClusterState s;
    s.time = kNow;
    s.current_replicas = tc.current_replicas;
    s.resource_metric_time = kGoZeroTime;
    s.resource_metric_window = 60;

    std::size_t count = static_cast<std::size_t>(tc.current_replicas);
    if (tc.pod_phase.size() > count) count = tc.pod_phase.size();  // failed pods beyond the count
    for (std::size_t i = 0; i < count; ++i) {
        PodState p;
        p.name = pod_name(i);
        p.phase = tc.pod_phase.empty() ? "Running" : tc.pod_phase[i];
        p.ready = i < tc.pod_readiness.size() ? tc.pod_readiness[i] : true;
        p.deleting = tc.pod_deletion_timestamp.empty() ? false : tc.pod_deletion_timestamp[i];
        p.start_time = tc.pod_start_time.empty() ? kGoZeroTime : tc.pod_start_time[i];
        p.ready_since = kGoZeroTime;
        for (const char *c : {"container1", "container2"}) {
            ContainerRequests cr;
            cr.name = c;
            if (tc.resource && i < tc.resource->requests.size()) {
                const ParsedQuantity q = parse_quantity(tc.resource->requests[i]);
                EXPECT_TRUE(q.ok) << q.error;
                cr.requests_milli[tc.resource->name] = q.milli;
            }
            p.containers.push_back(cr);
        }
        s.pods.push_back(p);
    }

    if (tc.resource) {
        const ResourceInfo &r = *tc.resource;
        for (std::size_t i = 0; i < r.levels.size(); ++i) {
            const std::string name = i < r.pod_names.size() ? r.pod_names[i] : pod_name(i);
            const auto &row = r.levels[i];
            if (tc.container.empty()) {
                // a pod's total; a container without a sample makes the pod's sample missing
                if (row.size() < kContainersPerPod) continue;
                std::int64_t total = 0;
                for (std::int64_t v : row) total += v;
                s.resource[r.name][name] = total;
            } else {
                for (std::size_t j = 0; j < row.size(); ++j) {
                    if (tc.container == "container" + std::to_string(j + 1)) {
                        s.container_resource[tc.container + "/" + r.name][name] = row[j];
                    }
                }
            }
        }
    }
    if (tc.metric) {
        const MetricInfo &m = *tc.metric;
        switch (m.kind) {
            case Kind::pods:
                for (std::size_t i = 0; i < m.levels.size(); ++i)
                    s.pods_metrics[m.name][pod_name(i)] = m.levels[i];
                break;
            case Kind::object:
            case Kind::object_per_pod:
                s.object[m.name] = m.levels.at(0);
                break;
            case Kind::external:
            case Kind::external_per_pod: {
                // the external metrics API's values, summed (the state holds their total)
                std::int64_t total = 0;
                for (std::int64_t v : m.levels) total += v;
                s.external[m.name] = total;
                break;
            }
        }
    }
    return s;
}

MetricSpec spec_for(const Case &tc) {
    MetricSpec spec;
    if (tc.resource) {
        spec.type = tc.container.empty() ? MetricType::resource : MetricType::container_resource;
        spec.name = tc.resource->name;
        spec.container = tc.container;
        spec.target.type = TargetType::utilization;
        spec.target.average_utilization = tc.resource->target_utilization;
        return spec;
    }
    const MetricInfo &m = *tc.metric;
    spec.name = m.name;
    spec.selector = m.selector;
    switch (m.kind) {
        case Kind::pods:
            spec.type = MetricType::pods;
            spec.target.type = TargetType::average_value;
            spec.target.average_value_milli = m.target_utilization;
            break;
        case Kind::object:
            spec.type = MetricType::object;
            spec.described_object = {"apps/v1", "Deployment", "some-deployment"};
            spec.target.type = TargetType::value;
            spec.target.value_milli = m.target_utilization;
            break;
        case Kind::object_per_pod:
            spec.type = MetricType::object;
            spec.described_object = {"apps/v1", "Deployment", "some-deployment"};
            spec.target.type = TargetType::average_value;
            spec.target.average_value_milli = m.per_pod_target_utilization;
            break;
        case Kind::external:
            spec.type = MetricType::external;
            spec.target.type = TargetType::value;
            spec.target.value_milli = m.target_utilization;
            break;
        case Kind::external_per_pod:
            spec.type = MetricType::external;
            spec.target.type = TargetType::average_value;
            spec.target.average_value_milli = m.per_pod_target_utilization;
            break;
    }
    return spec;
}

void run(const Case &tc) {
    const MetricResult r =
        compute_metric(spec_for(tc), state_for(tc), testing_options(), "test-namespace");
    if (!tc.expected_error.empty()) {
        ASSERT_FALSE(r.ok) << "there should be an error calculating the replica count";
        EXPECT_NE(r.error.find(tc.expected_error), std::string::npos) << r.error;
        EXPECT_EQ(r.failure.type, "ScalingActive");
        EXPECT_EQ(r.failure.status, "False");
        return;
    }
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, tc.expected_replicas) << "replicas";
    if (tc.resource) {
        EXPECT_EQ(r.current_average_utilization, tc.resource->expected_utilization)
            << "utilization";
        EXPECT_EQ(r.current_average_value_milli, tc.resource->expected_value) << "raw value";
        EXPECT_FALSE(r.current_value_milli.has_value());
        return;
    }
    const std::int64_t expected = tc.metric->expected_utilization;
    switch (tc.metric->kind) {
        case Kind::object:
        case Kind::external:
            EXPECT_EQ(r.current_value_milli, expected) << "utilization";
            EXPECT_FALSE(r.current_average_value_milli.has_value());
            break;
        case Kind::object_per_pod:
        case Kind::external_per_pod:
        case Kind::pods:
            EXPECT_EQ(r.current_average_value_milli, expected) << "utilization";
            EXPECT_FALSE(r.current_value_milli.has_value());
            break;
    }
    EXPECT_FALSE(r.current_average_utilization.has_value());
}

// ---- replica_calculator_test.go -------------------------------------------------------

TEST(HpaReplicaCalculator, TestReplicaCalcDisjointResourcesMetrics) {
    run({.current_replicas = 1,
         .expected_error = "no metrics returned matched known pods",
         .resource = ResourceInfo{.requests = {"1.0"},
                                  .levels = make_pod_metric_levels({100}),
                                  .pod_names = {"an-older-pod-name"},
                                  .target_utilization = 100}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcMissingContainerMetricError) {
    // The Go case lists the pod's metrics without container2 and expects "container container2
    // not present in metrics for pod test-namespace/test-pod-0". The state holds container
    // samples per container and pod, so a pod whose metrics lack the container cannot be
    // told from a pod without metrics: with no other sample, the metrics API's "none" error.
    run({.current_replicas = 1,
         .expected_error = "no metrics returned from resource metrics API",
         .resource = ResourceInfo{.requests = {"1.0"}, .levels = {{0}}},
         .container = "container2"});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUp) {
    run({.current_replicas = 3,
         .expected_replicas = 5,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({300, 500, 700}),
                                  .target_utilization = 30,
                                  .expected_utilization = 50,
                                  .expected_value = kContainersPerPod * 500}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcContainerScaleUp) {
    run({.current_replicas = 3,
         .expected_replicas = 5,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = {{1000, 300}, {1000, 500}, {1000, 700}},
                                  .target_utilization = 30,
                                  .expected_utilization = 50,
                                  .expected_value = 500},
         .container = "container2"});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpUnreadyLessScale) {
    run({.current_replicas = 3,
         .expected_replicas = 4,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({300, 500, 700}),
                                  .target_utilization = 30,
                                  .expected_utilization = 60,
                                  .expected_value = kContainersPerPod * 600},
         .pod_readiness = {false, true, true}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpContainerHotCpuLessScale) {
    run({.current_replicas = 3,
         .expected_replicas = 4,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = {{0, 300}, {0, 500}, {0, 700}},
                                  .target_utilization = 30,
                                  .expected_utilization = 60,
                                  .expected_value = 600},
         .container = "container2",
         .pod_start_time = {hot_cpu_creation_time(), cool_cpu_creation_time(),
                            cool_cpu_creation_time()}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpHotCpuLessScale) {
    run({.current_replicas = 3,
         .expected_replicas = 4,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({300, 500, 700}),
                                  .target_utilization = 30,
                                  .expected_utilization = 60,
                                  .expected_value = kContainersPerPod * 600},
         .pod_start_time = {hot_cpu_creation_time(), cool_cpu_creation_time(),
                            cool_cpu_creation_time()}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpUnreadyNoScale) {
    run({.current_replicas = 3,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({400, 500, 700}),
                                  .target_utilization = 30,
                                  .expected_utilization = 40,
                                  .expected_value = kContainersPerPod * 400},
         .pod_readiness = {true, false, false}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleHotCpuNoScale) {
    run({.current_replicas = 3,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({400, 500, 700}),
                                  .target_utilization = 30,
                                  .expected_utilization = 40,
                                  .expected_value = kContainersPerPod * 400},
         .pod_readiness = {true, false, false},
         .pod_start_time = {cool_cpu_creation_time(), hot_cpu_creation_time(),
                            hot_cpu_creation_time()}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpIgnoresFailedPods) {
    run({.current_replicas = 2,
         .expected_replicas = 4,
         .resource = ResourceInfo{.requests = repeat("1.0", 4),
                                  .levels = make_pod_metric_levels({500, 700}),
                                  .target_utilization = 30,
                                  .expected_utilization = 60,
                                  .expected_value = kContainersPerPod * 600},
         .pod_readiness = {true, true, false, false},
         .pod_phase = {"Running", "Running", "Failed", "Failed"}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpContainerIgnoresFailedPods) {
    run({.current_replicas = 2,
         .expected_replicas = 4,
         .resource = ResourceInfo{.requests = repeat("1.0", 4),
                                  .levels = {{1000, 500}, {9000, 700}},
                                  .target_utilization = 30,
                                  .expected_utilization = 60,
                                  .expected_value = 600},
         .container = "container2",
         .pod_readiness = {true, true, false, false},
         .pod_phase = {"Running", "Running", "Failed", "Failed"}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpIgnoresDeletionPods) {
    run({.current_replicas = 2,
         .expected_replicas = 4,
         .resource = ResourceInfo{.requests = repeat("1.0", 4),
                                  .levels = make_pod_metric_levels({500, 700}),
                                  .target_utilization = 30,
                                  .expected_utilization = 60,
                                  .expected_value = kContainersPerPod * 600},
         .pod_readiness = {true, true, false, false},
         .pod_phase = {"Running", "Running", "Running", "Running"},
         .pod_deletion_timestamp = {false, false, true, true}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpContainerIgnoresDeletionPods) {
    run({.current_replicas = 2,
         .expected_replicas = 4,
         .resource = ResourceInfo{.requests = repeat("1.0", 4),
                                  .levels = make_pod_metric_levels({500, 700}),
                                  .target_utilization = 30,
                                  .expected_utilization = 60,
                                  .expected_value = 600},
         .container = "container1",
         .pod_readiness = {true, true, false, false},
         .pod_phase = {"Running", "Running", "Running", "Running"},
         .pod_deletion_timestamp = {false, false, true, true}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpCM) {
    run({.current_replicas = 3,
         .expected_replicas = 4,
         .metric = MetricInfo{.name = "qps",
                              .levels = {20000, 10000, 30000},
                              .kind = Kind::pods,
                              .target_utilization = 15000,
                              .expected_utilization = 20000}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale) {
    // readiness and start times do not matter to pods metrics
    run({.current_replicas = 3,
         .expected_replicas = 6,
         .metric = MetricInfo{.name = "qps",
                              .levels = {50000, 10000, 30000},
                              .kind = Kind::pods,
                              .target_utilization = 15000,
                              .expected_utilization = 30000},
         .pod_readiness = {true, true, false},
         .pod_start_time = {cool_cpu_creation_time(), cool_cpu_creation_time(),
                            hot_cpu_creation_time()}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown) {
    run({.current_replicas = 3,
         .expected_replicas = 7,
         .metric = MetricInfo{.name = "qps",
                              .levels = {50000, 15000, 30000},
                              .kind = Kind::pods,
                              .target_utilization = 15000,
                              .expected_utilization = 31666},
         .pod_readiness = {false, true, false},
         .pod_start_time = {hot_cpu_creation_time(), cool_cpu_creation_time(),
                            hot_cpu_creation_time()}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpCMObject) {
    run({.current_replicas = 3,
         .expected_replicas = 4,
         .metric = MetricInfo{.name = "qps",
                              .levels = {20000},
                              .single_object = true,
                              .target_utilization = 15000,
                              .expected_utilization = 20000}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpCMPerPodObject) {
    run({.current_replicas = 3,
         .expected_replicas = 4,
         .metric = MetricInfo{.name = "qps",
                              .levels = {20000},
                              .single_object = true,
                              .kind = Kind::object_per_pod,
                              .per_pod_target_utilization = 5000,
                              .expected_utilization = 6667}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods) {
    // 5, not the 15 the three pods would give: only the ready pod counts
    run({.current_replicas = 3,
         .expected_replicas = 5,
         .metric = MetricInfo{.name = "qps",
                              .levels = {50000},
                              .single_object = true,
                              .target_utilization = 10000,
                              .expected_utilization = 50000},
         .pod_readiness = {false, true, false}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpCMExternal) {
    // (a pods metric in the Go case, despite its name)
    run({.current_replicas = 1,
         .expected_replicas = 2,
         .metric = MetricInfo{.name = "qps",
                              .levels = {8600},
                              .selector = kLabelSelector,
                              .kind = Kind::pods,
                              .target_utilization = 4400,
                              .expected_utilization = 8600}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods) {
    // 2, not the 6 the three pods would give
    run({.current_replicas = 3,
         .expected_replicas = 2,
         .metric = MetricInfo{.name = "qps",
                              .levels = {8600},
                              .selector = kLabelSelector,
                              .kind = Kind::external,
                              .target_utilization = 4400,
                              .expected_utilization = 8600},
         .pod_readiness = {false, true, false}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpCMExternalNoLabels) {
    run({.current_replicas = 1,
         .expected_replicas = 2,
         .metric = MetricInfo{.name = "qps",
                              .levels = {8600},
                              .kind = Kind::pods,
                              .target_utilization = 4400,
                              .expected_utilization = 8600}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleUpPerPodCMExternal) {
    run({.current_replicas = 3,
         .expected_replicas = 4,
         .metric = MetricInfo{.name = "qps",
                              .levels = {8600},
                              .selector = kLabelSelector,
                              .kind = Kind::external_per_pod,
                              .per_pod_target_utilization = 2150,
                              .expected_utilization = 2867}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDown) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = repeat("1.0", 5),
                                  .levels = make_pod_metric_levels({100, 300, 500, 250, 250}),
                                  .target_utilization = 50,
                                  .expected_utilization = 28,
                                  .expected_value = kContainersPerPod * 280}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcContainerScaleDown) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .resource =
             ResourceInfo{
                 .requests = repeat("1.0", 5),
                 .levels = {{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}},
                 .target_utilization = 50,
                 .expected_utilization = 28,
                 .expected_value = 280},
         .container = "container2"});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownCM) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .metric = MetricInfo{.name = "qps",
                              .levels = {12000, 12000, 12000, 12000, 12000},
                              .kind = Kind::pods,
                              .target_utilization = 20000,
                              .expected_utilization = 12000}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownPerPodCMObject) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .metric = MetricInfo{.name = "qps",
                              .levels = {6000},
                              .single_object = true,
                              .kind = Kind::object_per_pod,
                              .per_pod_target_utilization = 2000,
                              .expected_utilization = 1200}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownCMObject) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .metric = MetricInfo{.name = "qps",
                              .levels = {12000},
                              .single_object = true,
                              .target_utilization = 20000,
                              .expected_utilization = 12000}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownCMExternal) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .metric = MetricInfo{.name = "qps",
                              .levels = {8600},
                              .selector = kLabelSelector,
                              .kind = Kind::external,
                              .target_utilization = 14334,
                              .expected_utilization = 8600}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownPerPodCMExternal) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .metric = MetricInfo{.name = "qps",
                              .levels = {8600},
                              .selector = kLabelSelector,
                              .kind = Kind::external_per_pod,
                              .per_pod_target_utilization = 2867,
                              .expected_utilization = 1720}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownExcludeUnreadyPods) {
    run({.current_replicas = 5,
         .expected_replicas = 2,
         .resource = ResourceInfo{.requests = repeat("1.0", 5),
                                  .levels = make_pod_metric_levels({100, 300, 500, 250, 250}),
                                  .target_utilization = 50,
                                  .expected_utilization = 30,
                                  .expected_value = kContainersPerPod * 300},
         .pod_readiness = {true, true, true, false, false}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownContainerExcludeUnreadyPods) {
    run({.current_replicas = 5,
         .expected_replicas = 2,
         .resource =
             ResourceInfo{
                 .requests = repeat("1.0", 5),
                 .levels = {{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}},
                 .target_utilization = 50,
                 .expected_utilization = 30,
                 .expected_value = 300},
         .container = "container2",
         .pod_readiness = {true, true, true, false, false}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownExcludeUnscheduledPods) {
    run({.current_replicas = 5,
         .expected_replicas = 1,
         .resource = ResourceInfo{.requests = repeat("1.0", 5),
                                  .levels = make_pod_metric_levels({100}),
                                  .target_utilization = 50,
                                  .expected_utilization = 10,
                                  .expected_value = kContainersPerPod * 100},
         .pod_readiness = {true, false, false, false, false},
         .pod_phase = {"Running", "Pending", "Pending", "Pending", "Pending"}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownContainerExcludeUnscheduledPods) {
    run({.current_replicas = 5,
         .expected_replicas = 1,
         .resource =
             ResourceInfo{
                 .requests = repeat("1.0", 5),
                 .levels = {{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}},
                 .target_utilization = 50,
                 .expected_utilization = 10,
                 .expected_value = 100},
         .container = "container2",
         .pod_readiness = {true, false, false, false, false},
         .pod_phase = {"Running", "Pending", "Pending", "Pending", "Pending"}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownIgnoreHotCpuPods) {
    run({.current_replicas = 5,
         .expected_replicas = 2,
         .resource = ResourceInfo{.requests = repeat("1.0", 5),
                                  .levels = make_pod_metric_levels({100, 300, 500, 250, 250}),
                                  .target_utilization = 50,
                                  .expected_utilization = 30,
                                  .expected_value = kContainersPerPod * 300},
         .pod_start_time = {cool_cpu_creation_time(), cool_cpu_creation_time(),
                            cool_cpu_creation_time(), hot_cpu_creation_time(),
                            hot_cpu_creation_time()}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownContainerIgnoreHotCpuPods) {
    run({.current_replicas = 5,
         .expected_replicas = 2,
         .resource =
             ResourceInfo{
                 .requests = repeat("1.0", 5),
                 .levels = {{1000, 100}, {1000, 300}, {1000, 500}, {1000, 1000}, {1000, 1000}},
                 .target_utilization = 50,
                 .expected_utilization = 30,
                 .expected_value = 300},
         .container = "container2",
         .pod_start_time = {cool_cpu_creation_time(), cool_cpu_creation_time(),
                            cool_cpu_creation_time(), hot_cpu_creation_time(),
                            hot_cpu_creation_time()}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownIgnoresFailedPods) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = repeat("1.0", 7),
                                  .levels = make_pod_metric_levels({100, 300, 500, 250, 250}),
                                  .target_utilization = 50,
                                  .expected_utilization = 28,
                                  .expected_value = kContainersPerPod * 280},
         .pod_readiness = {true, true, true, true, true, false, false},
         .pod_phase = {"Running", "Running", "Running", "Running", "Running", "Failed", "Failed"}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownContainerIgnoresFailedPods) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .resource =
             ResourceInfo{
                 .requests = repeat("1.0", 7),
                 .levels = {{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}},
                 .target_utilization = 50,
                 .expected_utilization = 28,
                 .expected_value = 280},
         .container = "container2",
         .pod_readiness = {true, true, true, true, true, false, false},
         .pod_phase = {"Running", "Running", "Running", "Running", "Running", "Failed", "Failed"}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownIgnoresDeletionPods) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = repeat("1.0", 7),
                                  .levels = make_pod_metric_levels({100, 300, 500, 250, 250}),
                                  .target_utilization = 50,
                                  .expected_utilization = 28,
                                  .expected_value = kContainersPerPod * 280},
         .pod_readiness = {true, true, true, true, true, false, false},
         .pod_phase = std::vector<std::string>(7, "Running"),
         .pod_deletion_timestamp = {false, false, false, false, false, true, true}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcScaleDownIgnoresDeletionPods_StillRunning) {
    run({.current_replicas = 5,
         .expected_replicas = 3,
         .resource =
             ResourceInfo{
                 .requests = repeat("1.0", 7),
                 .levels = {{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}},
                 .target_utilization = 50,
                 .expected_utilization = 28,
                 .expected_value = 280},
         .container = "container2",
         .pod_readiness = {true, true, true, true, true, false, false},
         .pod_phase = std::vector<std::string>(7, "Running"),
         .pod_deletion_timestamp = {false, false, false, false, false, true, true}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcTolerance) {
    run({.current_replicas = 3,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = {"0.9", "1.0", "1.1"},
                                  .levels = make_pod_metric_levels({1010, 1030, 1020}),
                                  .target_utilization = 100,
                                  .expected_utilization = 102,
                                  .expected_value = kContainersPerPod * 1020}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcToleranceCM) {
    run({.current_replicas = 3,
         .expected_replicas = 3,
         .metric = MetricInfo{.name = "qps",
                              .levels = {20000, 21000, 21000},
                              .kind = Kind::pods,
                              .target_utilization = 20000,
                              .expected_utilization = 20666}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcToleranceCMObject) {
    run({.current_replicas = 3,
         .expected_replicas = 3,
         .metric = MetricInfo{.name = "qps",
                              .levels = {20666},
                              .single_object = true,
                              .target_utilization = 20000,
                              .expected_utilization = 20666}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcTolerancePerPodCMObject) {
    run({.current_replicas = 4,
         .expected_replicas = 4,
         .metric = MetricInfo{.name = "qps",
                              .levels = {20166},
                              .single_object = true,
                              .kind = Kind::object_per_pod,
                              .per_pod_target_utilization = 5000,
                              .expected_utilization = 5042}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcToleranceCMExternal) {
    run({.current_replicas = 3,
         .expected_replicas = 3,
         .metric = MetricInfo{.name = "qps",
                              .levels = {8600},
                              .selector = kLabelSelector,
                              .kind = Kind::external,
                              .target_utilization = 8888,
                              .expected_utilization = 8600}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcTolerancePerPodCMExternal) {
    run({.current_replicas = 3,
         .expected_replicas = 3,
         .metric = MetricInfo{.name = "qps",
                              .levels = {8600},
                              .selector = kLabelSelector,
                              .kind = Kind::external_per_pod,
                              .per_pod_target_utilization = 2900,
                              .expected_utilization = 2867}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcSuperfluousMetrics) {
    run({.current_replicas = 4,
         .expected_replicas = 24,
         .resource =
             ResourceInfo{.requests = repeat("1.0", 4),
                          .levels = make_pod_metric_levels({4000, 9500, 3000, 7000, 3200, 2000}),
                          .target_utilization = 100,
                          .expected_utilization = 587,
                          .expected_value = kContainersPerPod * 5875}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcMissingMetrics) {
    run({.current_replicas = 4,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = repeat("1.0", 4),
                                  .levels = make_pod_metric_levels({400, 95}),
                                  .target_utilization = 100,
                                  .expected_utilization = 24,
                                  .expected_value = 495}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcEmptyMetrics) {
    run({.current_replicas = 4,
         .expected_error = "unable to get metrics for resource cpu: no metrics returned from "
                           "resource metrics API",
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({}),
                                  .target_utilization = 100}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcEmptyCPURequest) {
    run({.current_replicas = 1,
         .expected_error = "missing request for",
         .resource = ResourceInfo{
             .requests = {}, .levels = make_pod_metric_levels({200}), .target_utilization = 100}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcMissingMetricsNoChangeEq) {
    run({.current_replicas = 2,
         .expected_replicas = 2,
         .resource = ResourceInfo{.requests = repeat("1.0", 2),
                                  .levels = make_pod_metric_levels({1000}),
                                  .target_utilization = 100,
                                  .expected_utilization = 100,
                                  .expected_value = kContainersPerPod * 1000}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcMissingMetricsNoChangeGt) {
    run({.current_replicas = 2,
         .expected_replicas = 2,
         .resource = ResourceInfo{.requests = repeat("1.0", 2),
                                  .levels = make_pod_metric_levels({1900}),
                                  .target_utilization = 100,
                                  .expected_utilization = 190,
                                  .expected_value = kContainersPerPod * 1900}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcMissingMetricsNoChangeLt) {
    run({.current_replicas = 2,
         .expected_replicas = 2,
         .resource = ResourceInfo{.requests = repeat("1.0", 2),
                                  .levels = make_pod_metric_levels({600}),
                                  .target_utilization = 100,
                                  .expected_utilization = 60,
                                  .expected_value = kContainersPerPod * 600}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcMissingMetricsUnreadyChange) {
    run({.current_replicas = 3,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({100, 450}),
                                  .target_utilization = 50,
                                  .expected_utilization = 45,
                                  .expected_value = kContainersPerPod * 450},
         .pod_readiness = {false, true, true}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcMissingMetricsHotCpuNoChange) {
    run({.current_replicas = 3,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({100, 450}),
                                  .target_utilization = 50,
                                  .expected_utilization = 45,
                                  .expected_value = kContainersPerPod * 450},
         .pod_start_time = {hot_cpu_creation_time(), cool_cpu_creation_time(),
                            cool_cpu_creation_time()}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcMissingMetricsUnreadyScaleUp) {
    run({.current_replicas = 3,
         .expected_replicas = 4,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({100, 2000}),
                                  .target_utilization = 50,
                                  .expected_utilization = 200,
                                  .expected_value = kContainersPerPod * 2000},
         .pod_readiness = {false, true, true}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcMissingMetricsHotCpuScaleUp) {
    run({.current_replicas = 3,
         .expected_replicas = 4,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({100, 2000}),
                                  .target_utilization = 50,
                                  .expected_utilization = 200,
                                  .expected_value = kContainersPerPod * 2000},
         .pod_readiness = {false, true, true},
         .pod_start_time = {hot_cpu_creation_time(), cool_cpu_creation_time(),
                            cool_cpu_creation_time()}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcMissingMetricsUnreadyScaleDown) {
    run({.current_replicas = 4,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = repeat("1.0", 4),
                                  .levels = make_pod_metric_levels({100, 100, 100}),
                                  .target_utilization = 50,
                                  .expected_utilization = 10,
                                  .expected_value = kContainersPerPod * 100},
         .pod_readiness = {false, true, true, true}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcDuringRollingUpdateWithMaxSurge) {
    run({.current_replicas = 2,
         .expected_replicas = 2,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({100, 100}),
                                  .target_utilization = 50,
                                  .expected_utilization = 10,
                                  .expected_value = kContainersPerPod * 100},
         .pod_phase = {"Running", "Running", "Running"}});
}

TEST(HpaReplicaCalculator, TestReplicaCalcComputedToleranceAlgImplementation) {
    // the Go test's arithmetic, step for step
    const std::int32_t start_pods = 10;
    const std::int64_t total_used_cpu = start_pods * 150;
    const std::int32_t total_requested_cpu = static_cast<std::int32_t>(2 * total_used_cpu);
    const double requested_to_used =
        static_cast<double>(total_requested_cpu / static_cast<std::int32_t>(total_used_cpu));
    const std::int32_t per_pod_requested = total_requested_cpu / start_pods;
    const double tolerance = 0.1;

    double target = std::abs(1 / (requested_to_used * (1 - tolerance))) + .01;
    std::int32_t final_cpu_percent_target = static_cast<std::int32_t>(target * 100);
    const double resources_used_ratio =
        static_cast<double>(total_used_cpu) / (static_cast<double>(total_requested_cpu) * target);
    const std::int32_t final_pods = static_cast<std::int32_t>(
        std::ceil(resources_used_ratio * static_cast<double>(start_pods)));

    const auto m = [&](int delta) { return std::to_string(per_pod_requested + delta) + "m"; };
    Case tc{
        .current_replicas = start_pods,
        .expected_replicas = final_pods,
        .resource = ResourceInfo{
            .requests = {m(100), m(-100), m(10), m(-10), m(2), m(-2), m(1), m(-1), m(0), m(0)},
            .levels = make_pod_metric_levels(std::vector<std::int64_t>(10, total_used_cpu / 10)),
            .target_utilization = final_cpu_percent_target,
            .expected_utilization =
                static_cast<std::int32_t>(total_used_cpu * 100) / total_requested_cpu,
            .expected_value = kContainersPerPod * total_used_cpu / 10}};
    ASSERT_EQ(final_pods, 9);
    ASSERT_EQ(final_cpu_percent_target, 56);
    run(tc);

    // just inside the tolerance: no scaling
    target = std::abs(1 / (requested_to_used * (1 - tolerance))) + .004;
    final_cpu_percent_target = static_cast<std::int32_t>(target * 100);
    tc.resource->target_utilization = final_cpu_percent_target;
    tc.current_replicas = start_pods;
    tc.expected_replicas = start_pods;
    run(tc);
}

// TestGroupPods, case by case (Go's table, its pods all Succeeded unless noted).
struct GroupCase {
    std::string name;
    std::vector<PodState> pods;
    std::map<std::string, std::int64_t> metrics;
    double metric_time = kGoZeroTime;
    double metric_window = 0;
    std::string resource;
    int ready = 0;
    std::set<std::string> unready, missing, ignored;
};

PodState go_pod(const std::string &name, std::string phase, std::optional<double> start,
                std::optional<bool> ready, std::optional<double> transition) {
    PodState p;
    p.name = name;
    p.phase = std::move(phase);
    p.start_time = start;
    // no Ready condition: not Ready, no transition
    p.ready = ready.value_or(false);
    p.ready_since = transition;
    return p;
}

TEST(HpaReplicaCalculator, TestGroupPods) {
    const double now = kNow;
    std::vector<GroupCase> cases;
    cases.push_back({.name = "void", .resource = "cpu"});
    cases.push_back(
        {.name = "count in a ready pod - memory",
         .pods = {go_pod("bentham", "Succeeded", std::nullopt, std::nullopt, std::nullopt)},
         .metrics = {{"bentham", 1}},
         .metric_time = now,
         .metric_window = 60,
         .resource = "memory",
         .ready = 1});
    cases.push_back({.name = "unready a pod without ready condition - CPU",
                     .pods = {go_pod("lucretius", "Succeeded", now, std::nullopt, std::nullopt)},
                     .metrics = {{"lucretius", 1}},
                     .resource = "cpu",
                     .unready = {"lucretius"}});
    cases.push_back(
        {.name = "count in a ready pod with fresh metrics during initialization period - CPU",
         .pods = {go_pod("bentham", "Succeeded", now - 60, true, now - 30)},
         .metrics = {{"bentham", 1}},
         .metric_time = now,
         .metric_window = 30,
         .resource = "cpu",
         .ready = 1});
    cases.push_back(
        {.name = "unready a ready pod without fresh metrics during initialization period - CPU",
         .pods = {go_pod("bentham", "Succeeded", now - 60, true, now - 30)},
         .metrics = {{"bentham", 1}},
         .metric_time = now,
         .metric_window = 60,
         .resource = "cpu",
         .unready = {"bentham"}});
    cases.push_back(
        {.name = "unready an unready pod during initialization period - CPU",
         .pods = {go_pod("lucretius", "Succeeded", now - 600, false, now - 9 * 60 - 54)},
         .metrics = {{"lucretius", 1}},
         .resource = "cpu",
         .unready = {"lucretius"}});
    cases.push_back(
        {.name = "count in a ready pod without fresh metrics after initialization period - CPU",
         .pods = {go_pod("bentham", "Succeeded", now - 180, true, now - 180)},
         .metrics = {{"bentham", 1}},
         .metric_time = now - 120,
         .metric_window = 60,
         .resource = "cpu",
         .ready = 1});
    cases.push_back(
        {.name = "count in an unready pod that was ready after initialization period - CPU",
         .pods = {go_pod("lucretius", "Succeeded", now - 600, false, now - 540)},
         .metrics = {{"lucretius", 1}},
         .resource = "cpu",
         .ready = 1});
    cases.push_back(
        {.name = "unready pod that has never been ready after initialization period - CPU",
         .pods = {go_pod("lucretius", "Succeeded", now - 600, false, now - 9 * 60 - 50)},
         .metrics = {{"lucretius", 1}},
         .resource = "cpu",
         .ready = 1});
    cases.push_back(
        {.name = "a missing pod",
         .pods = {go_pod("epicurus", "Succeeded", now - 180, std::nullopt, std::nullopt)},
         .resource = "cpu",
         .missing = {"epicurus"}});
    cases.push_back(
        {.name = "several pods",
         .pods = {go_pod("lucretius", "Succeeded", now, std::nullopt, std::nullopt),
                  go_pod("niccolo", "Succeeded", now - 180, true, now - 180),
                  go_pod("epicurus", "Succeeded", now - 180, std::nullopt, std::nullopt)},
         .metrics = {{"lucretius", 1}, {"niccolo", 1}},
         .resource = "cpu",
         .ready = 1,
         .unready = {"lucretius"},
         .missing = {"epicurus"}});
    cases.push_back(
        {.name = "pending pods are unreadied",
         .pods = {go_pod("unscheduled", "Pending", std::nullopt, std::nullopt, std::nullopt)},
         .resource = "cpu",
         .unready = {"unscheduled"}});
    {
        PodState deleted = go_pod("deleted", "Pending", std::nullopt, std::nullopt, std::nullopt);
        deleted.deleting = true;
        cases.push_back({.name = "ignore pods with deletion timestamps",
                         .pods = {deleted},
                         .metrics = {{"deleted", 1}},
                         .resource = "cpu",
                         .ignored = {"deleted"}});
    }
    cases.push_back({.name = "ignore pods in a failed state",
                     .pods = {go_pod("failed", "Failed", std::nullopt, std::nullopt, std::nullopt)},
                     .metrics = {{"failed", 1}},
                     .resource = "cpu",
                     .ignored = {"failed"}});

    for (const GroupCase &c : cases) {
        SCOPED_TRACE(c.name);
        const PodGroups g = group_pods(c.pods, c.metrics, c.resource, now, c.metric_time,
                                       c.metric_window, testing_options());
        EXPECT_EQ(g.ready_count, c.ready);
        EXPECT_EQ(g.unready, c.unready);
        EXPECT_EQ(g.missing, c.missing);
        EXPECT_EQ(g.ignored, c.ignored);
    }
}

// ---- legacy_replica_calculator_test.go (pods started three minutes ago) ------------------

TEST(HpaReplicaCalculator, TestLegacyReplicaCalcScaleUpCMUnreadyScale) {
    run({.current_replicas = 3,
         .expected_replicas = 7,
         .metric = MetricInfo{.name = "qps",
                              .levels = {50000, 15000, 30000},
                              .kind = Kind::pods,
                              .target_utilization = 15000,
                              .expected_utilization = 31666},
         .pod_readiness = {false, true, false},
         .pod_start_time = std::vector<double>(3, cool_cpu_creation_time())});
}

TEST(HpaReplicaCalculator, TestLegacyReplicaCalcScaleDownIgnoresUnreadyPods) {
    run({.current_replicas = 5,
         .expected_replicas = 2,
         .resource = ResourceInfo{.requests = repeat("1.0", 5),
                                  .levels = make_pod_metric_levels({100, 300, 500, 250, 250}),
                                  .target_utilization = 50,
                                  .expected_utilization = 30,
                                  .expected_value = kContainersPerPod * 300},
         .pod_readiness = {true, true, true, false, false},
         .pod_start_time = std::vector<double>(5, cool_cpu_creation_time())});
}

TEST(HpaReplicaCalculator, TestLegacyReplicaCalcMissingMetricsUnreadyNoChange) {
    run({.current_replicas = 3,
         .expected_replicas = 3,
         .resource = ResourceInfo{.requests = repeat("1.0", 3),
                                  .levels = make_pod_metric_levels({100, 450}),
                                  .target_utilization = 50,
                                  .expected_utilization = 45,
                                  .expected_value = kContainersPerPod * 450},
         .pod_readiness = {false, true, true},
         .pod_start_time = std::vector<double>(3, cool_cpu_creation_time())});
}

// ---- horizontal_test.go: what only the controller's path shows ----------------------------

MetricSpec object_value_spec(std::int64_t value_milli) {
    MetricSpec spec;
    spec.type = MetricType::object;
    spec.name = "qps";
    spec.described_object = {"apps/v1", "Deployment", "some-deployment"};
    spec.target.type = TargetType::value;
    spec.target.value_milli = value_milli;
    return spec;
}

ClusterState running_pods(int n, std::int32_t current) {
    ClusterState s;
    s.time = kNow;
    s.resource_metric_time = kNow;
    s.current_replicas = current;
    for (int i = 0; i < n; ++i) {
        PodState p;
        p.name = pod_name(static_cast<std::size_t>(i));
        p.start_time = cool_cpu_creation_time();
        p.ready_since = cool_cpu_creation_time();
        ContainerRequests c;
        c.name = "container1";
        c.requests_milli["cpu"] = 1000;
        p.containers.push_back(c);
        s.pods.push_back(p);
    }
    return s;
}

TEST(HpaReplicaCalculator, TestScaleUpFromZeroCMObject) {
    // at zero replicas the ratio alone decides: ceil(20 / 15)
    ClusterState s = running_pods(0, 0);
    s.object["qps"] = 20000;
    const MetricResult r = compute_metric(object_value_spec(15000), s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 2);
    EXPECT_EQ(r.current_value_milli, 20000);
}

TEST(HpaReplicaCalculator, TestScaleUpFromZeroIgnoresToleranceCMObject) {
    ClusterState s = running_pods(0, 0);
    s.object["qps"] = 1000;
    const MetricResult r = compute_metric(object_value_spec(1000), s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 1);
}

TEST(HpaReplicaCalculator, TestScaleDownToZeroCMObject) {
    ClusterState s = running_pods(5, 5);
    s.object["qps"] = 0;
    const MetricResult r = compute_metric(object_value_spec(20000), s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 0);
    EXPECT_EQ(r.current_value_milli, 0);
}

TEST(HpaReplicaCalculator, TestScaleDownToZeroCMExternal) {
    ClusterState s = running_pods(5, 5);
    s.external["qps"] = 0;
    MetricSpec spec;
    spec.type = MetricType::external;
    spec.name = "qps";
    spec.selector = "{}";
    spec.target.type = TargetType::value;
    spec.target.value_milli = 14400;
    const MetricResult r = compute_metric(spec, s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 0);
}

TEST(HpaReplicaCalculator, TestEmptyMetrics) {
    ClusterState s = running_pods(4, 4);
    MetricSpec spec;
    spec.name = "cpu";
    spec.target.average_utilization = 100;
    const MetricResult r = compute_metric(spec, s, testing_options());
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error,
              "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics "
              "returned from resource metrics API");
    EXPECT_EQ(r.failure.type, "ScalingActive");
    EXPECT_EQ(r.failure.status, "False");
    EXPECT_EQ(r.failure.reason, "FailedGetResourceMetric");
    EXPECT_EQ(r.failure.message, "the HPA was unable to compute the replica count: " + r.error);
}

TEST(HpaReplicaCalculator, TestEmptyCPURequest) {
    ClusterState s = running_pods(1, 1);
    s.pods[0].containers[0].requests_milli.clear();
    s.resource["cpu"]["test-pod-0"] = 200;
    MetricSpec spec;
    spec.name = "cpu";
    spec.target.average_utilization = 100;
    const MetricResult r = compute_metric(spec, s, testing_options());
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error, "failed to get cpu utilization: missing request for cpu");
    EXPECT_EQ(r.failure.reason, "FailedGetResourceMetric");
    EXPECT_EQ(r.failure.message,
              "the HPA was unable to compute the replica count: failed to get cpu utilization: "
              "missing request for cpu");
}

TEST(HpaReplicaCalculator, TestConditionFailedGetMetrics) {
    // every metric type without its metric: the reason the controller sets for each
    ClusterState s = running_pods(3, 3);
    struct Want {
        MetricSpec spec;
        const char *reason;
        std::string error;
        std::string condition;  // the condition's message after its prefix
    };
    MetricSpec resource;
    resource.name = "cpu";
    resource.target.average_utilization = 10;
    MetricSpec container = resource;
    container.type = MetricType::container_resource;
    container.container = "app";
    MetricSpec pods;
    pods.type = MetricType::pods;
    pods.name = "qps";
    pods.target.type = TargetType::average_value;
    pods.target.average_value_milli = 15000;
    MetricSpec object = object_value_spec(15000);
    MetricSpec external;
    external.type = MetricType::external;
    external.name = "qps";
    external.selector = "{}";
    external.target.type = TargetType::value;
    external.target.value_milli = 300;

    const std::string no_resource =
        "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics "
        "returned from resource metrics API";
    const std::string no_pods =
        "unable to get metric qps: no metrics returned from custom metrics API";
    const std::string no_object =
        "unable to get metric qps: Deployment on default some-deployment/unable to fetch metrics "
        "from custom metrics API: the server could not find the metric qps for deployments.apps "
        "some-deployment";
    const std::string no_external =
        "unable to get external metric default/qps/&LabelSelector{MatchLabels:map[string]string{},"
        "MatchExpressions:[]LabelSelectorRequirement{},}: no metrics returned from external "
        "metrics API";
    const std::vector<Want> wants = {
        {resource, "FailedGetResourceMetric", no_resource, no_resource},
        {container, "FailedGetContainerResourceMetric", no_resource, no_resource},
        {pods, "FailedGetPodsMetric", "failed to get pods metric value: " + no_pods, no_pods},
        {object, "FailedGetObjectMetric", "failed to get object metric value: " + no_object,
         no_object},
        {external, "FailedGetExternalMetric", "failed to get external metric qps: " + no_external,
         no_external},
    };
    for (const Want &w : wants) {
        SCOPED_TRACE(w.reason);
        const MetricResult r = compute_metric(w.spec, s, testing_options());
        ASSERT_FALSE(r.ok);
        EXPECT_EQ(r.error, w.error);
        EXPECT_EQ(r.failure.type, "ScalingActive");
        EXPECT_EQ(r.failure.status, "False");
        EXPECT_EQ(r.failure.reason, w.reason);
        EXPECT_EQ(r.failure.message,
                  "the HPA was unable to compute the replica count: " + w.condition);
    }
}

// ---- paths the Go tests do not reach ------------------------------------------------------

TEST(HpaReplicaCalculator, RawResourceAverageValueUsesThePlainCalculation) {
    // GetRawResourceReplicas: 500m, 700m and a missing pod against 400m each. Above the
    // target, the missing pod counts as 0: (500 + 700 + 0) / 3 = 400, within tolerance.
    ClusterState s = running_pods(3, 3);
    s.resource["cpu"] = {{"test-pod-0", 500}, {"test-pod-1", 700}};
    MetricSpec spec;
    spec.name = "cpu";
    spec.target.type = TargetType::average_value;
    spec.target.average_value_milli = 400;
    MetricResult r = compute_metric(spec, s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 3);
    EXPECT_EQ(r.current_average_value_milli, 600);
    EXPECT_FALSE(r.current_average_utilization.has_value());

    // below the target, the missing pod counts as at the target: (100 + 100 + 400) / 3 = 200
    s.resource["cpu"] = {{"test-pod-0", 100}, {"test-pod-1", 100}};
    r = compute_metric(spec, s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 2);
    EXPECT_EQ(r.current_average_value_milli, 100);
}

TEST(HpaReplicaCalculator, PendingPodsAreUnreadyForPodsMetricsToo) {
    // scaling up: the pending pod counts as 0, (30 + 30 + 0) / 3 = 20 against 10
    ClusterState s = running_pods(3, 3);
    s.pods[2].phase = "Pending";
    s.pods_metrics["qps"] = {{"test-pod-0", 30000}, {"test-pod-1", 30000}};
    MetricSpec spec;
    spec.type = MetricType::pods;
    spec.name = "qps";
    spec.target.type = TargetType::average_value;
    spec.target.average_value_milli = 10000;
    const MetricResult r = compute_metric(spec, s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 6);
    EXPECT_EQ(r.current_average_value_milli, 30000);
}

TEST(HpaReplicaCalculator, PodsMetricMissingPodsAtExactlyTheTargetCountAsZero) {
    // calcPlainMetricReplicas gives missing pods the target only below it; at exactly the
    // target they count as 0, and (10 + 10 + 0) / 3 against 10 scales down to 2
    ClusterState s = running_pods(3, 3);
    s.pods_metrics["qps"] = {{"test-pod-0", 10000}, {"test-pod-1", 10000}};
    MetricSpec spec;
    spec.type = MetricType::pods;
    spec.name = "qps";
    spec.target.type = TargetType::average_value;
    spec.target.average_value_milli = 10000;
    const MetricResult r = compute_metric(spec, s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 2);
    EXPECT_EQ(r.current_average_value_milli, 10000);
}

TEST(HpaReplicaCalculator, ResourceScaleDownNeverProposesMoreThanCurrent) {
    // 4 pods of 1 cpu, 2 scaled to current 2 during a surge: 3 ready pods at 20% and a
    // missing one; below the 50% target the missing pod counts at its request,
    // (200 + 200 + 200 + 1000) / 4000 = 40%, and ceil(0.8 x 4) = 4 would be more than the
    // current 2: the controller keeps 2
    ClusterState s = running_pods(4, 2);
    s.resource["cpu"] = {{"test-pod-0", 200}, {"test-pod-1", 200}, {"test-pod-2", 200}};
    MetricSpec spec;
    spec.name = "cpu";
    spec.target.average_utilization = 50;
    const MetricResult r = compute_metric(spec, s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 2);
    EXPECT_EQ(r.current_average_utilization, 20);
    EXPECT_EQ(r.current_average_value_milli, 200);
}

TEST(HpaReplicaCalculator, PerPodFormsDivideByTheStatusReplicas) {
    ClusterState s = running_pods(3, 3);
    s.status_replicas = 4;
    s.object["qps"] = 20000;
    MetricSpec spec = object_value_spec(0);
    spec.target.type = TargetType::average_value;
    spec.target.average_value_milli = 5000;
    const MetricResult r = compute_metric(spec, s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 4);  // 20 / (5 x 4) = 1: within tolerance, the status' count
    EXPECT_EQ(r.current_average_value_milli, 5000);
}

TEST(HpaReplicaCalculator, ObjectValueWithoutPodsFailsOutsideTheTolerance) {
    ClusterState s = running_pods(0, 2);
    s.object["qps"] = 50000;
    const MetricResult r = compute_metric(object_value_spec(10000), s, testing_options(), "web");
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error,
              "failed to get object metric value: unable to calculate ready pods: no pods "
              "returned by selector while calculating replica count");
    EXPECT_EQ(r.failure.reason, "FailedGetObjectMetric");
}

TEST(HpaReplicaCalculator, ObjectAverageValueMissingIsWrappedTwice) {
    ClusterState s = running_pods(2, 2);
    MetricSpec spec = object_value_spec(0);
    spec.target.type = TargetType::average_value;
    spec.target.average_value_milli = 1000;
    spec.described_object = {"v1", "Service", "frontend"};
    const MetricResult r = compute_metric(spec, s, testing_options(), "web");
    ASSERT_FALSE(r.ok);
    const std::string inner =
        "unable to get metric qps: Service on web frontend/unable to fetch metrics from custom "
        "metrics API: the server could not find the metric qps for services frontend";
    EXPECT_EQ(r.error,
              "failed to get object metric value: failed to get qps object metric: " + inner);
    EXPECT_EQ(r.failure.message, "the HPA was unable to compute the replica count: " + inner);
}

TEST(HpaReplicaCalculator, ExternalAverageValueMissing) {
    ClusterState s = running_pods(2, 2);
    MetricSpec spec;
    spec.type = MetricType::external;
    spec.name = "queue_depth";
    spec.target.type = TargetType::average_value;
    spec.target.average_value_milli = 1000;
    const MetricResult r = compute_metric(spec, s, testing_options(), "web");
    ASSERT_FALSE(r.ok);
    const std::string inner =
        "unable to get external metric web/queue_depth/nil: no metrics returned from external "
        "metrics API";
    EXPECT_EQ(r.error, "failed to get queue_depth external metric: " + inner);
    EXPECT_EQ(r.failure.message, "the HPA was unable to compute the replica count: " + inner);
}

TEST(HpaReplicaCalculator, NoPodsForAResourceMetric) {
    ClusterState s = running_pods(0, 1);
    s.resource["cpu"]["test-pod-0"] = 100;
    MetricSpec spec;
    spec.name = "cpu";
    spec.target.average_utilization = 50;
    const MetricResult r = compute_metric(spec, s, testing_options());
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error,
              "failed to get cpu utilization: no pods returned by selector while calculating "
              "replica count");
}

TEST(HpaReplicaCalculator, OnlyUnreadyPodsHaveSamples) {
    ClusterState s = running_pods(2, 2);
    s.pods[0].start_time = kNow;        // within the initialization period,
    s.pods[0].ready_since = kNow - 30;  // Ready less than a window before the sample
    s.pods[1].phase = "Pending";
    s.resource["cpu"]["test-pod-0"] = 100;
    MetricSpec spec;
    spec.name = "cpu";
    spec.target.average_utilization = 50;
    const MetricResult r = compute_metric(spec, s, testing_options());
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error, "failed to get cpu utilization: did not receive metrics for any ready pods");
}

TEST(HpaReplicaCalculator, InvalidTargets) {
    ClusterState s = running_pods(2, 2);
    MetricSpec resource;
    resource.name = "cpu";
    resource.target.type = TargetType::value;
    MetricResult r = compute_metric(resource, s, testing_options());
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error,
              "invalid resource metric source: neither a utilization target nor a value target "
              "was set");
    EXPECT_EQ(r.failure.reason, "FailedGetResourceMetric");

    MetricSpec object = object_value_spec(0);
    object.target.type = TargetType::utilization;
    r = compute_metric(object, s, testing_options());
    ASSERT_FALSE(r.ok);
    EXPECT_EQ(r.error,
              "failed to get object metric value: invalid object metric source: neither a value "
              "target nor an average value target was set");
}

TEST(HpaReplicaCalculator, AnAverageValueIsUsedWhateverTheTargetsType) {
    // the API does not tie the fields to the type; for Resource and External the controller
    // looks for an averageValue first
    ClusterState s = running_pods(2, 2);
    s.resource["cpu"] = {{"test-pod-0", 900}, {"test-pod-1", 900}};
    MetricSpec resource;
    resource.name = "cpu";
    resource.target.type = TargetType::utilization;
    resource.target.average_value_milli = 300;
    MetricResult r = compute_metric(resource, s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 6);
    EXPECT_EQ(r.current_average_value_milli, 900);
    EXPECT_FALSE(r.current_average_utilization.has_value());

    s.external["queue"] = 9000;
    MetricSpec external;
    external.type = MetricType::external;
    external.name = "queue";
    external.target.type = TargetType::value;
    external.target.average_value_milli = 1000;
    r = compute_metric(external, s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, 9);
    EXPECT_EQ(r.current_average_value_milli, 4500);
    EXPECT_FALSE(r.current_value_milli.has_value());
}

TEST(HpaReplicaCalculator, HugeRatiosConvertAsGoDoesOnAmd64) {
    // int32(math.Ceil(x)) of a value beyond int32 is the most negative int32 on amd64
    ClusterState s = running_pods(2, 2);
    s.object["qps"] = std::int64_t{1} << 50;
    const MetricResult r = compute_metric(object_value_spec(1), s, testing_options());
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.proposal, std::numeric_limits<std::int32_t>::min());
}

TEST(HpaReplicaCalculator, DescribeSelectorAsGoPrintsIt) {
    EXPECT_EQ(describe_selector(""), "nil");
    EXPECT_EQ(describe_selector("{}"),
              "&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]"
              "LabelSelectorRequirement{},}");
    EXPECT_EQ(
        describe_selector(
            R"({"matchLabels":{"queue":"emails","app":"workers"},"matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]},{"key":"x","operator":"Exists"}]})"),
        "&LabelSelector{MatchLabels:map[string]string{app: workers,queue: emails,},"
        "MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:tier,"
        "Operator:In,Values:[a b],},LabelSelectorRequirement{Key:x,Operator:Exists,Values:"
        "[],},},}");
}

}  // namespace
