// STATE.json of `pulse-sidecar hpa decide`: what kube-controller-manager reads for one sync
// of an HPA (the scale's replica count, the pods, the metrics APIs' answers, its own
// history), read into ClusterState. docs/hpa.md describes every field. Unknown fields are
// errors, so a misspelt one is not silently a default.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json_fwd.hpp>

#include "model.h"

namespace pulse::hpa {

// Errors are one line naming the field: "pods[2].phase: \"Runing\" is not Pending, Running,
// Succeeded, Failed or Unknown", "metrics.pods.pulse_requests_per_second.web-0: \"x\" is not
// a quantity", "time: required".
std::variant<ClusterState, std::string> parse_state(std::string_view text);
std::variant<ClusterState, std::string> parse_state_json(const nlohmann::json &doc);

}  // namespace pulse::hpa
