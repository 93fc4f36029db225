#include "live_state.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/percent_encoding.h"
#include "common/rfc3339.h"
#include "decision_json.h"
#include "json_reading.h"
#include "quantity.h"

namespace pulse::hpa {
namespace {

using json = nlohmann::json;

// Go's zero time (0001-01-01T00:00:00Z) in seconds since the Unix epoch: a metav1.Time the
// API writes as null.
constexpr double kZeroTime = -62135596800.0;

struct Failure {
    std::string message;
};

[[noreturn]] void fail(const std::string &doc, const std::string &path, const std::string &what) {
    throw Failure{doc + ": " + (path.empty() ? "" : path + ": ") + what};
}

std::string describe(const json &j) {
    switch (j.type()) {
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "a list";
        case json::value_t::string:
            return "a string";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::null:
            return "null";
        default:
            return "a number";
    }
}

using json_reading::join_path;
using json_reading::member;
using json_reading::quote;

const json &object_at(const json &j, const std::string &doc, const std::string &path) {
    if (!j.is_object()) fail(doc, path, "must be an object, not " + describe(j));
    return j;
}

// A member that must be an object when present; an empty object when absent.
const json &object_member(const json &obj, const char *key, const std::string &doc,
                          const std::string &path) {
    static const json empty = json::object();
    const json *m = member(obj, key);
    if (m == nullptr) return empty;
    return object_at(*m, doc, join_path(path, key));
}

// A list member; an empty list when absent.
const json &list_member(const json &obj, const char *key, const std::string &doc,
                        const std::string &path) {
    static const json empty = json::array();
    const json *m = member(obj, key);
    if (m == nullptr) return empty;
    if (!m->is_array()) fail(doc, join_path(path, key), "must be a list, not " + describe(*m));
    return *m;
}

std::optional<std::string> opt_string(const json &obj, const char *key, const std::string &doc,
                                      const std::string &path) {
    const json *m = member(obj, key);
    if (m == nullptr) return std::nullopt;
    if (!m->is_string()) fail(doc, join_path(path, key), "must be a string, not " + describe(*m));
    return m->get<std::string>();
}

std::string required_string(const json &obj, const char *key, const std::string &doc,
                            const std::string &path) {
    auto s = opt_string(obj, key, doc, path);
    if (!s || s->empty()) fail(doc, join_path(path, key), "required");
    return *s;
}

std::int32_t opt_count(const json &obj, const char *key, const std::string &doc,
                       const std::string &path) {
    const json *m = member(obj, key);
    if (m == nullptr) return 0;
    if (!m->is_number_integer())
        fail(doc, join_path(path, key), "must be an integer, not " + describe(*m));
    if (m->is_number_unsigned()) {
        auto v = m->get<std::uint64_t>();
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
            fail(doc, join_path(path, key), "out of range");
        return static_cast<std::int32_t>(v);
    }
    auto v = m->get<std::int64_t>();
    if (v < 0 || v > std::numeric_limits<std::int32_t>::max())
        fail(doc, join_path(path, key), std::to_string(v) + " is not a replica count");
    return static_cast<std::int32_t>(v);
}

std::optional<double> opt_time(const json &obj, const char *key, const std::string &doc,
                               const std::string &path) {
    const json *m = member(obj, key);
    if (m == nullptr) return std::nullopt;
    if (!m->is_string())
        fail(doc, join_path(path, key), "must be a time string, not " + describe(*m));
    auto t = common::parse_rfc3339(m->get<std::string>());
    if (!t)
        fail(doc, join_path(path, key), quote(m->get<std::string>()) + " is not an RFC 3339 time");
    return t;
}

std::int64_t quantity_at(const json &j, const std::string &doc, const std::string &path) {
    std::string text;
    if (j.is_string()) {
        text = j.get<std::string>();
    } else if (j.is_number()) {
        text = j.dump();
    } else {
        fail(doc, path, "must be a quantity string, not " + describe(j));
    }
    ParsedQuantity q = parse_quantity(text);
    if (!q.ok) fail(doc, path, quote(text) + " is not a quantity (" + q.error + ")");
    return q.milli;
}

// resource -> milli-units
std::map<std::string, std::int64_t> quantities(const json &obj, const std::string &doc,
                                               const std::string &path) {
    object_at(obj, doc, path);
    std::map<std::string, std::int64_t> out;
    for (auto it = obj.begin(); it != obj.end(); ++it)
        out[it.key()] = quantity_at(it.value(), doc, join_path(path, it.key()));
    return out;
}

const json &items_of(const json &doc, const std::string &kind) {
    if (!doc.is_object()) fail(kind, "", "must be a JSON object, not " + describe(doc));
    if (const json *k = member(doc, "kind")) {
        if (!k->is_string() || k->get<std::string>() != kind)
            fail(
                kind, "kind",
                (k->is_string() ? quote(k->get<std::string>()) : describe(*k)) + " is not " + kind);
    }
    return list_member(doc, "items", kind, "");
}

std::string item_path(std::size_t i) {
    return "items[" + std::to_string(i) + "]";
}

// Go's integer arithmetic: a sum that overflows wraps.
std::int64_t wrapping_add(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

// "?a=x&b=y" of the non-empty values; "" when none.
std::string query(std::initializer_list<std::pair<const char *, std::string_view>> params) {
    std::string out;
    for (const auto &[key, value] : params) {
        if (value.empty()) continue;
        out += out.empty() ? "?" : "&";
        out += key;
        out += '=';
        out += common::percent_encode(value);
    }
    return out;
}

std::string namespaced(std::string_view prefix, std::string_view ns) {
    return std::string(prefix) + "/namespaces/" + common::percent_encode(ns);
}

}  // namespace

// ---- times ---------------------------------------------------------------------------

std::optional<double> parse_go_duration(std::string_view text) {
    if (text == "0") return 0.0;
    if (text.empty()) return std::nullopt;
    std::string_view rest = text;
    if (rest.front() == '+') rest.remove_prefix(1);
    if (rest.empty()) return std::nullopt;
    double total = 0;
    while (!rest.empty()) {
        double value = 0;
        bool any = false;
        std::size_t i = 0;
        while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
            value = value * 10 + (rest[i] - '0');
            any = true;
            ++i;
        }
        if (i < rest.size() && rest[i] == '.') {
            ++i;
            double scale = 0.1;
            while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
                value += (rest[i] - '0') * scale;
                scale /= 10;
                any = true;
                ++i;
            }
        }
        if (!any) return std::nullopt;
        std::size_t unit_end = i;
        while (unit_end < rest.size() && rest[unit_end] != '.' &&
               !(rest[unit_end] >= '0' && rest[unit_end] <= '9'))
            ++unit_end;
        std::string_view unit = rest.substr(i, unit_end - i);
        double scale;
        if (unit == "ns") {
            scale = 1e-9;
        } else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") {
            scale = 1e-6;
        } else if (unit == "ms") {
            scale = 1e-3;
        } else if (unit == "s") {
            scale = 1;
        } else if (unit == "m") {
            scale = 60;
        } else if (unit == "h") {
            scale = 3600;
        } else {
            return std::nullopt;
        }
        total += value * scale;
        rest.remove_prefix(unit_end);
    }
    if (!std::isfinite(total)) return std::nullopt;
    return total;
}

// ---- the scale subresource and the pods ------------------------------------------------

std::variant<LiveScale, ReadError> read_scale(const nlohmann::json &doc) {
    try {
        const std::string kind = "Scale";
        if (!doc.is_object()) fail(kind, "", "must be a JSON object, not " + describe(doc));
        if (const json *k = member(doc, "kind")) {
            if (!k->is_string() || k->get<std::string>() != kind)
                fail(kind, "kind",
                     (k->is_string() ? quote(k->get<std::string>()) : describe(*k)) + " is not " +
                         kind);
        }
        LiveScale scale;
        const json &spec = object_member(doc, "spec", kind, "");
        const json &status = object_member(doc, "status", kind, "");
        scale.spec_replicas = opt_count(spec, "replicas", kind, "spec");
        scale.status_replicas = opt_count(status, "replicas", kind, "status");
        scale.selector = opt_string(status, "selector", kind, "status").value_or("");
        return scale;
    } catch (const Failure &f) {
        return ReadError{f.message};
    }
}

std::variant<LivePods, ReadError> read_pod_list(const nlohmann::json &doc) {
    try {
        const std::string kind = "PodList";
        const json &items = items_of(doc, kind);
        LivePods out;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::string path = item_path(i);
            const json &item = object_at(items[i], kind, path);
            const json &meta = object_member(item, "metadata", kind, path);
            const json &spec = object_member(item, "spec", kind, path);
            const json &status = object_member(item, "status", kind, path);
            PodState pod;
            pod.name = required_string(meta, "name", kind, path + ".metadata");
            pod.deleting = member(meta, "deletionTimestamp") != nullptr;
            pod.phase = opt_string(status, "phase", kind, path + ".status").value_or("Unknown");
            if (pod.phase != "Pending" && pod.phase != "Running" && pod.phase != "Succeeded" &&
                pod.phase != "Failed" && pod.phase != "Unknown")
                fail(kind, path + ".status.phase",
                     quote(pod.phase) + " is not Pending, Running, Succeeded, Failed or Unknown");
            pod.start_time = opt_time(status, "startTime", kind, path + ".status");
            pod.ready = false;
            const json &conditions = list_member(status, "conditions", kind, path + ".status");
            for (std::size_t c = 0; c < conditions.size(); ++c) {
                const std::string cp = path + ".status.conditions[" + std::to_string(c) + "]";
                const json &cond = object_at(conditions[c], kind, cp);
                if (opt_string(cond, "type", kind, cp) != std::optional<std::string>("Ready"))
                    continue;
                const std::string s = opt_string(cond, "status", kind, cp).value_or("");
                pod.ready = s == "True";
                if (s == "Unknown") out.ready_unknown.push_back(pod.name);
                pod.ready_since = opt_time(cond, "lastTransitionTime", kind, cp);
                break;
            }
            const json &containers = list_member(spec, "containers", kind, path + ".spec");
            for (std::size_t c = 0; c < containers.size(); ++c) {
                const std::string cp = path + ".spec.containers[" + std::to_string(c) + "]";
                const json &container = object_at(containers[c], kind, cp);
                ContainerRequests requests;
                requests.name = required_string(container, "name", kind, cp);
                const json &resources = object_member(container, "resources", kind, cp);
                if (const json *r = member(resources, "requests"))
                    requests.requests_milli = quantities(*r, kind, cp + ".resources.requests");
                pod.containers.push_back(std::move(requests));
            }
            out.pods.push_back(std::move(pod));
        }
        return out;
    } catch (const Failure &f) {
        return ReadError{f.message};
    }
}

// ---- metrics.k8s.io --------------------------------------------------------------------

std::variant<std::vector<PodUsage>, ReadError> read_pod_metrics(const nlohmann::json &doc) {
    try {
        const std::string kind = "PodMetricsList";
        const json &items = items_of(doc, kind);
        std::vector<PodUsage> out;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::string path = item_path(i);
            const json &item = object_at(items[i], kind, path);
            const json &meta = object_member(item, "metadata", kind, path);
            PodUsage u;
            u.pod = required_string(meta, "name", kind, path + ".metadata");
            u.ns = opt_string(meta, "namespace", kind, path + ".metadata").value_or("");
            u.timestamp = opt_time(item, "timestamp", kind, path).value_or(kZeroTime);
            if (auto w = opt_string(item, "window", kind, path)) {
                auto seconds = parse_go_duration(*w);
                if (!seconds) fail(kind, path + ".window", quote(*w) + " is not a duration");
                u.window = *seconds;
            }
            const json &containers = list_member(item, "containers", kind, path);
            for (std::size_t c = 0; c < containers.size(); ++c) {
                const std::string cp = path + ".containers[" + std::to_string(c) + "]";
                const json &container = object_at(containers[c], kind, cp);
                std::string name = required_string(container, "name", kind, cp);
                std::map<std::string, std::int64_t> usage;
                if (const json *r = member(container, "usage"))
                    usage = quantities(*r, kind, cp + ".usage");
                u.containers.emplace_back(std::move(name), std::move(usage));
            }
            out.push_back(std::move(u));
        }
        return out;
    } catch (const Failure &f) {
        return ReadError{f.message};
    }
}

std::variant<ResourceSamples, ReadError> resource_samples(const std::vector<PodUsage> &usage,
                                                          const std::string &resource) {
    if (usage.empty()) return ReadError{"no metrics returned from resource metrics API"};
    ResourceSamples out;
    out.timestamp = usage.front().timestamp;
    out.window = usage.front().window;
    for (const PodUsage &u : usage) {
        bool missing = u.containers.empty();
        std::int64_t sum = 0;
        for (const auto &[name, values] : u.containers) {
            auto it = values.find(resource);
            if (it == values.end()) {
                missing = true;
                break;
            }
            sum = wrapping_add(sum, it->second);
        }
        if (!missing) out.values[u.pod] = sum;
    }
    return out;
}

std::variant<ResourceSamples, ReadError> container_samples(const std::vector<PodUsage> &usage,
                                                           const std::string &container,
                                                           const std::string &resource) {
    if (usage.empty()) return ReadError{"no metrics returned from resource metrics API"};
    ResourceSamples out;
    out.timestamp = usage.front().timestamp;
    out.window = usage.front().window;
    for (const PodUsage &u : usage) {
        auto c = std::find_if(u.containers.begin(), u.containers.end(),
                              [&](const auto &entry) { return entry.first == container; });
        if (c == u.containers.end())
            return ReadError{"failed to get container metrics: container " + container +
                             " not present in metrics for pod " + u.ns + "/" + u.pod};
        auto it = c->second.find(resource);
        if (it != c->second.end()) out.values[u.pod] = it->second;
    }
    return out;
}

// ---- custom.metrics.k8s.io and external.metrics.k8s.io ----------------------------------

std::variant<std::string, ReadError> custom_metrics_version(const nlohmann::json &group) {
    try {
        const std::string kind = "APIGroup";
        if (!group.is_object()) fail(kind, "", "must be a JSON object, not " + describe(group));
        auto known = [](const std::string &gv) -> std::string {
            for (const char *v : {"v1beta2", "v1beta1"})
                if (gv == std::string("custom.metrics.k8s.io/") + v) return v;
            return {};
        };
        const json &preferred = object_member(group, "preferredVersion", kind, "");
        std::string v =
            known(opt_string(preferred, "groupVersion", kind, "preferredVersion").value_or(""));
        if (!v.empty()) return v;
        const json &versions = list_member(group, "versions", kind, "");
        for (std::size_t i = 0; i < versions.size(); ++i) {
            const std::string path = "versions[" + std::to_string(i) + "]";
            v = known(opt_string(object_at(versions[i], kind, path), "groupVersion", kind, path)
                          .value_or(""));
            if (!v.empty()) return v;
        }
        return ReadError{"no known available metric versions found"};
    } catch (const Failure &f) {
        return ReadError{f.message};
    }
}

namespace {

// (describedObject.name, value) of each item of a MetricValueList.
std::vector<std::pair<std::string, std::int64_t>> metric_values(const json &doc, bool need_name) {
    const std::string kind = "MetricValueList";
    const json &items = items_of(doc, kind);
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const std::string path = item_path(i);
        const json &item = object_at(items[i], kind, path);
        const json &described = object_member(item, "describedObject", kind, path);
        std::string name =
            need_name ? required_string(described, "name", kind, path + ".describedObject")
                      : opt_string(described, "name", kind, path + ".describedObject").value_or("");
        const json *value = member(item, "value");
        if (value == nullptr) fail(kind, path + ".value", "required");
        out.emplace_back(std::move(name), quantity_at(*value, kind, path + ".value"));
    }
    return out;
}

}  // namespace

std::variant<std::map<std::string, std::int64_t>, ReadError> read_pods_metric(
    const nlohmann::json &doc) {
    try {
        auto values = metric_values(doc, true);
        if (values.empty()) return ReadError{"no metrics returned from custom metrics API"};
        std::map<std::string, std::int64_t> out;
        for (auto &[name, value] : values) out[name] = value;
        return out;
    } catch (const Failure &f) {
        return ReadError{f.message};
    }
}

std::variant<std::int64_t, ReadError> read_object_metric(const nlohmann::json &doc) {
    try {
        auto values = metric_values(doc, false);
        if (values.size() != 1)
            return ReadError{"the custom metrics API server returned " +
                             std::to_string(values.size()) +
                             " results when we asked for exactly one"};
        return values.front().second;
    } catch (const Failure &f) {
        return ReadError{f.message};
    }
}

std::variant<std::int64_t, ReadError> read_external_metric(const nlohmann::json &doc) {
    try {
        const std::string kind = "ExternalMetricValueList";
        const json &items = items_of(doc, kind);
        if (items.empty()) return ReadError{"no metrics returned from external metrics API"};
        std::int64_t sum = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::string path = item_path(i);
            const json &item = object_at(items[i], kind, path);
            const json *value = member(item, "value");
            if (value == nullptr) fail(kind, path + ".value", "required");
            sum = wrapping_add(sum, quantity_at(*value, kind, path + ".value"));
        }
        return sum;
    } catch (const Failure &f) {
        return ReadError{f.message};
    }
}

// ---- selectors and paths ---------------------------------------------------------------

std::variant<std::string, ReadError> label_selector_string(std::string_view selector_json) {
    if (selector_json.empty()) return std::string();
    const std::string kind = "selector";
    try {
        json sel = json::parse(selector_json, nullptr, false);
        if (sel.is_discarded()) fail(kind, "", "not JSON");
        object_at(sel, kind, "");
        std::vector<std::pair<std::string, std::string>> requirements;  // key, text
        const json &labels = object_member(sel, "matchLabels", kind, "");
        for (auto it = labels.begin(); it != labels.end(); ++it) {
            if (!it.value().is_string()) fail(kind, "matchLabels." + it.key(), "must be a string");
            requirements.emplace_back(it.key(), it.key() + "=" + it.value().get<std::string>());
        }
        const json &expressions = list_member(sel, "matchExpressions", kind, "");
        for (std::size_t i = 0; i < expressions.size(); ++i) {
            const std::string path = "matchExpressions[" + std::to_string(i) + "]";
            const json &e = object_at(expressions[i], kind, path);
            const std::string key = required_string(e, "key", kind, path);
            const std::string op = opt_string(e, "operator", kind, path).value_or("");
            std::vector<std::string> values;
            const json &vs = list_member(e, "values", kind, path);
            for (std::size_t v = 0; v < vs.size(); ++v) {
                if (!vs[v].is_string())
                    fail(kind, path + ".values[" + std::to_string(v) + "]", "must be a string");
                values.push_back(vs[v].get<std::string>());
            }
            std::string text;
            if (op == "In" || op == "NotIn") {
                if (values.empty())
                    fail(kind, path, "for 'in', 'notin' operators, values set can't be empty");
                std::sort(values.begin(), values.end());
                text = key + (op == "In" ? " in (" : " notin (");
                for (std::size_t v = 0; v < values.size(); ++v) text += (v ? "," : "") + values[v];
                text += ")";
            } else if (op == "Exists" || op == "DoesNotExist") {
                if (!values.empty())
                    fail(kind, path, "values set must be empty for exists and does not exist");
                text = (op == "Exists" ? "" : "!") + key;
            } else {
                fail(kind, path, quote(op) + " is not a valid pod selector operator");
            }
            requirements.emplace_back(key, std::move(text));
        }
        std::stable_sort(requirements.begin(), requirements.end(),
                         [](const auto &a, const auto &b) { return a.first < b.first; });
        std::string out;
        for (const auto &r : requirements) out += (out.empty() ? "" : ",") + r.second;
        return out;
    } catch (const Failure &f) {
        return ReadError{f.message};
    }
}

std::pair<std::string, std::string> split_api_version(std::string_view api_version) {
    auto slash = api_version.find('/');
    if (slash == std::string_view::npos) return {"", std::string(api_version)};
    return {std::string(api_version.substr(0, slash)), std::string(api_version.substr(slash + 1))};
}

std::optional<ApiResource> builtin_resource(const ObjectReference &ref) {
    auto [group, version] = split_api_version(ref.api_version);
    struct Known {
        const char *group, *kind, *resource, *version;  // version: nullptr = as written
    };
    static const Known known[] = {
        {"apps", "Deployment", "deployments", "v1"},
        {"apps", "StatefulSet", "statefulsets", "v1"},
        {"apps", "ReplicaSet", "replicasets", "v1"},
        {"apps", "DaemonSet", "daemonsets", "v1"},
        {"", "ReplicationController", "replicationcontrollers", "v1"},
        {"", "Service", "services", "v1"},
        {"", "Pod", "pods", "v1"},
        {"", "Namespace", "namespaces", "v1"},
        {"", "Node", "nodes", "v1"},
        {"", "Endpoints", "endpoints", "v1"},
        {"", "ConfigMap", "configmaps", "v1"},
        {"", "PersistentVolumeClaim", "persistentvolumeclaims", "v1"},
        {"", "ServiceAccount", "serviceaccounts", "v1"},
        {"batch", "Job", "jobs", nullptr},
        {"batch", "CronJob", "cronjobs", nullptr},
        {"networking.k8s.io", "Ingress", "ingresses", nullptr},
        {"extensions", "Ingress", "ingresses", nullptr},
        {"policy", "PodDisruptionBudget", "poddisruptionbudgets", nullptr},
        {"autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers", nullptr},
    };
    for (const Known &k : known) {
        if (group == k.group && ref.kind == k.kind)
            return ApiResource{group, k.version ? k.version : version, k.resource};
    }
    return std::nullopt;
}

std::optional<std::string> resource_of_kind(const nlohmann::json &list, std::string_view kind) {
    const json *resources = member(list, "resources");
    if (resources == nullptr || !resources->is_array()) return std::nullopt;
    for (const json &r : *resources) {
        const json *k = member(r, "kind");
        const json *name = member(r, "name");
        if (k == nullptr || name == nullptr || !k->is_string() || !name->is_string()) continue;
        const std::string n = name->get<std::string>();
        if (k->get<std::string>() == kind && !n.empty() && n.find('/') == std::string::npos)
            return n;
    }
    return std::nullopt;
}

std::string hpa_path(std::string_view version, std::string_view ns, std::string_view name) {
    return namespaced("/apis/autoscaling/" + std::string(version), ns) +
           "/horizontalpodautoscalers/" + common::percent_encode(name);
}

std::string scale_path(std::string_view ns, const ApiResource &target, std::string_view name) {
    const std::string prefix = target.group.empty()
                                   ? "/api/" + target.version
                                   : "/apis/" + target.group + "/" + target.version;
    return namespaced(prefix, ns) + "/" + target.resource + "/" + common::percent_encode(name) +
           "/scale";
}

std::string pods_path(std::string_view ns, std::string_view selector) {
    return namespaced("/api/v1", ns) + "/pods" + query({{"labelSelector", selector}});
}

std::string pod_metrics_path(std::string_view ns, std::string_view selector) {
    return namespaced("/apis/metrics.k8s.io/v1beta1", ns) + "/pods" +
           query({{"labelSelector", selector}});
}

std::string pods_metric_path(std::string_view version, std::string_view ns, std::string_view metric,
                             std::string_view pod_selector, std::string_view metric_selector) {
    return namespaced("/apis/custom.metrics.k8s.io/" + std::string(version), ns) + "/pods/*/" +
           common::percent_encode(metric) +
           query({{"labelSelector", pod_selector}, {"metricLabelSelector", metric_selector}});
}

std::string custom_metrics_resource(const ApiResource &object) {
    return object.group.empty() ? object.resource : object.resource + "." + object.group;
}

std::string object_metric_path(std::string_view version, std::string_view ns,
                               const ObjectReference &object, std::string_view resource,
                               std::string_view metric, std::string_view metric_selector) {
    const std::string base = namespaced("/apis/custom.metrics.k8s.io/" + std::string(version), ns);
    const std::string q = query({{"metricLabelSelector", metric_selector}});
    if (object.kind == "Namespace" && split_api_version(object.api_version).first.empty())
        return base + "/metrics/" + common::percent_encode(metric) + q;
    return base + "/" + std::string(resource) + "/" + common::percent_encode(object.name) + "/" +
           common::percent_encode(metric) + q;
}

std::string external_metric_path(std::string_view ns, std::string_view metric,
                                 std::string_view metric_selector) {
    return namespaced("/apis/external.metrics.k8s.io/v1beta1", ns) + "/" +
           common::percent_encode(metric) + query({{"labelSelector", metric_selector}});
}

// ---- the state, as STATE.json -----------------------------------------------------------

namespace {

using ojson = nlohmann::ordered_json;

ojson per_pod(const std::map<std::string, std::map<std::string, std::int64_t>> &m) {
    ojson out = ojson::object();
    for (const auto &[metric, pods] : m) {
        ojson values = ojson::object();
        for (const auto &[pod, v] : pods) values[pod] = format_milli(v);
        out[metric] = values;
    }
    return out;
}

ojson single(const std::map<std::string, std::int64_t> &m) {
    ojson out = ojson::object();
    for (const auto &[metric, v] : m) out[metric] = format_milli(v);
    return out;
}

}  // namespace

nlohmann::ordered_json state_json(const ClusterState &s) {
    ojson out = ojson::object();
    out["time"] = seconds_json(s.time);
    out["currentReplicas"] = s.current_replicas;
    if (s.status_replicas) out["statusReplicas"] = *s.status_replicas;
    ojson pods = ojson::array();
    for (const PodState &p : s.pods) {
        ojson pod = ojson::object();
        pod["name"] = p.name;
        pod["phase"] = p.phase;
        pod["ready"] = p.ready;
        pod["deleting"] = p.deleting;
        if (p.start_time) pod["startTime"] = seconds_json(*p.start_time);
        if (p.ready_since) pod["readySince"] = seconds_json(*p.ready_since);
        ojson containers = ojson::array();
        for (const ContainerRequests &c : p.containers)
            containers.push_back({{"name", c.name}, {"requests", single(c.requests_milli)}});
        pod["containers"] = containers;
        pods.push_back(pod);
    }
    out["pods"] = pods;
    out["metrics"] = {{"resource", per_pod(s.resource)},
                      {"containerResource", per_pod(s.container_resource)},
                      {"pods", per_pod(s.pods_metrics)},
                      {"object", single(s.object)},
                      {"external", single(s.external)}};
    out["resourceMetricTime"] = seconds_json(s.resource_metric_time);
    out["resourceMetricWindow"] = seconds_json(s.resource_metric_window);
    ojson recommendations = ojson::array();
    for (const TimedReplicas &r : s.recommendations)
        recommendations.push_back({{"time", seconds_json(r.time)}, {"replicas", r.replicas}});
    out["recommendations"] = recommendations;
    auto events = [](const std::vector<ScaleEvent> &list) {
        ojson a = ojson::array();
        for (const ScaleEvent &e : list)
            a.push_back({{"time", seconds_json(e.time)}, {"change", e.change}});
        return a;
    };
    out["scaleUpEvents"] = events(s.scale_up_events);
    out["scaleDownEvents"] = events(s.scale_down_events);
    return out;
}

}  // namespace pulse::hpa
