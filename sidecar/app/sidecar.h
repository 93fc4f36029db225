// `pulse-sidecar run`: scrapes the module every interval, keeps the window, and answers
// /metrics, /signals, /healthz, /readyz and /drain.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "http_server.h"
#include "signal_config.h"
#include "signal_history.h"
#include "signals.h"

namespace pulse::sidecar {

struct RunOptions {
    std::string scrape_url = "http://127.0.0.1:8080/metrics";
    std::string listen = "0.0.0.0:9145";
    double interval = 1;
    double window = 30;
    double stale_after = 5;
    double scrape_timeout = 0;  // 0: the interval, at most
    double drain_timeout = 30;  // default for POST /drain without ?timeout=
    HttpLimits http;            // the HTTP front's limits and deadlines
    // --config: extra sources and PromQL signals (docs/workers.md); null without one.
    std::shared_ptr<const SidecarConfig> config;
    // --hpa-target NAME=VALUE: the HPA's target of a signal, shown on the status page.
    std::map<std::string, double> hpa_targets;
};

// `--scrape none`: a pod without nginx (a worker) that serves only its config's signals.
inline constexpr const char *kNoNginx = "none";

class SignalEngine;

class Sidecar {
  public:
    explicit Sidecar(RunOptions options);
    ~Sidecar();

    void start();  // the scrape loop and the HTTP server
    void stop();
    int port() const;

    HttpResponse handle(const HttpRequest &request);

  private:
    struct Metrics;

    void scrape_loop();
    HttpResponse metrics();
    HttpResponse signals_json();
    HttpResponse readyz();
    HttpResponse history_json();
    void record_history(double unix);  // caller locks
    HttpResponse drain(const HttpRequest &request);
    std::optional<std::string> not_ready_reason(double now_steady) const;  // caller locks
    bool scrapes_nginx() const;

    RunOptions options_;
    std::unique_ptr<Metrics> metrics_;
    std::unique_ptr<SignalEngine> engine_;
    std::unique_ptr<HttpServer> server_;
    std::thread scraper_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;  // a scrape finished, or stop
    bool stopping_ = false;
    bool draining_ = false;
    SnapshotWindow window_;
    Signals signals_;
    std::optional<double> last_good_steady_, last_good_unix_;
    std::uint64_t scrapes_ = 0;  // finished scrapes, good or bad
    std::string last_error_;
    SignalHistory history_;                              // the last hour, for GET /history
    std::deque<std::pair<double, std::string>> errors_;  // the last errors, newest last
};

}  // namespace pulse::sidecar
