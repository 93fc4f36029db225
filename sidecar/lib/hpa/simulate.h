// `pulse-sidecar hpa simulate`: a recorded trace replayed through an HPA with the
// controller's loop (decide.h every sync period, the recommendation and scale-event
// history it keeps, seeded on the first pass as the controller seeds it), and pods that
// become ready only a startup delay after they are created. docs/hpa.md describes it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "model.h"
#include "trace.h"

namespace pulse::hpa {

// The built-in signals that add up over pods (common/signals.h: summed across pods), and
// the workers' queue length pulse_jobs_waiting (docs/workers.md).
std::set<std::string> default_extensive_metrics();

struct SimulationOptions {
    double sync_period = 15;                       // --horizontal-pod-autoscaler-sync-period
    double pod_startup = 60;                       // from creation to Ready
    std::optional<std::int32_t> initial_replicas;  // default: minReplicas
    ControllerOptions controller;
    // Metrics whose trace is the deployment's total, spread over the ready pods; the others
    // (latency quantiles, ratios) are taken as every ready pod's value.
    std::set<std::string> extensive = default_extensive_metrics();
    // Per-pod container requests, for Resource metrics: resource -> milli-units.
    std::map<std::string, std::int64_t> requests_milli;
};

// The pods the trace's total is spread over: an extensive metric's total / ready pods.
bool is_extensive(const SimulationOptions &options, const MetricSpec &metric);

struct Step {
    double time = 0;
    std::int32_t replicas = 0;  // before this sync's decision
    std::int32_t ready = 0;
    std::int32_t desired = 0;
    std::vector<double> load;     // per HPA metric: the trace's value at this time
    std::vector<double> per_pod;  // per HPA metric: what each ready pod reports (NaN: none)
    std::string reason;           // the limit's reason, or the failure's
};

struct MetricSummary {
    std::string name;
    double target = 0;         // the per-pod (or total) target, in the metric's unit
    double seconds_above = 0;  // sync periods whose per-pod value was over the target
};

struct Simulation {
    std::vector<Step> steps;
    std::int32_t peak = 0, lowest = 0;
    double pod_hours = 0;
    std::int32_t scale_ups = 0, scale_downs = 0;
    std::vector<MetricSummary> metrics;
};

// Errors: one line ("the HPA's metric 0 (cpu) is a Resource metric: give its request").
std::variant<Simulation, std::string> simulate(const HpaSpec &hpa, const Trace &trace,
                                               const SimulationOptions &options);

// The timeline as CSV: time,replicas,ready,desired,<metric>_load,<metric>_per_pod,...,reason
std::string simulation_csv(const HpaSpec &hpa, const Simulation &sim);

// One SVG a person reads at a glance: the load, the per-pod value against its target, and
// the replicas, on one time axis.
std::string simulation_svg(const HpaSpec &hpa, const Simulation &sim, const std::string &title);

// Target of a metric in the unit the trace uses (utilization in percent; values as numbers).
double target_value(const MetricSpec &metric);

}  // namespace pulse::hpa
