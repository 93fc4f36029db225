#include "sidecar.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <malloc.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <map>

#include "addresses.h"
#include "clocks.h"
#include "common/labels.h"
#include "common/rfc3339.h"
#include "common/signals.h"
#include "durations.h"
#include "exposition_parser.h"
#include "nginx_snapshot.h"
#include "one_line.h"
#include "own_metrics.h"
#include "scraper.h"
#include "signal_engine.h"
#include "signals_json.h"
#include "status_http.h"

namespace pulse::sidecar {

namespace {

constexpr std::size_t kErrorsKept = 10;  // on the status page

}  // namespace

// The sidecar's own exposition, through prometheus-cpp.
struct Sidecar::Metrics {
    prometheus::Registry registry;
    prometheus::Family<prometheus::Gauge> &scrape_duration = add_family<prometheus::Gauge>(
        registry, "pulse_scrape_duration_seconds", "Duration of the last scrape of nginx.");
    prometheus::Family<prometheus::Counter> &scrape_errors = add_family<prometheus::Counter>(
        registry, "pulse_scrape_errors_total", "Failed scrapes of nginx, by reason.");
    prometheus::Family<prometheus::Gauge> &scrape_age = add_family<prometheus::Gauge>(
        registry, "pulse_scrape_age_seconds", "Age of the last good scrape of nginx.");
    prometheus::Family<prometheus::Gauge> &draining =
        add_family<prometheus::Gauge>(registry, "pulse_draining", "1 while the pod drains.");
    // The built-in signals' families, in common::kSignals' order: the pod's (the signal's
    // name) and the servers' (common::kServerFamilyPrefix; null for pod-only signals).
    std::vector<prometheus::Family<prometheus::Gauge> *> signal_families, server_families;
    // Signal gauges by (signal, server or "" for the pod); removed while stale.
    std::map<std::pair<common::Signal, std::string>, prometheus::Gauge *> gauges;

    Metrics() {
        for (const common::SignalInfo &s : common::kSignals) {
            signal_families.push_back(&add_family<prometheus::Gauge>(registry, s.name, s.help));
            server_families.push_back(
                s.scope == common::Scope::pod
                    ? nullptr
                    : &add_family<prometheus::Gauge>(
                          registry,
                          std::string(common::kServerFamilyPrefix) +
                              std::string(s.name.substr(common::kSignalPrefix.size())),
                          std::string(s.help) + " Per nginx server."));
        }
        scrape_errors.Add({{"reason", "transport"}});
        scrape_errors.Add({{"reason", "http_status"}});
        scrape_errors.Add({{"reason", "parse"}});
    }

    prometheus::Family<prometheus::Gauge> &family_of(common::Signal s, const std::string &server) {
        const auto i = static_cast<std::size_t>(s);
        return server.empty() ? *signal_families[i] : *server_families[i];
    }

    void publish(const Signals &signals) {
        std::map<std::pair<common::Signal, std::string>, prometheus::Gauge *> next;
        auto set = [&](common::Signal signal, const std::string &server, double value) {
            auto key = std::make_pair(signal, server);
            auto it = gauges.find(key);
            prometheus::Gauge *g;
            if (it != gauges.end()) {
                g = it->second;
                gauges.erase(it);
            } else {
                g = server.empty() ? &family_of(signal, server).Add({})
                                   : &family_of(signal, server)
                                          .Add({{std::string(common::label::server), server}});
            }
            g->Set(value);
            next[key] = g;
        };
        for (const common::SignalInfo &s : common::kSignals) {
            set(s.signal, "", signals.pod.value(s.signal));
            if (s.scope == common::Scope::pod) continue;
            for (const auto &[server, set_] : signals.servers)
                set(s.signal, server, set_.value(s.signal));
        }
        withdraw();
        gauges = std::move(next);
    }

    // Stale numbers are not published as if fresh: the series go away.
    void withdraw() {
        for (auto &[key, g] : gauges) family_of(key.first, key.second).Remove(g);
        gauges.clear();
    }
};

Sidecar::Sidecar(RunOptions options)
    : options_(std::move(options)),
      metrics_(std::make_unique<Metrics>()),
      window_(options_.window),
      history_(options_.interval) {}

Sidecar::~Sidecar() {
    stop();
}

void Sidecar::start() {
    HttpServerOptions http;
    http.listen = options_.listen;
    http.limits = options_.http;
    http.io_threads = 2;
    http.handler_threads = 2;  // only drains wait; a second one answers at once
    // Everything but a drain answers from the window at once, on the I/O threads.
    http.answers_at_once = [](const HttpRequest &r) { return r.path != "/drain"; };
    if (options_.config) {
        engine_ =
            std::make_unique<SignalEngine>(*options_.config, metrics_->registry, "pulse-sidecar: ");
        engine_->start();
    }
    server_ = std::make_unique<HttpServer>(std::move(http),
                                           [this](const HttpRequest &r) { return handle(r); });
    if (scrapes_nginx()) scraper_ = std::thread([this] { scrape_loop(); });
}

bool Sidecar::scrapes_nginx() const {
    return options_.scrape_url != kNoNginx;
}

void Sidecar::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (scraper_.joinable()) scraper_.join();
    server_.reset();
    if (engine_) engine_->stop();
}

int Sidecar::port() const {
    return server_ ? server_->port() : 0;
}

void Sidecar::scrape_loop() {
    double timeout = options_.scrape_timeout > 0 ? options_.scrape_timeout : options_.interval;
    Scraper scraper(options_.scrape_url, std::min(timeout, 1.0), timeout);
    auto next = std::chrono::steady_clock::now();
    auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options_.interval));
    for (;;) {
        ScrapeResult r = scraper.scrape();
        double now = steady_now(), unix = unix_now();
        std::optional<NginxSnapshot> snapshot;
        std::string error = r.error, reason = "transport";
        if (r.ok) {
            ParseResult parsed = parse_exposition(r.body, format_from_content_type(r.content_type));
            if (auto *e = std::get_if<ParseError>(&parsed)) {
                error = "scrape " + options_.scrape_url + ": malformed exposition at line " +
                        std::to_string(e->line) + ": " + e->message;
                reason = "parse";
            } else {
                snapshot = summarize(std::get<Exposition>(parsed), now);
            }
            // The parsed exposition (megabytes for thousands of series) is gone once
            // summarized: give its pages back instead of keeping them as the high mark.
            parsed = ParseError{};
            r.body = std::string();
            malloc_trim(0);
        } else if (r.status != 0) {
            reason = "http_status";
        }

        {
            std::lock_guard lock(mutex_);
            metrics_->scrape_duration.Add({}).Set(r.seconds);
            if (snapshot) {
                window_.add(std::move(*snapshot));
                signals_ = compute_signals(window_.snapshots());
                last_good_steady_ = now;
                last_good_unix_ = unix;
                last_error_.clear();
                metrics_->publish(signals_);
            } else {
                if (last_error_ != one_line(error)) {
                    std::cerr << "pulse-sidecar: " << one_line(error) << "\n";
                    errors_.emplace_back(unix, one_line(error));
                    if (errors_.size() > kErrorsKept) errors_.pop_front();
                }
                last_error_ = one_line(error);
                metrics_->scrape_errors.Add({{"reason", reason}}).Increment();
                if (!last_good_steady_ || now - *last_good_steady_ > options_.stale_after) {
                    metrics_->withdraw();
                    // Old snapshots would make a spike of the first rate after recovery.
                    window_.clear();
                    signals_ = Signals{};
                }
            }
            ++scrapes_;
            record_history(unix);
        }
        changed_.notify_all();

        next += period;
        auto now_tp = std::chrono::steady_clock::now();
        if (next < now_tp) next = now_tp;  // a slow scrape: no burst to catch up
        std::unique_lock lock(mutex_);
        if (changed_.wait_until(lock, next, [this] { return stopping_; })) return;
    }
}

std::optional<std::string> Sidecar::not_ready_reason(double now) const {
    if (draining_) return "draining";
    // Without nginx there is no traffic to take out of service: ready unless draining.
    // The config's sources do not count: a queue exporter that is down must not take the
    // pod out of the ingress (its signals go absent instead).
    if (!scrapes_nginx()) return std::nullopt;
    if (!last_good_steady_) {
        return "no successful scrape of nginx yet" +
               (last_error_.empty() ? "" : ": " + last_error_);
    }
    double age = now - *last_good_steady_;
    if (age > options_.stale_after) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.1fs", age);
        return "last good scrape of nginx " + std::string(buf) + " ago" +
               (last_error_.empty() ? "" : ": " + last_error_);
    }
    return std::nullopt;
}

void Sidecar::record_history(double unix) {
    std::vector<std::pair<std::string, double>> values;
    // What /signals says now: nothing once the numbers are stale (a gap, not the last one).
    if (last_good_steady_ && steady_now() - *last_good_steady_ <= options_.stale_after) {
        for (const common::SignalInfo &s : common::kSignals) {
            values.emplace_back("pod/" + std::string(s.name), signals_.pod.value(s.signal));
            if (s.scope == common::Scope::pod) continue;
            for (const auto &[server, set] : signals_.servers)
                values.emplace_back("server/" + server + "/" + std::string(s.name),
                                    set.value(s.signal));
        }
    }
    history_.record(unix, values);
}

HttpResponse Sidecar::history_json() {
    std::lock_guard lock(mutex_);
    nlohmann::json doc = history_.to_json();
    doc["targets"] = options_.hpa_targets;
    nlohmann::json errors = nlohmann::json::array();
    for (const auto &[when, error] : errors_)
        errors.push_back({{"time", common::format_rfc3339(when, common::Fraction::milliseconds)},
                          {"error", error}});
    doc["errors"] = std::move(errors);
    return {200, "application/json", doc.dump(), {{"Cache-Control", "no-store"}}};
}

HttpResponse Sidecar::handle(const HttpRequest &req) {
    bool get = req.method == "GET" || req.method == "HEAD";
    if (req.path == "/" && get) return status_page_response();
    if (req.path == "/history" && get) return history_json();
    if (req.path == "/metrics" && get) return metrics();
    if (req.path == "/signals" && get) return signals_json();
    if (req.path == "/healthz" && get) return {200, "text/plain; charset=utf-8", "ok\n", {}};
    if (req.path == "/readyz" && get) return readyz();
    if (req.path == "/drain") {
        if (req.method != "POST")
            return {405, "text/plain; charset=utf-8", "use POST\n", {{"Allow", "POST"}}};
        // Draining takes the pod out of service: only the pod itself (a preStop hook,
        // `pulse-sidecar drain`) may ask, not anything that reaches the probe port.
        if (!is_loopback_address(req.remote)) {
            return {403, "text/plain; charset=utf-8", "drain is only accepted from loopback\n", {}};
        }
        return drain(req);
    }
    if (req.path == "/metrics" || req.path == "/signals" || req.path == "/healthz" ||
        req.path == "/readyz" || req.path == "/" || req.path == "/history") {
        return {405, "text/plain; charset=utf-8", "use GET\n", {{"Allow", "GET, HEAD"}}};
    }
    return {404, "text/plain; charset=utf-8", "not found\n", {}};
}

HttpResponse Sidecar::metrics() {
    std::lock_guard lock(mutex_);
    double now = steady_now();
    auto &age = metrics_->scrape_age.Add({});
    age.Set(last_good_steady_ ? now - *last_good_steady_ : std::nan(""));
    metrics_->draining.Add({}).Set(draining_ ? 1 : 0);
    std::string body = metrics_page(metrics_->registry, engine_.get());
    return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(body), {}};
}

HttpResponse Sidecar::signals_json() {
    std::lock_guard lock(mutex_);
    SignalsMeta meta;
    double now = steady_now(), unix = unix_now();
    if (last_good_steady_) meta.last_good_scrape_unix = unix - (now - *last_good_steady_);
    meta.now_unix = unix;
    meta.stale_after_seconds = options_.stale_after;
    meta.draining = draining_;
    meta.last_error = last_error_;
    nlohmann::json doc = signals_to_json(signals_, meta);
    if (engine_) add_config_to_json(doc, engine_->config(), *engine_->snapshot(), unix);
    std::string body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (engine_) {
        // The JSON document of thousands of series is gone: its pages go back.
        doc = nullptr;
        malloc_trim(0);
    }
    return {200, "application/json", std::move(body), {}};
}

HttpResponse Sidecar::readyz() {
    std::lock_guard lock(mutex_);
    if (auto reason = not_ready_reason(steady_now())) {
        return {503, "text/plain; charset=utf-8", "not ready: " + *reason + "\n", {}};
    }
    return {200, "text/plain; charset=utf-8", "ready\n", {}};
}

HttpResponse Sidecar::drain(const HttpRequest &req) {
    double timeout = options_.drain_timeout;
    if (auto t = req.param("timeout")) {
        std::string error;
        auto parsed = parse_duration(*t, &error);
        if (!parsed) return {400, "text/plain; charset=utf-8", error + "\n", {}};
        timeout = *parsed;
    }
    double start = steady_now();
    std::unique_lock lock(mutex_);
    draining_ = true;  // readiness turns false at once
    std::cerr << "pulse-sidecar: draining (timeout " << timeout << "s)\n";
    // Wait for a scrape that started after the drain began and shows nothing in flight.
    std::uint64_t first = scrapes_ + 1;
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(timeout));
    auto drained = [&] {
        return stopping_ || !scrapes_nginx() ||
               (scrapes_ > first && last_error_.empty() && last_good_steady_ &&
                *last_good_steady_ > start && signals_.pod.requests_in_flight == 0);
    };
    bool ok = changed_.wait_until(lock, deadline, drained);
    nlohmann::json out;
    out["drained"] = ok;
    out["reason"] = !scrapes_nginx() ? "no nginx" : ok ? "no request in flight" : "timeout";
    out["waited_seconds"] = steady_now() - start;
    out["requests_in_flight"] = signals_.pod.requests_in_flight;
    out["websocket_connections"] = signals_.pod.websocket_connections;
    if (!last_error_.empty()) out["last_error"] = last_error_;
    std::cerr << "pulse-sidecar: drain " << (ok ? "done" : "timed out") << "\n";
    return {200,
            "application/json",
            out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
            {}};
}

}  // namespace pulse::sidecar
