#include "state_json.h"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "json_reading.h"
#include "quantity.h"

namespace pulse::hpa {
namespace {

using nlohmann::json;

struct StateFailure {
    std::string message;
};

[[noreturn]] void fail(const std::string &path, const std::string &what) {
    throw StateFailure{path.empty() ? what : path + ": " + what};
}

std::string show(const json &j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void expect_object(const json &j, const std::string &path) {
    if (!j.is_object()) fail(path, "must be an object, not " + show(j));
}

void only_fields(const json &j, const std::string &path,
                 std::initializer_list<const char *> fields) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool known = false;
        for (const char *f : fields) known |= it.key() == f;
        if (!known) fail(path.empty() ? it.key() : path + "." + it.key(), "unknown field");
    }
}

using json_reading::join_path;
using json_reading::member;
using json_reading::quote;

double number(const json &j, const std::string &path) {
    if (!j.is_number()) fail(path, "must be a number, not " + show(j));
    double v = j.get<double>();
    if (!std::isfinite(v)) fail(path, "must be finite");
    return v;
}

std::int32_t int32(const json &j, const std::string &path) {
    if (!j.is_number()) fail(path, "must be an integer, not " + show(j));
    double v = j.get<double>();
    if (j.is_number_integer()) {
        if (j.is_number_unsigned()
                ? j.get<std::uint64_t>() > std::numeric_limits<std::int32_t>::max()
                : (j.get<std::int64_t>() < std::numeric_limits<std::int32_t>::min() ||
                   j.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()))
            fail(path, show(j) + " is out of range");
        return static_cast<std::int32_t>(j.get<std::int64_t>());
    }
    if (v != std::floor(v)) fail(path, "must be an integer, not " + show(j));
    if (v < std::numeric_limits<std::int32_t>::min() ||
        v > std::numeric_limits<std::int32_t>::max())
        fail(path, show(j) + " is out of range");
    return static_cast<std::int32_t>(v);
}

std::int32_t count(const json &j, const std::string &path) {
    std::int32_t v = int32(j, path);
    if (v < 0) fail(path, "must be at least 0");
    return v;
}

bool boolean(const json &j, const std::string &path) {
    if (!j.is_boolean()) fail(path, "must be true or false, not " + show(j));
    return j.get<bool>();
}

std::string string(const json &j, const std::string &path) {
    if (!j.is_string()) fail(path, "must be a string, not " + show(j));
    return j.get<std::string>();
}

// A quantity string (a bare JSON number is read as its text).
std::int64_t quantity(const json &j, const std::string &path) {
    std::string text;
    if (j.is_string()) {
        text = j.get<std::string>();
    } else if (j.is_number()) {
        text = show(j);
    } else {
        fail(path, show(j) + " is not a quantity");
    }
    auto q = parse_quantity(text);
    if (!q.ok) fail(path, quantity_problem(text, q));
    return q.milli;
}

// {pod: quantity}
std::map<std::string, std::int64_t> per_pod(const json &j, const std::string &path) {
    expect_object(j, path);
    std::map<std::string, std::int64_t> out;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key().empty()) fail(path, "a pod name is empty");
        out[it.key()] = quantity(it.value(), path + "." + it.key());
    }
    return out;
}

// {metric: {pod: quantity}}
std::map<std::string, std::map<std::string, std::int64_t>> per_metric_per_pod(
    const json &j, const std::string &path, bool container_keys) {
    expect_object(j, path);
    std::map<std::string, std::map<std::string, std::int64_t>> out;
    for (auto it = j.begin(); it != j.end(); ++it) {
        std::string p = path + "." + it.key();
        if (container_keys) {
            auto slash = it.key().find('/');
            if (slash == 0 || slash == std::string::npos || slash + 1 == it.key().size() ||
                it.key().find('/', slash + 1) != std::string::npos)
                fail(p, "must be named container/resource (\"app/cpu\")");
        } else if (it.key().empty()) {
            fail(path, "a metric name is empty");
        }
        out[it.key()] = per_pod(it.value(), p);
    }
    return out;
}

// {metric: quantity}
std::map<std::string, std::int64_t> per_metric(const json &j, const std::string &path) {
    expect_object(j, path);
    std::map<std::string, std::int64_t> out;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key().empty()) fail(path, "a metric name is empty");
        out[it.key()] = quantity(it.value(), path + "." + it.key());
    }
    return out;
}

std::optional<double> opt_time(const json &pod, const char *key, const std::string &path) {
    const json *v = member(pod, key);
    if (v == nullptr) return std::nullopt;
    return number(*v, join_path(path, key));
}

PodState read_pod(const json &j, const std::string &path) {
    expect_object(j, path);
    only_fields(j, path,
                {"name", "phase", "ready", "deleting", "startTime", "readySince", "containers"});
    PodState pod;
    const json *name = member(j, "name");
    if (name == nullptr) fail(path + ".name", "required");
    pod.name = string(*name, path + ".name");
    if (pod.name.empty()) fail(path + ".name", "required");
    if (const json *phase = member(j, "phase")) {
        pod.phase = string(*phase, path + ".phase");
        if (pod.phase != "Pending" && pod.phase != "Running" && pod.phase != "Succeeded" &&
            pod.phase != "Failed" && pod.phase != "Unknown")
            fail(path + ".phase",
                 quote(pod.phase) + " is not Pending, Running, Succeeded, Failed or Unknown");
    }
    if (const json *ready = member(j, "ready")) pod.ready = boolean(*ready, path + ".ready");
    if (const json *deleting = member(j, "deleting"))
        pod.deleting = boolean(*deleting, path + ".deleting");
    pod.start_time = opt_time(j, "startTime", path);
    pod.ready_since = opt_time(j, "readySince", path);
    if (const json *containers = member(j, "containers")) {
        std::string cp = path + ".containers";
        if (!containers->is_array()) fail(cp, "must be a list, not " + show(*containers));
        for (std::size_t i = 0; i < containers->size(); ++i) {
            std::string ip = cp + "[" + std::to_string(i) + "]";
            const json &c = (*containers)[i];
            expect_object(c, ip);
            only_fields(c, ip, {"name", "requests"});
            ContainerRequests out;
            const json *cname = member(c, "name");
            if (cname == nullptr) fail(ip + ".name", "required");
            out.name = string(*cname, ip + ".name");
            if (const json *requests = member(c, "requests"))
                out.requests_milli = per_metric(*requests, ip + ".requests");
            pod.containers.push_back(std::move(out));
        }
    }
    return pod;
}

template <typename T, typename F>
std::vector<T> read_list(const json &doc, const char *key, F read) {
    std::vector<T> out;
    const json *list = member(doc, key);
    if (list == nullptr) return out;
    if (!list->is_array()) fail(key, "must be a list, not " + show(*list));
    for (std::size_t i = 0; i < list->size(); ++i) {
        std::string path = std::string(key) + "[" + std::to_string(i) + "]";
        expect_object((*list)[i], path);
        out.push_back(read((*list)[i], path));
    }
    return out;
}

ClusterState read_state(const json &doc) {
    expect_object(doc, "");
    only_fields(
        doc, "",
        {"time", "currentReplicas", "statusReplicas", "pods", "metrics", "resourceMetricTime",
         "resourceMetricWindow", "recommendations", "scaleUpEvents", "scaleDownEvents"});
    ClusterState s;
    const json *time = member(doc, "time");
    if (time == nullptr) fail("time", "required");
    s.time = number(*time, "time");
    const json *current = member(doc, "currentReplicas");
    if (current == nullptr) fail("currentReplicas", "required");
    s.current_replicas = count(*current, "currentReplicas");
    if (const json *status = member(doc, "statusReplicas"))
        s.status_replicas = count(*status, "statusReplicas");

    s.pods = read_list<PodState>(doc, "pods", read_pod);
    std::set<std::string> names;
    for (std::size_t i = 0; i < s.pods.size(); ++i)
        if (!names.insert(s.pods[i].name).second)
            fail("pods[" + std::to_string(i) + "].name", quote(s.pods[i].name) + " is given twice");

    if (const json *metrics = member(doc, "metrics")) {
        expect_object(*metrics, "metrics");
        for (auto it = metrics->begin(); it != metrics->end(); ++it) {
            const std::string &k = it.key();
            std::string p = "metrics." + k;
            if (it->is_null()) continue;
            if (k == "resource") {
                s.resource = per_metric_per_pod(*it, p, false);
            } else if (k == "containerResource") {
                s.container_resource = per_metric_per_pod(*it, p, true);
            } else if (k == "pods") {
                s.pods_metrics = per_metric_per_pod(*it, p, false);
            } else if (k == "object") {
                s.object = per_metric(*it, p);
            } else if (k == "external") {
                s.external = per_metric(*it, p);
            } else {
                fail(p, "unknown metric type " + quote(k) +
                            " (resource, containerResource, pods, object or external)");
            }
        }
    }

    s.resource_metric_time = s.time;
    if (const json *t = member(doc, "resourceMetricTime"))
        s.resource_metric_time = number(*t, "resourceMetricTime");
    if (const json *w = member(doc, "resourceMetricWindow")) {
        s.resource_metric_window = number(*w, "resourceMetricWindow");
        if (s.resource_metric_window < 0) fail("resourceMetricWindow", "must be at least 0");
    }

    s.recommendations = read_list<TimedReplicas>(doc, "recommendations",
                                                 [](const json &r, const std::string &path) {
                                                     only_fields(r, path, {"time", "replicas"});
                                                     TimedReplicas out;
                                                     const json *t = member(r, "time");
                                                     if (t == nullptr)
                                                         fail(path + ".time", "required");
                                                     out.time = number(*t, path + ".time");
                                                     const json *n = member(r, "replicas");
                                                     if (n == nullptr)
                                                         fail(path + ".replicas", "required");
                                                     out.replicas = count(*n, path + ".replicas");
                                                     return out;
                                                 });
    auto event = [](const json &e, const std::string &path) {
        only_fields(e, path, {"time", "change"});
        ScaleEvent out;
        const json *t = member(e, "time");
        if (t == nullptr) fail(path + ".time", "required");
        out.time = number(*t, path + ".time");
        const json *c = member(e, "change");
        if (c == nullptr) fail(path + ".change", "required");
        out.change = count(*c, path + ".change");
        return out;
    };
    s.scale_up_events = read_list<ScaleEvent>(doc, "scaleUpEvents", event);
    s.scale_down_events = read_list<ScaleEvent>(doc, "scaleDownEvents", event);
    return s;
}

}  // namespace

std::variant<ClusterState, std::string> parse_state_json(const nlohmann::json &doc) {
    try {
        return read_state(doc);
    } catch (const StateFailure &f) {
        return f.message;
    }
}

std::variant<ClusterState, std::string> parse_state(std::string_view text) {
    json doc;
    try {
        doc = json::parse(text.begin(), text.end());
    } catch (const json::parse_error &e) {
        std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
        auto close = what.find("] ");
        return "not JSON: " + (close == std::string::npos ? what : what.substr(close + 2));
    }
    return parse_state_json(doc);
}

}  // namespace pulse::hpa
