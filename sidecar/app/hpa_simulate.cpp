#include "hpa_simulate.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "durations.h"
#include "hpa_flags.h"
#include "hpa/quantity.h"
#include "hpa/simulate.h"
#include "hpa/spec_yaml.h"
#include "hpa/trace.h"

namespace pulse::sidecar {

namespace {

struct BadInput {
    std::string message;
};

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) throw BadInput{path + ": cannot be read"};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const std::string &path, const std::string &text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw BadInput{path + ": cannot be written"};
}

double seconds(const std::string &flag, const std::string &text) {
    std::string error;
    auto v = parse_duration(text, &error);
    if (!v) throw BadInput{flag + ": " + error};
    return *v;
}

}  // namespace

struct HpaSimulateCli::Impl {
    CLI::App *cmd = nullptr;
    std::string hpa_file, trace_file, csv_file, svg_file, metric, title;
    std::string sync_period = "15s", pod_startup = "60s";
    hpa::ControllerOptions controller;
    int initial_replicas = -1;
    std::vector<std::string> requests, extensive, intensive;

    int run() {
        hpa::SimulationOptions options;
        options.sync_period = seconds("--sync-period", sync_period);
        options.pod_startup = seconds("--pod-startup", pod_startup);
        options.controller = controller;
        if (initial_replicas >= 0) options.initial_replicas = initial_replicas;
        for (const std::string &r : requests) {
            auto eq = r.find('=');
            if (eq == std::string::npos || eq == 0)
                throw BadInput{"--request " + r + ": expected RESOURCE=QUANTITY (cpu=500m)"};
            auto q = hpa::parse_quantity(r.substr(eq + 1));
            if (!q.ok) throw BadInput{"--request " + r + ": " + q.error};
            options.requests_milli[r.substr(0, eq)] = q.milli;
        }
        for (const std::string &m : extensive) options.extensive.insert(m);
        for (const std::string &m : intensive) options.extensive.erase(m);

        auto spec = hpa::parse_hpa(read_file(hpa_file));
        if (auto *e = std::get_if<std::string>(&spec)) throw BadInput{hpa_file + ": " + *e};
        const hpa::HpaSpec &h = std::get<hpa::HpaSpec>(spec);
        std::string default_metric = metric;
        if (default_metric.empty() && h.metrics.size() == 1) default_metric = h.metrics[0].name;
        auto trace = hpa::parse_trace(read_file(trace_file), trace_file, default_metric);
        if (auto *e = std::get_if<std::string>(&trace)) throw BadInput{*e};
        auto result = hpa::simulate(h, std::get<hpa::Trace>(trace), options);
        if (auto *e = std::get_if<std::string>(&result)) throw BadInput{hpa_file + ": " + *e};
        const hpa::Simulation &sim = std::get<hpa::Simulation>(result);

        if (!csv_file.empty()) write_file(csv_file, hpa::simulation_csv(h, sim));
        if (!svg_file.empty()) {
            std::string t = title.empty() ? "HPA " + h.name + ": " + trace_file : title;
            write_file(svg_file, hpa::simulation_svg(h, sim, t));
        }
        nlohmann::ordered_json out;
        out["hpa"] = h.ns.empty() ? h.name : h.ns + "/" + h.name;
        out["syncs"] = sim.steps.size();
        out["from"] = sim.steps.empty() ? 0.0 : sim.steps.front().time;
        out["to"] = sim.steps.empty() ? 0.0 : sim.steps.back().time;
        out["peakReplicas"] = sim.peak;
        out["lowestReplicas"] = sim.lowest;
        out["podHours"] = std::round(sim.pod_hours * 100) / 100;
        out["scaleUps"] = sim.scale_ups;
        out["scaleDowns"] = sim.scale_downs;
        nlohmann::ordered_json metrics = nlohmann::ordered_json::array();
        for (const hpa::MetricSummary &m : sim.metrics) {
            metrics.push_back(
                {{"name", m.name}, {"target", m.target}, {"secondsAboveTarget", m.seconds_above}});
        }
        out["metrics"] = std::move(metrics);
        if (!csv_file.empty()) out["csv"] = csv_file;
        if (!svg_file.empty()) out["svg"] = svg_file;
        std::cout << out.dump(2) << "\n";
        return 0;
    }
};

HpaSimulateCli::HpaSimulateCli(CLI::App &hpa) : impl_(std::make_unique<Impl>()) {
    Impl &s = *impl_;
    s.cmd = hpa.add_subcommand("simulate",
                               "Replay a recorded trace through an HPA with the controller's loop");
    auto *c = s.cmd;
    c->add_option("--hpa", s.hpa_file, "The HorizontalPodAutoscaler (YAML or JSON)")->required();
    c->add_option("--trace", s.trace_file,
                  "The deployment's totals: a Prometheus query_range answer (JSON) or a CSV of "
                  "time,metric,value")
        ->required();
    c->add_option("--metric", s.metric,
                  "The metric a query_range series without __name__ is (default: the HPA's "
                  "only metric)");
    c->add_option("--sync-period", s.sync_period,
                  "--horizontal-pod-autoscaler-sync-period (default 15s)");
    c->add_option("--pod-startup", s.pod_startup,
                  "From a new pod's creation to Ready (default 60s)");
    c->add_option("--initial-replicas", s.initial_replicas,
                  "Replicas at the trace's start (default: minReplicas)")
        ->check(CLI::Range(0, 100000));
    c->add_option("--csv", s.csv_file, "Write the replica timeline as CSV here");
    c->add_option("--svg", s.svg_file, "Write the chart (load, per-pod value, replicas) here");
    c->add_option("--title", s.title, "The chart's title");
    c->add_option("--request", s.requests,
                  "A pod's request for a Resource metric, RESOURCE=QUANTITY (cpu=500m)");
    c->add_option("--extensive", s.extensive,
                  "A metric whose trace is the deployment's total, spread over the ready pods");
    c->add_option("--intensive", s.intensive,
                  "A metric taken as every ready pod's value (latencies, ratios)");
    add_controller_flags(*c, s.controller);
}

HpaSimulateCli::~HpaSimulateCli() = default;

bool HpaSimulateCli::selected() const {
    return impl_->cmd->parsed();
}

int HpaSimulateCli::run() {
    try {
        return impl_->run();
    } catch (const BadInput &e) {
        std::cerr << "pulse-sidecar hpa simulate: " << e.message << "\n";
        return 2;
    }
}

}  // namespace pulse::sidecar
