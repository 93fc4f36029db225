// `pulse-sidecar adapter`: the Kubernetes custom metrics API (custom.metrics.k8s.io
// v1beta1 and v1beta2) over TLS. It lists the pods through the Kubernetes API, reads
// each pod's sidecar /signals in parallel, leaves out pods that are not running, are
// terminating, or whose numbers are stale or draining, and answers in the API's shapes
// (sidecar/lib/custom_metrics.h). docs/adapter.md describes it for operators.
#pragma once

#include <memory>
#include <string>

#include "custom_metrics.h"
#include "http_server.h"
#include "signal_config.h"

namespace pulse::sidecar {

class KubeClient;
class SignalEngine;

struct AdapterOptions {
    std::string listen = "0.0.0.0:6443";
    std::string tls_cert, tls_key, client_ca;
    // Empty: in-cluster (KUBERNETES_SERVICE_HOST/_PORT, the service account's token and CA).
    std::string kube_api, kube_token_file, kube_ca;
    int sidecar_port = 9145;
    std::string sidecar_port_annotation = "pulse.dev/sidecar-port";  // empty: never read
    double fetch_timeout = 1;            // seconds, each pod's /signals read
    double kube_timeout = 10;            // seconds, each Kubernetes API request
    std::string namespace_pod_selector;  // pods the namespace form aggregates ("" = all)
    int threads = 16;  // API requests answered at once (each lists pods and reads sidecars)
    HttpLimits http;   // the HTTP front's limits and deadlines
    // --config: sources and signals the adapter evaluates itself, served as Object metrics
    // for the objects they are attached to (docs/workers.md); null without one.
    std::shared_ptr<const SidecarConfig> config;
};

// The in-cluster locations used when the --kube-* flags are not given.
inline constexpr const char *kServiceAccountToken =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";
inline constexpr const char *kServiceAccountCa =
    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

class Adapter {
  public:
    // Resolves the Kubernetes API settings and checks the files; throws std::runtime_error
    // with a message naming the flag when something is missing.
    explicit Adapter(AdapterOptions options);
    ~Adapter();
    Adapter(const Adapter &) = delete;
    Adapter &operator=(const Adapter &) = delete;

    void start();  // loads the TLS material and listens; throws when it cannot
    void stop();
    int port() const;
    const AdapterOptions &options() const { return options_; }  // as resolved

    HttpResponse handle(const HttpRequest &request);

  private:
    struct Metrics;
    struct Outcome;

    HttpResponse route(const HttpRequest &request, Outcome &outcome);
    // An Object metric: a config signal evaluated here, for the object it is attached to.
    HttpResponse object_metric(const cm::ApiRequest &api, const cm::MetricSelector &selector,
                               Outcome &outcome);

    AdapterOptions options_;
    std::unique_ptr<KubeClient> kube_;
    std::unique_ptr<Metrics> metrics_;
    cm::Catalog catalog_;  // the config's signals; empty without --config
    std::unique_ptr<SignalEngine> engine_;
    std::unique_ptr<HttpServer> server_;
};

}  // namespace pulse::sidecar
