#include "replica_calculator.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/ascii_case.h"

namespace pulse::hpa {

namespace {

using PodMetrics = std::map<std::string, std::int64_t>;

constexpr const char *kNoPods = "no pods returned by selector while calculating replica count";
constexpr const char *kNoReadyMetrics = "did not receive metrics for any ready pods";

// ---- Go's integer and float semantics (amd64) ------------------------------------------

std::int64_t add_wrap(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

std::int64_t mul_wrap(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}

// Truncating division; the most negative value divided by -1 is itself, as in Go.
std::int64_t div_go(std::int64_t a, std::int64_t b) {
    if (b == -1) return static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(a));
    return a / b;
}

// int32(f) / int64(f) of an integral float64: out of range or NaN gives the most negative
// value, as the amd64 conversion instructions do.
std::int32_t to_int32(double f) {
    if (!(f >= -2147483648.0 && f < 2147483648.0)) return std::numeric_limits<std::int32_t>::min();
    return static_cast<std::int32_t>(f);
}

std::int64_t to_int64(double f) {
    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
        return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(f);
}

// ---- pods ---------------------------------------------------------------------------

void remove_pods(PodMetrics &metrics, const std::set<std::string> &pods) {
    for (const std::string &pod : pods) metrics.erase(pod);
}

// The pods' requests of a resource, summed over their containers (or the one container);
// a container without the request fails the whole computation.
bool pod_requests(const std::vector<PodState> &pods, const std::string &container,
                  const std::string &resource, std::map<std::string, std::int64_t> &out,
                  std::string &error) {
    for (const PodState &pod : pods) {
        std::int64_t sum = 0;
        for (const ContainerRequests &c : pod.containers) {
            if (!container.empty() && container != c.name) continue;
            auto it = c.requests_milli.find(resource);
            if (it == c.requests_milli.end()) {
                error = "missing request for " + resource;
                return false;
            }
            sum = add_wrap(sum, it->second);
        }
        out[pod.name] = sum;
    }
    return true;
}

int ready_pods_count(const std::vector<PodState> &pods) {
    int count = 0;
    for (const PodState &pod : pods) {
        if (pod.phase == "Running" && pod.ready) ++count;
    }
    return count;
}

// ---- usage ratios -------------------------------------------------------------------

struct ResourceRatio {
    double ratio = 0;
    std::int32_t utilization = 0;
    std::int64_t raw_average = 0;
};

bool resource_ratio(const PodMetrics &metrics, const std::map<std::string, std::int64_t> &requests,
                    std::int32_t target, ResourceRatio &out, std::string &error) {
    std::int64_t metrics_total = 0, requests_total = 0, entries = 0;
    for (const auto &[pod, value] : metrics) {
        auto it = requests.find(pod);
        if (it == requests.end()) continue;  // samples of pods the selector did not list
        metrics_total = add_wrap(metrics_total, value);
        requests_total = add_wrap(requests_total, it->second);
        ++entries;
    }
    if (requests_total == 0) {
        error = "no metrics returned matched known pods";
        return false;
    }
    out.utilization =
        static_cast<std::int32_t>(div_go(mul_wrap(metrics_total, 100), requests_total));
    out.ratio = static_cast<double>(out.utilization) / static_cast<double>(target);
    out.raw_average = div_go(metrics_total, entries);
    return true;
}

struct PlainRatio {
    double ratio = 0;
    std::int64_t average = 0;
};

PlainRatio plain_ratio(const PodMetrics &metrics, std::int64_t target) {
    std::int64_t total = 0;
    for (const auto &[pod, value] : metrics) total = add_wrap(total, value);
    PlainRatio r;
    r.average = div_go(total, static_cast<std::int64_t>(metrics.size()));
    r.ratio = static_cast<double>(r.average) / static_cast<double>(target);
    return r;
}

// ---- the calculator's forms ---------------------------------------------------------

struct Outcome {
    bool ok = false;
    std::string error;
    std::int32_t replicas = 0;
    std::int32_t utilization = 0;  // percent (utilization form)
    std::int64_t value = 0;        // average or total, milli-units
};

Outcome fail(std::string message) {
    Outcome o;
    o.error = std::move(message);
    return o;
}

// The resource metric's per-pod samples, or the API's error for none.
const PodMetrics *resource_samples(const MetricSpec &metric, const ClusterState &state,
                                   std::string &error) {
    const auto &source =
        metric.type == MetricType::container_resource ? state.container_resource : state.resource;
    const std::string key = metric.type == MetricType::container_resource
                                ? metric.container + "/" + metric.name
                                : metric.name;
    auto it = source.find(key);
    if (it == source.end() || it->second.empty()) {
        error = "unable to get metrics for resource " + metric.name +
                ": no metrics returned from resource metrics API";
        return nullptr;
    }
    return &it->second;
}

// GetResourceReplicas: utilization as a percentage of the pods' requests.
Outcome resource_utilization_replicas(const MetricSpec &metric, const ClusterState &state,
                                      const ControllerOptions &options) {
    std::string error;
    const PodMetrics *samples = resource_samples(metric, state, error);
    if (samples == nullptr) return fail(error);
    if (state.pods.empty()) return fail(kNoPods);

    const std::int32_t current = state.current_replicas;
    const std::int32_t target = metric.target.average_utilization;
    PodMetrics metrics = *samples;
    const PodGroups groups =
        group_pods(state.pods, metrics, metric.name, state.time, state.resource_metric_time,
                   state.resource_metric_window, options);
    remove_pods(metrics, groups.ignored);
    remove_pods(metrics, groups.unready);
    std::map<std::string, std::int64_t> requests;
    const std::string container =
        metric.type == MetricType::container_resource ? metric.container : std::string();
    if (!pod_requests(state.pods, container, metric.name, requests, error)) return fail(error);
    if (metrics.empty()) return fail(kNoReadyMetrics);

    ResourceRatio first;
    if (!resource_ratio(metrics, requests, target, first, error)) return fail(error);

    Outcome o;
    o.ok = true;
    o.utilization = first.utilization;
    o.value = first.raw_average;
    const double usage = first.ratio;
    const bool rebalance_unready = !groups.unready.empty() && usage > 1.0;
    if (!rebalance_unready && groups.missing.empty()) {
        o.replicas = std::abs(1.0 - usage) <= options.tolerance
                         ? current
                         : to_int32(std::ceil(usage * static_cast<double>(groups.ready_count)));
        return o;
    }

    if (!groups.missing.empty()) {
        if (usage < 1.0) {
            // scaling down: the missing pods count as using their whole request
            for (const std::string &pod : groups.missing) metrics[pod] = requests[pod];
        } else if (usage > 1.0) {
            // scaling up: they count as using nothing
            for (const std::string &pod : groups.missing) metrics[pod] = 0;
        }
    }
    if (rebalance_unready) {
        for (const std::string &pod : groups.unready) metrics[pod] = 0;
    }

    ResourceRatio second;
    if (!resource_ratio(metrics, requests, target, second, error)) return fail(error);
    const double new_usage = second.ratio;
    if (std::abs(1.0 - new_usage) <= options.tolerance || (usage < 1.0 && new_usage > 1.0) ||
        (usage > 1.0 && new_usage < 1.0)) {
        o.replicas = current;  // too small a change, or the direction would flip
        return o;
    }
    const std::int32_t proposal =
        to_int32(std::ceil(new_usage * static_cast<double>(metrics.size())));
    if ((new_usage < 1.0 && proposal > current) || (new_usage > 1.0 && proposal < current)) {
        o.replicas = current;
        return o;
    }
    o.replicas = proposal;
    return o;
}

// calcPlainMetricReplicas: an average value per pod (raw resource values, pods metrics).
Outcome plain_replicas(const PodMetrics &samples, const std::string &resource, std::int64_t target,
                       const ClusterState &state, const ControllerOptions &options) {
    if (state.pods.empty()) return fail(kNoPods);
    const std::int32_t current = state.current_replicas;
    PodMetrics metrics = samples;
    const PodGroups groups =
        group_pods(state.pods, metrics, resource, state.time, state.resource_metric_time,
                   state.resource_metric_window, options);
    remove_pods(metrics, groups.ignored);
    remove_pods(metrics, groups.unready);
    if (metrics.empty()) return fail(kNoReadyMetrics);

    const PlainRatio first = plain_ratio(metrics, target);
    Outcome o;
    o.ok = true;
    o.value = first.average;
    const double usage = first.ratio;
    const bool rebalance_unready = !groups.unready.empty() && usage > 1.0;
    if (!rebalance_unready && groups.missing.empty()) {
        o.replicas = std::abs(1.0 - usage) <= options.tolerance
                         ? current
                         : to_int32(std::ceil(usage * static_cast<double>(groups.ready_count)));
        return o;
    }
    if (!groups.missing.empty()) {
        // below target the missing pods count as at the target, otherwise (even exactly at
        // it) as zero
        const std::int64_t assumed = usage < 1.0 ? target : 0;
        for (const std::string &pod : groups.missing) metrics[pod] = assumed;
    }
    if (rebalance_unready) {
        for (const std::string &pod : groups.unready) metrics[pod] = 0;
    }
    const double new_usage = plain_ratio(metrics, target).ratio;
    if (std::abs(1.0 - new_usage) <= options.tolerance || (usage < 1.0 && new_usage > 1.0) ||
        (usage > 1.0 && new_usage < 1.0)) {
        o.replicas = current;
        return o;
    }
    o.replicas = to_int32(std::ceil(new_usage * static_cast<double>(metrics.size())));
    return o;
}

// getUsageRatioReplicaCount: a ratio of one value to its target, applied to the ready pods.
bool usage_ratio_replicas(double usage, const ClusterState &state, const ControllerOptions &options,
                          std::int32_t &replicas, std::string &error) {
    const std::int32_t current = state.current_replicas;
    if (current == 0) {
        replicas = to_int32(std::ceil(usage));
        return true;
    }
    if (std::abs(1.0 - usage) <= options.tolerance) {
        replicas = current;
        return true;
    }
    if (state.pods.empty()) {
        error = std::string("unable to calculate ready pods: ") + kNoPods;
        return false;
    }
    replicas = to_int32(std::ceil(usage * static_cast<double>(ready_pods_count(state.pods))));
    return true;
}

// The per-pod forms of Object and External: the total divided among the status' replicas.
Outcome per_pod_replicas(std::int64_t total, std::int64_t target_per_pod, const ClusterState &state,
                         const ControllerOptions &options) {
    const std::int32_t status_replicas = state.status_replicas.value_or(state.current_replicas);
    Outcome o;
    o.ok = true;
    o.replicas = status_replicas;
    const double usage = static_cast<double>(total) / (static_cast<double>(target_per_pod) *
                                                       static_cast<double>(status_replicas));
    if (std::abs(1.0 - usage) > options.tolerance) {
        o.replicas =
            to_int32(std::ceil(static_cast<double>(total) / static_cast<double>(target_per_pod)));
    }
    o.value =
        to_int64(std::ceil(static_cast<double>(total) / static_cast<double>(status_replicas)));
    return o;
}

// ---- messages -----------------------------------------------------------------------

// The group/resource of a kind, as the custom metrics adapters name it in "not found"
// errors (plural guessed as the API machinery guesses it).
std::string group_resource(const ObjectReference &ref) {
    std::string plural = common::lowercase(ref.kind);
    const auto ends_with = [&](const std::string &suffix) {
        return plural.size() >= suffix.size() &&
               plural.compare(plural.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (plural.empty()) {
        // nothing to pluralize
    } else if (ends_with("endpoints")) {
        // already plural
    } else if (plural.back() == 's') {
        plural += "es";
    } else if (plural.back() == 'y') {
        plural = plural.substr(0, plural.size() - 1) + "ies";
    } else {
        plural += "s";
    }
    const auto slash = ref.api_version.find('/');
    const std::string group = slash == std::string::npos ? "" : ref.api_version.substr(0, slash);
    return group.empty() ? plural : plural + "." + group;
}

std::string object_error(const MetricSpec &metric, const std::string &ns,
                         const std::string &cause) {
    // The controller's format string hands its arguments to the wrong verbs; this is the
    // text it produces.
    return "unable to get metric " + metric.name + ": " + metric.described_object.kind + " on " +
           ns + " " + metric.described_object.name + "/" + cause;
}

// GetObjectMetric's error for an object metric the custom metrics API does not have.
std::string object_not_found(const MetricSpec &metric, const std::string &ns) {
    const ObjectReference &ref = metric.described_object;
    const bool is_namespace =
        ref.kind == "Namespace" && ref.api_version.find('/') == std::string::npos;
    const std::string resource = is_namespace ? "namespaces" : group_resource(ref);
    const std::string name = is_namespace ? ns : ref.name;
    return "unable to fetch metrics from custom metrics API: the server could not find the "
           "metric " +
           metric.name + " for " + resource + " " + name;
}

std::string external_error(const MetricSpec &metric, const std::string &ns,
                           const std::string &cause) {
    return "unable to get external metric " + ns + "/" + metric.name + "/" +
           describe_selector(metric.selector) + ": " + cause;
}

std::string go_value_text(const nlohmann::json &v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

MetricResult failed(const MetricSpec &metric, const char *reason,
                    const std::string &condition_error, std::string error) {
    MetricResult r;
    r.spec = metric;
    r.ok = false;
    r.error = std::move(error);
    r.failure = Condition{"ScalingActive", "False", reason,
                          "the HPA was unable to compute the replica count: " + condition_error};
    return r;
}

bool wants_average_value(const MetricTarget &t) {
    return t.type == TargetType::average_value || t.average_value_milli != 0;
}

MetricResult resource_metric(const MetricSpec &metric, const ClusterState &state,
                             const ControllerOptions &options) {
    const char *reason = metric.type == MetricType::container_resource
                             ? "FailedGetContainerResourceMetric"
                             : "FailedGetResourceMetric";
    MetricResult r;
    r.spec = metric;
    if (wants_average_value(metric.target)) {
        std::string error;
        const PodMetrics *samples = resource_samples(metric, state, error);
        Outcome o = samples == nullptr
                        ? fail(error)
                        : plain_replicas(*samples, metric.name, metric.target.average_value_milli,
                                         state, options);
        if (!o.ok) {
            const std::string e = "failed to get " + metric.name + " utilization: " + o.error;
            return failed(metric, reason, e, e);
        }
        r.ok = true;
        r.proposal = o.replicas;
        r.current_average_value_milli = o.value;
        return r;
    }
    if (metric.target.type != TargetType::utilization && metric.target.average_utilization == 0) {
        const std::string e =
            "invalid resource metric source: neither a utilization target nor a value target was "
            "set";
        return failed(metric, reason, e, e);
    }
    Outcome o = resource_utilization_replicas(metric, state, options);
    if (!o.ok) {
        const std::string e = "failed to get " + metric.name + " utilization: " + o.error;
        return failed(metric, reason, e, e);
    }
    r.ok = true;
    r.proposal = o.replicas;
    r.current_average_utilization = o.utilization;
    r.current_average_value_milli = o.value;
    return r;
}

MetricResult pods_metric(const MetricSpec &metric, const ClusterState &state,
                         const ControllerOptions &options) {
    auto it = state.pods_metrics.find(metric.name);
    Outcome o =
        it == state.pods_metrics.end() || it->second.empty()
            ? fail("unable to get metric " + metric.name +
                   ": no metrics returned from custom metrics API")
            : plain_replicas(it->second, "", metric.target.average_value_milli, state, options);
    if (!o.ok) {
        return failed(metric, "FailedGetPodsMetric", o.error,
                      "failed to get pods metric value: " + o.error);
    }
    MetricResult r;
    r.spec = metric;
    r.ok = true;
    r.proposal = o.replicas;
    r.current_average_value_milli = o.value;
    return r;
}

MetricResult object_metric(const MetricSpec &metric, const ClusterState &state,
                           const ControllerOptions &options, const std::string &ns) {
    const char *reason = "FailedGetObjectMetric";
    const std::string wrap = "failed to get object metric value: ";
    MetricResult r;
    r.spec = metric;
    auto it = state.object.find(metric.name);
    if (metric.target.type == TargetType::value) {
        if (it == state.object.end()) {
            const std::string e = object_error(metric, ns, object_not_found(metric, ns));
            return failed(metric, reason, e, wrap + e);
        }
        const double usage =
            static_cast<double>(it->second) / static_cast<double>(metric.target.value_milli);
        std::int32_t replicas = 0;
        std::string error;
        if (!usage_ratio_replicas(usage, state, options, replicas, error)) {
            return failed(metric, reason, error, wrap + error);
        }
        r.ok = true;
        r.proposal = replicas;
        r.current_value_milli = it->second;
        return r;
    }
    if (metric.target.type == TargetType::average_value) {
        if (it == state.object.end()) {
            const std::string e = object_error(metric, ns, object_not_found(metric, ns));
            return failed(metric, reason, e,
                          wrap + "failed to get " + metric.name + " object metric: " + e);
        }
        Outcome o = per_pod_replicas(it->second, metric.target.average_value_milli, state, options);
        r.ok = true;
        r.proposal = o.replicas;
        r.current_average_value_milli = o.value;
        return r;
    }
    const std::string e =
        "invalid object metric source: neither a value target nor an average value target was set";
    return failed(metric, reason, e, wrap + e);
}

MetricResult external_metric(const MetricSpec &metric, const ClusterState &state,
                             const ControllerOptions &options, const std::string &ns) {
    const char *reason = "FailedGetExternalMetric";
    MetricResult r;
    r.spec = metric;
    auto it = state.external.find(metric.name);
    const bool found = it != state.external.end();
    const std::string missing =
        external_error(metric, ns, "no metrics returned from external metrics API");
    if (wants_average_value(metric.target)) {
        if (!found) {
            return failed(metric, reason, missing,
                          "failed to get " + metric.name + " external metric: " + missing);
        }
        Outcome o = per_pod_replicas(it->second, metric.target.average_value_milli, state, options);
        r.ok = true;
        r.proposal = o.replicas;
        r.current_average_value_milli = o.value;
        return r;
    }
    if (metric.target.type == TargetType::value || metric.target.value_milli != 0) {
        if (!found) {
            return failed(metric, reason, missing,
                          "failed to get external metric " + metric.name + ": " + missing);
        }
        const double usage =
            static_cast<double>(it->second) / static_cast<double>(metric.target.value_milli);
        std::int32_t replicas = 0;
        std::string error;
        if (!usage_ratio_replicas(usage, state, options, replicas, error)) {
            return failed(metric, reason, error,
                          "failed to get external metric " + metric.name + ": " + error);
        }
        r.ok = true;
        r.proposal = replicas;
        r.current_value_milli = it->second;
        return r;
    }
    const std::string e =
        "invalid external metric source: neither a value target nor an average value target was "
        "set";
    return failed(metric, reason, e, e);
}

}  // namespace

PodGroups group_pods(const std::vector<PodState> &pods,
                     const std::map<std::string, std::int64_t> &metrics,
                     const std::string &resource, double now, double metric_time,
                     double metric_window, const ControllerOptions &options) {
    PodGroups g;
    for (const PodState &pod : pods) {
        if (pod.deleting || pod.phase == "Failed") {
            g.ignored.insert(pod.name);
            continue;
        }
        if (pod.phase == "Pending") {
            g.unready.insert(pod.name);
            continue;
        }
        if (metrics.find(pod.name) == metrics.end()) {
            g.missing.insert(pod.name);
            continue;
        }
        if (resource == "cpu") {
            bool unready = false;
            if (!pod.start_time) {
                unready = true;
            } else {
                const double start = *pod.start_time;
                const double transition =
                    pod.ready_since.value_or(-std::numeric_limits<double>::infinity());
                if (start + options.cpu_initialization_period > now) {
                    // still initializing: only a Ready pod whose sample covers a full window
                    // after becoming Ready counts
                    unready = !pod.ready || metric_time < transition + metric_window;
                } else {
                    // later: only a pod that is not Ready and never was is left out
                    unready = !pod.ready && start + options.initial_readiness_delay > transition;
                }
            }
            if (unready) {
                g.unready.insert(pod.name);
                continue;
            }
        }
        ++g.ready_count;
    }
    return g;
}

std::string describe_selector(const std::string &selector_json) {
    if (selector_json.empty()) return "nil";
    const nlohmann::json s = nlohmann::json::parse(selector_json, nullptr, false);
    if (s.is_discarded() || !s.is_object()) return selector_json;
    std::string labels = "map[string]string{";
    if (auto it = s.find("matchLabels"); it != s.end() && it->is_object()) {
        // nlohmann's objects iterate in key order, as the generated String() sorts them
        for (const auto &[k, v] : it->items()) labels += k + ": " + go_value_text(v) + ",";
    }
    labels += "}";
    std::string expressions = "[]LabelSelectorRequirement{";
    if (auto it = s.find("matchExpressions"); it != s.end() && it->is_array()) {
        for (const auto &e : *it) {
            std::string values = "[";
            if (auto v = e.find("values"); v != e.end() && v->is_array()) {
                bool first = true;
                for (const auto &x : *v) {
                    if (!first) values += " ";
                    values += go_value_text(x);
                    first = false;
                }
            }
            values += "]";
            const std::string key = e.contains("key") ? go_value_text(e["key"]) : "";
            const std::string op = e.contains("operator") ? go_value_text(e["operator"]) : "";
            expressions += "LabelSelectorRequirement{Key:" + key + ",Operator:" + op +
                           ",Values:" + values + ",},";
        }
    }
    expressions += "}";
    return "&LabelSelector{MatchLabels:" + labels + ",MatchExpressions:" + expressions + ",}";
}

MetricResult compute_metric(const MetricSpec &metric, const ClusterState &state,
                            const ControllerOptions &options, const std::string &ns) {
    switch (metric.type) {
        case MetricType::resource:
        case MetricType::container_resource:
            return resource_metric(metric, state, options);
        case MetricType::pods:
            return pods_metric(metric, state, options);
        case MetricType::object:
            return object_metric(metric, state, options, ns);
        case MetricType::external:
            return external_metric(metric, state, options, ns);
    }
    return failed(metric, "InvalidMetricSourceType", "unknown metric source type",
                  "unknown metric source type");
}

MetricResult compute_metric(const MetricSpec &metric, const ClusterState &state,
                            const ControllerOptions &options) {
    return compute_metric(metric, state, options, "default");
}

}  // namespace pulse::hpa
