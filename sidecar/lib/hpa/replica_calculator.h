// One metric's replica proposal, as kube-controller-manager 1.20's computeReplicasForMetric
// and ReplicaCalculator take it (pkg/controller/podautoscaler/replica_calculator.go): the
// pods grouped into ready, unready (CPU initialization period, initial readiness delay),
// missing and ignored (deleted, failed), the tolerance, the unready/missing pods' assumed
// usage when the ratio would otherwise flip, and the status the controller reports.
#pragma once

#include "model.h"

namespace pulse::hpa {

// state.current_replicas is the scale's count; state.status_replicas (or current) the HPA
// status' count that the per-pod Object and External forms divide by.
MetricResult compute_metric(const MetricSpec &metric, const ClusterState &state,
                            const ControllerOptions &options);

}  // namespace pulse::hpa
