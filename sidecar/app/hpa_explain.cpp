#include "hpa_explain.h"

#include "hpa_flags.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "adapter.h"
#include "common/rfc3339.h"
#include "durations.h"
#include "hpa/decide.h"
#include "hpa/decision_json.h"
#include "hpa/live_state.h"
#include "hpa/spec_yaml.h"
#include "kube_client.h"
#include "one_line.h"

namespace pulse::sidecar {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using namespace pulse::hpa;

constexpr const char *kMe = "pulse-sidecar hpa explain: ";

bool readable(const std::string &path) {
    return ::access(path.c_str(), R_OK) == 0;
}

// One answer of the API: the document, or why there is none (naming the request).
struct Answer {
    long status = 0;
    json doc;
    std::string body;
    std::string error;  // empty: doc is the 200 answer's JSON
    bool ok() const { return error.empty(); }
};

// The message of a Kubernetes Status answer, or the start of the body.
std::string status_message(const std::string &body) {
    json doc = json::parse(body, nullptr, false);
    if (doc.is_object() && doc.contains("message") && doc["message"].is_string())
        return doc["message"].get<std::string>();
    std::string start = body.substr(0, 200);
    while (!start.empty() && (start.back() == '\n' || start.back() == ' ')) start.pop_back();
    return one_line(start);
}

Answer get(KubeClient &kube, const std::string &path) {
    Answer a;
    HttpResult r = kube.get(path);
    a.status = r.status;
    if (r.status == 0) {
        a.error = one_line(r.error);  // "GET https://...: <transport error>"
        return a;
    }
    a.doc = json::parse(r.body, nullptr, false);
    a.body = std::move(r.body);
    if (r.status != 200) {
        a.error =
            "GET " + path + ": HTTP " + std::to_string(r.status) + ": " + status_message(a.body);
        return a;
    }
    if (a.doc.is_discarded()) a.error = "GET " + path + ": the answer is not JSON";
    return a;
}

// A 404 Status saying the HPA itself is missing (its group version is served).
bool hpa_not_found(const Answer &a) {
    if (a.status != 404 || !a.doc.is_object()) return false;
    const json &details = a.doc.contains("details") ? a.doc["details"] : json();
    return a.doc.value("kind", "") == "Status" && a.doc.value("reason", "") == "NotFound" &&
           details.is_object() && details.value("kind", "") == "horizontalpodautoscalers";
}

std::string metric_label(const MetricSpec &m) {
    std::string label = std::string(metric_type_name(m.type)) + " metric " + m.name;
    if (m.type == MetricType::container_resource) label += " of container " + m.container;
    if (m.type == MetricType::object)
        label += " of " + m.described_object.kind + " " + m.described_object.name;
    return label;
}

// The HPA's status fields as the API returned them (their order kept).
ojson status_of(const std::string &hpa_body) {
    ojson hpa = ojson::parse(hpa_body, nullptr, false);
    ojson out = ojson::object();
    const ojson status = hpa.is_object() && hpa.contains("status") && hpa["status"].is_object()
                             ? hpa["status"]
                             : ojson::object();
    for (const char *key :
         {"currentReplicas", "desiredReplicas", "lastScaleTime", "conditions", "currentMetrics"})
        out[key] = status.contains(key) ? status[key] : ojson();
    return out;
}

}  // namespace

struct HpaExplain::Impl {
    CLI::App *explain = nullptr;
    std::string target;
    std::string kube_api, token_file, ca_file, client_cert, client_key;
    double timeout = 10;
    ControllerOptions options;

    int run();
};

HpaExplain::HpaExplain(CLI::App &hpa) : impl_(std::make_unique<Impl>()) {
    Impl &s = *impl_;
    s.explain = hpa.add_subcommand(
        "explain",
        "A live HPA's decision, as kube-controller-manager 1.20 takes it, from what it reads "
        "through the Kubernetes API (the HPA, its target's scale, the pods, the metrics), "
        "beside the HPA's own status");
    auto *e = s.explain;
    e->add_option("NAMESPACE/NAME", s.target, "The HorizontalPodAutoscaler");
    e->add_option("--kube-api", s.kube_api,
                  "Kubernetes API URL (default: in-cluster, "
                  "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)")
        ->envname("PULSE_KUBE_API");
    e->add_option("--kube-token-file", s.token_file,
                  "Bearer token file for the Kubernetes API (default: the service account's, "
                  "when there is one)")
        ->envname("PULSE_KUBE_TOKEN_FILE");
    e->add_option("--kube-ca", s.ca_file,
                  "CA of the Kubernetes API (default: the service account's, else the system's)")
        ->envname("PULSE_KUBE_CA");
    e->add_option("--kube-client-cert", s.client_cert,
                  "Client certificate (PEM) for a user authenticated by certificate");
    e->add_option("--kube-client-key", s.client_key, "The client certificate's key (PEM)");
    e->add_option_function<std::string>(
        "--timeout",
        [&s](const std::string &text) {
            std::string error;
            auto v = parse_duration(text, &error);
            if (!v || *v <= 0)
                throw CLI::ValidationError(
                    "--timeout: " + (error.empty() ? "must be above 0" : error), 2);
            s.timeout = *v;
        },
        "Longest wait for each Kubernetes API request (default 10s)");
    // The controller's flags, under decide's names and kube-controller-manager's.
    add_controller_flags(*e, s.options);
}

HpaExplain::~HpaExplain() = default;

bool HpaExplain::selected() const {
    return impl_->explain->parsed();
}

int HpaExplain::run() {
    try {
        return impl_->run();
    } catch (const std::exception &e) {
        std::cerr << kMe << one_line(e.what()) << "\n";
        return 1;
    }
}

int HpaExplain::Impl::run() {
    // ---- arguments
    const auto slash = target.find('/');
    if (target.empty() || slash == std::string::npos || slash == 0 || slash + 1 == target.size() ||
        target.find('/', slash + 1) != std::string::npos) {
        std::cerr << kMe
                  << (target.empty() ? std::string("NAMESPACE/NAME is required")
                                     : "\"" + target + "\" is not NAMESPACE/NAME")
                  << "\n";
        return 2;
    }
    const std::string ns = target.substr(0, slash), name = target.substr(slash + 1);
    KubeOptions kube_options;
    kube_options.api_url = kube_api;
    if (kube_options.api_url.empty()) {
        const char *host = std::getenv("KUBERNETES_SERVICE_HOST");
        const char *port = std::getenv("KUBERNETES_SERVICE_PORT");
        if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
            std::cerr << kMe
                      << "no --kube-api given and not in a cluster (KUBERNETES_SERVICE_HOST/_PORT "
                         "are not set)\n";
            return 2;
        }
        std::string h = host;
        if (h.find(':') != std::string::npos) h = "[" + h + "]";
        kube_options.api_url = "https://" + h + ":" + port;
    }
    auto require = [](const char *flag, const std::string &path) {
        if (path.empty() || readable(path)) return true;
        std::cerr << kMe << flag << " " << path << ": cannot be read\n";
        return false;
    };
    if (!require("--kube-token-file", token_file) || !require("--kube-ca", ca_file) ||
        !require("--kube-client-cert", client_cert) || !require("--kube-client-key", client_key))
        return 2;
    if (client_cert.empty() != client_key.empty()) {
        std::cerr << kMe << "--kube-client-cert and --kube-client-key go together\n";
        return 2;
    }
    kube_options.token_file = token_file;
    if (token_file.empty() && readable(kServiceAccountToken))
        kube_options.token_file = kServiceAccountToken;
    kube_options.ca_file = ca_file;
    if (ca_file.empty() && readable(kServiceAccountCa)) kube_options.ca_file = kServiceAccountCa;
    kube_options.client_cert = client_cert;
    kube_options.client_key = client_key;
    kube_options.timeout = timeout;
    KubeClient kube(kube_options);

    std::vector<std::string> notes;
    auto fail = [](const std::string &message) {
        std::cerr << kMe << one_line(message) << "\n";
        return 1;
    };

    // ---- the HPA: autoscaling/v2 where served, else v2beta2 (Kubernetes 1.20)
    std::string api_version = "autoscaling/v2";
    std::string path = hpa_path("v2", ns, name);
    Answer hpa_answer = get(kube, path);
    if (!hpa_answer.ok() && hpa_answer.status == 404 && !hpa_not_found(hpa_answer)) {
        api_version = "autoscaling/v2beta2";
        path = hpa_path("v2beta2", ns, name);
        hpa_answer = get(kube, path);
    }
    if (!hpa_answer.ok()) return fail(hpa_answer.error);
    if (hpa_answer.doc.is_object() && hpa_answer.doc.value("apiVersion", "") != "")
        api_version = hpa_answer.doc.value("apiVersion", "");
    auto parsed = parse_hpa_json(hpa_answer.doc);
    if (auto *e = std::get_if<std::string>(&parsed))
        return fail("GET " + path + ": HorizontalPodAutoscaler: " + *e);
    HpaSpec hpa = std::get<HpaSpec>(parsed);

    // Discovery of a group version (for kinds that are not built in), read once.
    std::map<std::string, Answer> discovery;
    auto resource_for = [&](const ObjectReference &ref,
                            std::string &error) -> std::optional<ApiResource> {
        if (auto r = builtin_resource(ref)) return r;
        auto [group, version] = split_api_version(ref.api_version);
        if (version.empty()) {
            error = "apiVersion \"" + ref.api_version + "\" names no version for kind " + ref.kind;
            return std::nullopt;
        }
        const std::string dpath =
            group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
        auto it = discovery.find(dpath);
        if (it == discovery.end()) it = discovery.emplace(dpath, get(kube, dpath)).first;
        if (!it->second.ok()) {
            error = it->second.error;
            return std::nullopt;
        }
        auto resource = resource_of_kind(it->second.doc, ref.kind);
        if (!resource) {
            error = "GET " + dpath + ": no resource of kind " + ref.kind;
            return std::nullopt;
        }
        return ApiResource{group, version, *resource};
    };

    // ---- the target's scale
    std::string error;
    auto target_resource = resource_for(hpa.scale_target, error);
    if (!target_resource)
        return fail("spec.scaleTargetRef (" + hpa.scale_target.api_version + " " +
                    hpa.scale_target.kind + " " + hpa.scale_target.name + "): " + error);
    path = scale_path(ns, *target_resource, hpa.scale_target.name);
    Answer scale_answer = get(kube, path);
    if (!scale_answer.ok()) return fail(scale_answer.error);
    auto scale_read = read_scale(scale_answer.doc);
    if (auto *e = std::get_if<ReadError>(&scale_read))
        return fail("GET " + path + ": " + e->message);
    const LiveScale scale = std::get<LiveScale>(scale_read);

    const auto wall = std::chrono::system_clock::now().time_since_epoch();
    const double now =
        static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(wall).count()) /
        1000.0;
    ClusterState state;
    state.time = now;
    state.current_replicas = scale.spec_replicas;
    state.status_replicas = scale.status_replicas;
    state.resource_metric_time = now;
    // The controller's first pass over an HPA (recordInitialRecommendation).
    state.recommendations.push_back({now, scale.spec_replicas});

    // ---- the pods and the metrics, as the controller reads them (only when it computes
    // the metrics: not for a target at 0 replicas, nor for a count out of range)
    const std::int32_t current = scale.spec_replicas;
    const bool reads_metrics = !(current == 0 && hpa.min_replicas != 0) &&
                               current <= hpa.max_replicas && current >= hpa.min_replicas;
    if (!reads_metrics) {
        notes.push_back(
            "the controller reads neither pods nor metrics for this sync: " +
            (current == 0 ? std::string("the target is at 0 replicas (scaling disabled)")
                          : "the current count " + std::to_string(current) + " is " +
                                (current > hpa.max_replicas
                                     ? "above maxReplicas " + std::to_string(hpa.max_replicas)
                                     : "below minReplicas " + std::to_string(hpa.min_replicas))));
    } else if (scale.selector.empty()) {
        notes.push_back(
            "the target's scale has no status.selector: the controller sets ScalingActive False "
            "InvalidSelector and reads neither pods nor metrics");
    } else {
        path = pods_path(ns, scale.selector);
        Answer pods_answer = get(kube, path);
        if (!pods_answer.ok()) return fail(pods_answer.error);
        auto pods_read = read_pod_list(pods_answer.doc);
        if (auto *e = std::get_if<ReadError>(&pods_read))
            return fail("GET " + path + ": " + e->message);
        LivePods &pods = std::get<LivePods>(pods_read);
        state.pods = std::move(pods.pods);
        if (!pods.ready_unknown.empty()) {
            std::string names;
            for (const auto &p : pods.ready_unknown) names += (names.empty() ? "" : ", ") + p;
            notes.push_back("pods with a Ready condition \"Unknown\" (" + names +
                            ") are read as not ready, as the controller counts ready pods; its "
                            "CPU rules alone treat Unknown as not False");
        }

        std::optional<Answer> pod_metrics;  // metrics.k8s.io, read once
        std::optional<std::variant<std::string, ReadError>> cm_version;
        auto left_out = [&](const MetricSpec &m, const std::string &why) {
            notes.push_back(metric_label(m) + " could not be read (" + one_line(why) +
                            "): it is left out of the state, so the decision fails it as the "
                            "controller does (the controller's message quotes this error)");
        };
        auto collides = [&](const MetricSpec &m, bool differs) {
            if (differs)
                notes.push_back("two metrics of the HPA are " + metric_label(m) +
                                " with different values (other selectors or objects): the state "
                                "holds one value per type and name, and both are decided on the "
                                "last one read");
        };
        for (const MetricSpec &m : hpa.metrics) {
            switch (m.type) {
                case MetricType::resource:
                case MetricType::container_resource: {
                    path = pod_metrics_path(ns, scale.selector);
                    if (!pod_metrics) pod_metrics = get(kube, path);
                    if (!pod_metrics->ok()) {
                        left_out(m, pod_metrics->error);
                        break;
                    }
                    auto usage = read_pod_metrics(pod_metrics->doc);
                    if (auto *e = std::get_if<ReadError>(&usage)) {
                        left_out(m, "GET " + path + ": " + e->message);
                        break;
                    }
                    const auto &list = std::get<std::vector<PodUsage>>(usage);
                    auto samples = m.type == MetricType::resource
                                       ? resource_samples(list, m.name)
                                       : container_samples(list, m.container, m.name);
                    if (auto *e = std::get_if<ReadError>(&samples)) {
                        left_out(m, "GET " + path + ": " + e->message);
                        break;
                    }
                    auto &got = std::get<ResourceSamples>(samples);
                    state.resource_metric_time = got.timestamp;
                    state.resource_metric_window = got.window;
                    if (m.type == MetricType::resource) {
                        state.resource[m.name] = std::move(got.values);
                    } else {
                        const std::string key = m.container + "/" + m.name;
                        state.container_resource[key] = std::move(got.values);
                    }
                    break;
                }
                case MetricType::pods:
                case MetricType::object: {
                    auto selector = label_selector_string(m.selector);
                    if (auto *e = std::get_if<ReadError>(&selector)) {
                        left_out(m, e->message);
                        break;
                    }
                    if (!cm_version) {
                        Answer group = get(kube, "/apis/custom.metrics.k8s.io");
                        if (!group.ok()) {
                            cm_version = ReadError{group.error};
                        } else {
                            cm_version = custom_metrics_version(group.doc);
                        }
                    }
                    if (auto *e = std::get_if<ReadError>(&*cm_version)) {
                        left_out(m, e->message);
                        break;
                    }
                    const std::string &version = std::get<std::string>(*cm_version);
                    if (m.type == MetricType::pods) {
                        path = pods_metric_path(version, ns, m.name, scale.selector,
                                                std::get<std::string>(selector));
                    } else {
                        std::string why;
                        auto resource = resource_for(m.described_object, why);
                        if (!resource) {
                            left_out(m, "describedObject: " + why);
                            break;
                        }
                        path = object_metric_path(version, ns, m.described_object,
                                                  custom_metrics_resource(*resource), m.name,
                                                  std::get<std::string>(selector));
                    }
                    Answer a = get(kube, path);
                    if (!a.ok()) {
                        left_out(m, a.error);
                        break;
                    }
                    if (m.type == MetricType::pods) {
                        auto values = read_pods_metric(a.doc);
                        if (auto *e = std::get_if<ReadError>(&values)) {
                            left_out(m, "GET " + path + ": " + e->message);
                            break;
                        }
                        auto &got = std::get<std::map<std::string, std::int64_t>>(values);
                        auto it = state.pods_metrics.find(m.name);
                        collides(m, it != state.pods_metrics.end() && it->second != got);
                        state.pods_metrics[m.name] = std::move(got);
                    } else {
                        auto value = read_object_metric(a.doc);
                        if (auto *e = std::get_if<ReadError>(&value)) {
                            left_out(m, "GET " + path + ": " + e->message);
                            break;
                        }
                        auto it = state.object.find(m.name);
                        collides(m, it != state.object.end() &&
                                        it->second != std::get<std::int64_t>(value));
                        state.object[m.name] = std::get<std::int64_t>(value);
                    }
                    break;
                }
                case MetricType::external: {
                    auto selector = label_selector_string(m.selector);
                    if (auto *e = std::get_if<ReadError>(&selector)) {
                        left_out(m, e->message);
                        break;
                    }
                    path = external_metric_path(ns, m.name, std::get<std::string>(selector));
                    Answer a = get(kube, path);
                    if (!a.ok()) {
                        left_out(m, a.error);
                        break;
                    }
                    auto value = read_external_metric(a.doc);
                    if (auto *e = std::get_if<ReadError>(&value)) {
                        left_out(m, "GET " + path + ": " + e->message);
                        break;
                    }
                    auto it = state.external.find(m.name);
                    collides(m, it != state.external.end() &&
                                    it->second != std::get<std::int64_t>(value));
                    state.external[m.name] = std::get<std::int64_t>(value);
                    break;
                }
            }
        }
    }

    // ---- the decision
    Decision decision = decide(hpa, state, options);
    if (scale.selector.empty() && reads_metrics) {
        // computeReplicasForMetrics stops at the missing selector.
        Decision d;
        d.current_replicas = d.desired_replicas = scale.spec_replicas;
        d.conditions = {{"AbleToScale", "True", "SucceededGetScale",
                         "the HPA controller was able to get the target's current scale"},
                        {"ScalingActive", "False", "InvalidSelector",
                         "the HPA target's scale is missing a selector"}};
        decision = d;
    }

    ojson status = status_of(hpa_answer.body);
    if (status["desiredReplicas"].is_number_integer() &&
        status["desiredReplicas"].get<std::int64_t>() != decision.desired_replicas) {
        notes.push_back(
            "the HPA's status.desiredReplicas (" + status["desiredReplicas"].dump() +
            ") differs from this decision's (" + std::to_string(decision.desired_replicas) +
            "): the status is the controller's last sync, with its own history (a "
            "stabilization window or a scaling policy holding the count), and the metrics may "
            "have moved since");
    }
    ojson out = ojson::object();
    out["hpa"] = ns + "/" + name;
    out["apiVersion"] = api_version;
    out["time"] = common::format_rfc3339(now);
    out["decision"] = decision_json(decision);
    out["history"] =
        "seeded as a freshly started controller would: one recommendation of " +
        std::to_string(scale.spec_replicas) +
        " replicas (the current count) at this reading's time, and no scale events. The "
        "running controller's own history (its recommendations over the stabilization "
        "window, its recent scale events) lives in kube-controller-manager's memory and "
        "cannot be read from outside, so where it holds a scale-down back or limits a "
        "scale-up, its decision can differ from this one";
    out["status"] = status;
    out["state"] = state_json(state);
    out["notes"] = notes;
    std::cout << out.dump(2, ' ', false, ojson::error_handler_t::replace) << "\n";
    return 0;
}

}  // namespace pulse::sidecar
