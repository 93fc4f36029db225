// One metric's replica proposal, as kube-controller-manager 1.20's computeReplicasForMetric
// and ReplicaCalculator take it (pkg/controller/podautoscaler/replica_calculator.go): the
// pods grouped into ready, unready (CPU initialization period, initial readiness delay),
// missing and ignored (deleted, failed), the tolerance, the unready/missing pods' assumed
// usage when the ratio would otherwise flip, and the status the controller reports.
#pragma once

#include "model.h"

#include <set>
#include <string>

namespace pulse::hpa {

// state.current_replicas is the scale's count; state.status_replicas (or current) the HPA
// status' count that the per-pod Object and External forms divide by.
MetricResult compute_metric(const MetricSpec &metric, const ClusterState &state,
                            const ControllerOptions &options);

// The same, with the HPA's namespace, which the controller's Object and External error
// messages name (the three-argument form names "default").
//
// On failure, `error` is the error computeReplicasForMetric returns for the metric (the one
// computeReplicasForMetrics quotes as "first error is: ..."), and `failure` the condition
// it proposes (ScalingActive False, FailedGet<Type>Metric, "the HPA was unable to compute
// the replica count: ..."), whose message wraps the error as the controller does (for some
// types a less wrapped one). The target is read as the controller reads it: Resource and
// External use an average value when one is given (type average_value or a non-zero
// average_value_milli), Object goes by the type, Pods always uses average_value_milli.
MetricResult compute_metric(const MetricSpec &metric, const ClusterState &state,
                            const ControllerOptions &options, const std::string &ns);

// How the controller sorts the selected pods for one metric (groupPods): deleted or Failed
// pods are ignored; Pending pods are unready; pods without a sample are missing; for cpu
// only, a pod is unready when it has not started, or, within cpu_initialization_period of
// its start, when it is not Ready or its Ready transition is less than one metric window
// before the sample, or, after that period, when it is not Ready and never was (the
// transition is less than initial_readiness_delay after its start). The rest count ready.
// A pod without ready_since has its transition at the beginning of time.
struct PodGroups {
    int ready_count = 0;
    std::set<std::string> unready, missing, ignored;
};
PodGroups group_pods(const std::vector<PodState> &pods,
                     const std::map<std::string, std::int64_t> &metrics,
                     const std::string &resource, double now, double metric_time,
                     double metric_window, const ControllerOptions &options);

// The selector's text in the controller's messages (%+v of a *metav1.LabelSelector):
// "nil" for none, else "&LabelSelector{MatchLabels:map[string]string{k: v,},...}".
std::string describe_selector(const std::string &selector_json);

}  // namespace pulse::hpa
