// The HorizontalPodAutoscaler's whole decision for one sync, as kube-controller-manager
// 1.20's reconcileAutoscaler takes it (pkg/controller/podautoscaler/horizontal.go): scaling
// disabled at 0 replicas, out-of-range counts, every metric's proposal and the largest,
// the stabilization and the policies of `behavior` (or, without it, the downscale
// stabilization window and the scale-up limit), min/max, and the conditions it sets.
#pragma once

#include "model.h"

namespace pulse::hpa {

Decision decide(const HpaSpec &hpa, const ClusterState &state, const ControllerOptions &options);

}  // namespace pulse::hpa

// ---- additions beside decide() ------------------------------------------------------
//
// What decide() fills in, by path (the controller's reconcileAutoscaler):
// - target at 0 replicas with minReplicas != 0: ScalingActive False ScalingDisabled, no
//   metrics computed, desired = current;
// - current above maxReplicas / below minReplicas: desired = max / min, rescale, only the
//   AbleToScale condition; no metrics, no recommendation recorded;
// - every metric failed: the first failure's condition, desired = current, no rescale,
//   no recommendation recorded (the controller leaves the status' desired count as it was);
// - otherwise proposed (the largest valid proposal; a negative one, from an int32 overflow
//   in the calculator, is 0 as in the controller), stabilized, desired with the limit's
//   reason and message, and the recommendation recorded (the proposed count, unstabilized).
// recorded_scale_event is set only when rescaling an HPA with `behavior` (the controller
// keeps no events without it); its change counts pods added or removed (the direction is
// desired vs current). state.current_replicas is what the controller calls currentReplicas:
// the scale subresource's spec.replicas.

namespace pulse::hpa {

// The metric as the controller names it in ValidMetricFound's message ("cpu resource
// utilization (percentage of request)", "pods metric qps", "Deployment metric qps",
// "external metric qps(nil)", ...), selectors printed as Go prints a *LabelSelector.
std::string metric_description(const MetricSpec &metric);

// The controller's history after `decision`, as it keeps it for the next sync: the
// recorded recommendation takes the place of an obsolete one (older than the stabilization
// window, or the longer of the two with `behavior`) or is appended; the scale event likewise
// in the scale-up or scale-down list (replacing one older than the longest policy period).
void record_decision(const HpaSpec &hpa, const ControllerOptions &options, const Decision &decision,
                     ClusterState &state);

}  // namespace pulse::hpa
