#include "simulate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "common/signals.h"
#include "decide.h"

namespace pulse::hpa {

namespace {

struct SimPod {
    std::string name;
    double created = 0;
    double ready_at = 0;
};

std::int64_t to_milli(double v) {
    return static_cast<std::int64_t>(std::llround(v * 1000));
}

std::string metric_label(const MetricSpec &m) {
    return m.container.empty() ? m.name : m.container + "/" + m.name;
}

}  // namespace

std::set<std::string> default_extensive_metrics() {
    std::set<std::string> out = {"pulse_jobs_waiting"};
    for (const common::SignalInfo &s : common::kSignals) {
        if (s.across_pods == common::Aggregation::sum) out.emplace(s.name);
    }
    return out;
}

bool is_extensive(const SimulationOptions &options, const MetricSpec &metric) {
    if (metric.type == MetricType::resource || metric.type == MetricType::container_resource)
        return true;  // usage adds up over pods
    return options.extensive.count(metric.name) > 0;
}

double target_value(const MetricSpec &metric) {
    switch (metric.target.type) {
        case TargetType::utilization:
            return metric.target.average_utilization;
        case TargetType::average_value:
            return static_cast<double>(metric.target.average_value_milli) / 1000;
        case TargetType::value:
            return static_cast<double>(metric.target.value_milli) / 1000;
    }
    return 0;
}

std::variant<Simulation, std::string> simulate(const HpaSpec &hpa, const Trace &trace,
                                               const SimulationOptions &options) {
    if (hpa.metrics.empty()) return std::string("the HPA has no metrics");
    if (options.sync_period <= 0) return std::string("the sync period must be above 0");
    for (std::size_t i = 0; i < hpa.metrics.size(); ++i) {
        const MetricSpec &m = hpa.metrics[i];
        if (!trace.metrics.count(m.name)) {
            return "the trace has no points for the HPA's metric " + std::to_string(i) + " (" +
                   m.name + ")";
        }
        bool resource = m.type == MetricType::resource || m.type == MetricType::container_resource;
        if (resource && m.target.type == TargetType::utilization &&
            !options.requests_milli.count(m.name)) {
            return "the HPA's metric " + std::to_string(i) + " (" + m.name +
                   ") is a Resource utilization: give each pod's request (--request " + m.name +
                   "=500m)";
        }
    }

    Simulation sim;
    std::vector<SimPod> pods;
    int next_pod = 0;
    auto add_pod = [&](double t) {
        pods.push_back({"pod-" + std::to_string(next_pod++), t, t + options.pod_startup});
    };
    std::int32_t initial = options.initial_replicas.value_or(hpa.min_replicas);
    // Pods of the initial count have been running for a while: ready from the start.
    for (std::int32_t i = 0; i < initial; ++i) {
        add_pod(trace.start() - options.pod_startup - 3600);
    }
    ClusterState history;  // the controller's recommendations and scale events
    sim.peak = sim.lowest = initial;
    for (const MetricSpec &m : hpa.metrics)
        sim.metrics.push_back({metric_label(m), target_value(m), 0});

    bool first = true;
    for (double t = trace.start(); t <= trace.end() + 1e-9; t += options.sync_period) {
        ClusterState state;
        state.time = t;
        state.current_replicas = static_cast<std::int32_t>(pods.size());
        state.resource_metric_time = t;
        std::vector<std::string> ready_names;
        for (const SimPod &p : pods) {
            PodState ps;
            ps.name = p.name;
            ps.phase = "Running";
            ps.ready = p.ready_at <= t;
            ps.start_time = p.created;
            ps.ready_since = ps.ready ? p.ready_at : p.created;
            ContainerRequests c;
            c.name = "app";
            c.requests_milli = options.requests_milli;
            ps.containers.push_back(std::move(c));
            if (ps.ready) ready_names.push_back(p.name);
            state.pods.push_back(std::move(ps));
        }
        Step step;
        step.time = t;
        step.replicas = state.current_replicas;
        step.ready = static_cast<std::int32_t>(ready_names.size());
        for (std::size_t i = 0; i < hpa.metrics.size(); ++i) {
            const MetricSpec &m = hpa.metrics[i];
            double load = trace.at(m.name, t);
            step.load.push_back(load);
            bool extensive = is_extensive(options, m);
            double per_pod = std::nan("");
            switch (m.type) {
                case MetricType::object:
                    state.object[m.name] = to_milli(load);
                    break;
                case MetricType::external:
                    state.external[m.name] = to_milli(load);
                    break;
                default: {
                    // A pod that is not ready yet has no metric (its sidecar is not serving).
                    if (!ready_names.empty())
                        per_pod = extensive ? load / static_cast<double>(ready_names.size()) : load;
                    auto &values = m.type == MetricType::pods ? state.pods_metrics[m.name]
                                   : m.type == MetricType::resource
                                       ? state.resource[m.name]
                                       : state.container_resource[metric_label(m)];
                    for (const auto &name : ready_names) values[name] = to_milli(per_pod);
                    break;
                }
            }
            if (m.type == MetricType::object || m.type == MetricType::external) {
                per_pod = m.target.type == TargetType::average_value && state.current_replicas > 0
                              ? load / state.current_replicas
                              : load;
            }
            step.per_pod.push_back(per_pod);
            // Utilization targets are percent of the request: compare in percent.
            double comparable = per_pod;
            if ((m.type == MetricType::resource || m.type == MetricType::container_resource) &&
                m.target.type == TargetType::utilization && options.requests_milli.count(m.name)) {
                comparable =
                    per_pod * 100000 / static_cast<double>(options.requests_milli.at(m.name));
            }
            if (std::isfinite(comparable) && comparable > sim.metrics[i].target)
                sim.metrics[i].seconds_above += options.sync_period;
        }
        // The controller's first pass over an HPA seeds its history with the current count.
        if (first) history.recommendations.push_back({t, state.current_replicas});
        first = false;
        state.recommendations = history.recommendations;
        state.scale_up_events = history.scale_up_events;
        state.scale_down_events = history.scale_down_events;

        Decision d = decide(hpa, state, options.controller);
        step.desired = d.desired_replicas;
        step.reason = d.limit_reason;
        for (const MetricResult &r : d.metrics) {
            if (!r.ok && step.reason.empty()) step.reason = r.failure.reason;
        }
        // The history as the controller keeps it for its next sync.
        record_decision(hpa, options.controller, d, history);
        if (d.rescale) {
            std::int32_t change = d.desired_replicas - state.current_replicas;
            if (change > 0) {
                ++sim.scale_ups;
                for (std::int32_t i = 0; i < change; ++i) add_pod(t);
            } else {
                ++sim.scale_downs;
                // The ReplicaSet removes pods that are not ready first, then the newest.
                std::stable_sort(pods.begin(), pods.end(), [&](const SimPod &a, const SimPod &b) {
                    bool ar = a.ready_at <= t, br = b.ready_at <= t;
                    if (ar != br) return ar;  // ready ones first: kept
                    return a.created < b.created;
                });
                pods.resize(static_cast<std::size_t>(d.desired_replicas));
            }
        }
        sim.peak = std::max(sim.peak, static_cast<std::int32_t>(pods.size()));
        sim.lowest = std::min(sim.lowest, static_cast<std::int32_t>(pods.size()));
        sim.pod_hours += static_cast<double>(pods.size()) * options.sync_period / 3600;
        sim.steps.push_back(std::move(step));
    }
    return sim;
}

std::string simulation_csv(const HpaSpec &hpa, const Simulation &sim) {
    std::ostringstream out;
    out << "time,replicas,ready,desired";
    for (const MetricSpec &m : hpa.metrics) {
        std::string n = metric_label(m);
        out << "," << n << "_load," << n << "_per_pod";
    }
    out << ",reason\n";
    char buf[64];
    auto num = [&](double v) {
        if (!std::isfinite(v)) return std::string();
        std::snprintf(buf, sizeof buf, "%.6g", v);
        return std::string(buf);
    };
    for (const Step &s : sim.steps) {
        std::snprintf(buf, sizeof buf, "%.0f", s.time);
        out << buf << "," << s.replicas << "," << s.ready << "," << s.desired;
        for (std::size_t i = 0; i < s.load.size(); ++i)
            out << "," << num(s.load[i]) << "," << num(s.per_pod[i]);
        out << "," << s.reason << "\n";
    }
    return out.str();
}

namespace {

std::string esc(const std::string &s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string fmt(double v) {
    char buf[32];
    if (std::fabs(v) >= 100 || v == std::floor(v)) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.2g", v);
    }
    return buf;
}

// Times that look like the Unix clock are shown as UTC hours; others as seconds.
std::string time_label(double t, double start) {
    char buf[32];
    if (start > 1e9) {
        auto secs = static_cast<std::time_t>(t);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        std::snprintf(buf, sizeof buf, "%02d:%02d", tm.tm_hour, tm.tm_min);
    } else {
        std::snprintf(buf, sizeof buf, "%.0fs", t - start);
    }
    return buf;
}

struct Panel {
    double top, height;
};

}  // namespace

std::string simulation_svg(const HpaSpec &hpa, const Simulation &sim, const std::string &title) {
    const double width = 960, left = 70, right = 20, plot_w = width - left - right;
    const Panel load{50, 150}, value{240, 150}, reps{430, 150};
    const double height = reps.top + reps.height + 50;
    std::ostringstream o;
    o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    o << "<title>" << esc(title) << "</title>\n";
    o << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
    o << "<text x=\"" << left << "\" y=\"24\" font-size=\"16\" font-weight=\"bold\">" << esc(title)
      << "</text>\n";
    if (sim.steps.empty()) {
        o << "</svg>\n";
        return o.str();
    }
    double t0 = sim.steps.front().time, t1 = sim.steps.back().time;
    if (t1 <= t0) t1 = t0 + 1;
    auto x = [&](double t) { return left + (t - t0) / (t1 - t0) * plot_w; };
    const MetricSpec &m = hpa.metrics.front();
    std::string name = m.container.empty() ? m.name : m.container + "/" + m.name;

    auto frame = [&](const Panel &p, double ymax, const std::string &label) {
        o << "<rect x=\"" << left << "\" y=\"" << p.top << "\" width=\"" << plot_w << "\" height=\""
          << p.height << "\" fill=\"none\" stroke=\"#888\"/>\n";
        o << "<text x=\"" << left + 6 << "\" y=\"" << p.top + 16 << "\" fill=\"#333\">"
          << esc(label) << "</text>\n";
        for (int i = 0; i <= 4; ++i) {
            double v = ymax * i / 4, y = p.top + p.height - p.height * i / 4;
            o << "<text x=\"" << left - 6 << "\" y=\"" << y + 4
              << "\" text-anchor=\"end\" fill=\"#555\">" << fmt(v) << "</text>\n";
            if (i > 0 && i < 4)
                o << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << y
                  << "\" y2=\"" << y << "\" stroke=\"#eee\"/>\n";
        }
    };
    auto y_of = [](const Panel &p, double v, double ymax) {
        return p.top + p.height - std::clamp(v / ymax, 0.0, 1.0) * p.height;
    };
    // At most two points a pixel column (its lowest and highest value, in time order) for
    // lines, and only the changes for steps: a day at 15 s stays a small file.
    auto polyline = [&](const Panel &p, double ymax, auto value_at, const char *color, bool step,
                        const char *dash) {
        o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\""
          << (dash ? std::string(" stroke-dasharray=\"") + dash + "\"" : "") << " points=\"";
        char pt[48];
        auto emit = [&](double px, double py) {
            std::snprintf(pt, sizeof pt, "%.1f,%.1f ", px, py);
            o << pt;
        };
        if (step) {
            double prev = std::nan("");
            for (std::size_t i = 0; i < sim.steps.size(); ++i) {
                double v = value_at(sim.steps[i]);
                if (!std::isfinite(v)) continue;
                double px = x(sim.steps[i].time);
                if (std::isnan(prev)) {
                    emit(px, y_of(p, v, ymax));
                } else if (v != prev) {
                    emit(px, y_of(p, prev, ymax));
                    emit(px, y_of(p, v, ymax));
                }
                prev = v;
            }
            if (!std::isnan(prev)) emit(x(sim.steps.back().time), y_of(p, prev, ymax));
        } else {
            long column = -1;
            double lo = 0, hi = 0, lo_t = 0, hi_t = 0;
            auto flush = [&] {
                if (column < 0) return;
                if (lo_t <= hi_t) {
                    emit(x(lo_t), y_of(p, lo, ymax));
                    if (hi_t != lo_t) emit(x(hi_t), y_of(p, hi, ymax));
                } else {
                    emit(x(hi_t), y_of(p, hi, ymax));
                    emit(x(lo_t), y_of(p, lo, ymax));
                }
            };
            for (const Step &st : sim.steps) {
                double v = value_at(st);
                if (!std::isfinite(v)) continue;
                long c = std::lround(x(st.time));
                if (c != column) {
                    flush();
                    column = c;
                    lo = hi = v;
                    lo_t = hi_t = st.time;
                } else {
                    if (v < lo) lo = v, lo_t = st.time;
                    if (v > hi) hi = v, hi_t = st.time;
                }
            }
            flush();
        }
        o << "\"/>\n";
    };

    double max_load = 0, max_value = target_value(m), max_reps = hpa.max_replicas;
    for (const Step &s : sim.steps) {
        if (std::isfinite(s.load[0])) max_load = std::max(max_load, s.load[0]);
        if (std::isfinite(s.per_pod[0])) max_value = std::max(max_value, s.per_pod[0]);
        max_reps = std::max(max_reps, static_cast<double>(std::max(s.replicas, s.desired)));
    }
    max_load = max_load > 0 ? max_load * 1.1 : 1;
    max_value = max_value > 0 ? max_value * 1.1 : 1;
    max_reps = std::max(1.0, max_reps + 1);

    frame(load, max_load, "load: " + name + " (the deployment's total)");
    polyline(
        load, max_load, [](const Step &s) { return s.load[0]; }, "#1f77b4", false, nullptr);

    frame(value, max_value, "per pod: " + name + " against its target " + fmt(target_value(m)));
    double ty = y_of(value, target_value(m), max_value);
    o << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << ty << "\" y2=\""
      << ty << "\" stroke=\"#d62728\" stroke-dasharray=\"6 4\"/>\n";
    polyline(
        value, max_value, [](const Step &s) { return s.per_pod[0]; }, "#2ca02c", false, nullptr);

    frame(reps, max_reps,
          "replicas (solid) and ready pods (dotted); min " + std::to_string(hpa.min_replicas) +
              ", max " + std::to_string(hpa.max_replicas));
    polyline(
        reps, max_reps, [](const Step &s) { return static_cast<double>(s.replicas); }, "#9467bd",
        true, nullptr);
    polyline(
        reps, max_reps, [](const Step &s) { return static_cast<double>(s.ready); }, "#8c564b", true,
        "2 3");

    for (int i = 0; i <= 6; ++i) {
        double t = t0 + (t1 - t0) * i / 6;
        o << "<text x=\"" << x(t) << "\" y=\"" << reps.top + reps.height + 18
          << "\" text-anchor=\"middle\" fill=\"#555\">" << esc(time_label(t, t0)) << "</text>\n";
    }
    char summary[256];
    std::snprintf(summary, sizeof summary,
                  "peak %d, lowest %d replicas; %.1f pod-hours; %d scale-ups, %d scale-downs",
                  sim.peak, sim.lowest, sim.pod_hours, sim.scale_ups, sim.scale_downs);
    o << "<text x=\"" << left << "\" y=\"" << height - 10 << "\" fill=\"#333\">" << esc(summary)
      << "</text>\n";
    o << "</svg>\n";
    return o.str();
}

}  // namespace pulse::hpa
