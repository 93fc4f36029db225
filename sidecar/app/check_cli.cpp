#include "check_cli.h"

#include <chrono>
#include <deque>
#include <iostream>
#include <thread>

#include "clocks.h"
#include "durations.h"
#include "exposition_parser.h"
#include "nagios_check.h"
#include "nginx_snapshot.h"
#include "scraper.h"
#include "signals.h"
#include "signals_json.h"

namespace pulse::sidecar {

namespace {

// One scrape of the module, summarized; nullopt with the reason when it fails.
std::optional<NginxSnapshot> scrape_module(Scraper &scraper, std::string &error) {
    ScrapeResult r = scraper.scrape();
    if (!r.ok) {
        error = r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error;
        return std::nullopt;
    }
    auto parsed = parse_exposition(r.body, format_from_content_type(r.content_type));
    if (auto *e = std::get_if<ParseError>(&parsed)) {
        error = "malformed exposition at line " + std::to_string(e->line) + ": " + e->message;
        return std::nullopt;
    }
    return summarize(std::get<Exposition>(parsed), steady_now());
}

}  // namespace

struct CheckCli::Impl {
    CLI::App *cmd = nullptr;
    std::string sidecar = "http://127.0.0.1:9145";
    std::string nginx;
    std::string signal, server, warning, critical, max_age, timeout = "10s", sample = "1s";
    std::vector<std::string> labels;
    bool ready = false, drain_state = false;

    CheckOutcome outcome();
    CheckOutcome from_nginx(const CheckSpec &spec, double timeout_s);
};

CheckCli::CheckCli(CLI::App &app) : impl_(std::make_unique<Impl>()) {
    Impl &o = *impl_;
    o.cmd = app.add_subcommand(
        "check",
        "Nagios/Icinga plugin: check a signal against thresholds, or readiness, or the drain "
        "state (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)");
    o.cmd->add_option("--sidecar", o.sidecar, "The sidecar's base URL")
        ->envname("PULSE_SIDECAR")
        ->capture_default_str();
    o.cmd->add_option("--nginx", o.nginx,
                      "Read the module's exporter (its pulse_exporter URL) instead of a sidecar: "
                      "two scrapes --sample apart");
    o.cmd->add_option("--signal", o.signal, "Signal to check (a /signals name)");
    o.cmd->add_option("--server", o.server, "Check one nginx server's value, not the pod's");
    o.cmd->add_option("--label", o.labels,
                      "k=v: the config signal's series to check (repeat for more pairs)");
    o.cmd->add_option("-w,--warning", o.warning, "WARNING range (10, 10:, ~:10, 10:20, @10:20)");
    o.cmd->add_option("-c,--critical", o.critical, "CRITICAL range");
    o.cmd->add_option("--max-age", o.max_age, "Numbers older than this are CRITICAL (e.g. 10s)");
    o.cmd->add_option("-t,--timeout", o.timeout, "Give up, UNKNOWN, after this (default 10s)");
    o.cmd->add_option("--sample", o.sample, "With --nginx: time between the two scrapes (1s)");
    o.cmd->add_flag("--ready", o.ready, "Check the pod's readiness (/readyz) and say why not");
    o.cmd->add_flag("--drain-state", o.drain_state, "Check whether the pod is draining");
}

CheckCli::~CheckCli() = default;

bool CheckCli::selected() const {
    return impl_->cmd->parsed();
}

int CheckCli::usage_error(const CLI::ParseError &e) {
    std::cout << "PULSE UNKNOWN - " << e.what() << " (pulse-sidecar check --help)" << std::endl;
    return static_cast<int>(NagiosState::unknown);
}

int CheckCli::run() {
    CheckOutcome out;
    try {
        out = impl_->outcome();
    } catch (const std::exception &e) {
        out = unknown(std::string("internal error: ") + e.what());
    }
    std::cout << out.line() << std::endl;
    return static_cast<int>(out.state);
}

CheckOutcome CheckCli::Impl::outcome() {
    std::string error;
    auto timeout_s = parse_duration(timeout, &error);
    if (!timeout_s || *timeout_s <= 0) return unknown("--timeout: " + error);
    const int modes = (ready ? 1 : 0) + (drain_state ? 1 : 0) + (signal.empty() ? 0 : 1);
    if (modes != 1) return unknown("give one of --signal NAME, --ready, --drain-state");

    if (ready || drain_state) {
        if (!nginx.empty()) return unknown("--ready and --drain-state read a sidecar, not --nginx");
        std::string body;
        const std::string path = ready ? "/readyz" : "/signals";
        long status = http_request("GET", sidecar + path, *timeout_s, body, error);
        if (status == 0) return unknown(sidecar + path + ": " + error);
        if (ready) return check_ready(static_cast<int>(status), body);
        if (status != 200)
            return unknown(sidecar + path + " answered HTTP " + std::to_string(status));
        auto doc = nlohmann::json::parse(body, nullptr, false);
        if (doc.is_discarded()) return unknown(sidecar + path + ": the answer is not JSON");
        return check_drain(doc);
    }

    CheckSpec spec;
    spec.signal = signal;
    if (!server.empty()) spec.server = server;
    for (const std::string &pair : labels) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0)
            return unknown("--label \"" + pair + "\": want k=v");
        spec.labels.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    }
    if (!warning.empty() && !(spec.warning = parse_nagios_range(warning, &error)))
        return unknown("-w: " + error);
    if (!critical.empty() && !(spec.critical = parse_nagios_range(critical, &error)))
        return unknown("-c: " + error);
    if (!max_age.empty()) {
        auto v = parse_duration(max_age, &error);
        if (!v) return unknown("--max-age: " + error);
        spec.max_age_seconds = *v;
    }
    if (!nginx.empty()) return from_nginx(spec, *timeout_s);

    std::string body;
    long status = http_request("GET", sidecar + "/signals", *timeout_s, body, error);
    if (status == 0) return unknown(sidecar + "/signals: " + error);
    if (status != 200) return unknown(sidecar + "/signals answered HTTP " + std::to_string(status));
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded()) return unknown(sidecar + "/signals: the answer is not JSON");
    return check_signal(doc, spec);
}

// Two scrapes of the module, --sample apart, make a window of two snapshots: the rates over
// that span, as the sidecar computes them (signals.h).
CheckOutcome CheckCli::Impl::from_nginx(const CheckSpec &spec, double timeout_s) {
    std::string error;
    auto sample_s = parse_duration(sample, &error);
    if (!sample_s || *sample_s <= 0) return unknown("--sample: " + error);
    if (*sample_s >= timeout_s) return unknown("--sample must be shorter than --timeout");
    const double per_scrape = (timeout_s - *sample_s) / 2;
    Scraper scraper(nginx, std::min(per_scrape, 1.0), per_scrape);
    std::deque<NginxSnapshot> window;
    for (int i = 0; i < 2; ++i) {
        if (i == 1) std::this_thread::sleep_for(std::chrono::duration<double>(*sample_s));
        auto snapshot = scrape_module(scraper, error);
        if (!snapshot) return unknown("scrape " + nginx + ": " + error);
        window.push_back(std::move(*snapshot));
    }
    SignalsMeta meta;
    meta.now_unix = unix_now();
    meta.last_good_scrape_unix = meta.now_unix;
    meta.stale_after_seconds = timeout_s;
    return check_signal(signals_to_json(compute_signals(window), meta), spec);
}

}  // namespace pulse::sidecar
