// The HPA's normalization without metrics (sidecar/lib/hpa/behavior.h), against the
// controller's own unit tests in kube-controller-manager 1.20's
// pkg/controller/podautoscaler/horizontal_test.go: TestConvertDesiredReplicasWithRules,
// TestCalculateScaleUpLimitWithScalingRules, TestCalculateScaleDownLimitWithBehaviors,
// TestNormalizeDesiredReplicas, TestScalingWithRules (one test per case, named after it),
// TestStoreScaleEvents and TestNormalizeDesiredReplicasWithBehavior, with their numbers.
//
// Times: the Go tests use time.Now() offsets; here "now" is kNow and the offsets are the
// same. The Go tests run with scaleUpLimitFactor = 8; pulse keeps the controller's 2, so
// the one expectation computed from calculateScaleUpLimit(3) is max(2 x 3, 4) here.
#include "hpa/behavior.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pulse::hpa {
namespace {

constexpr double kNow = 1'000'000;

// The Go tests' generateScalingRules(pods, podsPeriod, percent, percentPeriod, window):
// select Max, the window, and a Pods and/or a Percent policy when non-zero.
ScalingRules generate_rules(std::int32_t pods, std::int32_t pods_period, std::int32_t percent,
                            std::int32_t percent_period, std::int32_t window) {
    ScalingRules r;
    r.select_policy = SelectPolicy::max;
    r.stabilization_window_seconds = window;
    if (pods != 0) r.policies.push_back({PolicyType::pods, pods, pods_period});
    if (percent != 0) r.policies.push_back({PolicyType::percent, percent, percent_period});
    return r;
}

// GenerateHPAScaleUpRules / GenerateHPAScaleDownRules: the rules written (select policy
// and window always written by generate_rules; policies when some), else the defaults.
ScalingRules with_defaults(const std::optional<ScalingRules> &written, ScalingRules defaults) {
    if (!written) return defaults;
    ScalingRules r = *written;
    if (r.policies.empty()) r.policies = defaults.policies;
    return r;
}

// generateEventsUniformDistribution(rawEvents, periodSeconds): the events in the middle of
// equal segments of the last periodSeconds, oldest first; the Go helper's offset goes
// through time.Duration(float64), so it is truncated to whole seconds.
std::vector<ScaleEvent> uniform_events(const std::vector<std::int32_t> &changes, int period) {
    std::vector<ScaleEvent> events;
    const double segment = static_cast<double>(period) / static_cast<double>(changes.size());
    for (std::size_t i = 0; i < changes.size(); ++i) {
        const double offset =
            static_cast<double>(period) - segment * static_cast<double>(i + 1) + segment / 2;
        events.push_back(
            {kNow - static_cast<double>(static_cast<std::int64_t>(offset)), changes[i]});
    }
    return events;
}

// ---- TestConvertDesiredReplicasWithRules ---------------------------------------------

struct ConvertCase {
    const char *annotation;
    std::int32_t current, desired, min, max, expected;
    const char *condition;
};

TEST(HpaBehaviorTest, ConvertDesiredReplicasWithRules) {
    const ConvertCase cases[] = {
        {"prenormalized desired replicas within range", 5, 7, 3, 8, 7, "DesiredWithinRange"},
        {"prenormalized desired replicas < minReplicas", 3, 1, 2, 8, 2, "TooFewReplicas"},
        {"prenormalized desired zeroed replicas within range", 1, 0, 0, 10, 0,
         "DesiredWithinRange"},
        {"maxReplicas is the limit because maxReplicas < scaleUpLimit", 20, 1000, 1, 10, 10,
         "TooManyReplicas"},
        // calculateScaleUpLimit(3): max(2 x 3, 4) = 6 with the controller's factor.
        {"scaleUpLimit is the limit because scaleUpLimit < maxReplicas", 3, 1000, 1, 2000, 6,
         "ScaleUpLimit"},
    };
    for (const ConvertCase &c : cases) {
        SCOPED_TRACE(c.annotation);
        Limited got = limit_without_behavior(c.current, c.desired, c.min, c.max);
        EXPECT_EQ(got.replicas, c.expected);
        EXPECT_EQ(got.reason, c.condition);
    }
}

TEST(HpaBehaviorTest, ConvertDesiredReplicasWithRulesMessages) {
    EXPECT_EQ(limit_without_behavior(5, 7, 3, 8).message,
              "the desired count is within the acceptable range");
    EXPECT_EQ(limit_without_behavior(3, 1, 2, 8).message,
              "the desired replica count is less than the minimum replica count");
    EXPECT_EQ(limit_without_behavior(20, 1000, 1, 10).message,
              "the desired replica count is more than the maximum replica count");
    EXPECT_EQ(limit_without_behavior(3, 1000, 1, 2000).message,
              "the desired replica count is increasing faster than the maximum scale rate");
}

TEST(HpaBehaviorTest, ScaleUpLimitWithoutBehavior) {
    EXPECT_EQ(scale_up_limit_without_behavior(0), 4);
    EXPECT_EQ(scale_up_limit_without_behavior(1), 4);
    EXPECT_EQ(scale_up_limit_without_behavior(2), 4);
    EXPECT_EQ(scale_up_limit_without_behavior(3), 6);
    EXPECT_EQ(scale_up_limit_without_behavior(100), 200);
}

// ---- TestCalculateScaleUpLimitWithScalingRules / ...ScaleDownLimitWithBehaviors -------

ScalingRules min_select_rules() {
    ScalingRules r;
    r.stabilization_window_seconds = 300;
    r.select_policy = SelectPolicy::min;
    r.policies = {{PolicyType::pods, 2, 60}, {PolicyType::percent, 50, 60}};
    return r;
}

TEST(HpaBehaviorTest, CalculateScaleUpLimitWithScalingRules) {
    EXPECT_EQ(scale_up_limit(1, {}, min_select_rules(), kNow), 2);
}

TEST(HpaBehaviorTest, CalculateScaleDownLimitWithBehaviors) {
    EXPECT_EQ(scale_down_limit(5, {}, min_select_rules(), kNow), 3);
}

TEST(HpaBehaviorTest, DisabledSelectPolicyHoldsCurrent) {
    ScalingRules r = min_select_rules();
    r.select_policy = SelectPolicy::disabled;
    EXPECT_EQ(scale_up_limit(7, {}, r, kNow), 7);
    EXPECT_EQ(scale_down_limit(7, {}, r, kNow), 7);
    Behavior b{r, r};
    Limited up = limit_with_behavior(7, 20, 1, 100, b, {}, {}, kNow);
    EXPECT_EQ(up.replicas, 7);
    EXPECT_EQ(up.reason, "ScaleUpLimit");
    Limited down = limit_with_behavior(7, 2, 1, 100, b, {}, {}, kNow);
    EXPECT_EQ(down.replicas, 7);
    EXPECT_EQ(down.reason, "ScaleDownLimit");
}

// ---- TestNormalizeDesiredReplicas (stabilizeRecommendation) ---------------------------

struct StabilizeCase {
    const char *name;
    std::vector<TimedReplicas> recommendations;
    std::int32_t desired, expected;
    std::size_t log_length;
};

TEST(HpaBehaviorTest, NormalizeDesiredReplicas) {
    const StabilizeCase cases[] = {
        {"empty log", {}, 5, 5, 1},
        {"stabilize", {{kNow - 120, 4}, {kNow - 60, 5}}, 3, 5, 3},
        {"no stabilize", {{kNow - 120, 1}, {kNow - 60, 2}}, 3, 3, 3},
        {"no stabilize - old recommendations", {{kNow - 600, 10}, {kNow - 540, 9}}, 3, 3, 2},
        {"stabilize - old recommendations",
         {{kNow - 600, 10}, {kNow - 60, 4}, {kNow - 120, 5}, {kNow - 540, 9}},
         3,
         5,
         4},
    };
    for (const StabilizeCase &c : cases) {
        SCOPED_TRACE(c.name);
        EXPECT_EQ(stabilize_without_behavior(c.recommendations, c.desired, 300, kNow), c.expected);
        std::vector<TimedReplicas> log = c.recommendations;
        store_recommendation(log, {kNow, c.desired}, kNow - 300);
        EXPECT_EQ(log.size(), c.log_length);
    }
}

TEST(HpaBehaviorTest, StabilizeWithoutBehaviorKeepsTheWindowsEdge) {
    // Only samples strictly before now - window are dropped.
    EXPECT_EQ(stabilize_without_behavior({{kNow - 300, 9}}, 3, 300, kNow), 9);
    EXPECT_EQ(stabilize_without_behavior({{kNow - 300.5, 9}}, 3, 300, kNow), 3);
}

TEST(HpaBehaviorTest, StoreRecommendationReplacesTheLastObsolete) {
    std::vector<TimedReplicas> log = {{kNow - 600, 10}, {kNow - 60, 4}, {kNow - 540, 9}};
    store_recommendation(log, {kNow, 3}, kNow - 300);
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log[0].replicas, 10);
    EXPECT_EQ(log[1].replicas, 4);
    EXPECT_EQ(log[2].replicas, 3);
    EXPECT_EQ(log[2].time, kNow);
}

// ---- TestScalingWithRules (convertDesiredReplicasWithBehaviorRate) --------------------

struct RulesCase {
    std::vector<ScaleEvent> up_events, down_events;
    std::int32_t min, max;
    std::optional<ScalingRules> up, down;
    std::int32_t current, desired, expected;
    std::string condition;
};

void check(const RulesCase &c) {
    Behavior b{with_defaults(c.up, default_scale_up_rules()),
               with_defaults(c.down, default_scale_down_rules())};
    Limited got = limit_with_behavior(c.current, c.desired, c.min, c.max, b, c.up_events,
                                      c.down_events, kNow);
    EXPECT_EQ(got.replicas, c.expected);
    EXPECT_EQ(got.reason, c.condition);
}

TEST(HpaScalingWithRulesTest, PrenormalizedDesiredReplicasWithinRange) {
    check({{}, {}, 3, 8, {}, {}, 5, 7, 7, "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest, PrenormalizedDesiredReplicasBelowMinReplicas) {
    check({{}, {}, 2, 8, {}, {}, 3, 1, 2, "TooFewReplicas"});
}
TEST(HpaScalingWithRulesTest, PrenormalizedDesiredReplicasWithinRangeWhenMinReplicasIs0) {
    check({{}, {}, 0, 10, {}, {}, 1, 0, 0, "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest, MaxReplicasIsTheLimitBecauseMaxReplicasBelowScaleUpLimit) {
    check({{}, {}, 1, 10, {}, {}, 20, 1000, 10, "TooManyReplicas"});
}
TEST(HpaScalingWithRulesTest, DesiredReplicaCountIsMoreThanTheMaximumReplicaCount) {
    check({{}, {}, 100, 150, {}, {}, 100, 1000, 150, "TooManyReplicas"});
}
TEST(HpaScalingWithRulesTest,
     ScaleUpLimitIsTheLimitBecauseScaleUpLimitBelowMaxReplicasWithUserPolicies) {
    check({{}, {}, 1, 2000, generate_rules(0, 0, 1, 60, 0), {}, 3, 1000, 4, "ScaleUpLimit"});
}
// testThis: true in the Go table, which makes the Go test skip it; it holds here.
TEST(HpaScalingWithRulesTest,
     ScaleDownLimitIsTheLimitBecauseScaleDownLimitAboveMinReplicasWithUserDefinedPolicies) {
    check({{}, {}, 3, 2000, {}, generate_rules(20, 60, 0, 0, 0), 1000, 3, 980, "ScaleDownLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithDefaultBehavior) {
    check({{}, {}, 1, 1000, {}, {}, 10, 50, 20, "ScaleUpLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithPodsPolicyLargerThanPercentPolicy) {
    check({{}, {}, 1, 1000, generate_rules(100, 60, 100, 60, 0), {}, 10, 500, 110, "ScaleUpLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithPercentPolicyLargerThanPodsPolicy) {
    check({{}, {}, 1, 1000, generate_rules(2, 60, 100, 60, 0), {}, 10, 500, 20, "ScaleUpLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithSpecMaxReplicasLimitationWithLargePodPolicy) {
    check(
        {{}, {}, 1, 1000, generate_rules(100, 60, 0, 0, 0), {}, 10, 50, 50, "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithSpecMaxReplicasLimitationWithLargePercentPolicy) {
    check({{},
           {},
           1,
           1000,
           generate_rules(10000, 60, 0, 0, 0),
           {},
           10,
           50,
           50,
           "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithPodPolicyLimitation) {
    check({{}, {}, 1, 1000, generate_rules(30, 60, 0, 0, 0), {}, 10, 50, 40, "ScaleUpLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithPercentPolicyLimitation) {
    check({{}, {}, 1, 1000, generate_rules(0, 0, 200, 60, 0), {}, 10, 50, 30, "ScaleUpLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithPercentPolicyLargerThanPodPolicy) {
    check({{}, {}, 1, 1000, {}, generate_rules(20, 60, 1, 60, 300), 100, 2, 80, "ScaleDownLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithPodPolicyLargerThanPercentPolicy) {
    check({{}, {}, 1, 1000, {}, generate_rules(2, 60, 1, 60, 300), 100, 2, 98, "ScaleDownLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithSpecMinReplicasNilLimitationWithLargePodPolicy) {
    check({{}, {}, 1, 1000, {}, generate_rules(100, 60, 0, 0, 300), 10, 0, 1, "TooFewReplicas"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithSpecMinReplicasLimitationWithLargePodPolicy) {
    check({{}, {}, 1, 1000, {}, generate_rules(100, 60, 0, 0, 300), 10, 0, 1, "TooFewReplicas"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithSpecMinReplicasLimitationWithLargePercentPolicy) {
    check({{}, {}, 5, 1000, {}, generate_rules(0, 0, 100, 60, 300), 10, 2, 5, "TooFewReplicas"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithPodPolicyLimitation) {
    check({{}, {}, 1, 1000, {}, generate_rules(5, 60, 0, 0, 300), 10, 2, 5, "ScaleDownLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithPercentPolicyLimitation) {
    check({{}, {}, 1, 1000, {}, generate_rules(0, 0, 50, 60, 300), 10, 5, 5, "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithSpecMaxReplicasLimitationWithLargePodPolicyAndEvents) {
    // 200 < 100 - 15 + 300
    check({uniform_events({1, 5, 9}, 120),
           {},
           1,
           200,
           generate_rules(300, 60, 0, 0, 0),
           {},
           100,
           500,
           200,
           "TooManyReplicas"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithSpecMaxReplicasLimitationWithLargePercentPolicyAndEvents) {
    check({uniform_events({1, 5, 9}, 120),
           {},
           1,
           200,
           generate_rules(0, 0, 10000, 60, 0),
           {},
           100,
           500,
           200,
           "TooManyReplicas"});
}
TEST(HpaScalingWithRulesTest,
     ScaleUpWithCurrentReplicasLimitationWithRatePeriodSecondsWithALotOfRecentScaleUpEvents) {
    // 120 seconds ago there were 100 - 15; 5 more allowed: held at the current 100.
    check({uniform_events({1, 5, 9}, 120),
           {},
           1,
           1000,
           generate_rules(5, 120, 0, 0, 0),
           {},
           100,
           500,
           100,
           "ScaleUpLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithPodPolicyAndPreviousScaleUpEvents) {
    // 100 - 15 + 150
    check({uniform_events({1, 5, 9}, 120),
           {},
           1,
           1000,
           generate_rules(150, 120, 0, 0, 0),
           {},
           100,
           500,
           235,
           "ScaleUpLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleUpWithPercentPolicyAndPreviousScaleUpEvents) {
    // (100 - 15) + 200%
    check({uniform_events({1, 5, 9}, 120),
           {},
           1,
           1000,
           generate_rules(0, 0, 200, 120, 0),
           {},
           100,
           500,
           255,
           "ScaleUpLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithDefaultPolicyAndPreviousEvents) {
    check({{}, uniform_events({1, 5, 9}, 120), 1, 1000, {}, {}, 10, 5, 5, "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest,
     ScaleDownWithSpecMinReplicasNilLimitationWithLargePodPolicyAndPreviousEvents) {
    check({{},
           uniform_events({1, 5, 9}, 120),
           1,
           1000,
           {},
           generate_rules(115, 120, 0, 0, 300),
           100,
           0,
           1,
           "TooFewReplicas"});
}
TEST(HpaScalingWithRulesTest,
     ScaleDownWithSpecMinReplicasLimitationWithLargePodPolicyAndPreviousEvents) {
    check({{},
           uniform_events({1, 5, 9}, 120),
           5,
           1000,
           {},
           generate_rules(130, 120, 0, 0, 300),
           100,
           0,
           5,
           "TooFewReplicas"});
}
TEST(HpaScalingWithRulesTest,
     ScaleDownWithSpecMinReplicasLimitationWithLargePercentPolicyAndPreviousEvents) {
    check({{},
           uniform_events({1, 5, 9}, 120),
           5,
           1000,
           {},
           generate_rules(0, 0, 100, 120, 300),
           100,
           2,
           5,
           "TooFewReplicas"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithPodPolicyLimitationAndPreviousEvents) {
    // 100 + 15 - 5 = 110, held at the current 100
    check({{},
           uniform_events({1, 5, 9}, 120),
           1,
           1000,
           {},
           generate_rules(5, 120, 0, 0, 300),
           100,
           2,
           100,
           "ScaleDownLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithPercentPolicyLimitationAndPreviousEvents) {
    // (100 + 12) - 50%
    check({{},
           uniform_events({2, 4, 6}, 120),
           1,
           1000,
           {},
           generate_rules(0, 0, 50, 120, 300),
           100,
           0,
           56,
           "ScaleDownLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithPreviousEventsPreventingFurtherScaleDown) {
    // (100 + 30) - 10% = 117 is more than the current 100: keep 100
    check({{},
           uniform_events({10, 10, 10}, 120),
           1,
           1000,
           {},
           generate_rules(0, 0, 10, 120, 300),
           100,
           0,
           100,
           "ScaleDownLimit"});
}
TEST(HpaScalingWithRulesTest, ScaleDownWithWithPreviousEventsStillAllowingMoreScaleDown) {
    // (10 + 30) - 1000% = -360, below the 5 the metrics want
    check({{},
           uniform_events({10, 10, 10}, 120),
           1,
           1000,
           {},
           generate_rules(0, 0, 1000, 120, 300),
           10,
           5,
           5,
           "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest, CheckOutdatedFlagForEventsForOneBehaviorForUp) {
    check({uniform_events({8, 12, 9, 11}, 120),
           {},
           1,
           1000,
           generate_rules(1000, 60, 0, 0, 0),
           {},
           100,
           200,
           200,
           "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest,
     CheckThatEventsWereNotMarkedOutdatedForTwoDifferentPoliciesInTheBehaviorForUp) {
    check({uniform_events({8, 12, 9, 11}, 120),
           {},
           1,
           1000,
           generate_rules(1000, 120, 100, 60, 0),
           {},
           100,
           200,
           200,
           "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest,
     CheckThatEventsWereMarkedOutdatedForTwoDifferentPoliciesInTheBehaviorForUp) {
    check({uniform_events({8, 12, 9, 11}, 120),
           {},
           1,
           1000,
           generate_rules(1000, 30, 100, 60, 0),
           {},
           100,
           200,
           200,
           "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest, CheckOutdatedFlagForEventsForOneBehaviorForDown) {
    check({{},
           uniform_events({8, 12, 9, 11}, 120),
           1,
           1000,
           {},
           generate_rules(1000, 60, 0, 0, 300),
           100,
           5,
           5,
           "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest,
     CheckThatEventsWereNotMarkedOutdatedForTwoDifferentPoliciesInTheBehaviorForDown) {
    check({{},
           uniform_events({8, 12, 9, 11}, 120),
           1,
           1000,
           {},
           generate_rules(1000, 120, 100, 60, 300),
           100,
           5,
           5,
           "DesiredWithinRange"});
}
TEST(HpaScalingWithRulesTest,
     CheckThatEventsWereMarkedOutdatedForTwoDifferentPoliciesInTheBehaviorForDown) {
    check({{},
           uniform_events({8, 12, 9, 11}, 120),
           1,
           1000,
           {},
           generate_rules(1000, 30, 100, 60, 300),
           100,
           5,
           5,
           "DesiredWithinRange"});
}

TEST(HpaBehaviorTest, UniformEventsAreTheGoHelpersOffsets) {
    std::vector<ScaleEvent> e = uniform_events({1, 5, 9}, 120);
    ASSERT_EQ(e.size(), 3u);
    EXPECT_EQ(e[0].time, kNow - 100);
    EXPECT_EQ(e[1].time, kNow - 60);
    EXPECT_EQ(e[2].time, kNow - 20);
    // An event exactly one period old is out of it (strictly after now - period counts).
    EXPECT_EQ(replicas_change_in_period(60, e, kNow), 9);
    EXPECT_EQ(replicas_change_in_period(61, e, kNow), 14);
}

TEST(HpaBehaviorTest, LimitWithBehaviorMessages) {
    Behavior b{generate_rules(1, 60, 0, 0, 0), generate_rules(1, 60, 0, 0, 0)};
    EXPECT_EQ(limit_with_behavior(5, 9, 1, 100, b, {}, {}, kNow).message,
              "the desired replica count is increasing faster than the maximum scale rate");
    EXPECT_EQ(limit_with_behavior(5, 9, 1, 5, b, {}, {}, kNow).message,
              "the desired replica count is more than the maximum replica count");
    EXPECT_EQ(limit_with_behavior(5, 1, 1, 100, b, {}, {}, kNow).message,
              "the desired replica count is decreasing faster than the maximum scale rate");
    EXPECT_EQ(limit_with_behavior(5, 1, 5, 100, b, {}, {}, kNow).message,
              "the desired replica count is less than the minimum replica count");
    EXPECT_EQ(limit_with_behavior(5, 5, 1, 100, b, {}, {}, kNow).message,
              "the desired count is within the acceptable range");
}

// ---- TestStoreScaleEvents ---------------------------------------------------------------
// Each case stores a change of 5 as a scale-up (10 -> 15) and as a scale-down (10 -> 5)
// event; the Go test also checks the `outdated` marks, which the model does not keep (an
// event is outdated when older than the longest policy period at that time). The cases
// "without behavior" store nothing: decide() records no event then (hpa_decide_test).

struct StoreCase {
    const char *name;
    std::vector<ScaleEvent> previous;
    ScalingRules rules;
    std::vector<std::int32_t> expected_changes;
    std::int32_t expected_change_in_60s;
};

TEST(HpaBehaviorTest, StoreScaleEvents) {
    const StoreCase cases[] = {
        {"empty entries with two-policy-behavior", {}, generate_rules(10, 60, 100, 60, 0), {5}, 0},
        {"one outdated entry to be replaced with behavior",
         {{kNow - 61, 7}},
         generate_rules(10, 60, 100, 60, 0),
         {5},
         0},
        {"one actual entry to be not touched with behavior",
         {{kNow - 58, 7}},
         generate_rules(10, 60, 100, 60, 0),
         {7, 5},
         7},
        {"two entries, one of them to be replaced",
         {{kNow - 61, 7}, {kNow - 59, 6}},
         generate_rules(10, 60, 0, 0, 0),
         {5, 6},
         6},
        {"replace one entry, use policies with different periods",
         {{kNow - 29, 8}, {kNow - 59, 6}, {kNow - 61, 7}, {kNow - 61, 9}},
         generate_rules(10, 60, 100, 30, 0),
         {8, 6, 7, 5},
         14},
        {"two entries, both actual",
         {{kNow - 58, 7}, {kNow - 59, 6}},
         generate_rules(10, 120, 100, 30, 0),
         {7, 6, 5},
         13},
    };
    for (const StoreCase &c : cases) {
        SCOPED_TRACE(c.name);
        EXPECT_EQ(replicas_change_in_period(60, c.previous, kNow), c.expected_change_in_60s);
        for (const char *direction : {"up", "down"}) {
            SCOPED_TRACE(direction);
            std::vector<ScaleEvent> events = c.previous;
            store_scale_event(events, {kNow, 5}, c.rules, kNow);
            ASSERT_EQ(events.size(), c.expected_changes.size());
            for (std::size_t i = 0; i < events.size(); ++i) {
                EXPECT_EQ(events[i].change, c.expected_changes[i]) << "index " << i;
            }
        }
    }
}

TEST(HpaBehaviorTest, EmptyEntriesWithDefaultBehaviorHaveNoChange) {
    // "empty entries with default behavior": no history, no change within the period.
    EXPECT_EQ(replicas_change_in_period(60, {}, kNow), 0);
}

// ---- TestNormalizeDesiredReplicasWithBehavior (stabilizeRecommendationWithBehaviors) ---

struct BehaviorStabilizeCase {
    const char *name;
    std::vector<TimedReplicas> recommendations;
    std::int32_t current, desired, expected;
    std::vector<std::int32_t> expected_recommendations;
    std::int32_t up_window, down_window;
};

TEST(HpaBehaviorTest, NormalizeDesiredReplicasWithBehavior) {
    const BehaviorStabilizeCase cases[] = {
        {"empty recommendations for scaling down", {}, 100, 5, 5, {5}, 0, 0},
        {"simple scale down stabilization",
         {{kNow - 120, 4}, {kNow - 60, 5}},
         100,
         3,
         5,
         {4, 5, 3},
         0,
         180},
        {"simple scale up stabilization",
         {{kNow - 120, 4}, {kNow - 60, 5}},
         1,
         7,
         4,
         {4, 5, 7},
         300,
         0},
        {"no scale down stabilization",
         {{kNow - 120, 1}, {kNow - 60, 2}},
         100,
         3,
         3,
         {1, 2, 3},
         300,
         0},
        {"no scale up stabilization",
         {{kNow - 120, 4}, {kNow - 60, 5}},
         1,
         3,
         3,
         {4, 5, 3},
         0,
         300},
        {"no scale down stabilization, reuse recommendation element",
         {{kNow - 600, 10}, {kNow - 540, 9}},
         100,
         3,
         3,
         {10, 3},
         0,
         0},
        {"no scale up stabilization, reuse recommendation element",
         {{kNow - 600, 10}, {kNow - 540, 9}},
         1,
         100,
         100,
         {10, 100},
         0,
         0},
        {"scale down stabilization, reuse one of obsolete recommendation element",
         {{kNow - 600, 10}, {kNow - 60, 4}, {kNow - 120, 5}, {kNow - 540, 9}},
         100,
         3,
         5,
         {10, 4, 5, 3},
         0,
         180},
        {"scale up stabilization, reuse one of obsolete recommendation element",
         {{kNow - 6000, 10}, {kNow - 60, 6}, {kNow - 120, 5}, {kNow - 180, 9}},
         1,
         100,
         5,
         {100, 6, 5, 9},
         300,
         0},
    };
    for (const BehaviorStabilizeCase &c : cases) {
        SCOPED_TRACE(c.name);
        Limited got = stabilize_with_behavior(c.recommendations, c.current, c.desired, c.up_window,
                                              c.down_window, kNow);
        EXPECT_EQ(got.replicas, c.expected);
        std::vector<TimedReplicas> log = c.recommendations;
        store_recommendation(log, {kNow, c.desired}, kNow - std::max(c.up_window, c.down_window));
        ASSERT_EQ(log.size(), c.expected_recommendations.size());
        for (std::size_t i = 0; i < log.size(); ++i) {
            EXPECT_EQ(log[i].replicas, c.expected_recommendations[i]) << "index " << i;
        }
    }
}

TEST(HpaBehaviorTest, StabilizeWithBehaviorReasons) {
    Limited up = stabilize_with_behavior({{kNow - 10, 4}}, 1, 7, 60, 0, kNow);
    EXPECT_EQ(up.replicas, 4);
    EXPECT_EQ(up.reason, "ScaleUpStabilized");
    EXPECT_EQ(up.message,
              "recent recommendations were lower than current one, applying the lowest recent "
              "recommendation");
    Limited down = stabilize_with_behavior({{kNow - 10, 9}}, 10, 3, 0, 60, kNow);
    EXPECT_EQ(down.replicas, 9);
    EXPECT_EQ(down.reason, "ScaleDownStabilized");
    EXPECT_EQ(down.message,
              "recent recommendations were higher than current one, applying the highest recent "
              "recommendation");
    // A sample exactly one window old is out of it (strictly after now - window counts).
    EXPECT_EQ(stabilize_with_behavior({{kNow - 60, 9}}, 10, 3, 0, 60, kNow).replicas, 3);
}

TEST(HpaBehaviorTest, Defaults) {
    ScalingRules up = default_scale_up_rules();
    EXPECT_EQ(up.stabilization_window_seconds, 0);
    EXPECT_EQ(up.select_policy, SelectPolicy::max);
    ASSERT_EQ(up.policies.size(), 2u);
    EXPECT_EQ(up.policies[0].type, PolicyType::pods);
    EXPECT_EQ(up.policies[0].value, 4);
    EXPECT_EQ(up.policies[0].period_seconds, 15);
    EXPECT_EQ(up.policies[1].type, PolicyType::percent);
    EXPECT_EQ(up.policies[1].value, 100);
    EXPECT_EQ(up.policies[1].period_seconds, 15);
    ScalingRules down = default_scale_down_rules();
    EXPECT_FALSE(down.stabilization_window_seconds.has_value());
    ASSERT_EQ(down.policies.size(), 1u);
    EXPECT_EQ(down.policies[0].type, PolicyType::percent);
    EXPECT_EQ(down.policies[0].value, 100);
    EXPECT_EQ(down.policies[0].period_seconds, 15);

    ControllerOptions options;
    Behavior b{up, down};
    EXPECT_EQ(scale_up_window_seconds(b), 0);
    EXPECT_EQ(scale_down_window_seconds(b, options), 300);
    options.downscale_stabilization_window = 90.9;
    EXPECT_EQ(scale_down_window_seconds(b, options), 90);
    b.scale_down.stabilization_window_seconds = 15;
    EXPECT_EQ(scale_down_window_seconds(b, options), 15);
}

}  // namespace
}  // namespace pulse::hpa
