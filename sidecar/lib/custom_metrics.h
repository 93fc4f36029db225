// The Kubernetes custom metrics API (custom.metrics.k8s.io v1beta1 and v1beta2) as pure
// functions: request paths, the pod list and single pods the Kubernetes API answers, each
// sidecar's /signals answer, quantities, and the JSON documents the API answers with
// (discovery, MetricValueList, Status). No network here: `pulse-sidecar adapter`
// (sidecar/app/adapter.cpp) does the I/O and calls these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pulse::sidecar::cm {

inline constexpr std::string_view kGroup = "custom.metrics.k8s.io";
inline constexpr std::string_view kDefaultPortAnnotation = "pulse.dev/sidecar-port";

enum class ApiVersion { v1beta1, v1beta2 };

std::string_view version_name(ApiVersion version);
std::optional<ApiVersion> parse_version(std::string_view name);

// ---- signals -------------------------------------------------------------------------

// True for the built-in signals' names (common/signals.h).
bool is_signal(std::string_view name);

// ---- the config's signals (docs/workers.md) ------------------------------------------

// A Kubernetes object a config signal is served for, as an Object metric.
struct ObjectTarget {
    std::string ns;
    std::string resource;  // plural, lowercase, as in the config: "deployments"
    std::string name;
    std::vector<std::pair<std::string, std::string>> match;  // the series' labels it takes
};

struct ConfigMetric {
    std::string name;
    std::int64_t window_seconds = 0;  // the expression's longest range
    std::vector<ObjectTarget> objects;
};

// What the adapter serves besides the built-in signals: the --config's signals, as Pods
// metrics read from each pod's sidecar and, where attached, as Object metrics.
struct Catalog {
    std::vector<ConfigMetric> metrics;
    const ConfigMetric *find(std::string_view name) const;
};

// The Kind and apiVersion of a resource's objects ("deployments" -> Deployment, apps/v1),
// and the resource as the HPA names it in the path ("deployments.apps"). Resources outside
// the built-in table get a Kind from their name and no group.
struct ResourceKind {
    std::string kind;
    std::string api_version;
    std::string qualified;  // resource[.group]
};
ResourceKind resource_kind(std::string_view resource);

// True when the path's resource ("deployments", "deployments.apps") is the configured one.
bool same_resource(std::string_view requested, std::string_view configured);

// ---- errors (metav1.Status) ----------------------------------------------------------

struct ApiError {
    int code = 500;
    std::string reason;  // "NotFound", "BadRequest", "Unauthorized", ...
    std::string message;
};

// The Status reason Kubernetes uses for an HTTP code ("InternalError" for unknown ones).
std::string_view reason_for_code(int code);
ApiError api_error(int code, std::string message);
// The custom-metrics-apiserver wording: "the server could not find the metric M for pods"
// and, with a name, "... for pods NAME".
ApiError metric_not_found(std::string_view metric, std::string_view resource,
                          std::string_view name = {});
nlohmann::json status_json(const ApiError &error);

// ---- request paths -------------------------------------------------------------------

enum class RequestKind {
    group,       // /apis/custom.metrics.k8s.io: the APIGroup
    discovery,   // /apis/custom.metrics.k8s.io/<v>: the APIResourceList
    pods,        // .../<v>/namespaces/{ns}/pods/*/{metric}
    pod,         // .../<v>/namespaces/{ns}/pods/{name}/{metric}
    namespace_,  // .../<v>/namespaces/{ns}/metrics/{metric}
    object,      // .../<v>/namespaces/{ns}/{resource}/{name|*}/{metric}, a config signal
};

struct ApiRequest {
    RequestKind kind = RequestKind::group;
    ApiVersion version = ApiVersion::v1beta2;
    std::string ns;
    std::string pod;  // only for RequestKind::pod
    std::string metric;
    std::string resource;  // only for RequestKind::object: as written ("deployments.apps")
    std::string object;    // only for RequestKind::object: the name, or "*"
};

// True for paths under /apis/custom.metrics.k8s.io (the part that needs a client).
bool is_api_path(std::string_view raw_path);

// Parses the path as sent (percent-encoded: `*` may arrive as %2A); each segment is
// decoded on its own. Unknown paths, versions and metrics, and names no namespace or pod
// can have, are 404 Status errors. `catalog`: the config's signals, also known metrics.
std::variant<ApiRequest, ApiError> parse_api_path(std::string_view raw_path,
                                                  const Catalog &catalog = {});

// Kubernetes names: a DNS-1123 label (namespaces) and subdomain (pods).
bool valid_namespace_name(std::string_view name);
bool valid_pod_name(std::string_view name);

// ---- metricLabelSelector -------------------------------------------------------------

struct MetricSelector {
    std::optional<std::string> server;  // nullopt: the pod-level signal
    // For a config signal: the series whose labels include these (sum of them).
    std::vector<std::pair<std::string, std::string>> labels;
};

// For a built-in signal: "" selects the pod-level signal, "server=NAME" (or
// "server==NAME") the signal of that nginx server. For a config signal (`config`):
// equality requirements "k=v,k2==v2" on the series' labels. Anything else is a 400 Status.
std::variant<MetricSelector, ApiError> parse_metric_selector(std::string_view text,
                                                             bool config = false);

// The item's selector as a metav1.LabelSelector: null, or {"matchLabels": {...}}.
nlohmann::json selector_json(const MetricSelector &selector);

// ---- pods (the Kubernetes API's answers) ---------------------------------------------

struct PodInfo {
    std::string ns;
    std::string name;
    std::string phase;                           // "Running", "Pending", ...
    std::string ip;                              // status.podIP, empty when none yet
    bool terminating = false;                    // metadata.deletionTimestamp is set
    std::optional<std::string> port_annotation;  // the sidecar port annotation's value
};

// A v1 PodList / a v1 Pod; `annotation` names the sidecar port annotation. An error
// message when the document is not one.
std::variant<std::vector<PodInfo>, std::string> parse_pod_list(std::string_view body,
                                                               std::string_view annotation);
std::variant<PodInfo, std::string> parse_pod(std::string_view body, std::string_view annotation);

// Why the pod gets no /signals request ("the pod is terminating", "the pod is not running
// (phase Pending)", "the pod has no IP yet"), or nullopt when it is Running, has an IP
// and no deletion timestamp.
std::optional<std::string> pod_ineligible(const PodInfo &pod);

// The sidecar port: the annotation's value when the pod carries it, else `default_port`;
// an error message when the annotation is not a port number.
std::variant<int, std::string> sidecar_port(const PodInfo &pod, int default_port);

// http://IP:PORT/signals (an IPv6 address in brackets).
std::string signals_url(std::string_view ip, int port);

// ---- each sidecar's /signals answer --------------------------------------------------

// One config signal in a sidecar's /signals ("config_signals").
struct ConfigReading {
    double timestamp_unix = 0;  // the evaluation the series come from
    bool stale = true;
    double stale_after_seconds = 0;  // 0: the sidecar did not say
    double window_seconds = 0;
    // Labels and value of each series; null (non-finite) values are left out.
    std::vector<std::pair<std::map<std::string, std::string>, double>> series;
};

struct SidecarReading {
    double timestamp_unix = 0;  // the scrape the numbers come from
    bool stale = true;
    double stale_after_seconds = 0;  // 0: the sidecar did not say
    bool draining = false;
    double window_seconds = 0;
    std::map<std::string, double> pod;  // null (non-finite) values are left out
    std::map<std::string, std::map<std::string, double>> servers;
    std::map<std::string, ConfigReading> config;  // by signal name
};

// An error message when the body is not a /signals document. A document without a good
// scrape yet (timestamp null) is read as stale.
std::variant<SidecarReading, std::string> parse_signals(std::string_view body);

// How far ahead of the adapter's clock a reading's timestamp may be. Two nodes' clocks
// disagree a little (NTP keeps them within milliseconds; a node that lost it drifts by
// seconds a day). Numbers stamped further ahead come from a wrong clock or a sidecar that
// lies, and their "stale": false cannot be believed: the sidecar judged their age with
// that clock. docs/adapter.md, "Pods left out".
inline constexpr double kFutureAllowanceSeconds = 5;

// "stale" or "draining" when the pod's numbers must not be used, else nullopt. A config
// signal's freshness is its own: a pod without nginx still serves it. Given the adapter's
// clock (`now_unix`), also "future" when the numbers' timestamp (reading_timestamp) is
// more than `allowance` seconds after it, and "old" when they are older than the
// sidecar's own stale_after_seconds plus `allowance` by that clock although the sidecar
// says "stale": false (a stopped clock, or a lie).
std::optional<std::string> reading_unusable(const SidecarReading &reading,
                                            std::string_view metric = {},
                                            std::optional<double> now_unix = std::nullopt,
                                            double allowance = kFutureAllowanceSeconds);

// The sidecar's stale_after_seconds for the metric's numbers (0 when it did not say).
double reading_stale_after(const SidecarReading &reading, std::string_view metric);

// The timestamp of the numbers the metric comes from: the scrape's, or for a config
// signal its evaluation's (0 when the reading has none).
double reading_timestamp(const SidecarReading &reading, std::string_view metric);

// The signal's value for the pod, or for one of its nginx servers; nullopt when absent.
std::optional<double> reading_value(const SidecarReading &reading, std::string_view metric,
                                    const MetricSelector &selector);

// ---- values --------------------------------------------------------------------------

// A resource.Quantity in milli-units: 1.5 -> "1500m", 2 -> "2000m", 0 -> "0", rounded to
// the nearest milli-unit (half away from zero); beyond int64 milli-units it saturates.
std::string format_quantity(double value);

struct MetricPoint {
    std::string kind = "Pod";  // or "Namespace", or an Object metric's kind
    std::string api_version = "/v1";
    std::string ns;  // the namespace (for kind Namespace: its own name)
    std::string name;
    double timestamp_unix = 0;
    std::int64_t window_seconds = 0;
    double value = 0;
};

// The item for one pod's reading: timestamp of its scrape, window rounded to whole seconds
// (0 for instantaneous signals). nullopt when the reading has no value for it.
std::optional<MetricPoint> pod_point(const PodInfo &pod, const SidecarReading &reading,
                                     std::string_view metric, const MetricSelector &selector);

// The namespace's value from its pods' points (summed or the maximum, as common/signals.h
// says of the signal; the maximum for a config signal); the
// oldest pod timestamp and the longest window. nullopt without points.
std::optional<MetricPoint> aggregate_namespace(std::string_view ns, std::string_view metric,
                                               const std::vector<MetricPoint> &points);

// ---- documents -----------------------------------------------------------------------

// The MetricValueList in the version's own shape.
nlohmann::json metric_value_list(ApiVersion version, std::string_view metric,
                                 const MetricSelector &selector,
                                 const std::vector<MetricPoint> &points);

// The APIResourceList: pods/<signal> (namespaced) and namespaces/<signal> (not) for each
// signal, pods/<signal> for each config signal and <resource>/<signal> for the resources
// config signals are attached to; kind MetricValueList, verbs ["get"].
nlohmann::json discovery(ApiVersion version, const Catalog &catalog = {});

// The APIGroup for /apis/custom.metrics.k8s.io (v1beta2 preferred).
nlohmann::json api_group();

}  // namespace pulse::sidecar::cm
