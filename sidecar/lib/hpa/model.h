// The HorizontalPodAutoscaler's decision, as kube-controller-manager 1.20 takes it
// (pkg/controller/podautoscaler: replica_calculator.go, horizontal.go), as plain data: the
// HPA's spec, the state the controller reads (pods, metrics, its own history), and the
// decision with the statuses and conditions it would write. docs/hpa.md describes the JSON
// forms. Pure: no network; `pulse-sidecar hpa decide|simulate|explain` fill these in.
//
// Quantities are milli-units (int64), as the controller computes with MilliValue().
// Times are seconds on one clock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pulse::hpa {

// ---- the HPA's spec -----------------------------------------------------------------

enum class MetricType { resource, container_resource, pods, object, external };
enum class TargetType { utilization, average_value, value };

struct MetricTarget {
    TargetType type = TargetType::utilization;
    std::int32_t average_utilization = 0;  // percent, for utilization
    std::int64_t average_value_milli = 0;  // for average_value
    std::int64_t value_milli = 0;          // for value
};

struct ObjectReference {
    std::string api_version, kind, name;
};

struct MetricSpec {
    MetricType type = MetricType::resource;
    std::string name;       // the resource (cpu, memory) or the metric's name
    std::string container;  // container_resource only
    // The metric's selector as the HPA writes it (matchLabels/matchExpressions), as JSON
    // text; empty when none. Passed to the metrics APIs as is.
    std::string selector;
    ObjectReference described_object;  // object only
    MetricTarget target;
};

enum class PolicyType { pods, percent };

struct ScalingPolicy {
    PolicyType type = PolicyType::pods;
    std::int32_t value = 0;
    std::int32_t period_seconds = 0;
};

enum class SelectPolicy { max, min, disabled };

struct ScalingRules {
    std::optional<std::int32_t> stabilization_window_seconds;
    SelectPolicy select_policy = SelectPolicy::max;
    std::vector<ScalingPolicy> policies;
};

struct Behavior {
    // After the API's defaulting (autoscaling/v2beta2 GenerateHPAScaleUpRules /
    // GenerateHPAScaleDownRules): both always set once parsed.
    ScalingRules scale_up, scale_down;
};

struct HpaSpec {
    std::string api_version;  // as written: autoscaling/v1, v2beta2, v2
    std::string ns, name;
    ObjectReference scale_target;
    std::int32_t min_replicas = 1;
    std::int32_t max_replicas = 0;
    std::vector<MetricSpec>
        metrics;  // v1's targetCPUUtilizationPercentage becomes one (80 by default)
    // nullopt: no `behavior` written, the controller's older path (normalizeDesiredReplicas:
    // the --horizontal-pod-autoscaler-downscale-stabilization window and the scale-up limit
    // max(2 x current, 4)).
    std::optional<Behavior> behavior;
};

// ---- what the controller reads ------------------------------------------------------

struct ContainerRequests {
    std::string name;
    std::map<std::string, std::int64_t> requests_milli;  // resource -> milli-units
};

struct PodState {
    std::string name;
    std::string phase = "Running";      // Pending, Running, Succeeded, Failed, Unknown
    bool ready = true;                  // its Ready condition is True
    bool deleting = false;              // metadata.deletionTimestamp is set
    std::optional<double> start_time;   // status.startTime; nullopt: not started
    std::optional<double> ready_since;  // the Ready condition's lastTransitionTime
    std::vector<ContainerRequests> containers;
};

struct TimedReplicas {
    double time = 0;
    std::int32_t replicas = 0;
};

struct ScaleEvent {
    double time = 0;
    std::int32_t change = 0;  // pods added (scale-up events) or removed (scale-down events)
};

struct ClusterState {
    double time = 0;
    // The scale subresource's spec.replicas: what the controller calls currentReplicas.
    std::int32_t current_replicas = 0;
    // The scale subresource's status.replicas, which the per-pod Object/External forms
    // divide by; nullopt: current_replicas.
    std::optional<std::int32_t> status_replicas;
    std::vector<PodState> pods;  // the pods the scale's selector selects
    // metric values: per pod (resource totals over the pod's containers, container
    // resources keyed "container/resource", pods metrics), or one value (object, external)
    std::map<std::string, std::map<std::string, std::int64_t>> resource;
    std::map<std::string, std::map<std::string, std::int64_t>> container_resource;
    std::map<std::string, std::map<std::string, std::int64_t>>
        pods_metrics;  // "pods" in STATE.json
    std::map<std::string, std::int64_t> object;
    std::map<std::string, std::int64_t> external;
    double resource_metric_time = 0;             // default: time
    double resource_metric_window = 60;          // seconds
    std::vector<TimedReplicas> recommendations;  // the controller's history, as given
    std::vector<ScaleEvent> scale_up_events, scale_down_events;
};

// kube-controller-manager's flags, with their defaults.
struct ControllerOptions {
    double tolerance = 0.1;                       // --horizontal-pod-autoscaler-tolerance
    double cpu_initialization_period = 300;       // ...-cpu-initialization-period
    double initial_readiness_delay = 30;          // ...-initial-readiness-delay
    double downscale_stabilization_window = 300;  // ...-downscale-stabilization
};

// ---- the decision -------------------------------------------------------------------

struct Condition {
    std::string type;    // AbleToScale, ScalingActive, ScalingLimited
    std::string status;  // True, False
    std::string reason;
    std::string message;
};

struct MetricResult {
    MetricSpec spec;
    bool ok = false;
    std::int32_t proposal = 0;  // the replicas this metric asks for (when ok)
    // What the controller reports in status.currentMetrics for it (when ok): per type, the
    // average utilization (percent), the average value or the value, in milli-units.
    std::optional<std::int32_t> current_average_utilization;
    std::optional<std::int64_t> current_average_value_milli;
    std::optional<std::int64_t> current_value_milli;
    std::string error;  // why it could not be computed (when !ok)
    Condition failure;  // the ScalingActive=False condition the failure sets (when !ok)
};

struct Decision {
    std::int32_t current_replicas = 0;
    std::int32_t desired_replicas = 0;
    bool rescale = false;
    std::vector<MetricResult> metrics;
    // The largest proposal (metricDesiredReplicas), before stabilization and limits.
    std::int32_t proposed_replicas = 0;
    // After the stabilization window. (The controller records the count before it:
    // recorded_recommendation.)
    std::int32_t stabilized_replicas = 0;
    // After the policies / scale-up limit and min/max: the reason and message of the
    // limit that applied ("DesiredWithinRange", "ScaleUpLimit", "TooManyReplicas", ...).
    std::string limit_reason, limit_message;
    std::vector<Condition> conditions;  // as the controller sets them, in its order
    std::optional<TimedReplicas> recorded_recommendation;  // what it adds to its history
    std::optional<ScaleEvent> recorded_scale_event;        // when it rescales
};

}  // namespace pulse::hpa
