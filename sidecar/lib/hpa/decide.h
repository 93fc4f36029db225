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
