#include "decide.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "behavior.h"
#include "replica_calculator.h"

namespace pulse::hpa {
namespace {

// The controller's setCondition: a condition of the same type is updated where it is, a
// new type is appended.
void set_condition(std::vector<Condition> &conditions, const std::string &type,
                   const std::string &status, const std::string &reason,
                   const std::string &message) {
    for (Condition &c : conditions) {
        if (c.type == type) {
            c.status = status;
            c.reason = reason;
            c.message = message;
            return;
        }
    }
    conditions.push_back({type, status, reason, message});
}

}  // namespace

std::string metric_description(const MetricSpec &metric) {
    switch (metric.type) {
        case MetricType::resource:
        case MetricType::container_resource:
            // As the replica calculator reads the target: an average value when one is given.
            if (metric.target.type == TargetType::average_value ||
                metric.target.average_value_milli != 0)
                return metric.name + " resource";
            return metric.name + " resource utilization (percentage of request)";
        case MetricType::pods:
            return "pods metric " + metric.name;
        case MetricType::object:
            if (metric.target.type == TargetType::value)
                return metric.described_object.kind + " metric " + metric.name;
            // The controller words a per-pod Object metric like an External one.
            return "external metric " + metric.name + "(" + describe_selector(metric.selector) +
                   ")";
        case MetricType::external:
            return "external metric " + metric.name + "(" + describe_selector(metric.selector) +
                   ")";
    }
    return metric.name;
}

Decision decide(const HpaSpec &hpa, const ClusterState &state, const ControllerOptions &options) {
    Decision d;
    const std::int32_t current = state.current_replicas;
    const std::int32_t min_replicas = hpa.min_replicas;
    d.current_replicas = current;
    set_condition(d.conditions, "AbleToScale", "True", "SucceededGetScale",
                  "the HPA controller was able to get the target's current scale");

    std::int32_t desired = 0;
    bool rescale = true;
    if (current == 0 && min_replicas != 0) {
        rescale = false;
        set_condition(d.conditions, "ScalingActive", "False", "ScalingDisabled",
                      "scaling is disabled since the replica count of the target is zero");
    } else if (current > hpa.max_replicas) {
        desired = hpa.max_replicas;
    } else if (current < min_replicas) {
        desired = min_replicas;
    } else {
        // Every metric's proposal; the largest valid one wins (the first of equals, but any
        // valid one replaces a proposal of 0).
        std::int32_t proposal = 0;
        std::string proposal_metric;
        std::size_t invalid = 0;
        Condition first_failure;
        for (const MetricSpec &m : hpa.metrics) {
            // The HPA's namespace: the controller names it in some failures' messages.
            MetricResult r = compute_metric(m, state, options, hpa.ns);
            if (!r.ok) {
                if (invalid == 0) first_failure = r.failure;
                ++invalid;
            } else if (proposal == 0 || r.proposal > proposal) {
                proposal = r.proposal;
                proposal_metric = metric_description(m);
            }
            d.metrics.push_back(std::move(r));
        }
        if (invalid >= hpa.metrics.size()) {
            set_condition(d.conditions, first_failure.type, first_failure.status,
                          first_failure.reason, first_failure.message);
            d.desired_replicas = current;
            d.rescale = false;
            return d;
        }
        set_condition(
            d.conditions, "ScalingActive", "True", "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count from " + proposal_metric);
        // The controller's count starts at 0 and takes the proposal only when larger: a
        // negative one (an int32 overflow in the calculator) proceeds, and is recorded, as 0.
        desired = std::max(proposal, 0);
        d.proposed_replicas = desired;
        d.recorded_recommendation = TimedReplicas{state.time, desired};

        Limited stabilized;
        Limited limited;
        if (!hpa.behavior) {
            stabilized.replicas = stabilize_without_behavior(
                state.recommendations, desired, options.downscale_stabilization_window, state.time);
            stabilized.reason = "ScaleDownStabilized";
            stabilized.message =
                "recent recommendations were higher than current one, applying the highest "
                "recent recommendation";
            limited = limit_without_behavior(current, stabilized.replicas, min_replicas,
                                             hpa.max_replicas);
        } else {
            const Behavior &b = *hpa.behavior;
            stabilized = stabilize_with_behavior(state.recommendations, current, desired,
                                                 scale_up_window_seconds(b),
                                                 scale_down_window_seconds(b, options), state.time);
            limited =
                limit_with_behavior(current, stabilized.replicas, min_replicas, hpa.max_replicas, b,
                                    state.scale_up_events, state.scale_down_events, state.time);
        }
        if (stabilized.replicas != desired) {
            set_condition(d.conditions, "AbleToScale", "True", stabilized.reason,
                          stabilized.message);
        } else {
            set_condition(d.conditions, "AbleToScale", "True", "ReadyForNewScale",
                          "recommended size matches current size");
        }
        set_condition(d.conditions, "ScalingLimited",
                      limited.replicas == stabilized.replicas ? "False" : "True", limited.reason,
                      limited.message);
        d.stabilized_replicas = stabilized.replicas;
        d.limit_reason = limited.reason;
        d.limit_message = limited.message;
        desired = limited.replicas;
        rescale = desired != current;
    }

    if (rescale) {
        set_condition(
            d.conditions, "AbleToScale", "True", "SucceededRescale",
            "the HPA controller was able to update the target scale to " + std::to_string(desired));
        if (hpa.behavior) {
            d.recorded_scale_event =
                ScaleEvent{state.time, desired > current ? desired - current : current - desired};
        }
    } else {
        desired = current;
    }
    d.desired_replicas = desired;
    d.rescale = rescale;
    return d;
}

void record_decision(const HpaSpec &hpa, const ControllerOptions &options, const Decision &decision,
                     ClusterState &state) {
    const double now = state.time;
    if (decision.recorded_recommendation) {
        double obsolete_before = now - options.downscale_stabilization_window;
        if (hpa.behavior) {
            const std::int32_t longest =
                std::max(scale_up_window_seconds(*hpa.behavior),
                         scale_down_window_seconds(*hpa.behavior, options));
            obsolete_before = now - static_cast<double>(longest);
        }
        store_recommendation(state.recommendations, *decision.recorded_recommendation,
                             obsolete_before);
    }
    if (decision.recorded_scale_event && hpa.behavior) {
        if (decision.desired_replicas > decision.current_replicas) {
            store_scale_event(state.scale_up_events, *decision.recorded_scale_event,
                              hpa.behavior->scale_up, now);
        } else {
            store_scale_event(state.scale_down_events, *decision.recorded_scale_event,
                              hpa.behavior->scale_down, now);
        }
    }
}

}  // namespace pulse::hpa
