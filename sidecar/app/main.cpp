// pulse-sidecar: run (beside nginx), drain (a preStop hook), adapter (the custom metrics API),
// hpa (an HPA's decisions computed offline, or explained from a live cluster).
#include <CLI/CLI.hpp>

#include <malloc.h>
#include <sys/resource.h>

#include <charconv>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "adapter.h"
#include "check_cli.h"
#include "durations.h"
#include "hpa_cli.h"
#include "hpa_explain.h"
#include "hpa_simulate.h"
#include "munin_cli.h"
#include "scraper.h"
#include "sidecar.h"
#include "signal_config.h"

namespace {

using pulse::sidecar::parse_duration;

// A CLI11 option taking a duration ("1s", "500ms"), stored as seconds.
CLI::Option *duration_option(CLI::App &app, const std::string &name, double &seconds,
                             const std::string &help, const std::string &env) {
    auto *opt = app.add_option_function<std::string>(
        name,
        [&seconds, name](const std::string &text) {
            std::string error;
            auto v = parse_duration(text, &error);
            if (!v || *v <= 0)
                throw CLI::ValidationError(name, error.empty() ? "must be above 0" : error);
            seconds = *v;
        },
        help);
    opt->envname(env);
    return opt;
}

// The HTTP front's limits, the same flags for `run` and `adapter`.
void http_limit_options(CLI::App &app, pulse::sidecar::HttpLimits &limits) {
    const std::string group = "HTTP front";
    app.add_option("--max-connections", limits.max_connections,
                   "Open connections at most; beyond, the longest idle one is closed")
        ->envname("PULSE_MAX_CONNECTIONS")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{2}, std::size_t{1} << 20))
        ->group(group);
    auto *header = app.add_option_function<std::string>(
        "--header-timeout",
        [&limits](const std::string &text) {
            std::string error;
            auto v = parse_duration(text, &error);
            if (!v || *v <= 0)
                throw CLI::ValidationError("--header-timeout",
                                           error.empty() ? "must be above 0" : error);
            limits.handshake_timeout = limits.header_timeout = limits.body_timeout = *v;
        },
        "Longest a TLS handshake, a request head or a request body may take (default 5s, 10s, "
        "10s)");
    header->envname("PULSE_HEADER_TIMEOUT")->group(group);
    duration_option(app, "--idle-timeout", limits.idle_timeout,
                    "Keep-alive connections idle longer are closed (default 60s)",
                    "PULSE_IDLE_TIMEOUT")
        ->group(group);
    duration_option(app, "--write-timeout", limits.write_timeout,
                    "A response the client does not read within this is dropped (default 10s)",
                    "PULSE_WRITE_TIMEOUT")
        ->group(group);
}

// Each open connection is a file descriptor: take what the hard limit allows, and keep
// --max-connections below it with room for the scrapes, the API calls and the logs.
void fit_connections_to_descriptors(pulse::sidecar::HttpLimits &limits) {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
        getrlimit(RLIMIT_NOFILE, &r);
    }
    constexpr rlim_t kReserve = 256;
    if (r.rlim_cur != RLIM_INFINITY && limits.max_connections + kReserve > r.rlim_cur) {
        std::size_t fit = r.rlim_cur > kReserve + 2 ? r.rlim_cur - kReserve : 2;
        std::cerr << "pulse-sidecar: --max-connections " << limits.max_connections
                  << " is more than the open file limit (" << r.rlim_cur << ") allows: using "
                  << fit << "\n";
        limits.max_connections = fit;
    }
}

// A scrape's large, short-lived allocations (the body, the parsed samples) and a crowd of
// connections' buffers should go back to the system, not stay as the heap's high mark:
// fixed thresholds (glibc raises them as large blocks are freed) and two arenas.
void return_memory_promptly() {
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024);
    mallopt(M_ARENA_MAX, 2);
}

// The --config file, checked whole before anything starts; nullptr and a message on
// standard error when it cannot be used.
std::shared_ptr<const pulse::sidecar::SidecarConfig> load_config(const std::string &path) {
    std::ifstream in(path);
    if (!in.is_open()) {
        std::cerr << "pulse-sidecar: --config " << path << ": cannot be read\n";
        return nullptr;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto result = pulse::sidecar::parse_config(text.str(), path);
    if (auto *e = std::get_if<pulse::sidecar::ConfigError>(&result)) {
        std::cerr << "pulse-sidecar: " << e->message << "\n";
        return nullptr;
    }
    return std::make_shared<const pulse::sidecar::SidecarConfig>(
        std::move(std::get<pulse::sidecar::SidecarConfig>(result)));
}

int wait_for_signal() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
}

void block_signals() {
    // Every thread inherits this mask; main takes SIGINT/SIGTERM with sigwait.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

int main(int argc, char **argv) {
    // Linked as a munin plugin (pulse_ or pulse_HOST_PORT), munin-node runs it by that name.
    if (pulse::sidecar::started_as_munin_plugin(argv[0]))
        return pulse::sidecar::run_munin_plugin(std::filesystem::path(argv[0]).filename().string(),
                                                std::vector<std::string>(argv + 1, argv + argc));
    CLI::App app{"pulse-sidecar: nginx signals for autoscaling, health and drain"};
    app.require_subcommand(1);

    pulse::sidecar::RunOptions run;
    auto *run_cmd =
        app.add_subcommand("run", "Scrape the module and serve signals, health and drain");
    run_cmd
        ->add_option("--scrape", run.scrape_url,
                     "The module's exporter URL; \"none\" for a pod without nginx")
        ->envname("PULSE_SCRAPE")
        ->capture_default_str();
    std::string run_config;
    run_cmd
        ->add_option("--config", run_config,
                     "YAML file of extra sources and PromQL signals (docs/workers.md)")
        ->envname("PULSE_CONFIG");
    run_cmd
        ->add_option("--listen", run.listen,
                     "Address to serve /metrics, /signals, /healthz, /readyz, /drain on")
        ->envname("PULSE_LISTEN")
        ->capture_default_str();
    duration_option(*run_cmd, "--interval", run.interval, "Time between scrapes (default 1s)",
                    "PULSE_INTERVAL");
    duration_option(*run_cmd, "--window", run.window,
                    "Span the rates and quantiles cover (default 30s)", "PULSE_WINDOW");
    duration_option(*run_cmd, "--stale-after", run.stale_after,
                    "Not ready when the last good scrape is older than this (default 5s)",
                    "PULSE_STALE_AFTER");
    duration_option(*run_cmd, "--drain-timeout", run.drain_timeout,
                    "Longest POST /drain waits without ?timeout= (default 30s)",
                    "PULSE_DRAIN_TIMEOUT");
    run_cmd
        ->add_option_function<std::vector<std::string>>(
            "--hpa-target",
            [&run](const std::vector<std::string> &pairs) {
                for (const std::string &pair : pairs) {
                    const auto eq = pair.find('=');
                    double value = 0;
                    const char *first = pair.data() + (eq == std::string::npos ? 0 : eq + 1);
                    auto [end, ec] = std::from_chars(first, pair.data() + pair.size(), value);
                    if (eq == std::string::npos || eq == 0 || ec != std::errc() ||
                        end != pair.data() + pair.size() || !std::isfinite(value))
                        throw CLI::ValidationError("--hpa-target",
                                                   "\"" + pair + "\": want SIGNAL=NUMBER");
                    run.hpa_targets[pair.substr(0, eq)] = value;
                }
            },
            "SIGNAL=VALUE: the HPA's target for a signal, shown on the status page (repeat)")
        ->envname("PULSE_HPA_TARGETS")
        ->delimiter(',');
    http_limit_options(*run_cmd, run.http);

    std::string sidecar_url = "http://127.0.0.1:9145";
    double drain_timeout = 30;
    auto *drain_cmd = app.add_subcommand("drain",
                                         "Drain this pod (for a preStop hook): readiness turns "
                                         "false, then wait for requests in flight");
    drain_cmd->add_option("--sidecar", sidecar_url, "The running sidecar's base URL")
        ->envname("PULSE_SIDECAR")
        ->capture_default_str();
    duration_option(*drain_cmd, "--timeout", drain_timeout, "Longest wait (default 30s)",
                    "PULSE_DRAIN_TIMEOUT");

    pulse::sidecar::AdapterOptions adapter;
    auto *adapter_cmd = app.add_subcommand(
        "adapter",
        "Serve the Kubernetes custom metrics API (custom.metrics.k8s.io) from the pods' sidecars");
    adapter_cmd->add_option("--listen", adapter.listen, "Address to serve HTTPS on")
        ->envname("PULSE_LISTEN")
        ->capture_default_str();
    adapter_cmd
        ->add_option("--tls-cert", adapter.tls_cert,
                     "Serving certificate (PEM; the certificate, then its chain)")
        ->envname("PULSE_TLS_CERT")
        ->required();
    adapter_cmd->add_option("--tls-key", adapter.tls_key, "Serving certificate's private key (PEM)")
        ->envname("PULSE_TLS_KEY")
        ->required();
    adapter_cmd
        ->add_option("--client-ca", adapter.client_ca,
                     "CA that signs the clients' certificates (the aggregator's front-proxy CA)")
        ->envname("PULSE_CLIENT_CA")
        ->required();
    adapter_cmd
        ->add_option("--kube-api", adapter.kube_api,
                     "Kubernetes API URL (default: in-cluster, "
                     "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)")
        ->envname("PULSE_KUBE_API");
    adapter_cmd
        ->add_option("--kube-token-file", adapter.kube_token_file,
                     "Bearer token file for the Kubernetes API (default: the service account's)")
        ->envname("PULSE_KUBE_TOKEN_FILE");
    adapter_cmd
        ->add_option("--kube-ca", adapter.kube_ca,
                     "CA of the Kubernetes API (default: the service account's)")
        ->envname("PULSE_KUBE_CA");
    adapter_cmd->add_option("--sidecar-port", adapter.sidecar_port, "Port of the pods' sidecars")
        ->envname("PULSE_SIDECAR_PORT")
        ->capture_default_str()
        ->check(CLI::Range(1, 65535));
    duration_option(*adapter_cmd, "--fetch-timeout", adapter.fetch_timeout,
                    "Longest wait for one pod's /signals (default 1s)", "PULSE_FETCH_TIMEOUT");
    adapter_cmd
        ->add_option("--namespace-pod-selector", adapter.namespace_pod_selector,
                     "Label selector of the pods the namespace form aggregates (default: all pods)")
        ->envname("PULSE_NAMESPACE_POD_SELECTOR");
    adapter_cmd
        ->add_option("--sidecar-port-annotation", adapter.sidecar_port_annotation,
                     "Pod annotation whose value, when present, is the sidecar port to use")
        ->envname("PULSE_SIDECAR_PORT_ANNOTATION")
        ->capture_default_str()
        ->group("Advanced");
    std::string adapter_config;
    adapter_cmd
        ->add_option("--config", adapter_config,
                     "YAML file of sources and PromQL signals; signals with `objects` are "
                     "served as Object metrics (docs/workers.md)")
        ->envname("PULSE_CONFIG");
    http_limit_options(*adapter_cmd, adapter.http);

    pulse::sidecar::CheckCli check_cli(app);
    std::vector<std::string> munin_args;
    auto *munin_cmd = app.add_subcommand(
        "munin",
        "munin plugin: autoconf, suggest, config, or nothing to fetch (docs/monitoring.md)");
    munin_cmd->add_option("args", munin_args, "autoconf, suggest or config");
    pulse::sidecar::HpaCli hpa_cli(app);
    pulse::sidecar::HpaExplain hpa_explain(*hpa_cli.command());
    pulse::sidecar::HpaSimulateCli hpa_simulate(*hpa_cli.command());

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        // A plugin's command line that does not parse is UNKNOWN (3), on standard output.
        if (argc > 1 && std::string_view(argv[1]) == "check" && e.get_exit_code() != 0)
            return pulse::sidecar::CheckCli::usage_error(e);
        return app.exit(e);
    }

    try {
        if (check_cli.selected()) return check_cli.run();
        if (*munin_cmd) return pulse::sidecar::run_munin_plugin("pulse_", munin_args);
        if (hpa_simulate.selected()) return hpa_simulate.run();
        if (hpa_explain.selected()) return hpa_explain.run();
        if (hpa_cli.selected()) return hpa_cli.run();
        if (*run_cmd) {
            if (run.window < 2 * run.interval) {
                std::cerr << "pulse-sidecar: --window must be at least two --interval\n";
                return 2;
            }
            if (!run_config.empty() && !(run.config = load_config(run_config))) return 2;
            return_memory_promptly();
            fit_connections_to_descriptors(run.http);
            block_signals();
            pulse::sidecar::Sidecar sidecar(run);
            sidecar.start();
            std::cerr << "pulse-sidecar: scraping " << run.scrape_url << " every " << run.interval
                      << "s, serving on " << run.listen << " (port " << sidecar.port() << ")\n";
            if (run.config) {
                std::cerr << "pulse-sidecar: " << run_config << ": " << run.config->sources.size()
                          << " sources, " << run.config->signals.size() << " signals\n";
            }
            int sig = wait_for_signal();
            std::cerr << "pulse-sidecar: signal " << sig << ", stopping\n";
            sidecar.stop();
            return 0;
        }
        if (*adapter_cmd) {
            if (!adapter_config.empty() && !(adapter.config = load_config(adapter_config)))
                return 2;
            return_memory_promptly();
            fit_connections_to_descriptors(adapter.http);
            block_signals();
            pulse::sidecar::Adapter server(adapter);
            server.start();
            const auto &o = server.options();
            std::cerr << "pulse-sidecar adapter: serving custom.metrics.k8s.io on " << o.listen
                      << " (port " << server.port() << "), Kubernetes API " << o.kube_api
                      << ", sidecars on port " << o.sidecar_port << " (or the pod's "
                      << o.sidecar_port_annotation << " annotation)\n";
            int sig = wait_for_signal();
            std::cerr << "pulse-sidecar adapter: signal " << sig << ", stopping\n";
            server.stop();
            return 0;
        }
        if (*drain_cmd) {
            std::string body, error;
            char timeout[32];
            std::snprintf(timeout, sizeof timeout, "%.3fs", drain_timeout);
            long status = pulse::sidecar::http_request(
                "POST", sidecar_url + "/drain?timeout=" + timeout, drain_timeout + 5, body, error);
            if (status != 200) {
                std::cerr << "pulse-sidecar drain: "
                          << (status ? "HTTP " + std::to_string(status) + ": " + body : error)
                          << "\n";
                return 1;
            }
            std::cout << body;
            auto doc = nlohmann::json::parse(body, nullptr, false);
            return doc.is_object() && doc.value("drained", false) ? 0 : 3;
        }
    } catch (const std::exception &e) {
        std::cerr << "pulse-sidecar: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
