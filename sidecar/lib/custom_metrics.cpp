#include "custom_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/percent_encoding.h"
#include "common/rfc3339.h"
#include "common/signals.h"
#include "common/signals_document.h"
#include "common/trim.h"
#include "json_reading.h"

namespace pulse::sidecar::cm {

using nlohmann::json;

namespace {

constexpr std::string_view kNotFoundPath = "the server could not find the requested resource";

using common::trim;

bool dns_label(std::string_view s, std::size_t max) {
    if (s.empty() || s.size() > max) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(s.front()) || !alnum(s.back())) return false;
    return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

namespace field = common::signals_field;
using json_reading::find_member;

// A document refused unparsed (json_reading::kMaxNesting).
std::string too_deep(const char *what) {
    return std::string(what) + " is nested more than " + std::to_string(json_reading::kMaxNesting) +
           " levels deep";
}

std::string string_member(const json &object, std::string_view name) {
    const json *v = find_member(object, name);
    return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::optional<PodInfo> pod_from_json(const json &doc, std::string_view annotation) {
    const json *meta = find_member(doc, "metadata");
    if (meta == nullptr || !meta->is_object()) return std::nullopt;
    PodInfo pod;
    pod.name = string_member(*meta, "name");
    if (pod.name.empty()) return std::nullopt;
    pod.ns = string_member(*meta, "namespace");
    const json *deletion = find_member(*meta, "deletionTimestamp");
    pod.terminating = deletion != nullptr && !deletion->is_null();
    if (const json *ann = find_member(*meta, "annotations"); ann != nullptr && ann->is_object()) {
        auto it = ann->find(std::string(annotation));
        if (it != ann->end() && it->is_string()) pod.port_annotation = it->get<std::string>();
    }
    if (const json *status = find_member(doc, "status"); status != nullptr) {
        pod.phase = string_member(*status, "phase");
        pod.ip = string_member(*status, "podIP");
    }
    return pod;
}

// The finite numbers of a {signal: value} object; null (non-finite at the sidecar) and
// other types are left out.
std::map<std::string, double> signal_values(const json &object) {
    std::map<std::string, double> out;
    for (const auto &[name, value] : object.items()) {
        if (value.is_number()) {
            double v = value.get<double>();
            if (std::isfinite(v)) out[name] = v;
        }
    }
    return out;
}

// How the namespace form combines the pods' values: as the signal table says, and the
// worst pod for a config signal.
common::Aggregation aggregation_for(std::string_view metric) {
    const common::SignalInfo *s = common::find_signal(metric);
    return s != nullptr ? s->across_pods : common::Aggregation::max;
}

// A gauge read at the last scrape: its window is 0 ("non-calculated instantaneous metrics").
bool is_instantaneous(std::string_view metric) {
    const common::SignalInfo *s = common::find_signal(metric);
    return s != nullptr && s->timing == common::Timing::instantaneous;
}

// The window_seconds of the document or of a config signal: 0 unless a number above 0.
// A positive finite number under `name`, else 0 ("not said").
double positive_of(const json &at, std::string_view name) {
    const json *w = find_member(at, name);
    if (w == nullptr || !w->is_number()) return 0;
    const double v = w->get<double>();
    return std::isfinite(v) && v > 0 ? v : 0;
}

double window_of(const json &at) {
    return positive_of(at, field::window_seconds);
}
double stale_after_of(const json &at) {
    return positive_of(at, field::stale_after_seconds);
}

json described_object(const MetricPoint &p) {
    json o = {{"kind", p.kind}, {"name", p.name}, {"apiVersion", p.api_version}};
    if (p.kind != "Namespace") o["namespace"] = p.ns;
    return o;
}

std::string group_version(ApiVersion v) {
    return std::string(kGroup) + "/" + std::string(version_name(v));
}

}  // namespace

std::string_view version_name(ApiVersion version) {
    return version == ApiVersion::v1beta1 ? "v1beta1" : "v1beta2";
}

std::optional<ApiVersion> parse_version(std::string_view name) {
    if (name == "v1beta1") return ApiVersion::v1beta1;
    if (name == "v1beta2") return ApiVersion::v1beta2;
    return std::nullopt;
}

bool is_signal(std::string_view name) {
    return common::find_signal(name) != nullptr;
}

const ConfigMetric *Catalog::find(std::string_view name) const {
    for (const ConfigMetric &m : metrics) {
        if (m.name == name) return &m;
    }
    return nullptr;
}

ResourceKind resource_kind(std::string_view resource) {
    struct Known {
        std::string_view resource, kind, group, version;
    };
    static constexpr Known kKnown[] = {
        {"deployments", "Deployment", "apps", "v1"},
        {"statefulsets", "StatefulSet", "apps", "v1"},
        {"replicasets", "ReplicaSet", "apps", "v1"},
        {"daemonsets", "DaemonSet", "apps", "v1"},
        {"jobs", "Job", "batch", "v1"},
        {"cronjobs", "CronJob", "batch", "v1beta1"},
        {"services", "Service", "", "v1"},
        {"replicationcontrollers", "ReplicationController", "", "v1"},
        {"configmaps", "ConfigMap", "", "v1"},
        {"ingresses", "Ingress", "networking.k8s.io", "v1"},
    };
    for (const Known &k : kKnown) {
        if (k.resource != resource) continue;
        std::string group(k.group);
        return {std::string(k.kind),
                group.empty() ? "/" + std::string(k.version) : group + "/" + std::string(k.version),
                std::string(resource) + (group.empty() ? "" : "." + group)};
    }
    std::string kind(resource);
    if (kind.size() > 1 && kind.back() == 's') kind.pop_back();
    if (!kind.empty() && kind[0] >= 'a' && kind[0] <= 'z')
        kind[0] = static_cast<char>(kind[0] - 32);
    return {kind, "", std::string(resource)};
}

bool same_resource(std::string_view requested, std::string_view configured) {
    std::size_t dot = requested.find('.');
    if (requested.substr(0, dot) != configured) return false;
    if (dot == std::string_view::npos) return true;
    // A group written in the path must be the resource's (deployments.apps, not .extensions)
    // when the table knows it.
    ResourceKind k = resource_kind(configured);
    return k.qualified == requested || k.qualified == configured;
}

// ---- errors --------------------------------------------------------------------------

std::string_view reason_for_code(int code) {
    switch (code) {
        case 400:
            return "BadRequest";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "NotFound";
        case 405:
            return "MethodNotAllowed";
        case 406:
            return "NotAcceptable";
        case 429:
            return "TooManyRequests";
        case 503:
            return "ServiceUnavailable";
        case 504:
            return "Timeout";
        default:
            return "InternalError";
    }
}

ApiError api_error(int code, std::string message) {
    return ApiError{code, std::string(reason_for_code(code)), std::move(message)};
}

ApiError metric_not_found(std::string_view metric, std::string_view resource,
                          std::string_view name) {
    std::string m = "the server could not find the metric " + std::string(metric) + " for " +
                    std::string(resource);
    if (!name.empty()) m += " " + std::string(name);
    return api_error(404, std::move(m));
}

json status_json(const ApiError &error) {
    return json{{"kind", "Status"},    {"apiVersion", "v1"},       {"metadata", json::object()},
                {"status", "Failure"}, {"message", error.message}, {"reason", error.reason},
                {"code", error.code}};
}

// ---- request paths -------------------------------------------------------------------

bool valid_namespace_name(std::string_view name) {
    return dns_label(name, 63);
}

bool valid_pod_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    std::size_t start = 0;
    for (;;) {
        std::size_t dot = name.find('.', start);
        std::string_view part = name.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (!dns_label(part, 63)) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

bool is_api_path(std::string_view raw_path) {
    std::string prefix = "/apis/" + std::string(kGroup);
    return raw_path.substr(0, prefix.size()) == prefix &&
           (raw_path.size() == prefix.size() || raw_path[prefix.size()] == '/');
}

std::variant<ApiRequest, ApiError> parse_api_path(std::string_view raw_path,
                                                  const Catalog &catalog) {
    auto not_found = [] { return api_error(404, std::string(kNotFoundPath)); };
    if (raw_path.empty() || raw_path.front() != '/') return not_found();
    std::string_view rest = raw_path.substr(1);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    std::vector<std::string> seg;
    while (true) {
        std::size_t slash = rest.find('/');
        std::string_view part = rest.substr(0, slash);
        if (part.empty()) return not_found();
        seg.push_back(common::percent_decode(part));  // "+" is a plus sign in a path
        if (slash == std::string_view::npos) break;
        rest = rest.substr(slash + 1);
    }
    if (seg.size() < 2 || seg[0] != "apis" || seg[1] != kGroup) return not_found();
    ApiRequest req;
    if (seg.size() == 2) {
        req.kind = RequestKind::group;
        return req;
    }
    auto version = parse_version(seg[2]);
    if (!version) return not_found();
    req.version = *version;
    if (seg.size() == 3) {
        req.kind = RequestKind::discovery;
        return req;
    }
    std::string resource;
    if (seg[3] == "namespaces" && seg.size() == 7 && seg[5] == "metrics") {
        req.kind = RequestKind::namespace_;
        req.ns = seg[4];
        req.metric = seg[6];
        resource = "namespaces";
    } else if (seg[3] == "namespaces" && seg.size() == 6) {
        // The root-scoped form {resource}/{name}/{metric} for the namespaces resource.
        req.kind = RequestKind::namespace_;
        req.ns = seg[4];
        req.metric = seg[5];
        resource = "namespaces";
    } else if (seg[3] == "namespaces" && seg.size() == 8) {
        req.ns = seg[4];
        req.metric = seg[7];
        if (seg[5] != "pods") {
            const ConfigMetric *m = catalog.find(req.metric);
            bool attached =
                m != nullptr &&
                std::any_of(m->objects.begin(), m->objects.end(), [&](const ObjectTarget &o) {
                    return same_resource(seg[5], o.resource);
                });
            if (!attached) return metric_not_found(req.metric, seg[5], seg[6] == "*" ? "" : seg[6]);
            if (!valid_namespace_name(req.ns))
                return api_error(404, "namespaces \"" + req.ns + "\" not found");
            req.kind = RequestKind::object;
            req.resource = seg[5];
            req.object = seg[6];
            return req;
        }
        resource = "pods";
        if (seg[6] == "*") {
            req.kind = RequestKind::pods;
        } else {
            req.kind = RequestKind::pod;
            req.pod = seg[6];
        }
    } else if (seg.size() == 6) {
        // Root-scoped objects (nodes, ...): pulse has no metric for them.
        return metric_not_found(seg[5], seg[3], seg[4] == "*" ? "" : seg[4]);
    } else {
        return not_found();
    }
    // Config signals are per pod only: the namespace form sums or maxes the built-in ones.
    bool known =
        is_signal(req.metric) || (resource == "pods" && catalog.find(req.metric) != nullptr);
    if (!known) {
        return metric_not_found(req.metric, resource, req.kind == RequestKind::pod ? req.pod : "");
    }
    if (!valid_namespace_name(req.ns))
        return api_error(404, "namespaces \"" + req.ns + "\" not found");
    if (req.kind == RequestKind::pod && !valid_pod_name(req.pod)) {
        return api_error(404, "pods \"" + req.pod + "\" not found");
    }
    return req;
}

// ---- metricLabelSelector -------------------------------------------------------------

namespace {

bool label_name_ok(std::string_view n) {
    if (n.empty()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        char c = n[i];
        bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

// "k=v,k2==v2" for a config signal's series.
std::variant<MetricSelector, ApiError> parse_label_equalities(std::string_view text) {
    MetricSelector out;
    auto bad = [&] {
        return api_error(
            400,
            "metricLabelSelector \"" + std::string(text) +
                "\" is not supported: only label=value requirements, separated by commas, are");
    };
    std::string_view rest = text;
    while (true) {
        std::size_t comma = rest.find(',');
        std::string_view part = trim(rest.substr(0, comma));
        std::size_t eq = part.find('=');
        if (eq == std::string_view::npos) return bad();
        std::string_view key = trim(part.substr(0, eq));
        std::string_view value = part.substr(eq + 1);
        if (!value.empty() && value.front() == '=') value.remove_prefix(1);
        value = trim(value);
        if (!label_name_ok(key) || (!key.empty() && key.back() == '!')) return bad();
        for (char c : value) {
            if (c == '=' || c == '!' || c == '(' || c == ')' || c == ' ') return bad();
        }
        out.labels.emplace_back(std::string(key), std::string(value));
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
    }
    std::sort(out.labels.begin(), out.labels.end());
    return out;
}

}  // namespace

std::variant<MetricSelector, ApiError> parse_metric_selector(std::string_view text, bool config) {
    std::string_view t = trim(text);
    if (t.empty()) return MetricSelector{};
    if (config) return parse_label_equalities(t);
    auto bad = [&] {
        return api_error(400, "metricLabelSelector \"" + std::string(text) +
                                  "\" is not supported: only server=NAME (the signal of one nginx "
                                  "server) is, or none (the pod's signal)");
    };
    std::size_t eq = t.find('=');
    if (eq == std::string_view::npos) return bad();
    std::string_view key = trim(t.substr(0, eq));
    std::string_view value = t.substr(eq + 1);
    if (!value.empty() && value.front() == '=') value.remove_prefix(1);  // "=="
    value = trim(value);
    if (key != "server" || value.empty()) return bad();
    for (char c : value) {
        if (c == ',' || c == '=' || c == '!' || c == ' ' || c == '\t' || c == '(' || c == ')')
            return bad();
    }
    MetricSelector out;
    out.server = std::string(value);
    return out;
}

json selector_json(const MetricSelector &selector) {
    if (!selector.labels.empty()) {
        json match = json::object();
        for (const auto &[k, v] : selector.labels) match[k] = v;
        return json{{"matchLabels", std::move(match)}};
    }
    if (!selector.server) return nullptr;
    return json{{"matchLabels", {{"server", *selector.server}}}};
}

// ---- pods ----------------------------------------------------------------------------

std::variant<std::vector<PodInfo>, std::string> parse_pod_list(std::string_view body,
                                                               std::string_view annotation) {
    if (!json_reading::nesting_within(body)) return too_deep("the pod list");
    json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        return std::string("the pod list is not a JSON object");
    const json *items = find_member(doc, "items");
    if (items == nullptr) return std::string("the pod list has no items");
    std::vector<PodInfo> pods;
    if (items->is_null()) return pods;
    if (!items->is_array()) return std::string("the pod list's items is not an array");
    for (const json &item : *items) {
        if (auto pod = pod_from_json(item, annotation)) pods.push_back(std::move(*pod));
    }
    return pods;
}

std::variant<PodInfo, std::string> parse_pod(std::string_view body, std::string_view annotation) {
    if (!json_reading::nesting_within(body)) return too_deep("the pod");
    json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return std::string("the pod is not a JSON object");
    auto pod = pod_from_json(doc, annotation);
    if (!pod) return std::string("the pod has no metadata.name");
    return std::move(*pod);
}

std::optional<std::string> pod_ineligible(const PodInfo &pod) {
    if (pod.terminating) return std::string("the pod is terminating");
    if (pod.phase != "Running") {
        return "the pod is not running (phase " +
               (pod.phase.empty() ? std::string("unknown") : pod.phase) + ")";
    }
    if (pod.ip.empty()) return std::string("the pod has no IP yet");
    return std::nullopt;
}

std::variant<int, std::string> sidecar_port(const PodInfo &pod, int default_port) {
    if (!pod.port_annotation) return default_port;
    std::string_view v = trim(*pod.port_annotation);
    int port = 0;
    bool ok = !v.empty() && v.size() <= 5;
    for (char c : v) {
        if (c < '0' || c > '9') {
            ok = false;
            break;
        }
        port = port * 10 + (c - '0');
    }
    if (!ok || port < 1 || port > 65535) {
        return "the sidecar port annotation \"" + *pod.port_annotation + "\" is not a port number";
    }
    return port;
}

std::string signals_url(std::string_view ip, int port) {
    std::string host =
        ip.find(':') != std::string_view::npos ? "[" + std::string(ip) + "]" : std::string(ip);
    return "http://" + host + ":" + std::to_string(port) + "/signals";
}

// ---- /signals ------------------------------------------------------------------------

std::variant<SidecarReading, std::string> parse_signals(std::string_view body) {
    if (!json_reading::nesting_within(body)) return too_deep("the /signals answer");
    json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        return std::string("the /signals answer is not a JSON object");
    SidecarReading r;
    const json *stale = find_member(doc, field::stale);
    if (stale == nullptr || !stale->is_boolean())
        return std::string("the /signals answer has no \"stale\"");
    r.stale = stale->get<bool>();
    if (const json *d = find_member(doc, field::draining); d != nullptr && d->is_boolean())
        r.draining = d->get<bool>();
    const json *ts = find_member(doc, field::timestamp_unix);
    if (ts == nullptr) return std::string("the /signals answer has no \"timestamp_unix\"");
    if (ts->is_number() && std::isfinite(ts->get<double>())) {
        r.timestamp_unix = ts->get<double>();
    } else {
        r.stale = true;  // no good scrape yet
    }
    r.window_seconds = window_of(doc);
    r.stale_after_seconds = stale_after_of(doc);
    const json *pod = find_member(doc, field::pod);
    if (pod == nullptr || !pod->is_object())
        return std::string("the /signals answer has no \"pod\" object");
    r.pod = signal_values(*pod);
    if (const json *servers = find_member(doc, field::servers);
        servers != nullptr && servers->is_object()) {
        for (const auto &[name, set] : servers->items()) {
            if (set.is_object()) r.servers[name] = signal_values(set);
        }
    }
    if (const json *config = find_member(doc, field::config_signals); config != nullptr) {
        if (!config->is_object())
            return std::string("the /signals answer's \"config_signals\" is not an object");
        for (const auto &[name, entry] : config->items()) {
            std::string where = "the /signals answer's config_signals." + name;
            const json *series = find_member(entry, field::series);
            const json *stale_ = find_member(entry, field::stale);
            if (series == nullptr || !series->is_array() || stale_ == nullptr ||
                !stale_->is_boolean())
                return where + " has no \"series\" list or \"stale\"";
            ConfigReading c;
            c.stale = stale_->get<bool>();
            const json *ts_ = find_member(entry, field::timestamp_unix);
            if (ts_ != nullptr && ts_->is_number() && std::isfinite(ts_->get<double>())) {
                c.timestamp_unix = ts_->get<double>();
            } else {
                c.stale = true;
            }
            c.window_seconds = window_of(entry);
            c.stale_after_seconds = stale_after_of(entry);
            for (const json &s : *series) {
                const json *labels = find_member(s, field::labels);
                const json *value = find_member(s, field::value);
                if (labels == nullptr || !labels->is_object() || value == nullptr)
                    return where + " has a series without \"labels\" or \"value\"";
                std::map<std::string, std::string> ls;
                for (const auto &[k, v] : labels->items()) {
                    if (!v.is_string()) return where + " has a label value that is not a string";
                    ls[k] = v.get<std::string>();
                }
                if (!value->is_number() || !std::isfinite(value->get<double>())) continue;
                c.series.emplace_back(std::move(ls), value->get<double>());
            }
            r.config[name] = std::move(c);
        }
    }
    return r;
}

double reading_stale_after(const SidecarReading &reading, std::string_view metric) {
    if (!metric.empty() && !is_signal(metric)) {
        auto it = reading.config.find(std::string(metric));
        return it == reading.config.end() ? 0 : it->second.stale_after_seconds;
    }
    return reading.stale_after_seconds;
}

double reading_timestamp(const SidecarReading &reading, std::string_view metric) {
    if (!metric.empty() && !is_signal(metric)) {
        auto it = reading.config.find(std::string(metric));
        return it == reading.config.end() ? 0 : it->second.timestamp_unix;
    }
    return reading.timestamp_unix;
}

std::optional<std::string> reading_unusable(const SidecarReading &reading, std::string_view metric,
                                            std::optional<double> now_unix, double allowance) {
    if (!metric.empty() && !is_signal(metric)) {
        if (reading.draining) return std::string("draining");
        auto it = reading.config.find(std::string(metric));
        if (it != reading.config.end() && it->second.stale) return std::string("stale");
    } else {
        if (reading.stale) return std::string("stale");
        if (reading.draining) return std::string("draining");
    }
    if (!now_unix) return std::nullopt;
    double stamped = reading_timestamp(reading, metric);
    if (stamped > *now_unix + allowance) return std::string("future");
    double stale_after = reading_stale_after(reading, metric);
    if (stale_after > 0 && *now_unix - stamped > stale_after + allowance) return std::string("old");
    return std::nullopt;
}

std::optional<double> reading_value(const SidecarReading &reading, std::string_view metric,
                                    const MetricSelector &selector) {
    if (!is_signal(metric)) {
        auto it = reading.config.find(std::string(metric));
        if (it == reading.config.end()) return std::nullopt;
        std::optional<double> sum;
        // Not a structured binding: clang 14 (the fuzz targets' compiler) cannot capture one.
        for (const auto &series : it->second.series) {
            const auto &labels = series.first;
            bool all =
                std::all_of(selector.labels.begin(), selector.labels.end(), [&](const auto &kv) {
                    auto l = labels.find(kv.first);
                    return l != labels.end() && l->second == kv.second;
                });
            if (all) sum = sum.value_or(0) + series.second;
        }
        return sum;
    }
    const std::map<std::string, double> *set = &reading.pod;
    if (selector.server) {
        auto it = reading.servers.find(*selector.server);
        if (it == reading.servers.end()) return std::nullopt;
        set = &it->second;
    }
    auto it = set->find(std::string(metric));
    if (it == set->end()) return std::nullopt;
    return it->second;
}

// ---- values --------------------------------------------------------------------------

std::string format_quantity(double value) {
    if (!std::isfinite(value)) return "0";
    double milli = std::round(value * 1000.0);  // half away from zero
    std::int64_t m;
    if (milli >= 9.2e18) {
        m = std::numeric_limits<std::int64_t>::max();
    } else if (milli <= -9.2e18) {
        m = std::numeric_limits<std::int64_t>::min();
    } else {
        m = static_cast<std::int64_t>(milli);
    }
    if (m == 0) return "0";
    return std::to_string(m) + "m";
}

std::optional<MetricPoint> pod_point(const PodInfo &pod, const SidecarReading &reading,
                                     std::string_view metric, const MetricSelector &selector) {
    auto value = reading_value(reading, metric, selector);
    if (!value) return std::nullopt;
    MetricPoint p;
    p.kind = "Pod";
    p.ns = pod.ns;
    p.name = pod.name;
    p.timestamp_unix = reading.timestamp_unix;
    p.window_seconds = is_instantaneous(metric) ? 0 : std::llround(reading.window_seconds);
    if (auto it = reading.config.find(std::string(metric));
        !is_signal(metric) && it != reading.config.end()) {
        p.timestamp_unix = it->second.timestamp_unix;
        p.window_seconds = std::llround(it->second.window_seconds);
    }
    p.value = *value;
    return p;
}

std::optional<MetricPoint> aggregate_namespace(std::string_view ns, std::string_view metric,
                                               const std::vector<MetricPoint> &points) {
    if (points.empty()) return std::nullopt;
    MetricPoint out;
    out.kind = "Namespace";
    out.ns = std::string(ns);
    out.name = std::string(ns);
    out.timestamp_unix = points.front().timestamp_unix;
    out.window_seconds = 0;
    bool sum = aggregation_for(metric) == common::Aggregation::sum;
    out.value = sum ? 0 : points.front().value;
    for (const MetricPoint &p : points) {
        out.value = sum ? out.value + p.value : std::max(out.value, p.value);
        out.timestamp_unix = std::min(out.timestamp_unix, p.timestamp_unix);
        out.window_seconds = std::max(out.window_seconds, p.window_seconds);
    }
    return out;
}

// ---- documents -----------------------------------------------------------------------

json metric_value_list(ApiVersion version, std::string_view metric, const MetricSelector &selector,
                       const std::vector<MetricPoint> &points) {
    json items = json::array();
    for (const MetricPoint &p : points) {
        json item;
        item["describedObject"] = described_object(p);
        item["timestamp"] = common::format_rfc3339(p.timestamp_unix);
        item["value"] = format_quantity(p.value);
        if (version == ApiVersion::v1beta1) {
            item["metricName"] = std::string(metric);
            item["window"] = p.window_seconds;
            item["selector"] = selector_json(selector);
        } else {
            item["metric"] =
                json{{"name", std::string(metric)}, {"selector", selector_json(selector)}};
            item["windowSeconds"] = p.window_seconds;
        }
        items.push_back(std::move(item));
    }
    return json{{"kind", "MetricValueList"},
                {"apiVersion", group_version(version)},
                {"metadata", json::object()},
                {"items", std::move(items)}};
}

json discovery(ApiVersion version, const Catalog &catalog) {
    json resources = json::array();
    auto add = [&](const std::string &name, bool namespaced) {
        resources.push_back(json{{"name", name},
                                 {"singularName", ""},
                                 {"namespaced", namespaced},
                                 {"kind", "MetricValueList"},
                                 {"verbs", json::array({"get"})}});
    };
    for (const char *resource : {"pods", "namespaces"}) {
        for (const common::SignalInfo &s : common::kSignals) {
            add(std::string(resource) + "/" + std::string(s.name),
                std::string_view(resource) == "pods");
        }
    }
    for (const ConfigMetric &m : catalog.metrics) {
        add("pods/" + m.name, true);
        std::vector<std::string> seen;
        for (const ObjectTarget &o : m.objects) {
            std::string name = resource_kind(o.resource).qualified + "/" + m.name;
            if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
            seen.push_back(name);
            add(name, true);
        }
    }
    return json{{"kind", "APIResourceList"},
                {"apiVersion", "v1"},
                {"groupVersion", group_version(version)},
                {"resources", std::move(resources)}};
}

json api_group() {
    json v2 = {{"groupVersion", group_version(ApiVersion::v1beta2)}, {"version", "v1beta2"}};
    json v1 = {{"groupVersion", group_version(ApiVersion::v1beta1)}, {"version", "v1beta1"}};
    return json{{"kind", "APIGroup"},
                {"apiVersion", "v1"},
                {"name", std::string(kGroup)},
                {"versions", json::array({v2, v1})},
                {"preferredVersion", v2}};
}

}  // namespace pulse::sidecar::cm
