// The decision of `pulse-sidecar hpa decide` as JSON: the replica counts at each stage
// (proposed by the metrics, stabilized, limited), each metric's proposal and the current
// value the controller would report for it, the limit that applied, the conditions, and what
// the controller adds to its history. Quantities in Kubernetes' canonical form ("1500m",
// "2"). docs/hpa.md describes every field.
#pragma once

#include <nlohmann/json.hpp>

#include "model.h"

namespace pulse::hpa {

// The type's name as the API spells it: "Resource", "ContainerResource", "Pods", ...
const char *metric_type_name(MetricType type);
// "Utilization", "AverageValue", "Value"
const char *target_type_name(TargetType type);

// {"type": "AverageValue", "averageValue": "40"}: the target the controller acts on.
nlohmann::ordered_json target_json(const MetricTarget &target);

nlohmann::ordered_json decision_json(const Decision &decision);

// A time or duration in seconds as the decision and STATE.json write it: whole seconds as
// integers ("time": 1000), others as they are.
nlohmann::ordered_json seconds_json(double t);

}  // namespace pulse::hpa
