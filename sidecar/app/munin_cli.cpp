#include "munin_cli.h"

#include <cstdlib>
#include <iostream>
#include <optional>

#include "exposition_parser.h"
#include "munin_graphs.h"
#include "scraper.h"

namespace pulse::sidecar {

namespace {

constexpr double kTimeout = 5;  // munin-node's own timeout for a plugin is 10 s

std::string env_or(const char *name, std::string fallback) {
    const char *v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

// pulse_HOST_PORT names the sidecar at HOST:PORT (the wildcard plugin convention, like
// if_eth0); the last '_' splits them, so a host with '_' in it still works.
std::string sidecar_url(const std::string &plugin_name) {
    std::string suffix = plugin_name.substr(plugin_name.find('_') + 1);
    const auto split = suffix.rfind('_');
    if (!suffix.empty() && split != std::string::npos && split > 0)
        return "http://" + suffix.substr(0, split) + ":" + suffix.substr(split + 1);
    return env_or("sidecar", "http://127.0.0.1:9145");
}

std::optional<nlohmann::json> read_signals(const std::string &base, std::string &error) {
    std::string body;
    const long status = http_request("GET", base + "/signals", kTimeout, body, error);
    if (status != 200) {
        if (status != 0) error = base + "/signals answered HTTP " + std::to_string(status);
        return std::nullopt;
    }
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        error = base + "/signals: not a /signals document";
        return std::nullopt;
    }
    return doc;
}

std::optional<Exposition> read_module(const std::string &url, std::string &error) {
    Scraper scraper(url, 1.0, kTimeout);
    ScrapeResult r = scraper.scrape();
    if (!r.ok) {
        error = r.error;
        return std::nullopt;
    }
    auto parsed = parse_exposition(r.body, format_from_content_type(r.content_type));
    if (auto *e = std::get_if<ParseError>(&parsed)) {
        error = url + ": malformed exposition at line " + std::to_string(e->line);
        return std::nullopt;
    }
    return std::get<Exposition>(std::move(parsed));
}

}  // namespace

bool started_as_munin_plugin(const char *argv0) {
    std::string_view name = argv0 == nullptr ? "" : argv0;
    if (auto slash = name.rfind('/'); slash != std::string_view::npos)
        name.remove_prefix(slash + 1);
    return name.starts_with("pulse_");
}

int run_munin_plugin(const std::string &plugin_name, const std::vector<std::string> &args) {
    const std::string mode = args.empty() ? "fetch" : args[0];
    const std::string sidecar = sidecar_url(plugin_name);
    const std::string nginx = env_or("nginx", "http://127.0.0.1:8080/metrics");
    std::string sidecar_error, module_error;

    if (mode == "autoconf") {
        // munin-node-configure's question: "yes", or "no (why)"; the exit code is 0 either way.
        if (read_signals(sidecar, sidecar_error) || read_module(nginx, module_error))
            std::cout << "yes\n";
        else
            std::cout << "no (" << sidecar_error << ")\n";
        return 0;
    }
    if (mode == "suggest") {
        // The default sidecar, as the suffix of a pulse_HOST_PORT link, when it answers.
        const std::string base = env_or("sidecar", "http://127.0.0.1:9145");
        if (read_signals(base, sidecar_error)) {
            std::string hostport = base.substr(base.find("://") + 3);
            hostport = hostport.substr(0, hostport.find('/'));
            if (auto colon = hostport.rfind(':'); colon != std::string::npos) hostport[colon] = '_';
            std::cout << hostport << "\n";
        }
        return 0;
    }
    if (mode != "fetch" && mode != "config") {
        std::cerr << "pulse munin plugin: unknown argument \"" << mode
                  << "\" (autoconf, suggest, config, or none to fetch)\n";
        return 1;
    }
    const auto signals = read_signals(sidecar, sidecar_error);
    const auto module = read_module(nginx, module_error);
    // What could not be read goes to munin-node's log; its fields are U.
    if (!signals) std::cerr << "pulse munin plugin: " << sidecar_error << "\n";
    if (!module) std::cerr << "pulse munin plugin: " << module_error << "\n";
    const auto graphs = munin_graphs(module ? &*module : nullptr, signals ? &*signals : nullptr);
    std::cout << (mode == "config" ? munin_config(graphs) : munin_fetch(graphs));
    return 0;
}

}  // namespace pulse::sidecar
