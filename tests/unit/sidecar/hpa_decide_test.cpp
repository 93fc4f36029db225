// The HPA's whole decision (sidecar/lib/hpa/decide.h), against kube-controller-manager
// 1.20's own controller tests (pkg/controller/podautoscaler/horizontal_test.go and
// legacy_horizontal_test.go): each TEST is named after the Go test it translates and
// expects the replica count, whether the scale is updated, the conditions (type, status,
// reason; the Go tests clear the messages) and, where the Go test verifies it, the CPU
// utilization reported.
//
// The Go tests' fakes become model.h's state: the pods "test-pod-<i>" (one per CPU request
// given, else one per status replica) with two containers requesting half the pod's CPU
// each, Ready as given, started when given (else at Go's zero time, which is also their
// Ready transition), Running unless given; the metrics API's samples (each container half
// the level, so the pod's total is the level rounded down to even) at "now" over one
// minute; the custom metrics API's per-pod "qps" levels, the Object metric the first level
// and the External metric the sum of the levels. An API that fails in the Go test has no
// samples here. The controller's options are the Go tests' (tolerance 0.1, CPU
// initialization 2 minutes, readiness delay 10 s, downscale stabilization 5 minutes), and
// its history is the one the Go test sets, or, as the controller does on first sight, the
// current count recorded now.
//
// The Go tests raise scaleUpLimitFactor to 8; no case below reaches the scale-up limit of
// an HPA without behavior with either factor, so the controller's 2 is used unchanged.
// Go tests with an unknown metric type ("CheddarCheese") are translated with an External
// metric that has no value (a metric that fails the same way for decide()); the failure
// reason is then FailedGetExternalMetric instead of InvalidMetricSourceType.
#include "hpa/decide.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "hpa/behavior.h"

namespace pulse::hpa {
namespace {

constexpr double kNow = 1'600'000'000;
constexpr double kGoZeroTime = -62'135'596'800;  // time.Time{} in Unix seconds
constexpr double kHot = kNow;                    // hotCPUCreationTime()
constexpr double kCool = kNow - 180;             // coolCPUCreationTime()

ControllerOptions go_test_options() {
    ControllerOptions o;
    o.tolerance = 0.1;
    o.cpu_initialization_period = 120;
    o.initial_readiness_delay = 10;
    o.downscale_stabilization_window = 300;
    return o;
}

// ---- metric specs as the Go tests write them --------------------------------------------

MetricSpec cpu_utilization(std::int32_t percent) {
    MetricSpec m;
    m.type = MetricType::resource;
    m.name = "cpu";
    m.target.type = TargetType::utilization;
    m.target.average_utilization = percent;
    return m;
}

MetricSpec container_cpu_utilization(const std::string &container, std::int32_t percent) {
    MetricSpec m = cpu_utilization(percent);
    m.type = MetricType::container_resource;
    m.container = container;
    return m;
}

MetricSpec pods_qps(std::int64_t average_milli) {
    MetricSpec m;
    m.type = MetricType::pods;
    m.name = "qps";
    m.target.type = TargetType::average_value;
    m.target.average_value_milli = average_milli;
    return m;
}

MetricSpec object_qps(TargetType type, std::int64_t milli, std::string selector = "") {
    MetricSpec m;
    m.type = MetricType::object;
    m.name = "qps";
    m.selector = std::move(selector);
    m.described_object = {"apps/v1", "Deployment", "some-deployment"};
    m.target.type = type;
    if (type == TargetType::value) {
        m.target.value_milli = milli;
    } else {
        m.target.average_value_milli = milli;
    }
    return m;
}

// `Selector: &metav1.LabelSelector{}` in the Go tests.
MetricSpec external_qps(TargetType type, std::int64_t milli) {
    MetricSpec m;
    m.type = MetricType::external;
    m.name = "qps";
    m.selector = "{}";
    m.target.type = type;
    if (type == TargetType::value) {
        m.target.value_milli = milli;
    } else {
        m.target.average_value_milli = milli;
    }
    return m;
}

// Stands for the Go tests' `Type: "CheddarCheese"`: a metric that cannot be computed.
MetricSpec invalid_metric() {
    MetricSpec m;
    m.type = MetricType::external;
    m.name = "cheddar-cheese";
    m.target.type = TargetType::value;
    m.target.value_milli = 1000;
    return m;
}

// generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow)
ScalingRules generate_rules(std::int32_t pods, std::int32_t pods_period, std::int32_t percent,
                            std::int32_t percent_period, std::int32_t window) {
    ScalingRules r;
    r.select_policy = SelectPolicy::max;
    r.stabilization_window_seconds = window;
    if (pods != 0) r.policies.push_back({PolicyType::pods, pods, pods_period});
    if (percent != 0) r.policies.push_back({PolicyType::percent, percent, percent_period});
    return r;
}

ScalingRules with_defaults(const std::optional<ScalingRules> &written, ScalingRules defaults) {
    if (!written) return defaults;
    ScalingRules r = *written;
    if (r.policies.empty()) r.policies = defaults.policies;
    return r;
}

// ---- conditions ---------------------------------------------------------------------------

using Cond = std::tuple<std::string, std::string, std::string>;  // type, status, reason

// statusOkWithOverrides(): the "ok" conditions with the overrides applied in order.
std::vector<Cond> status_ok(const std::vector<Cond> &overrides = {}) {
    std::vector<Cond> list = {{"AbleToScale", "True", "SucceededRescale"},
                              {"ScalingActive", "True", "ValidMetricFound"},
                              {"ScalingLimited", "False", "DesiredWithinRange"}};
    for (const Cond &o : overrides) {
        bool found = false;
        for (Cond &c : list) {
            if (std::get<0>(c) == std::get<0>(o)) {
                c = o;
                found = true;
            }
        }
        if (!found) list.push_back(o);
    }
    return list;
}

std::vector<Cond> conditions_of(const Decision &d) {
    std::vector<Cond> out;
    for (const Condition &c : d.conditions) out.emplace_back(c.type, c.status, c.reason);
    return out;
}

// ---- the Go testCase --------------------------------------------------------------------

struct GoCase {
    std::int32_t min_replicas = 0, max_replicas = 0;
    std::int32_t spec_replicas = 0, status_replicas = 0;
    std::int32_t cpu_target = 0;  // CPUTarget: a cpu utilization metric first when > 0
    std::vector<MetricSpec> metrics;
    std::vector<std::int64_t> levels;                       // reportedLevels
    std::optional<std::vector<std::int64_t>> cpu_requests;  // reportedCPURequests, milli
    std::vector<bool> readiness;                            // reportedPodReadiness
    std::vector<double> start_times;                        // reportedPodStartTime
    std::vector<std::string> phases;                        // reportedPodPhase
    std::vector<bool> deleting;                             // reportedPodDeletionTimestamp
    std::optional<ScalingRules> scale_up, scale_down;       // scaleUpRules, scaleDownRules
    std::optional<std::vector<TimedReplicas>> recommendations;
    bool resource_api_fails = false, custom_api_fails = false, external_api_fails = false;
    bool legacy = false;  // legacy_horizontal_test.go's pods (see LegacyCase)

    std::int32_t expected = 0;                             // expectedDesiredReplicas
    std::optional<std::vector<Cond>> expected_conditions;  // nullopt: statusOk
    bool check_conditions = true;
    bool verify_cpu_current = false;
    std::int32_t cpu_current = 0;  // CPUCurrent; 0: computed as the Go test computes it
};

HpaSpec hpa_of(const GoCase &c) {
    HpaSpec hpa;
    hpa.api_version = "autoscaling/v2beta2";
    hpa.ns = "test-namespace";
    hpa.name = "test-hpa";
    hpa.scale_target = {"v1", "ReplicationController", "test-rc"};
    hpa.min_replicas = c.min_replicas;
    hpa.max_replicas = c.max_replicas;
    if (c.cpu_target > 0) hpa.metrics.push_back(cpu_utilization(c.cpu_target));
    for (const MetricSpec &m : c.metrics) hpa.metrics.push_back(m);
    // With no metric the Go test adds a cpu metric without a target, which no case computes
    // (they all take the out-of-range path); left empty here.
    if (c.scale_up || c.scale_down) {
        hpa.behavior = Behavior{with_defaults(c.scale_up, default_scale_up_rules()),
                                with_defaults(c.scale_down, default_scale_down_rules())};
    }
    return hpa;
}

ClusterState state_of(const GoCase &c) {
    ClusterState s;
    s.time = kNow;
    s.current_replicas = c.spec_replicas;
    s.status_replicas = c.status_replicas;
    s.resource_metric_time = kNow;
    s.resource_metric_window = 60;
    const std::size_t pods =
        c.cpu_requests ? c.cpu_requests->size() : static_cast<std::size_t>(c.status_replicas);
    for (std::size_t i = 0; i < pods; ++i) {
        PodState p;
        p.name = "test-pod-" + std::to_string(i);
        p.phase = c.phases.empty() ? "Running" : c.phases[i];
        p.ready = c.readiness.empty() || c.readiness[i];
        p.deleting = !c.deleting.empty() && c.deleting[i];
        const std::int64_t request = c.cpu_requests ? (*c.cpu_requests)[i] : 1000;
        if (c.legacy) {
            p.start_time = kNow - 180;
            p.ready_since = kGoZeroTime;
            p.containers.push_back({"container", {{"cpu", request}}});
        } else {
            const double start = c.start_times.empty() ? kGoZeroTime : c.start_times[i];
            p.start_time = start;
            p.ready_since = start;
            p.containers.push_back({"container1", {{"cpu", request / 2}}});
            p.containers.push_back({"container2", {{"cpu", request / 2}}});
        }
        s.pods.push_back(std::move(p));
    }
    for (std::size_t i = 0; i < c.levels.size(); ++i) {
        const std::string pod = "test-pod-" + std::to_string(i);
        const std::int64_t level = c.levels[i];
        if (!c.resource_api_fails) {
            if (c.legacy) {
                s.resource["cpu"][pod] = level;
                s.resource["memory"][pod] = 1024 * 1024 * 1000LL;
            } else {
                s.resource["cpu"][pod] = level / 2 * 2;
                s.resource["memory"][pod] = 1024 * 1024 / 2 * 2 * 1000LL;
                s.container_resource["container1/cpu"][pod] = level / 2;
                s.container_resource["container2/cpu"][pod] = level / 2;
                s.container_resource["container1/memory"][pod] = 1024 * 1024 / 2 * 1000LL;
                s.container_resource["container2/memory"][pod] = 1024 * 1024 / 2 * 1000LL;
            }
        }
        if (!c.custom_api_fails) s.pods_metrics["qps"][pod] = level;
    }
    if (!c.levels.empty()) {
        if (!c.custom_api_fails) s.object["qps"] = c.levels[0];
        if (!c.external_api_fails) {
            std::int64_t sum = 0;
            for (std::int64_t l : c.levels) sum += l;
            s.external["qps"] = sum;
        }
    }
    s.recommendations =
        c.recommendations.value_or(std::vector<TimedReplicas>{{kNow, c.spec_replicas}});
    return s;
}

Decision run(const GoCase &c) {
    return decide(hpa_of(c), state_of(c), go_test_options());
}

void check(const GoCase &c) {
    const Decision d = run(c);
    EXPECT_EQ(d.current_replicas, c.spec_replicas);
    EXPECT_EQ(d.desired_replicas, c.expected) << "the desired replica count";
    EXPECT_EQ(d.rescale, c.spec_replicas != c.expected) << "whether the scale is updated";
    if (c.check_conditions) {
        EXPECT_EQ(conditions_of(d), c.expected_conditions.value_or(status_ok()));
    }
    if (c.verify_cpu_current) {
        std::int32_t expected = c.cpu_current;
        if (expected == 0 && c.cpu_requests && c.levels.size() == c.cpu_requests->size() &&
            !c.levels.empty()) {
            std::int64_t reported = 0, requested = 0;
            for (std::int64_t l : c.levels) reported += l;
            for (std::int64_t r : *c.cpu_requests) requested += r;
            expected = static_cast<std::int32_t>(100 * reported / requested);
        }
        ASSERT_FALSE(d.metrics.empty());
        ASSERT_TRUE(d.metrics[0].ok) << d.metrics[0].error;
        ASSERT_TRUE(d.metrics[0].current_average_utilization.has_value());
        EXPECT_EQ(*d.metrics[0].current_average_utilization, expected)
            << "the reported CPU utilization";
    }
}

const std::vector<std::int64_t> k1000x3 = {1000, 1000, 1000};
const std::vector<std::int64_t> k1000x4 = {1000, 1000, 1000, 1000};
const std::vector<std::int64_t> k1000x5 = {1000, 1000, 1000, 1000, 1000};
const std::vector<std::int64_t> k1000x7 = {1000, 1000, 1000, 1000, 1000, 1000, 1000};
const std::vector<std::int64_t> k900to1100 = {900, 1000, 1100};
const std::vector<std::int64_t> k100x3 = {100, 100, 100};
const std::vector<TimedReplicas> kNoHistory = {};

// ---- horizontal_test.go: scaling up ---------------------------------------------------

TEST(HpaDecideTest, ScaleUp) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 5;
    c.cpu_target = 30;
    c.verify_cpu_current = true;
    c.levels = {300, 500, 700};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaDecideTest, ScaleUpContainer) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 5;
    c.metrics = {container_cpu_utilization("container1", 30)};
    c.levels = {300, 500, 700};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaDecideTest, ScaleUpUnreadyLessScale) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 4;
    c.cpu_target = 30;
    c.cpu_current = 60;
    c.verify_cpu_current = true;
    c.levels = {300, 500, 700};
    c.cpu_requests = k1000x3;
    c.readiness = {false, true, true};
    check(c);
}

TEST(HpaDecideTest, ScaleUpHotCpuLessScale) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 4;
    c.cpu_target = 30;
    c.cpu_current = 60;
    c.verify_cpu_current = true;
    c.levels = {300, 500, 700};
    c.cpu_requests = k1000x3;
    c.start_times = {kHot, kCool, kCool};
    check(c);
}

TEST(HpaDecideTest, ScaleUpUnreadyNoScale) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 3;
    c.cpu_target = 30;
    c.cpu_current = 40;
    c.verify_cpu_current = true;
    c.levels = {400, 500, 700};
    c.cpu_requests = k1000x3;
    c.readiness = {true, false, false};
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c);
}

TEST(HpaDecideTest, ScaleUpHotCpuNoScale) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 3;
    c.cpu_target = 30;
    c.cpu_current = 40;
    c.verify_cpu_current = true;
    c.levels = {400, 500, 700};
    c.cpu_requests = k1000x3;
    c.readiness = {true, false, false};
    c.start_times = {kCool, kHot, kHot};
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c);
}

TEST(HpaDecideTest, ScaleUpIgnoresFailedPods) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 2, c.status_replicas = 2;
    c.expected = 4;
    c.cpu_target = 30;
    c.cpu_current = 60;
    c.verify_cpu_current = true;
    c.levels = {500, 700};
    c.cpu_requests = k1000x4;
    c.readiness = {true, true, false, false};
    c.phases = {"Running", "Running", "Failed", "Failed"};
    check(c);
}

TEST(HpaDecideTest, ScaleUpIgnoresDeletionPods) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 2, c.status_replicas = 2;
    c.expected = 4;
    c.cpu_target = 30;
    c.cpu_current = 60;
    c.verify_cpu_current = true;
    c.levels = {500, 700};
    c.cpu_requests = k1000x4;
    c.readiness = {true, true, false, false};
    c.phases = {"Running", "Running", "Running", "Running"};
    c.deleting = {false, false, true, true};
    check(c);
}

// TestScaleUpDeployment and TestScaleUpReplicaSet differ from TestScaleUp only in the
// target's kind, which the decision does not read.
TEST(HpaDecideTest, ScaleUpDeploymentAndReplicaSet) {
    for (const char *kind : {"Deployment", "ReplicaSet"}) {
        SCOPED_TRACE(kind);
        GoCase c;
        c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
        c.expected = 5;
        c.cpu_target = 30;
        c.verify_cpu_current = true;
        c.levels = {300, 500, 700};
        c.cpu_requests = k1000x3;
        HpaSpec hpa = hpa_of(c);
        hpa.scale_target = {"apps/v1", kind, "test-dep"};
        Decision d = decide(hpa, state_of(c), go_test_options());
        EXPECT_EQ(d.desired_replicas, 5);
        EXPECT_EQ(conditions_of(d), status_ok());
    }
}

TEST(HpaDecideTest, ScaleUpCM) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 4;
    c.metrics = {pods_qps(15000)};
    c.levels = {20000, 10000, 30000};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaDecideTest, ScaleUpCMUnreadyAndHotCpuNoLessScale) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 6;
    c.metrics = {pods_qps(15000)};
    c.levels = {50000, 10000, 30000};
    c.readiness = {true, true, false};
    c.start_times = {kCool, kCool, kHot};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaDecideTest, ScaleUpCMUnreadyandCpuHot) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 6;
    c.metrics = {pods_qps(15000)};
    c.levels = {50000, 15000, 30000};
    c.readiness = {false, true, false};
    c.start_times = {kHot, kCool, kHot};
    c.cpu_requests = k1000x3;
    c.expected_conditions = status_ok({{"AbleToScale", "True", "SucceededRescale"},
                                       {"ScalingLimited", "True", "TooManyReplicas"}});
    check(c);
}

TEST(HpaDecideTest, ScaleUpHotCpuNoScaleWouldScaleDown) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 6;
    c.metrics = {pods_qps(15000)};
    c.levels = {50000, 15000, 30000};
    c.cpu_requests = k1000x3;
    c.start_times = {kHot, kCool, kHot};
    c.expected_conditions = status_ok({{"AbleToScale", "True", "SucceededRescale"},
                                       {"ScalingLimited", "True", "TooManyReplicas"}});
    check(c);
}

TEST(HpaDecideTest, ScaleUpCMObject) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 4;
    c.metrics = {object_qps(TargetType::value, 15000)};
    c.levels = {20000};
    check(c);
}

TEST(HpaDecideTest, ScaleUpFromZeroCMObject) {
    GoCase c;
    c.min_replicas = 0, c.max_replicas = 6, c.spec_replicas = 0, c.status_replicas = 0;
    c.expected = 2;
    c.metrics = {object_qps(TargetType::value, 15000)};
    c.levels = {20000};
    check(c);
}

TEST(HpaDecideTest, ScaleUpFromZeroIgnoresToleranceCMObject) {
    GoCase c;
    c.min_replicas = 0, c.max_replicas = 6, c.spec_replicas = 0, c.status_replicas = 0;
    c.expected = 1;
    c.metrics = {object_qps(TargetType::value, 1000)};
    c.levels = {1000};
    check(c);
}

TEST(HpaDecideTest, ScaleUpPerPodCMObject) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 4;
    c.metrics = {object_qps(TargetType::average_value, 10000)};
    c.levels = {40000};
    check(c);
}

TEST(HpaDecideTest, ScaleUpCMExternal) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 4;
    c.metrics = {external_qps(TargetType::value, 6666)};
    c.levels = {8600};
    check(c);
}

TEST(HpaDecideTest, ScaleUpPerPodCMExternal) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 4;
    c.metrics = {external_qps(TargetType::average_value, 2222)};
    c.levels = {8600};
    check(c);
}

// ---- scaling down -----------------------------------------------------------------------

TEST(HpaDecideTest, ScaleDown) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.cpu_target = 50;
    c.verify_cpu_current = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownContainerResource) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.metrics = {container_cpu_utilization("container2", 50)};
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownWithScalingRules) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.scale_up = generate_rules(0, 0, 100, 15, 30);
    c.expected = 3;
    c.cpu_target = 50;
    c.verify_cpu_current = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleUpOneMetricInvalid) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 4;
    c.cpu_target = 30;
    c.verify_cpu_current = true;
    c.metrics = {invalid_metric()};
    c.levels = {300, 400, 500};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaDecideTest, ScaleUpFromZeroOneMetricInvalid) {
    GoCase c;
    c.min_replicas = 0, c.max_replicas = 6, c.spec_replicas = 0, c.status_replicas = 0;
    c.expected = 4;
    c.cpu_target = 30;
    c.verify_cpu_current = true;
    c.metrics = {invalid_metric()};
    c.levels = {300, 400, 500};
    c.cpu_requests = k1000x3;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleUpBothMetricsEmpty) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 3;
    c.metrics = {invalid_metric()};
    c.cpu_requests = k1000x3;
    c.expected_conditions =
        std::vector<Cond>{{"AbleToScale", "True", "SucceededGetScale"},
                          {"ScalingActive", "False", "FailedGetExternalMetric"}};
    check(c);
}

TEST(HpaDecideTest, ScaleDownStabilizeInitialSize) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 5;
    c.cpu_target = 50;
    c.verify_cpu_current = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"},
                                       {"AbleToScale", "True", "ScaleDownStabilized"}});
    check(c);
}

TEST(HpaDecideTest, ScaleDownCM) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.metrics = {pods_qps(20000)};
    c.levels = {12000, 12000, 12000, 12000, 12000};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownCMObject) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.metrics = {object_qps(TargetType::value, 20000)};
    c.levels = {12000};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownToZeroCMObject) {
    GoCase c;
    c.min_replicas = 0, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 0;
    c.metrics = {object_qps(TargetType::value, 20000)};
    c.levels = {0};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownPerPodCMObject) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.metrics = {object_qps(TargetType::average_value, 20000)};
    c.levels = {60000};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownCMExternal) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.metrics = {external_qps(TargetType::value, 14400)};
    c.levels = {8600};
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownToZeroCMExternal) {
    GoCase c;
    c.min_replicas = 0, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 0;
    c.metrics = {external_qps(TargetType::value, 14400)};
    c.levels = {0};
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownPerPodCMExternal) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.metrics = {external_qps(TargetType::average_value, 3000)};
    c.levels = {8600};
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownIncludeUnreadyPods) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 2;
    c.cpu_target = 50;
    c.cpu_current = 30;
    c.verify_cpu_current = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.readiness = {true, true, true, false, false};
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownOneMetricInvalid) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.cpu_target = 50;
    c.metrics = {invalid_metric()};
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownOneMetricEmpty) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.cpu_target = 50;
    c.metrics = {external_qps(TargetType::average_value, 1000)};
    c.external_api_fails = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownIgnoreHotCpuPods) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 2;
    c.cpu_target = 50;
    c.cpu_current = 30;
    c.verify_cpu_current = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.start_times = {kCool, kCool, kCool, kHot, kHot};
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownIgnoresFailedPods) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.cpu_target = 50;
    c.cpu_current = 28;
    c.verify_cpu_current = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x7;
    c.readiness = {true, true, true, true, true, false, false};
    c.phases = {"Running", "Running", "Running", "Running", "Running", "Failed", "Failed"};
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ScaleDownIgnoresDeletionPods) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 3;
    c.cpu_target = 50;
    c.cpu_current = 28;
    c.verify_cpu_current = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x7;
    c.readiness = {true, true, true, true, true, false, false};
    c.phases = {"Running", "Running", "Running", "Running", "Running", "Running", "Running"};
    c.deleting = {false, false, false, false, false, true, true};
    c.recommendations = kNoHistory;
    check(c);
}

// ---- tolerance --------------------------------------------------------------------------

TEST(HpaDecideTest, Tolerance) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 5, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 3;
    c.cpu_target = 100;
    c.levels = {1010, 1030, 1020};
    c.cpu_requests = k900to1100;
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c);
}

TEST(HpaDecideTest, ToleranceCM) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 5, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 3;
    c.metrics = {pods_qps(20000)};
    c.levels = {20000, 20001, 21000};
    c.cpu_requests = k900to1100;
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c);
}

TEST(HpaDecideTest, ToleranceCMObject) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 5, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 3;
    c.metrics = {object_qps(TargetType::value, 20000)};
    c.levels = {20050};
    c.cpu_requests = k900to1100;
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c);
}

TEST(HpaDecideTest, ToleranceCMExternal) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 4, c.status_replicas = 4;
    c.expected = 4;
    c.metrics = {external_qps(TargetType::value, 8666)};
    c.levels = {8600};
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c);
}

TEST(HpaDecideTest, TolerancePerPodCMObject) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 4, c.status_replicas = 4;
    c.expected = 4;
    c.metrics = {object_qps(TargetType::average_value, 2200, "{}")};
    c.levels = {8600};
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c);
}

TEST(HpaDecideTest, TolerancePerPodCMExternal) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 4, c.status_replicas = 4;
    c.expected = 4;
    c.metrics = {external_qps(TargetType::average_value, 2200)};
    c.levels = {8600};
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c);
}

// ---- min/max ----------------------------------------------------------------------------

TEST(HpaDecideTest, MinReplicas) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 5, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 2;
    c.cpu_target = 90;
    c.levels = {10, 95, 10};
    c.cpu_requests = k900to1100;
    c.expected_conditions = status_ok({{"ScalingLimited", "True", "TooFewReplicas"}});
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ZeroMinReplicasDesiredZero) {
    GoCase c;
    c.min_replicas = 0, c.max_replicas = 5, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 0;
    c.cpu_target = 90;
    c.levels = {0, 0, 0};
    c.cpu_requests = k900to1100;
    c.expected_conditions = status_ok({{"ScalingLimited", "False", "DesiredWithinRange"}});
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, MinReplicasDesiredZero) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 5, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 2;
    c.cpu_target = 90;
    c.levels = {0, 0, 0};
    c.cpu_requests = k900to1100;
    c.expected_conditions = status_ok({{"ScalingLimited", "True", "TooFewReplicas"}});
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, ZeroReplicas) {
    GoCase c;
    c.min_replicas = 3, c.max_replicas = 5, c.spec_replicas = 0, c.status_replicas = 0;
    c.expected = 0;
    c.cpu_target = 90;
    c.cpu_requests = std::vector<std::int64_t>{};
    c.expected_conditions = std::vector<Cond>{{"AbleToScale", "True", "SucceededGetScale"},
                                              {"ScalingActive", "False", "ScalingDisabled"}};
    check(c);
}

TEST(HpaDecideTest, TooFewReplicas) {
    GoCase c;
    c.min_replicas = 3, c.max_replicas = 5, c.spec_replicas = 2, c.status_replicas = 2;
    c.expected = 3;
    c.cpu_target = 90;
    c.cpu_requests = std::vector<std::int64_t>{};
    c.expected_conditions = std::vector<Cond>{{"AbleToScale", "True", "SucceededRescale"}};
    check(c);
}

TEST(HpaDecideTest, TooManyReplicas) {
    GoCase c;
    c.min_replicas = 3, c.max_replicas = 5, c.spec_replicas = 10, c.status_replicas = 10;
    c.expected = 5;
    c.cpu_target = 90;
    c.cpu_requests = std::vector<std::int64_t>{};
    c.expected_conditions = std::vector<Cond>{{"AbleToScale", "True", "SucceededRescale"}};
    check(c);
}

TEST(HpaDecideTest, MaxReplicas) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 5, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 5;
    c.cpu_target = 90;
    c.levels = {8000, 9500, 1000};
    c.cpu_requests = k900to1100;
    c.expected_conditions = status_ok({{"ScalingLimited", "True", "TooManyReplicas"}});
    check(c);
}

TEST(HpaDecideTest, SuperfluousMetrics) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 4, c.status_replicas = 4;
    c.expected = 6;
    c.cpu_target = 100;
    c.levels = {4000, 9500, 3000, 7000, 3200, 2000};
    c.cpu_requests = k1000x4;
    c.expected_conditions = status_ok({{"ScalingLimited", "True", "TooManyReplicas"}});
    check(c);
}

TEST(HpaDecideTest, MissingMetrics) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 4, c.status_replicas = 4;
    c.expected = 3;
    c.cpu_target = 100;
    c.levels = {400, 95};
    c.cpu_requests = k1000x4;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaDecideTest, EmptyMetrics) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 4, c.status_replicas = 4;
    c.expected = 4;
    c.cpu_target = 100;
    c.cpu_requests = k1000x4;
    c.expected_conditions =
        std::vector<Cond>{{"AbleToScale", "True", "SucceededGetScale"},
                          {"ScalingActive", "False", "FailedGetResourceMetric"}};
    check(c);
}

TEST(HpaDecideTest, EmptyCPURequest) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 5, c.spec_replicas = 1, c.status_replicas = 1;
    c.expected = 1;
    c.cpu_target = 100;
    c.levels = {200};
    c.cpu_requests = std::vector<std::int64_t>{};
    c.expected_conditions =
        std::vector<Cond>{{"AbleToScale", "True", "SucceededGetScale"},
                          {"ScalingActive", "False", "FailedGetResourceMetric"}};
    check(c);
}

TEST(HpaDecideTest, EventCreated) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 5, c.spec_replicas = 1, c.status_replicas = 1;
    c.expected = 2;
    c.cpu_target = 50;
    c.levels = {200};
    c.cpu_requests = std::vector<std::int64_t>{200};
    check(c);
}

TEST(HpaDecideTest, EventNotCreated) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 5, c.spec_replicas = 2, c.status_replicas = 2;
    c.expected = 2;
    c.cpu_target = 50;
    c.levels = {200, 200};
    c.cpu_requests = std::vector<std::int64_t>{400, 400};
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c);
}

TEST(HpaDecideTest, MissingReports) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 5, c.spec_replicas = 4, c.status_replicas = 4;
    c.expected = 2;
    c.cpu_target = 50;
    c.levels = {200};
    c.cpu_requests = std::vector<std::int64_t>{200};
    c.recommendations = kNoHistory;
    check(c);
}

// ---- behavior: the scale-up policy --------------------------------------------------------

TEST(HpaDecideTest, UpscaleCap) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 100, c.spec_replicas = 3, c.status_replicas = 3;
    c.scale_up = generate_rules(0, 0, 700, 60, 0);
    c.expected = 24;
    c.cpu_target = 10;
    c.levels = {100, 200, 300};
    c.cpu_requests = k100x3;
    c.expected_conditions = status_ok({{"ScalingLimited", "True", "ScaleUpLimit"}});
    check(c);
}

TEST(HpaDecideTest, UpscaleCapGreaterThanMaxReplicas) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 20, c.spec_replicas = 3, c.status_replicas = 3;
    c.scale_up = generate_rules(0, 0, 700, 60, 0);
    c.expected = 20;  // 24 without maxReplicas
    c.cpu_target = 10;
    c.levels = {100, 200, 300};
    c.cpu_requests = k100x3;
    c.expected_conditions = status_ok({{"ScalingLimited", "True", "TooManyReplicas"}});
    check(c);
}

// The Deployment's rollout surges a fifth pod: spec 4, status 5.
TEST(HpaDecideTest, MoreReplicasThanSpecNoScale) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 8, c.spec_replicas = 4, c.status_replicas = 5;
    c.expected = 4;
    c.cpu_target = 50;
    c.levels = {500, 500, 500, 500, 500};
    c.cpu_requests = k1000x5;
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c);
}

// ---- conditions on failures -----------------------------------------------------------

TEST(HpaDecideTest, ConditionFailedGetMetrics) {
    struct Sub {
        const char *reason;
        std::vector<MetricSpec> metrics;
    };
    const Sub subs[] = {
        {"FailedGetResourceMetric", {}},
        {"FailedGetPodsMetric", {pods_qps(15000)}},
        {"FailedGetObjectMetric", {object_qps(TargetType::value, 15000)}},
        {"FailedGetExternalMetric", {external_qps(TargetType::value, 300)}},
    };
    for (const Sub &s : subs) {
        SCOPED_TRACE(s.reason);
        GoCase c;
        c.min_replicas = 1, c.max_replicas = 100, c.spec_replicas = 3, c.status_replicas = 3;
        c.expected = 3;
        c.cpu_target = s.metrics.empty() ? 10 : 0;
        c.metrics = s.metrics;
        c.levels = {100, 200, 300};
        c.cpu_requests = k100x3;
        c.resource_api_fails = c.custom_api_fails = c.external_api_fails = true;
        c.expected_conditions = std::vector<Cond>{{"AbleToScale", "True", "SucceededGetScale"},
                                                  {"ScalingActive", "False", s.reason}};
        check(c);
    }
}

TEST(HpaDecideTest, NoBackoffUpscaleCM) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 5, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 4;
    c.metrics = {pods_qps(15000)};
    c.levels = {20000, 10000, 30000};
    c.cpu_requests = k1000x3;
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"},
                                       {"AbleToScale", "True", "SucceededRescale"},
                                       {"ScalingLimited", "False", "DesiredWithinRange"}});
    check(c);
}

TEST(HpaDecideTest, NoBackoffUpscaleCMNoBackoffCpu) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 5, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 5;
    c.cpu_target = 10;
    c.metrics = {pods_qps(15000)};
    c.levels = {20000, 10000, 30000};
    c.cpu_requests = k1000x3;
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"},
                                       {"AbleToScale", "True", "SucceededRescale"},
                                       {"ScalingLimited", "True", "TooManyReplicas"}});
    check(c);
}

TEST(HpaDecideTest, StabilizeDownscale) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 5, c.spec_replicas = 4, c.status_replicas = 4;
    c.expected = 4;
    c.cpu_target = 100;
    c.levels = {50, 50, 50};
    c.cpu_requests = k100x3;
    c.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"},
                                       {"AbleToScale", "True", "ScaleDownStabilized"}});
    c.recommendations = std::vector<TimedReplicas>{{kNow - 600, 10}, {kNow - 60, 4}};
    check(c);
}

// A regression test of the tolerance: the target is back-calculated so that the ratio
// just leaves (first case) or stays within (second case) the tolerance.
TEST(HpaDecideTest, ComputedToleranceAlgImplementation) {
    const std::int32_t start_pods = 10;
    const std::uint64_t total_used = static_cast<std::uint64_t>(start_pods) * 150;
    const std::int32_t total_requested = static_cast<std::int32_t>(2 * total_used);
    const double requested_to_used =
        static_cast<double>(total_requested / static_cast<std::int32_t>(total_used));
    const std::int32_t per_pod_requested = total_requested / start_pods;
    const double tolerance = go_test_options().tolerance;

    double target = std::abs(1 / (requested_to_used * (1 - tolerance))) + .01;
    const std::int32_t final_cpu_target = static_cast<std::int32_t>(target * 100);
    const double used_ratio =
        static_cast<double>(total_used) / (static_cast<double>(total_requested) * target);
    const std::int32_t final_pods =
        static_cast<std::int32_t>(std::ceil(used_ratio * static_cast<double>(start_pods)));
    ASSERT_EQ(final_cpu_target, 56);
    ASSERT_EQ(final_pods, 9);

    const std::int64_t p = per_pod_requested;
    GoCase c1;
    c1.min_replicas = 0, c1.max_replicas = 1000;
    c1.spec_replicas = c1.status_replicas = start_pods;
    c1.expected = final_pods;
    c1.cpu_target = final_cpu_target;
    c1.levels = std::vector<std::int64_t>(10, static_cast<std::int64_t>(total_used / 10));
    c1.cpu_requests = std::vector<std::int64_t>{p + 100, p - 100, p + 10, p - 10, p + 2,
                                                p - 2,   p + 1,   p - 1,  p,      p};
    c1.recommendations = kNoHistory;
    check(c1);

    target = std::abs(1 / (requested_to_used * (1 - tolerance))) + .004;
    GoCase c2 = c1;
    c2.cpu_target = static_cast<std::int32_t>(target * 100);
    ASSERT_EQ(c2.cpu_target, 55);
    c2.expected = start_pods;
    c2.expected_conditions = status_ok({{"AbleToScale", "True", "ReadyForNewScale"}});
    check(c2);
}

TEST(HpaDecideTest, ScaleUpRCImmediately) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 1, c.status_replicas = 1;
    c.expected = 2;
    c.levels = {0, 0, 0, 0};
    c.cpu_requests = k1000x4;
    c.expected_conditions = std::vector<Cond>{{"AbleToScale", "True", "SucceededRescale"}};
    check(c);
}

TEST(HpaDecideTest, ScaleDownRCImmediately) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 5, c.spec_replicas = 6, c.status_replicas = 6;
    c.expected = 5;
    c.cpu_target = 50;
    c.levels = {8000, 9500, 1000};
    c.cpu_requests = k900to1100;
    c.expected_conditions = std::vector<Cond>{{"AbleToScale", "True", "SucceededRescale"}};
    check(c);
}

TEST(HpaDecideTest, ScaleUpOneMetricEmpty) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.expected = 4;
    c.cpu_target = 30;
    c.verify_cpu_current = true;
    c.metrics = {external_qps(TargetType::value, 100)};
    c.external_api_fails = true;
    c.levels = {300, 400, 500};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaDecideTest, NoScaleDownOneMetricInvalid) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 5;
    c.cpu_target = 50;
    c.metrics = {invalid_metric()};
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.expected_conditions = std::vector<Cond>{{"AbleToScale", "True", "ScaleDownStabilized"},
                                              {"ScalingActive", "True", "ValidMetricFound"},
                                              {"ScalingLimited", "False", "DesiredWithinRange"}};
    check(c);
}

TEST(HpaDecideTest, NoScaleDownOneMetricEmpty) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.expected = 5;
    c.cpu_target = 50;
    c.metrics = {external_qps(TargetType::value, 1000)};
    c.external_api_fails = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.expected_conditions = std::vector<Cond>{{"AbleToScale", "True", "ScaleDownStabilized"},
                                              {"ScalingActive", "True", "ValidMetricFound"},
                                              {"ScalingLimited", "False", "DesiredWithinRange"}};
    check(c);
}

// ---- legacy_horizontal_test.go ------------------------------------------------------------
// Its pods have one container with the whole request, started 3 minutes ago, with a Ready
// condition whose transition is at Go's zero time; the metrics API reports the whole level
// for that container; its custom metrics are in units (20 there is 20000 milli here). Its
// initialReplicas is both the scale's spec and status count; it checks no conditions.

GoCase legacy_case(std::int32_t min, std::int32_t max, std::int32_t initial,
                   std::int32_t expected) {
    GoCase c;
    c.legacy = true;
    c.min_replicas = min, c.max_replicas = max;
    c.spec_replicas = c.status_replicas = initial;
    c.expected = expected;
    c.check_conditions = false;
    return c;
}

TEST(HpaLegacyDecideTest, LegacyScaleUp) {
    GoCase c = legacy_case(2, 6, 3, 5);
    c.cpu_target = 30;
    c.verify_cpu_current = true;
    c.levels = {300, 500, 700};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleUpUnreadyLessScale) {
    GoCase c = legacy_case(2, 6, 3, 4);
    c.cpu_target = 30;
    c.levels = {300, 500, 700};
    c.cpu_requests = k1000x3;
    c.readiness = {false, true, true};
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleUpUnreadyNoScale) {
    GoCase c = legacy_case(2, 6, 3, 3);
    c.cpu_target = 30;
    c.cpu_current = 40;
    c.verify_cpu_current = true;
    c.levels = {400, 500, 700};
    c.cpu_requests = k1000x3;
    c.readiness = {true, false, false};
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleUpDeploymentAndReplicaSet) {
    GoCase c = legacy_case(2, 6, 3, 5);
    c.cpu_target = 30;
    c.verify_cpu_current = true;
    c.levels = {300, 500, 700};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleUpCM) {
    GoCase c = legacy_case(2, 6, 3, 4);
    c.metrics = {pods_qps(15000)};
    c.levels = {20000, 10000, 30000};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleUpCMUnreadyNoLessScale) {
    GoCase c = legacy_case(2, 6, 3, 6);
    c.metrics = {pods_qps(15000)};
    c.levels = {50000, 10000, 30000};
    c.readiness = {true, true, false};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleUpCMUnreadyNoScaleWouldScaleDown) {
    GoCase c = legacy_case(2, 6, 3, 6);
    c.metrics = {pods_qps(15000)};
    c.levels = {50000, 15000, 30000};
    c.readiness = {false, true, false};
    c.cpu_requests = k1000x3;
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleDown) {
    GoCase c = legacy_case(2, 6, 5, 3);
    c.cpu_target = 50;
    c.verify_cpu_current = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleDownCM) {
    GoCase c = legacy_case(2, 6, 5, 3);
    c.metrics = {pods_qps(20000)};
    c.levels = {12000, 12000, 12000, 12000, 12000};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleDownIgnoresUnreadyPods) {
    GoCase c = legacy_case(2, 6, 5, 2);
    c.cpu_target = 50;
    c.cpu_current = 30;
    c.verify_cpu_current = true;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.readiness = {true, true, true, false, false};
    c.recommendations = kNoHistory;
    check(c);
}

TEST(HpaLegacyDecideTest, LegacySuperfluousMetrics) {
    GoCase c = legacy_case(2, 6, 4, 6);
    c.cpu_target = 100;
    c.levels = {4000, 9500, 3000, 7000, 3200, 2000};
    c.cpu_requests = k1000x4;
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleUpRCImmediately) {
    GoCase c = legacy_case(2, 6, 1, 2);
    c.levels = {0, 0, 0, 0};
    c.cpu_requests = k1000x4;
    check(c);
}

TEST(HpaLegacyDecideTest, LegacyScaleDownRCImmediately) {
    GoCase c = legacy_case(2, 5, 6, 5);
    c.cpu_target = 50;
    c.levels = {8000, 9500, 1000};
    c.cpu_requests = k900to1100;
    check(c);
}

// ---- what decide() reports beyond the Go tests' checks --------------------------------------

TEST(HpaDecideDetailsTest, MessagesOfAScaleUp) {
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 3, c.status_replicas = 3;
    c.cpu_target = 30;
    c.levels = {300, 500, 700};
    c.cpu_requests = k1000x3;
    const Decision d = run(c);
    ASSERT_EQ(d.conditions.size(), 3u);
    EXPECT_EQ(d.conditions[0].message,
              "the HPA controller was able to update the target scale to 5");
    EXPECT_EQ(d.conditions[1].message,
              "the HPA was able to successfully calculate a replica count from cpu resource "
              "utilization (percentage of request)");
    EXPECT_EQ(d.conditions[2].message, "the desired count is within the acceptable range");
    EXPECT_EQ(d.proposed_replicas, 5);
    EXPECT_EQ(d.stabilized_replicas, 5);
    EXPECT_EQ(d.limit_reason, "DesiredWithinRange");
    EXPECT_EQ(d.limit_message, "the desired count is within the acceptable range");
    ASSERT_TRUE(d.recorded_recommendation.has_value());
    EXPECT_EQ(d.recorded_recommendation->time, kNow);
    EXPECT_EQ(d.recorded_recommendation->replicas, 5);
    // Without `behavior` the controller keeps no scale events (TestStoreScaleEvents'
    // "empty entries with default behavior" and "... kept untouched without behavior").
    EXPECT_FALSE(d.recorded_scale_event.has_value());
}

TEST(HpaDecideDetailsTest, TheRecommendationRecordedIsTheUnstabilizedOne) {
    // TestScaleDownStabilizeInitialSize: 3 proposed, held at 5 by the seeded history.
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.cpu_target = 50;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    const Decision d = run(c);
    EXPECT_EQ(d.proposed_replicas, 3);
    EXPECT_EQ(d.stabilized_replicas, 5);
    EXPECT_EQ(d.desired_replicas, 5);
    EXPECT_FALSE(d.rescale);
    ASSERT_TRUE(d.recorded_recommendation.has_value());
    EXPECT_EQ(d.recorded_recommendation->replicas, 3);
    ASSERT_EQ(d.conditions.size(), 3u);
    EXPECT_EQ(d.conditions[0].message,
              "recent recommendations were higher than current one, applying the highest recent "
              "recommendation");
}

TEST(HpaDecideDetailsTest, ScaleEventRecordedWithBehavior) {
    // TestUpscaleCap: 3 -> 24 adds 21 pods.
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 100, c.spec_replicas = 3, c.status_replicas = 3;
    c.scale_up = generate_rules(0, 0, 700, 60, 0);
    c.cpu_target = 10;
    c.levels = {100, 200, 300};
    c.cpu_requests = k100x3;
    const Decision d = run(c);
    EXPECT_EQ(d.desired_replicas, 24);
    EXPECT_EQ(d.limit_reason, "ScaleUpLimit");
    EXPECT_EQ(d.limit_message,
              "the desired replica count is increasing faster than the maximum scale rate");
    ASSERT_TRUE(d.recorded_scale_event.has_value());
    EXPECT_EQ(d.recorded_scale_event->time, kNow);
    EXPECT_EQ(d.recorded_scale_event->change, 21);

    // The controller's history for the next sync.
    HpaSpec hpa = hpa_of(c);
    ClusterState s = state_of(c);
    record_decision(hpa, go_test_options(), d, s);
    ASSERT_EQ(s.scale_up_events.size(), 1u);
    EXPECT_EQ(s.scale_up_events[0].change, 21);
    EXPECT_TRUE(s.scale_down_events.empty());
    // The seeded sample (now) is not obsolete: appended.
    ASSERT_EQ(s.recommendations.size(), 2u);
    EXPECT_EQ(s.recommendations[1].replicas, d.proposed_replicas);

    // The next sync, with the same load: the minute's 700% of the 3 it started from is
    // used up, so 24 is held.
    s.current_replicas = 24;
    Decision next = decide(hpa, s, go_test_options());
    EXPECT_EQ(next.proposed_replicas, 60);
    EXPECT_EQ(next.desired_replicas, 24);
    EXPECT_FALSE(next.rescale);
    EXPECT_EQ(next.limit_reason, "ScaleUpLimit");
}

TEST(HpaDecideDetailsTest, ScaleDownEventRecordedWithBehavior) {
    // TestScaleDownWithScalingRules: 5 -> 3 removes 2 pods.
    GoCase c;
    c.min_replicas = 2, c.max_replicas = 6, c.spec_replicas = 5, c.status_replicas = 5;
    c.scale_up = generate_rules(0, 0, 100, 15, 30);
    c.cpu_target = 50;
    c.levels = {100, 300, 500, 250, 250};
    c.cpu_requests = k1000x5;
    c.recommendations = kNoHistory;
    const Decision d = run(c);
    ASSERT_TRUE(d.recorded_scale_event.has_value());
    EXPECT_EQ(d.recorded_scale_event->change, 2);
    ClusterState s = state_of(c);
    record_decision(hpa_of(c), go_test_options(), d, s);
    EXPECT_TRUE(s.scale_up_events.empty());
    ASSERT_EQ(s.scale_down_events.size(), 1u);
    EXPECT_EQ(s.scale_down_events[0].change, 2);
}

TEST(HpaDecideDetailsTest, OutOfRangeRecordsNoRecommendation) {
    // TestTooManyReplicas, with behavior: the scale event is kept, no recommendation.
    GoCase c;
    c.min_replicas = 3, c.max_replicas = 5, c.spec_replicas = 10, c.status_replicas = 10;
    c.cpu_target = 90;
    c.scale_down = generate_rules(1, 60, 0, 0, 0);  // not applied to an out-of-range count
    const Decision d = run(c);
    EXPECT_EQ(d.desired_replicas, 5);
    EXPECT_TRUE(d.rescale);
    EXPECT_TRUE(d.metrics.empty());
    EXPECT_FALSE(d.recorded_recommendation.has_value());
    ASSERT_TRUE(d.recorded_scale_event.has_value());
    EXPECT_EQ(d.recorded_scale_event->change, 5);
    EXPECT_TRUE(d.limit_reason.empty());
}

TEST(HpaDecideDetailsTest, ScalingDisabledComputesNothing) {
    GoCase c;
    c.min_replicas = 3, c.max_replicas = 5, c.spec_replicas = 0, c.status_replicas = 0;
    c.cpu_target = 90;
    const Decision d = run(c);
    EXPECT_TRUE(d.metrics.empty());
    EXPECT_FALSE(d.recorded_recommendation.has_value());
    ASSERT_EQ(d.conditions.size(), 2u);
    EXPECT_EQ(d.conditions[0].message,
              "the HPA controller was able to get the target's current scale");
    EXPECT_EQ(d.conditions[1].message,
              "scaling is disabled since the replica count of the target is zero");
}

TEST(HpaDecideDetailsTest, AllMetricsFailedKeepsTheFirstFailure) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 10, c.spec_replicas = 3, c.status_replicas = 3;
    c.metrics = {pods_qps(15000), external_qps(TargetType::value, 300)};
    c.custom_api_fails = c.external_api_fails = true;
    c.levels = {100, 200, 300};
    const Decision d = run(c);
    EXPECT_EQ(d.desired_replicas, 3);
    EXPECT_FALSE(d.rescale);
    ASSERT_EQ(d.metrics.size(), 2u);
    EXPECT_FALSE(d.metrics[0].ok);
    EXPECT_FALSE(d.metrics[1].ok);
    ASSERT_EQ(d.conditions.size(), 2u);
    EXPECT_EQ(d.conditions[1].type, d.metrics[0].failure.type);
    EXPECT_EQ(d.conditions[1].reason, "FailedGetPodsMetric");
    EXPECT_EQ(d.conditions[1].message, d.metrics[0].failure.message);
    EXPECT_FALSE(d.recorded_recommendation.has_value());
}

TEST(HpaDecideDetailsTest, TheLargestProposalNamesTheMetric) {
    // Two Object metrics: "qps" on a Deployment, "rps" on a Service.
    auto object = [](const std::string &name, const std::string &kind) {
        MetricSpec m;
        m.type = MetricType::object;
        m.name = name;
        m.described_object = {"v1", kind, "front"};
        m.target.type = TargetType::value;
        m.target.value_milli = 1000;
        return m;
    };
    HpaSpec hpa;
    hpa.min_replicas = 0;
    hpa.max_replicas = 20;
    hpa.metrics = {object("qps", "Deployment"), object("rps", "Service")};
    ClusterState s;
    s.time = kNow;
    s.current_replicas = 2;
    for (int i = 0; i < 2; ++i) {
        PodState p;
        p.name = "p" + std::to_string(i);
        s.pods.push_back(p);
    }
    auto message = [&](std::int64_t qps, std::int64_t rps) {
        s.object["qps"] = qps;
        s.object["rps"] = rps;
        Decision d = decide(hpa, s, go_test_options());
        return d.conditions.size() > 1 ? d.conditions[1].message : std::string();
    };
    const std::string prefix = "the HPA was able to successfully calculate a replica count from ";
    EXPECT_EQ(message(2000, 4000), prefix + "Service metric rps");
    EXPECT_EQ(message(4000, 2000), prefix + "Deployment metric qps");
    // Equal proposals: the first keeps it ...
    EXPECT_EQ(message(3000, 3000), prefix + "Deployment metric qps");
    // ... except a proposal of 0, which any later valid proposal replaces.
    EXPECT_EQ(message(0, 0), prefix + "Service metric rps");
}

TEST(HpaDecideDetailsTest, NegativeProposalCountsAsZero) {
    // usage 1e12 x 2 pods does not fit an int32: the calculator's proposal is MinInt32; the
    // controller proceeds (and records) from 0, and the metric still names the message.
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 10, c.spec_replicas = 2, c.status_replicas = 2;
    c.metrics = {object_qps(TargetType::value, 1)};
    c.levels = {1'000'000'000'000};
    c.recommendations = kNoHistory;
    const Decision d = run(c);
    ASSERT_EQ(d.metrics.size(), 1u);
    ASSERT_TRUE(d.metrics[0].ok);
    EXPECT_LT(d.metrics[0].proposal, 0);
    EXPECT_EQ(d.proposed_replicas, 0);
    ASSERT_TRUE(d.recorded_recommendation.has_value());
    EXPECT_EQ(d.recorded_recommendation->replicas, 0);
    EXPECT_EQ(d.desired_replicas, 1);
    EXPECT_EQ(conditions_of(d), status_ok({{"ScalingLimited", "True", "TooFewReplicas"}}));
    EXPECT_EQ(
        d.conditions[1].message,
        "the HPA was able to successfully calculate a replica count from Deployment metric qps");
}

TEST(HpaDecideDetailsTest, ScaleUpStabilizedWithBehavior) {
    // TestNormalizeDesiredReplicasWithBehavior's "simple scale up stabilization", whole.
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 10, c.spec_replicas = 1, c.status_replicas = 1;
    c.scale_up = generate_rules(0, 0, 0, 0, 300);
    c.metrics = {object_qps(TargetType::value, 1000)};
    c.levels = {7000};
    c.recommendations = std::vector<TimedReplicas>{{kNow - 120, 4}, {kNow - 60, 5}};
    const Decision d = run(c);
    EXPECT_EQ(d.proposed_replicas, 7);
    EXPECT_EQ(d.stabilized_replicas, 4);
    EXPECT_EQ(d.desired_replicas, 4);
    EXPECT_EQ(conditions_of(d), status_ok({{"AbleToScale", "True", "SucceededRescale"}}));
    // The AbleToScale condition was ScaleUpStabilized before the rescale replaced it.
    c.recommendations = std::vector<TimedReplicas>{{kNow - 120, 1}};
    c.levels = {1000};
    const Decision held = run(c);
    EXPECT_EQ(held.desired_replicas, 1);
    EXPECT_EQ(conditions_of(held), status_ok({{"AbleToScale", "True", "ReadyForNewScale"}}));
}

TEST(HpaDecideDetailsTest, ScaleUpStabilizedCondition) {
    GoCase c;
    c.min_replicas = 1, c.max_replicas = 10, c.spec_replicas = 4, c.status_replicas = 4;
    c.scale_up = generate_rules(0, 0, 0, 0, 300);
    c.metrics = {object_qps(TargetType::value, 1000)};
    c.levels = {7000};  // 28 wanted (7 x 4 pods), 4 recommended a minute ago: held at 4
    c.recommendations = std::vector<TimedReplicas>{{kNow - 60, 4}};
    const Decision d = run(c);
    EXPECT_EQ(d.desired_replicas, 4);
    EXPECT_FALSE(d.rescale);
    EXPECT_EQ(conditions_of(d), status_ok({{"AbleToScale", "True", "ScaleUpStabilized"}}));
    EXPECT_EQ(d.conditions[0].message,
              "recent recommendations were lower than current one, applying the lowest recent "
              "recommendation");
}

TEST(HpaDecideDetailsTest, MetricDescriptions) {
    EXPECT_EQ(metric_description(cpu_utilization(50)),
              "cpu resource utilization (percentage of request)");
    MetricSpec raw = cpu_utilization(0);
    raw.target.type = TargetType::average_value;
    raw.target.average_value_milli = 500;
    EXPECT_EQ(metric_description(raw), "cpu resource");
    EXPECT_EQ(metric_description(container_cpu_utilization("app", 50)),
              "cpu resource utilization (percentage of request)");
    EXPECT_EQ(metric_description(pods_qps(1000)), "pods metric qps");
    EXPECT_EQ(metric_description(object_qps(TargetType::value, 1000)), "Deployment metric qps");
    EXPECT_EQ(metric_description(object_qps(TargetType::average_value, 1000)),
              "external metric qps(nil)");
    EXPECT_EQ(metric_description(external_qps(TargetType::value, 1000)),
              "external metric qps(&LabelSelector{MatchLabels:map[string]string{},"
              "MatchExpressions:[]LabelSelectorRequirement{},})");
    MetricSpec selected = external_qps(TargetType::average_value, 1000);
    selected.selector =
        R"({"matchLabels":{"queue":"emails","app":"workers"},)"
        R"("matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]}]})";
    EXPECT_EQ(metric_description(selected),
              "external metric qps(&LabelSelector{MatchLabels:map[string]string{app: workers,"
              "queue: emails,},MatchExpressions:[]LabelSelectorRequirement{LabelSelector"
              "Requirement{Key:tier,Operator:In,Values:[a b],},},})");
}

}  // namespace
}  // namespace pulse::hpa
