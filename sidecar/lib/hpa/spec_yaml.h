// A HorizontalPodAutoscaler object (YAML or JSON, as `kubectl get hpa -o yaml` prints it or
// as it is applied) read into HpaSpec as kube-controller-manager 1.20 sees it: the API's
// defaulting (minReplicas 1, CPU at 80% when no metric is given, the v2beta2 behavior
// defaults), its validation (one-line errors naming the field), and the round trip through
// autoscaling/v1 that every HPA takes on its way to the controller (the apiserver stores
// and the controller reads autoscaling/v1: a Resource cpu metric with a Utilization target
// comes last, and each target's type follows the values it sets). docs/hpa.md describes it.
//
// apiVersion autoscaling/v1 (with its autoscaling.alpha.kubernetes.io/metrics and
// .../behavior annotations), autoscaling/v2beta1, autoscaling/v2beta2 and autoscaling/v2
// (v2beta2's GA form: the same fields; Kubernetes 1.20 does not serve it).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json_fwd.hpp>

#include "model.h"

namespace pulse::hpa {

// `text` is one or more YAML documents (or JSON); a `kind: List` contributes its items.
// Objects of other kinds are skipped. `name` picks the HPA of that metadata.name when there
// are several; empty: there must be exactly one. Errors: "spec.metrics[1].type: unknown
// metric type \"Foo\"".
std::variant<HpaSpec, std::string> parse_hpa(std::string_view text, std::string_view name = {});

// One HPA object given as JSON (the --batch lines' "hpa").
std::variant<HpaSpec, std::string> parse_hpa_json(const nlohmann::json &object);

}  // namespace pulse::hpa
