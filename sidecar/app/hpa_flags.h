// kube-controller-manager's HPA flags, shared by `hpa decide`, `hpa simulate` and `hpa
// explain`: under pulse's short names and the controller's own
// (--horizontal-pod-autoscaler-tolerance, ...), durations as the controller takes them.
// A bad value is bad input: CLI11 exits with code 2 and a one-line message naming the flag.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "hpa/model.h"

namespace pulse::sidecar {

// A Go duration ("5m0s", "1m30s", "300ms") or a bare number of seconds; nullopt when
// neither, or negative.
std::optional<double> controller_duration(std::string_view text);

void add_controller_flags(CLI::App &command, hpa::ControllerOptions &options);

}  // namespace pulse::sidecar
