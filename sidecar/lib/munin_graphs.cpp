#include "munin_graphs.h"

#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "common/labels.h"
#include "munin_fields.h"

namespace pulse::sidecar {

namespace {

std::string number(double v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("U");
}

std::string server_label(const std::string &server) {
    return server == common::kOverflowLabel ? "other servers (series budget spent)" : server;
}

// A number of the /signals document, when it is fresh: nullopt for stale, missing or absent.
std::optional<double> fresh_number(const nlohmann::json *doc, const nlohmann::json &holder,
                                   const std::string &key) {
    if (doc == nullptr || !doc->is_object()) return std::nullopt;
    if (auto stale = doc->find("stale"); stale == doc->end() || !stale->is_boolean() || *stale)
        return std::nullopt;
    const auto it = holder.find(key);
    if (it == holder.end() || !it->is_number()) return std::nullopt;
    const double v = it->get<double>();
    return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

const nlohmann::json &member(const nlohmann::json *doc, const char *key) {
    static const nlohmann::json none = nlohmann::json::object();
    if (doc == nullptr || !doc->is_object()) return none;
    const auto it = doc->find(key);
    return it != doc->end() && it->is_object() ? *it : none;
}

// The status class of a status label: "2xx" as written, "200" as its class.
std::string status_class(std::string_view status) {
    if (status.size() == 3 && status[0] >= '1' && status[0] <= '5')
        return std::string(1, status[0]) + "xx";
    return "other";
}

void add_requests_graphs(std::vector<MuninGraph> &out, const Exposition *module,
                         const nlohmann::json *signals) {
    // Per server and per class, the counters summed over location, method and status.
    std::map<std::string, double> by_server;
    std::map<std::string, double> by_class{{"1xx", 0}, {"2xx", 0}, {"3xx", 0},
                                           {"4xx", 0}, {"5xx", 0}, {"other", 0}};
    if (module != nullptr) {
        if (const MetricFamily *f = module->find("nginx_http_requests_total")) {
            for (const Sample &s : f->samples) {
                by_server[std::string(s.label("server").value_or(""))] += s.value;
                by_class[status_class(s.label("status").value_or(""))] += s.value;
            }
        }
    }
    // Servers the sidecar knows keep their field while the module cannot be read.
    for (const auto &[server, values] : member(signals, "servers").items())
        by_server.try_emplace(server, NAN);

    MuninGraph requests{"pulse_requests",
                        "nginx requests by server",
                        "requests / ${graph_period}",
                        "nginx",
                        "--base 1000 -l 0",
                        "Requests answered by each nginx server "
                        "(nginx_http_requests_total), per second over munin's period.",
                        "all servers",
                        {}};
    MuninFields names;
    for (const auto &[server, total] : by_server) {
        MuninField f;
        f.name = names.field(server);
        f.label = server_label(server);
        f.type = "DERIVE";
        f.min = 0;
        f.draw = "LINE1";
        if (module != nullptr && std::isfinite(total)) f.value = total;
        requests.fields.push_back(std::move(f));
    }
    out.push_back(std::move(requests));

    MuninGraph classes{"pulse_status",
                       "nginx responses by status class",
                       "responses / ${graph_period}",
                       "nginx",
                       "--base 1000 -l 0",
                       "Responses by status class, all servers; \"other\": no status (the "
                       "client left before one existed).",
                       "",
                       {}};
    for (const auto &[cls, total] : by_class) {
        MuninField f;
        f.name = "class_" + cls;
        f.label = cls;
        f.type = "DERIVE";
        f.min = 0;
        f.draw = classes.fields.empty() ? "AREA" : "STACK";
        if (module != nullptr) f.value = total;
        classes.fields.push_back(std::move(f));
    }
    out.push_back(std::move(classes));
}

// The graphs of the pod's signals from /signals: one row a graph, its fields below it.
struct PodField {
    const char *name = "", *label = "", *signal = "";
    double scale = 1;  // 100: a ratio shown in %
    std::optional<double> warning = std::nullopt, critical = std::nullopt;
};
struct PodGraph {
    const char *name, *title, *vlabel, *args, *info;
    std::vector<PodField> fields;
};

const std::vector<PodGraph> &pod_graphs() {
    static const std::vector<PodGraph> graphs{
        {"pulse_latency",
         "nginx request duration",
         "seconds",
         "--base 1000 -l 0",
         "Quantiles of request duration over the sidecar's window (all servers).",
         {{.name = "p50", .label = "median", .signal = "pulse_request_duration_p50_seconds"},
          {.name = "p95",
           .label = "95th percentile",
           .signal = "pulse_request_duration_p95_seconds",
           .warning = kLatencyP95Warning},
          {.name = "p99",
           .label = "99th percentile",
           .signal = "pulse_request_duration_p99_seconds"},
          {.name = "upstream_p95",
           .label = "upstream 95th percentile",
           .signal = "pulse_upstream_duration_p95_seconds"}}},
        {"pulse_in_flight",
         "nginx requests in flight and websocket sessions",
         "connections",
         "--base 1000 -l 0",
         "At the sidecar's last scrape, the scrape itself not counted.",
         {{.name = "in_flight",
           .label = "requests in flight",
           .signal = "pulse_requests_in_flight"},
          {.name = "websockets",
           .label = "websocket sessions",
           .signal = "pulse_websocket_connections"}}},
        {"pulse_saturation",
         "nginx connection saturation",
         "%",
         "--base 1000 -l 0 -u 100",
         "Active connections / (worker_connections x workers).",
         {{.name = "saturation",
           .label = "connections used",
           .signal = "pulse_connection_saturation",
           .scale = 100}}},
        {"pulse_error_ratio",
         "nginx 5xx ratio",
         "%",
         "--base 1000 -l 0",
         "5xx responses / all responses over the sidecar's window.",
         {{.name = "error_ratio",
           .label = "5xx",
           .signal = "pulse_error_ratio",
           .scale = 100,
           .critical = kErrorRatioCritical * 100}}},
    };
    return graphs;
}

void add_signal_graphs(std::vector<MuninGraph> &out, const nlohmann::json *signals) {
    const nlohmann::json &pod = member(signals, "pod");
    for (const PodGraph &pg : pod_graphs()) {
        MuninGraph g{pg.name, pg.title, pg.vlabel, "nginx", pg.args, pg.info, "", {}};
        for (const PodField &pf : pg.fields) {
            MuninField f;
            f.name = pf.name;
            f.label = pf.label;
            f.min = 0;
            f.draw = "LINE1";
            f.warning = pf.warning;
            f.critical = pf.critical;
            if (auto v = fresh_number(signals, pod, pf.signal)) f.value = *v * pf.scale;
            g.fields.push_back(std::move(f));
        }
        out.push_back(std::move(g));
    }

    // The config's signals (the workers' queues): one graph each, a field per series.
    MuninFields graph_names;
    for (const auto &[name, signal] : member(signals, "config_signals").items()) {
        MuninGraph g{"pulse_signal_" + graph_names.field(name),
                     name,
                     name,
                     "pulse",
                     "--base 1000",
                     "",
                     "",
                     {}};
        if (auto expr = signal.find("expr"); expr != signal.end() && expr->is_string())
            g.info = expr->get<std::string>();
        const bool usable = signal.is_object() && signal.value("stale", true) == false;
        MuninFields fields;
        if (auto series = signal.find("series"); series != signal.end() && series->is_array()) {
            for (const auto &s : *series) {
                if (!s.is_object()) continue;
                std::string label;
                const nlohmann::json labels = s.value("labels", nlohmann::json::object());
                for (const auto &[k, v] : labels.items())
                    label += (label.empty() ? "" : ",") + k + "=" +
                             (v.is_string() ? v.get<std::string>() : v.dump());
                MuninField f;
                f.name = fields.field(label.empty() ? name : label);
                f.label = label.empty() ? name : label;
                f.draw = "LINE1";
                if (usable && s.contains("value") && s["value"].is_number())
                    f.value = s["value"].get<double>();
                g.fields.push_back(std::move(f));
            }
        }
        if (!g.fields.empty()) out.push_back(std::move(g));
    }
}

}  // namespace

std::vector<MuninGraph> munin_graphs(const Exposition *module, const nlohmann::json *signals) {
    std::vector<MuninGraph> out;
    add_requests_graphs(out, module, signals);
    add_signal_graphs(out, signals);
    // munin wants a field in every graph (no server known yet: no requests graph).
    std::erase_if(out, [](const MuninGraph &g) { return g.fields.empty(); });
    return out;
}

std::string munin_config(const std::vector<MuninGraph> &graphs) {
    std::string out;
    for (const MuninGraph &g : graphs) {
        out += "multigraph " + g.name + "\n";
        out += "graph_title " + g.title + "\n";
        out += "graph_vlabel " + g.vlabel + "\n";
        out += "graph_category " + g.category + "\n";
        if (!g.args.empty()) out += "graph_args " + g.args + "\n";
        if (!g.info.empty()) out += "graph_info " + g.info + "\n";
        if (!g.total.empty()) out += "graph_total " + g.total + "\n";
        if (g.vlabel.find("${graph_period}") != std::string::npos) out += "graph_period second\n";
        for (const MuninField &f : g.fields) {
            const std::string p = f.name + ".";
            out += p + "label " + f.label + "\n";
            out += p + "type " + f.type + "\n";
            if (f.min) out += p + "min " + number(*f.min) + "\n";
            if (f.max) out += p + "max " + number(*f.max) + "\n";
            if (!f.draw.empty()) out += p + "draw " + f.draw + "\n";
            if (f.warning) out += p + "warning " + number(*f.warning) + "\n";
            if (f.critical) out += p + "critical " + number(*f.critical) + "\n";
            if (!f.info.empty()) out += p + "info " + f.info + "\n";
        }
    }
    return out;
}

std::string munin_fetch(const std::vector<MuninGraph> &graphs) {
    std::string out;
    for (const MuninGraph &g : graphs) {
        out += "multigraph " + g.name + "\n";
        for (const MuninField &f : g.fields)
            out += f.name + ".value " + (f.value ? number(*f.value) : std::string("U")) + "\n";
    }
    return out;
}

}  // namespace pulse::sidecar
