// `pulse-sidecar hpa explain NAMESPACE/NAME`: a live HorizontalPodAutoscaler's decision, as
// kube-controller-manager 1.20 takes it, from what the controller reads (the HPA through
// autoscaling/v2, or v2beta2 where v2 is not served; its target's scale subresource; the
// pods the scale selects; each metric from metrics.k8s.io, custom.metrics.k8s.io or
// external.metrics.k8s.io), printed as JSON beside the HPA's own status. The controller's
// history is in its memory: the decision is a freshly started controller's, and says so.
// Exit codes: 0 printed, 1 an API request failed (one line naming the request), 2 bad
// arguments. docs/hpa.md describes it.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>

namespace pulse::sidecar {

class HpaExplain {
  public:
    // Adds `explain` under `hpa` (HpaCli::command()).
    explicit HpaExplain(CLI::App &hpa);
    ~HpaExplain();
    HpaExplain(const HpaExplain &) = delete;
    HpaExplain &operator=(const HpaExplain &) = delete;

    // `hpa explain` was on the command line (after the app's parse).
    bool selected() const;
    // Reads the cluster and prints the explanation; the process' exit code.
    int run();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pulse::sidecar
