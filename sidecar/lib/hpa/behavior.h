// The parts of kube-controller-manager 1.20's HPA normalization that need no metrics
// (pkg/controller/podautoscaler/horizontal.go), as pure functions over the history the
// controller keeps: the stabilization windows over its recommendations, the scaling
// policies over its scale events, the scale-up limit of HPAs without `behavior`, and the
// way it adds to that history. decide.h puts them together; each is testable alone.
//
// Times are seconds on state.time's clock; "within a window" follows the controller's
// strict comparisons (noted per function).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model.h"

namespace pulse::hpa {

// ---- the API's defaults (autoscaling/v2beta2 GenerateHPAScaleUpRules / ...DownRules) ----

// A `scaleUp` left out: no stabilization, select Max, 4 pods or 100% per 15 seconds.
ScalingRules default_scale_up_rules();
// A `scaleDown` left out: stabilization_window_seconds unset (the controller's
// --horizontal-pod-autoscaler-downscale-stabilization), select Max, 100% per 15 seconds.
ScalingRules default_scale_down_rules();

// The stabilization windows the controller applies: an unset scale-up window is 0, an
// unset scale-down window is the controller's flag, in whole seconds.
std::int32_t scale_up_window_seconds(const Behavior &behavior);
std::int32_t scale_down_window_seconds(const Behavior &behavior, const ControllerOptions &options);

// ---- a limit and the reason the controller gives for it -----------------------------

struct Limited {
    std::int32_t replicas = 0;
    std::string reason;   // DesiredWithinRange, ScaleUpLimit, ScaleDownLimit, TooManyReplicas, ...
    std::string message;  // the condition's message for it
};

// ---- without `behavior` --------------------------------------------------------------

// The scale-up limit of an HPA without `behavior`: max(2 x current, 4).
std::int32_t scale_up_limit_without_behavior(std::int32_t current);

// The largest recommendation not older than the window (older: strictly before
// now - window), `desired` included.
std::int32_t stabilize_without_behavior(const std::vector<TimedReplicas> &recommendations,
                                        std::int32_t desired, double window_seconds, double now);

// min/max and the scale-up limit (convertDesiredReplicasWithRules).
Limited limit_without_behavior(std::int32_t current, std::int32_t desired,
                               std::int32_t min_replicas, std::int32_t max_replicas);

// ---- with `behavior` -----------------------------------------------------------------

// The sum of the changes of the events strictly after now - period.
std::int32_t replicas_change_in_period(std::int32_t period_seconds,
                                       const std::vector<ScaleEvent> &events, double now);

// The most replicas the scale-up policies allow now, from the count at each policy's
// period start (current - pods added within it); `current` when select_policy is Disabled.
std::int32_t scale_up_limit(std::int32_t current, const std::vector<ScaleEvent> &scale_up_events,
                            const ScalingRules &rules, double now);
// The fewest replicas the scale-down policies allow now (current + pods removed within
// each period, less the policy); `current` when select_policy is Disabled.
std::int32_t scale_down_limit(std::int32_t current,
                              const std::vector<ScaleEvent> &scale_down_events,
                              const ScalingRules &rules, double now);

// Scaling up (desired >= current): the smallest recommendation strictly newer than
// now - up_window, `desired` included; scaling down: the largest strictly newer than
// now - down_window. The reason/message are the ones the controller sets when the result
// differs from `desired` (ScaleUpStabilized / ScaleDownStabilized).
Limited stabilize_with_behavior(const std::vector<TimedReplicas> &recommendations,
                                std::int32_t current, std::int32_t desired,
                                std::int32_t up_window_seconds, std::int32_t down_window_seconds,
                                double now);

// The policies and min/max (convertDesiredReplicasWithBehaviorRate).
Limited limit_with_behavior(std::int32_t current, std::int32_t desired, std::int32_t min_replicas,
                            std::int32_t max_replicas, const Behavior &behavior,
                            const std::vector<ScaleEvent> &scale_up_events,
                            const std::vector<ScaleEvent> &scale_down_events, double now);

// ---- the controller's history --------------------------------------------------------

// The longest period_seconds of the rules' policies (0 without policies).
std::int32_t longest_policy_period(const ScalingRules &rules);

// Adds a recommendation as the controller does: it takes the place of the last one
// strictly older than `obsolete_before`, or is appended.
void store_recommendation(std::vector<TimedReplicas> &recommendations, TimedReplicas recommendation,
                          double obsolete_before);

// Adds a scale event as the controller does: it takes the place of the last event
// strictly older than now - the longest policy period of `rules` (the direction's rules),
// or is appended.
void store_scale_event(std::vector<ScaleEvent> &events, ScaleEvent event, const ScalingRules &rules,
                       double now);

}  // namespace pulse::hpa
