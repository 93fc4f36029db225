// What `pulse-sidecar hpa explain` reads from a live cluster, turned into the model that
// decide() takes (model.h): the Kubernetes API's JSON answers as kube-controller-manager 1.20
// reads them (pkg/controller/podautoscaler: horizontal.go, replica_calculator.go,
// metrics/rest_metrics_client.go), and the paths it asks them at. Pure: no network; the
// app (sidecar/app/hpa_explain.cpp) makes the requests. docs/hpa.md describes the command.
//
// Errors are one line naming the document and the field: "PodList: items[2].status.startTime:
// \"yesterday\" is not an RFC 3339 time", "MetricValueList: items[0].value: \"x\" is not a
// quantity (...)".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "model.h"

namespace pulse::hpa {

struct ReadError {
    std::string message;
};

// ---- times ---------------------------------------------------------------------------

// metav1.Time's text: common/rfc3339.h.
// A Go duration as metav1.Duration and kube-controller-manager's flags write them ("30s",
// "1m0s", "1m30s", "300ms", "1.5h", "0"): seconds; nullopt when not one or negative.
std::optional<double> parse_go_duration(std::string_view text);

// ---- the scale subresource and the pods ------------------------------------------------

// An autoscaling/v1 Scale: what the controller calls currentReplicas is spec.replicas
// (ClusterState::current_replicas); status.replicas is what the per-pod Object and External
// forms divide by (ClusterState::status_replicas); status.selector selects the pods.
struct LiveScale {
    std::int32_t spec_replicas = 0;
    std::int32_t status_replicas = 0;
    std::string selector;  // "" when the target's scale has none
};
std::variant<LiveScale, ReadError> read_scale(const nlohmann::json &doc);

struct LivePods {
    std::vector<PodState> pods;
    // Pods whose Ready condition is "Unknown": read as not ready (ready = false), which is
    // what the controller's ready-pod count sees; its CPU rules alone treat Unknown as not
    // False.
    std::vector<std::string> ready_unknown;
};
// A v1 PodList: each pod's status.phase (absent: Unknown, which the controller treats as
// Running), Ready condition (absent: not ready, since the zero time), deletionTimestamp,
// status.startTime, and its containers' (not init containers') resources.requests.
std::variant<LivePods, ReadError> read_pod_list(const nlohmann::json &doc);

// ---- metrics.k8s.io --------------------------------------------------------------------

struct PodUsage {
    std::string ns, pod;
    double timestamp = 0;
    double window = 0;  // seconds
    // container name -> resource -> milli-units
    std::vector<std::pair<std::string, std::map<std::string, std::int64_t>>> containers;
};
// A metrics.k8s.io/v1beta1 PodMetricsList.
std::variant<std::vector<PodUsage>, ReadError> read_pod_metrics(const nlohmann::json &doc);

struct ResourceSamples {
    std::map<std::string, std::int64_t> values;  // pod -> milli-units
    double timestamp = 0;                        // the first item's: the controller's
    double window = 60;                          // the first item's, seconds
};
// Each pod's total of `resource` over its containers, as the controller adds them up: a pod
// without containers, or with one that lacks the resource, is left out (a missing pod).
// Error "no metrics returned from resource metrics API" for an empty list.
std::variant<ResourceSamples, ReadError> resource_samples(const std::vector<PodUsage> &usage,
                                                          const std::string &resource);
// `container`'s usage of `resource` in each pod (a pod whose container lacks it is left
// out); an error, as the controller's, when a pod has no such container.
std::variant<ResourceSamples, ReadError> container_samples(const std::vector<PodUsage> &usage,
                                                           const std::string &container,
                                                           const std::string &resource);

// ---- custom.metrics.k8s.io and external.metrics.k8s.io ----------------------------------

// The version the controller's client uses: the APIGroup's preferredVersion when it is
// v1beta2 or v1beta1, else the first of its versions that is ("v1beta2").
std::variant<std::string, ReadError> custom_metrics_version(const nlohmann::json &api_group);
// A MetricValueList (v1beta1 or v1beta2) for pods: describedObject.name -> value. Error
// "no metrics returned from custom metrics API" when empty.
std::variant<std::map<std::string, std::int64_t>, ReadError> read_pods_metric(
    const nlohmann::json &doc);
// A MetricValueList for one object: its one item's value (the controller's client refuses
// any other count).
std::variant<std::int64_t, ReadError> read_object_metric(const nlohmann::json &doc);
// An ExternalMetricValueList: the sum of its items' values, as the controller adds them.
// Error "no metrics returned from external metrics API" when empty.
std::variant<std::int64_t, ReadError> read_external_metric(const nlohmann::json &doc);

// ---- selectors and paths ---------------------------------------------------------------

// A metric's selector (MetricSpec::selector: the HPA's LabelSelector as JSON text) as the
// label selector string the API takes, as metav1.LabelSelectorAsSelector(...).String()
// writes it: requirements sorted by key, "a=b,c in (x,y),d notin (z),e,!f", values sorted;
// "" for none or an empty one. Errors as the controller's ("\"Foo\" is not a valid pod
// selector operator").
std::variant<std::string, ReadError> label_selector_string(std::string_view selector_json);

// "apps/v1" -> {"apps", "v1"}; "v1" -> {"", "v1"}.
std::pair<std::string, std::string> split_api_version(std::string_view api_version);

struct ApiResource {
    std::string group, version, resource;  // resource: the lowercase plural ("deployments")
};
// The built-in kinds an HPA targets or describes, at the version the API serves them
// (Deployment, StatefulSet, ReplicaSet, DaemonSet: apps/v1 whatever version is written;
// ReplicationController, Service, Pod, Namespace...: v1); nullopt for the rest (custom
// resources: read the group's discovery).
std::optional<ApiResource> builtin_resource(const ObjectReference &ref);
// The resource of `kind` in an APIResourceList (discovery of /apis/GROUP/VERSION), not a
// subresource; nullopt when absent.
std::optional<std::string> resource_of_kind(const nlohmann::json &api_resource_list,
                                            std::string_view kind);

// /apis/autoscaling/VERSION/namespaces/NS/horizontalpodautoscalers/NAME
std::string hpa_path(std::string_view version, std::string_view ns, std::string_view name);
// /apis/apps/v1/namespaces/NS/deployments/NAME/scale, /api/v1/.../replicationcontrollers/...
std::string scale_path(std::string_view ns, const ApiResource &target, std::string_view name);
// /api/v1/namespaces/NS/pods?labelSelector=...
std::string pods_path(std::string_view ns, std::string_view selector);
// /apis/metrics.k8s.io/v1beta1/namespaces/NS/pods?labelSelector=...
std::string pod_metrics_path(std::string_view ns, std::string_view selector);
// /apis/custom.metrics.k8s.io/VERSION/namespaces/NS/pods/*/METRIC?labelSelector=...
// &metricLabelSelector=...
std::string pods_metric_path(std::string_view version, std::string_view ns, std::string_view metric,
                             std::string_view pod_selector, std::string_view metric_selector);
// The described object's segment: "deployments.apps", "services" (group-qualified).
std::string custom_metrics_resource(const ApiResource &object);
// /apis/custom.metrics.k8s.io/VERSION/namespaces/NS/deployments.apps/NAME/METRIC
// [?metricLabelSelector=...]; a Namespace object: .../namespaces/NS/metrics/METRIC (the
// controller reads the HPA's own namespace, whatever name is written).
std::string object_metric_path(std::string_view version, std::string_view ns,
                               const ObjectReference &object, std::string_view resource,
                               std::string_view metric, std::string_view metric_selector);
// /apis/external.metrics.k8s.io/v1beta1/namespaces/NS/METRIC[?labelSelector=...]
std::string external_metric_path(std::string_view ns, std::string_view metric,
                                 std::string_view metric_selector);

// ---- the state, as STATE.json -----------------------------------------------------------

// `state` in the form `hpa decide --state` reads (docs/hpa.md), quantities canonical, so a
// decision can be replayed: parse_state_json(state_json(s)) gives s back.
nlohmann::ordered_json state_json(const ClusterState &state);

}  // namespace pulse::hpa
