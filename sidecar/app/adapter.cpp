#include "adapter.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <unistd.h>

#include "clocks.h"
#include "common/ascii_case.h"
#include "common/percent_encoding.h"
#include "custom_metrics.h"
#include "json_reading.h"
#include "kube_client.h"
#include "one_line.h"
#include "openapi.h"
#include "own_metrics.h"
#include "signal_engine.h"

namespace pulse::sidecar {

namespace {

using nlohmann::json;

constexpr const char *kJson = "application/json";

// Throws when `path` cannot be opened for reading, naming the flag.
void require_readable(const std::string &flag, const std::string &path) {
    if (path.empty()) throw std::runtime_error(flag + " is required");
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot read " + flag + " " + path + ": " + std::strerror(errno));
}

bool readable(const std::string &path) {
    return ::access(path.c_str(), R_OK) == 0;
}

// One whole line per write, so lines of concurrent requests do not interleave.
void log_line(const std::string &text) {
    std::cerr << "pulse-sidecar adapter: " + one_line(text) + "\n";
}

HttpResponse json_response(int status, const json &doc) {
    return {status, kJson, doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", {}};
}

HttpResponse status_response(const cm::ApiError &error) {
    return json_response(error.code, cm::status_json(error));
}

// The message of a Kubernetes Status answer, or the start of the body (a body nested too
// deep to parse safely, json_reading::kMaxNesting, included).
std::string kube_message(const HttpResult &r) {
    json doc = json_reading::nesting_within(r.body) ? json::parse(r.body, nullptr, false) : json();
    if (doc.is_object() && doc.contains("message") && doc["message"].is_string()) {
        return doc["message"].get<std::string>();
    }
    return one_line(r.body.substr(0, 200));
}

// What the client is told when the Kubernetes API did not answer with 200.
cm::ApiError kube_error(const HttpResult &r, const std::string &what) {
    if (r.status == 0)
        return cm::api_error(503, "cannot reach the Kubernetes API to " + what + ": " + r.error);
    std::string msg = kube_message(r);
    switch (r.status) {
        case 400:
            return cm::api_error(400, msg);
        case 404:
            return cm::api_error(404, msg);
        case 401:
        case 403:
            return cm::api_error(500,
                                 "the Kubernetes API refused the adapter's credentials (HTTP " +
                                     std::to_string(r.status) + ") to " + what + ": " + msg);
        default:
            return cm::api_error(500, "the Kubernetes API answered HTTP " +
                                          std::to_string(r.status) + " to " + what + ": " + msg);
    }
}

std::string kind_of(const std::string &path, const cm::Catalog &catalog) {
    if (path == "/healthz" || path == "/readyz") return "health";
    if (path == "/metrics") return "metrics";
    if (path == cm::kOpenApiPath) return "openapi";
    if (!cm::is_api_path(path)) return "other";
    auto parsed = cm::parse_api_path(path, catalog);
    if (auto *req = std::get_if<cm::ApiRequest>(&parsed)) {
        switch (req->kind) {
            case cm::RequestKind::group:
            case cm::RequestKind::discovery:
                return "discovery";
            case cm::RequestKind::pods:
                return "pods";
            case cm::RequestKind::pod:
                return "pod";
            case cm::RequestKind::namespace_:
                return "namespace";
            case cm::RequestKind::object:
                return "object";
        }
    }
    return "other";
}

cm::Catalog catalog_from(const SidecarConfig &config) {
    cm::Catalog catalog;
    for (const SignalConfig &s : config.signals) {
        cm::ConfigMetric m;
        m.name = s.name;
        m.window_seconds = (longest_range_ms(*s.parsed) + 999) / 1000;
        for (const ObjectAttachment &o : s.objects)
            m.objects.push_back({o.ns, o.resource, o.name, o.match});
        catalog.metrics.push_back(std::move(m));
    }
    return catalog;
}

}  // namespace

struct Adapter::Metrics {
    prometheus::Registry registry;
    prometheus::Family<prometheus::Counter> &requests = add_family<prometheus::Counter>(
        registry, "pulse_adapter_requests_total",
        "Requests answered, by kind (discovery, openapi, pods, pod, namespace, object, health, "
        "metrics, other) and HTTP code.");
    prometheus::Family<prometheus::Histogram> &duration = add_family<prometheus::Histogram>(
        registry, "pulse_adapter_request_duration_seconds", "Time to answer a request, by kind.");
    prometheus::Family<prometheus::Counter> &left_out = add_family<prometheus::Counter>(
        registry, "pulse_adapter_pods_left_out_total", "Pods left out of an answer, by reason.");
    prometheus::Family<prometheus::Counter> &kube_errors = add_family<prometheus::Counter>(
        registry, "pulse_adapter_kube_api_errors_total",
        "Kubernetes API requests that failed or did not answer 200 (404s of single pods "
        "included).");

    Metrics() {
        for (const char *r :
             {"not_running", "terminating", "no_ip", "bad_port_annotation", "fetch_failed",
              "malformed", "stale", "draining", "future", "old", "no_value"}) {
            left_out.Add({{"reason", r}});
        }
        kube_errors.Add({});
    }
};

struct Adapter::Outcome {
    std::string kind = "other";
    std::string note;  // appended to the request's log line
};

namespace {

struct Collected {
    std::vector<cm::MetricPoint> points;
    std::map<std::string, std::string> why_not;  // pod name -> why it has no point
};

}  // namespace

Adapter::Adapter(AdapterOptions options)
    : options_(std::move(options)), metrics_(std::make_unique<Metrics>()) {
    require_readable("--tls-cert", options_.tls_cert);
    require_readable("--tls-key", options_.tls_key);
    require_readable("--client-ca", options_.client_ca);
    if (options_.kube_api.empty()) {
        const char *host = std::getenv("KUBERNETES_SERVICE_HOST");
        const char *port = std::getenv("KUBERNETES_SERVICE_PORT");
        if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
            throw std::runtime_error(
                "no --kube-api given and not in a cluster (KUBERNETES_SERVICE_HOST/_PORT are not "
                "set)");
        }
        std::string h = host;
        if (h.find(':') != std::string::npos) h = "[" + h + "]";
        options_.kube_api = "https://" + h + ":" + port;
    }
    if (!options_.kube_token_file.empty()) {
        require_readable("--kube-token-file", options_.kube_token_file);
    } else if (readable(kServiceAccountToken)) {
        options_.kube_token_file = kServiceAccountToken;
    } else {
        std::cerr << "pulse-sidecar adapter: no --kube-token-file and no service account token at "
                  << kServiceAccountToken << ": requests to the Kubernetes API carry no token\n";
    }
    if (!options_.kube_ca.empty()) {
        require_readable("--kube-ca", options_.kube_ca);
    } else if (readable(kServiceAccountCa)) {
        options_.kube_ca = kServiceAccountCa;
    }
    if (options_.sidecar_port < 1 || options_.sidecar_port > 65535) {
        throw std::runtime_error("--sidecar-port must be a port number (1-65535)");
    }
    KubeOptions kube;
    kube.api_url = options_.kube_api;
    kube.token_file = options_.kube_token_file;
    kube.ca_file = options_.kube_ca;
    kube.timeout = options_.kube_timeout;
    kube_ = std::make_unique<KubeClient>(std::move(kube));
    if (options_.config) {
        catalog_ = catalog_from(*options_.config);
        engine_ = std::make_unique<SignalEngine>(*options_.config, metrics_->registry,
                                                 "pulse-sidecar adapter: ");
    }
}

Adapter::~Adapter() {
    stop();
}

void Adapter::start() {
    HttpServerOptions http;
    http.listen = options_.listen;
    http.tls = TlsOptions{options_.tls_cert, options_.tls_key, options_.client_ca};
    http.limits = options_.http;
    http.io_threads = 2;
    http.handler_threads = options_.threads;
    // Only a verified client's metric requests wait on the Kubernetes API and the pods'
    // sidecars; probes, discovery, the OpenAPI document and refusals are answered at once
    // on the I/O threads.
    http.answers_at_once = [this](const HttpRequest &r) {
        if (!r.client_subject) return true;
        std::string kind = kind_of(r.path, catalog_);
        return kind != "pods" && kind != "pod" && kind != "namespace";
    };
    cm::openapi_v2_document();  // built before the first request
    if (engine_) engine_->start();
    server_ = std::make_unique<HttpServer>(std::move(http),
                                           [this](const HttpRequest &r) { return handle(r); });
}

void Adapter::stop() {
    server_.reset();
    if (engine_) engine_->stop();
}

int Adapter::port() const {
    return server_ ? server_->port() : 0;
}

HttpResponse Adapter::handle(const HttpRequest &req) {
    auto start = std::chrono::steady_clock::now();
    Outcome outcome;
    outcome.kind = kind_of(req.path, catalog_);
    HttpResponse res;
    try {
        res = route(req, outcome);
    } catch (const std::exception &e) {
        res = status_response(cm::api_error(500, std::string("internal error: ") + e.what()));
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_->requests.Add({{"kind", outcome.kind}, {"code", std::to_string(res.status)}})
        .Increment();
    metrics_->duration
        .Add({{"kind", outcome.kind}},
             prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25, 0.5, 1, 2.5, 5, 10})
        .Observe(seconds);

    // One line per request: method, path, status, who (only from a verified client), time.
    std::string user = "-", groups;
    if (req.client_subject) {
        for (const auto &[k, v] : req.headers) {
            if (common::iequals(k, "X-Remote-User") && user == "-") user = v;
            if (common::iequals(k, "X-Remote-Group")) groups += (groups.empty() ? "" : ",") + v;
        }
    }
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.1fms", seconds * 1000);
    std::string line = req.method + " " + req.path + (req.query.empty() ? "" : "?" + req.query) +
                       " " + std::to_string(res.status) + " user=" + user +
                       " groups=" + (groups.empty() ? "-" : groups) + " client=" +
                       (req.client_subject ? *req.client_subject : std::string("none")) + " " + ms +
                       (outcome.note.empty() ? "" : " " + outcome.note);
    log_line(line);
    return res;
}

HttpResponse Adapter::object_metric(const cm::ApiRequest &api, const cm::MetricSelector &selector,
                                    Outcome &outcome) {
    const cm::ConfigMetric *metric = catalog_.find(api.metric);
    bool one = api.object != "*";
    auto not_found = [&](const std::string &why) {
        cm::ApiError e = cm::metric_not_found(api.metric, api.resource, one ? api.object : "");
        if (!why.empty()) e.message += ": " + why;
        outcome.note = why.empty() ? "not attached" : why;
        return status_response(e);
    };
    std::vector<const cm::ObjectTarget *> targets;
    for (const cm::ObjectTarget &o : metric->objects) {
        if (o.ns == api.ns && cm::same_resource(api.resource, o.resource) &&
            (!one || o.name == api.object))
            targets.push_back(&o);
    }
    if (targets.empty() && one) return not_found("");

    const SidecarConfig &config = *options_.config;
    std::size_t index = 0;
    while (config.signals[index].name != api.metric) ++index;
    double longest_interval = 0;
    for (const SourceConfig &s : config.sources)
        longest_interval = std::max(longest_interval, s.interval);
    auto snapshot = engine_->snapshot();
    // Honest staleness: an evaluation older than three of the longest interval means the
    // scrapes stopped; no value then, never the old one.
    std::string stale;
    if (snapshot->evaluated_unix <= 0) {
        stale = "not evaluated yet";
    } else if (unix_now() - snapshot->evaluated_unix > 3 * longest_interval) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "the last evaluation is %.1fs old",
                      unix_now() - snapshot->evaluated_unix);
        stale = buf;
    }
    const SignalValue &value = snapshot->values[index];
    std::vector<cm::MetricPoint> points;
    if (stale.empty()) {
        for (const cm::ObjectTarget *o : targets) {
            auto required = o->match;
            required.insert(required.end(), selector.labels.begin(), selector.labels.end());
            auto v = sum_matching(value, required);
            if (!v) continue;
            cm::ResourceKind kind = cm::resource_kind(o->resource);
            cm::MetricPoint p;
            p.kind = kind.kind;
            p.api_version = kind.api_version;
            p.ns = o->ns;
            p.name = o->name;
            p.timestamp_unix = snapshot->evaluated_unix;
            p.window_seconds = metric->window_seconds;
            p.value = *v;
            points.push_back(std::move(p));
        }
    }
    if (points.empty() && one) {
        return not_found(!stale.empty()                 ? stale
                         : !value.absent_reason.empty() ? value.absent_reason
                                                        : "no series has the object's labels");
    }
    outcome.note =
        "objects=" + std::to_string(points.size()) + "/" + std::to_string(targets.size());
    return json_response(200, cm::metric_value_list(api.version, api.metric, selector, points));
}

HttpResponse Adapter::route(const HttpRequest &req, Outcome &outcome) {
    bool get = req.method == "GET" || req.method == "HEAD";
    const std::string &path = req.path;
    // Probes and Prometheus come without a client certificate.
    if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
        if (!get) return {405, "text/plain; charset=utf-8", "use GET\n", {{"Allow", "GET, HEAD"}}};
        if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n", {}};
        // Ready as soon as it serves: the TLS material loaded at start (or it would have
        // exited). Kubernetes API trouble is answered per request, not by unreadiness.
        if (path == "/readyz") return {200, "text/plain; charset=utf-8", "ready\n", {}};
        return {200,
                "text/plain; version=0.0.4; charset=utf-8",
                metrics_page(metrics_->registry, engine_.get()),
                {}};
    }
    if (!req.client_subject) {
        return status_response(
            cm::api_error(401,
                          "Unauthorized: a client certificate signed by the --client-ca (the "
                          "aggregator's front-proxy CA) is required"));
    }
    if (!get) {
        auto e = cm::api_error(405, "the custom metrics API answers GET only");
        auto res = status_response(e);
        res.headers.emplace_back("Allow", "GET, HEAD");
        return res;
    }
    // The aggregator fetches it with its front-proxy certificate, as every API request.
    if (path == cm::kOpenApiPath)
        return cm::openapi_v2_answer(req.header("Accept"), req.header("If-None-Match"));
    auto parsed = cm::parse_api_path(path, catalog_);
    if (auto *e = std::get_if<cm::ApiError>(&parsed)) return status_response(*e);
    const cm::ApiRequest &api = std::get<cm::ApiRequest>(parsed);
    if (api.kind == cm::RequestKind::group) return json_response(200, cm::api_group());
    if (api.kind == cm::RequestKind::discovery)
        return json_response(200, cm::discovery(api.version, catalog_));

    auto sel = cm::parse_metric_selector(req.param("metricLabelSelector").value_or(""),
                                         catalog_.find(api.metric) != nullptr);
    if (auto *e = std::get_if<cm::ApiError>(&sel)) return status_response(*e);
    const cm::MetricSelector &selector = std::get<cm::MetricSelector>(sel);

    if (api.kind == cm::RequestKind::object) return object_metric(api, selector, outcome);

    // Reads the pods' /signals in parallel and keeps the fresh values.
    auto collect = [&](const std::vector<cm::PodInfo> &pods) {
        Collected out;
        std::vector<const cm::PodInfo *> targets;
        std::vector<std::string> urls;
        auto leave_out = [&](const cm::PodInfo &pod, const char *reason, const std::string &why) {
            metrics_->left_out.Add({{"reason", reason}}).Increment();
            out.why_not[pod.name] = why;
        };
        for (const cm::PodInfo &pod : pods) {
            if (auto why = cm::pod_ineligible(pod)) {
                leave_out(pod,
                          pod.terminating          ? "terminating"
                          : pod.phase != "Running" ? "not_running"
                                                   : "no_ip",
                          *why);
                continue;
            }
            auto port = cm::sidecar_port(pod, options_.sidecar_port);
            if (auto *error = std::get_if<std::string>(&port)) {
                leave_out(pod, "bad_port_annotation", *error);
                log_line("pod " + pod.ns + "/" + pod.name + " left out: " + *error);
                continue;
            }
            targets.push_back(&pod);
            urls.push_back(cm::signals_url(pod.ip, std::get<int>(port)));
        }
        std::vector<HttpResult> results = fetch_all(urls, options_.fetch_timeout);
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const cm::PodInfo &pod = *targets[i];
            const HttpResult &r = results[i];
            if (r.status != 200) {
                std::string why = r.status == 0
                                      ? r.error
                                      : "GET " + urls[i] + ": HTTP " + std::to_string(r.status);
                leave_out(pod, "fetch_failed", "its sidecar did not answer: " + why);
                log_line("pod " + pod.ns + "/" + pod.name + " left out: " + why);
                continue;
            }
            auto reading = cm::parse_signals(r.body);
            if (auto *error = std::get_if<std::string>(&reading)) {
                leave_out(pod, "malformed", "its sidecar's answer is malformed: " + *error);
                log_line("pod " + pod.ns + "/" + pod.name + " left out: " + *error);
                continue;
            }
            const cm::SidecarReading &rd = std::get<cm::SidecarReading>(reading);
            double now = unix_now();
            if (auto why = cm::reading_unusable(rd, api.metric, now)) {
                if (*why != "future" && *why != "old") {
                    leave_out(pod, why->c_str(), "its sidecar's numbers are " + *why);
                    continue;
                }
                // A wrong clock or a lie: said in the log, as a sidecar that did not answer.
                const double stamped = cm::reading_timestamp(rd, api.metric);
                char text[200];
                if (*why == "future") {
                    std::snprintf(text, sizeof text,
                                  "its sidecar's numbers are stamped %.1fs ahead of the adapter's "
                                  "clock (%.0fs allowed)",
                                  stamped - now, cm::kFutureAllowanceSeconds);
                } else {
                    std::snprintf(text, sizeof text,
                                  "its sidecar's numbers are %.1fs old by the adapter's clock, "
                                  "yet called fresh (stale after %.0fs, %.0fs allowed)",
                                  now - stamped, cm::reading_stale_after(rd, api.metric),
                                  cm::kFutureAllowanceSeconds);
                }
                leave_out(pod, why->c_str(), text);
                log_line("pod " + pod.ns + "/" + pod.name + " left out: " + text);
                continue;
            }
            auto point = cm::pod_point(pod, rd, api.metric, selector);
            if (!point) {
                leave_out(pod, "no_value",
                          selector.server
                              ? "its sidecar has no value for server " + *selector.server
                          : !selector.labels.empty() ? "its sidecar has no series with those labels"
                                                     : "its sidecar has no value for it");
                continue;
            }
            out.points.push_back(std::move(*point));
        }
        outcome.note =
            "pods=" + std::to_string(out.points.size()) + "/" + std::to_string(pods.size());
        return out;
    };

    // GET a list of pods; sets `error` when it cannot.
    auto list_pods = [&](const std::string &label_selector, std::optional<cm::ApiError> &error) {
        std::string url = "/api/v1/namespaces/" + api.ns + "/pods";
        if (!label_selector.empty())
            url += "?labelSelector=" + common::percent_encode(label_selector);
        std::vector<cm::PodInfo> pods;
        HttpResult r = kube_->get(url);
        if (r.status != 200) {
            metrics_->kube_errors.Add({}).Increment();
            error = kube_error(r, "list pods in namespace " + api.ns);
            return pods;
        }
        auto list = cm::parse_pod_list(r.body, options_.sidecar_port_annotation);
        if (auto *e = std::get_if<std::string>(&list)) {
            error = cm::api_error(500, "cannot read the Kubernetes API's pod list: " + *e);
            return pods;
        }
        pods = std::move(std::get<std::vector<cm::PodInfo>>(list));
        for (auto &p : pods) {
            if (p.ns.empty()) p.ns = api.ns;
        }
        return pods;
    };

    // With no pod at all the namespace may not exist: say so, as Kubernetes would.
    auto namespace_missing = [&]() -> std::optional<cm::ApiError> {
        HttpResult r = kube_->get("/api/v1/namespaces/" + api.ns);
        if (r.status == 404) return cm::api_error(404, "namespaces \"" + api.ns + "\" not found");
        return std::nullopt;  // exists, or cannot tell (no RBAC for namespaces): an empty answer
    };

    if (api.kind == cm::RequestKind::pods) {
        std::optional<cm::ApiError> error;
        auto pods = list_pods(req.param("labelSelector").value_or(""), error);
        if (error) return status_response(*error);
        if (pods.empty()) {
            if (auto missing = namespace_missing()) return status_response(*missing);
        }
        Collected c = collect(pods);
        return json_response(200,
                             cm::metric_value_list(api.version, api.metric, selector, c.points));
    }

    if (api.kind == cm::RequestKind::pod) {
        HttpResult r = kube_->get("/api/v1/namespaces/" + api.ns + "/pods/" + api.pod);
        if (r.status != 200) {
            metrics_->kube_errors.Add({}).Increment();
            if (r.status == 404)
                return status_response(cm::api_error(404, "pods \"" + api.pod + "\" not found"));
            return status_response(kube_error(r, "get pod " + api.ns + "/" + api.pod));
        }
        auto pod = cm::parse_pod(r.body, options_.sidecar_port_annotation);
        if (auto *e = std::get_if<std::string>(&pod)) {
            return status_response(
                cm::api_error(500, "cannot read the Kubernetes API's pod: " + *e));
        }
        cm::PodInfo &p = std::get<cm::PodInfo>(pod);
        if (p.ns.empty()) p.ns = api.ns;
        Collected c = collect({p});
        if (c.points.empty()) {
            cm::ApiError e = cm::metric_not_found(api.metric, "pods", api.pod);
            if (auto it = c.why_not.find(p.name); it != c.why_not.end())
                e.message += ": " + it->second;
            return status_response(e);
        }
        return json_response(200,
                             cm::metric_value_list(api.version, api.metric, selector, c.points));
    }

    // The namespace form: one value for the namespace from its fresh pulse pods.
    std::string label_selector = req.param("labelSelector").value_or("");
    if (label_selector.empty()) label_selector = options_.namespace_pod_selector;
    std::optional<cm::ApiError> error;
    auto pods = list_pods(label_selector, error);
    if (error) return status_response(*error);
    if (pods.empty()) {
        if (auto missing = namespace_missing()) return status_response(*missing);
    }
    Collected c = collect(pods);
    auto point = cm::aggregate_namespace(api.ns, api.metric, c.points);
    if (!point) {
        cm::ApiError e = cm::metric_not_found(api.metric, "namespaces", api.ns);
        e.message += pods.empty() ? ": no pod matches" : ": no pod has a fresh value";
        return status_response(e);
    }
    return json_response(200, cm::metric_value_list(api.version, api.metric, selector, {*point}));
}

}  // namespace pulse::sidecar
