// `hpa simulate` (sidecar/lib/hpa/simulate.h, trace.h): traces as users have them, and a
// replay that obeys the HPA's behavior: never more pods up per period than its policies
// allow, nothing down within the stabilization window, pods ready only after startup.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "hpa/simulate.h"
#include "hpa/trace.h"

namespace pulse::hpa {
namespace {

Trace parse_ok(const std::string &text, const std::string &metric = "") {
    auto r = parse_trace(text, "trace", metric);
    EXPECT_TRUE(std::holds_alternative<Trace>(r))
        << (std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "");
    return std::holds_alternative<Trace>(r) ? std::get<Trace>(r) : Trace{};
}

std::string parse_error(const std::string &text, const std::string &metric = "") {
    auto r = parse_trace(text, "trace", metric);
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "no error";
}

TEST(HpaTrace, CsvWithAndWithoutHeader) {
    Trace t = parse_ok("time,metric,value\n30,rps,5\n0,rps,1\n0,p95,0.2\n\n# note\n60,rps,7.5\n");
    ASSERT_EQ(t.metrics.size(), 2u);
    EXPECT_EQ(t.metrics["rps"].size(), 3u);
    EXPECT_EQ(t.start(), 0);
    EXPECT_EQ(t.end(), 60);
    EXPECT_EQ(t.at("rps", 0), 1);
    EXPECT_EQ(t.at("rps", 29), 1);  // the value in force: the last point at or before
    EXPECT_EQ(t.at("rps", 30), 5);
    EXPECT_EQ(t.at("rps", 1000), 7.5);
    EXPECT_EQ(t.at("rps", -5), 1);  // before the first point: the first
    EXPECT_TRUE(std::isnan(t.at("nope", 0)));
    EXPECT_EQ(parse_ok("10,rps,3\n").metrics["rps"].size(), 1u);
}

TEST(HpaTrace, CsvErrorsNameTheLine) {
    EXPECT_EQ(parse_error("time,metric,value\n10,rps\n"), "trace:2: expected time,metric,value");
    EXPECT_EQ(parse_error("x,rps,1\n"), "trace:1: time \"x\" is not a number of seconds");
    EXPECT_EQ(parse_error("1,rps,NaN\n"), "trace:1: value \"NaN\" is not a finite number");
    EXPECT_EQ(parse_error("1,,2\n"), "trace:1: the metric name is empty");
    EXPECT_EQ(parse_error("time,metric,value\n"), "trace: the trace has no points");
    EXPECT_EQ(parse_error(""), "trace: the trace has no points");
}

TEST(HpaTrace, PrometheusQueryRange) {
    const char *doc = R"({"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{},"values":[[1700000000,"10"],[1700000015,"12.5"]]},
        {"metric":{"__name__":"pulse_jobs_waiting"},"values":[[1700000000,"3"]]}]}})";
    Trace t = parse_ok(doc, "pulse_requests_per_second");
    EXPECT_EQ(t.at("pulse_requests_per_second", 1700000015), 12.5);
    EXPECT_EQ(t.at("pulse_jobs_waiting", 1700000000), 3);
    EXPECT_EQ(t.start(), 1700000000);
}

TEST(HpaTrace, PrometheusErrors) {
    EXPECT_EQ(parse_error(R"({"status":"error"})"), "trace: \"status\" is not \"success\"");
    EXPECT_EQ(parse_error(R"({"status":"success","data":{"resultType":"vector","result":[]}})"),
              "trace: data.resultType is not \"matrix\" (use a query_range answer)");
    EXPECT_EQ(parse_error(R"({"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{},"values":[[1,"1"]]}]}})"),
              "trace: data.result[0]: the series has no __name__; name the metric (--metric NAME)");
    EXPECT_EQ(parse_error(R"({"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{},"values":[[1,1]]}]}})",
                          "m"),
              "trace: data.result[0].values[0]: expected [time, \"value\"]");
    EXPECT_EQ(parse_error(R"({"status":"success","data":{"resultType":"matrix","result":[]}})"),
              "trace: the trace has no points");
    EXPECT_EQ(parse_error("{nope"), "trace: not valid JSON");
}

// An HPA like conf/kubernetes/base/hpa.yaml: pods metric, target 20 per pod, up one pod per
// `up_period`, down one per `down_period` after `window` seconds.
HpaSpec web_hpa(int up_period = 300, int down_period = 300, int window = 3600) {
    HpaSpec h;
    h.api_version = "autoscaling/v2beta2";
    h.name = "web";
    h.min_replicas = 2;
    h.max_replicas = 20;
    MetricSpec m;
    m.type = MetricType::pods;
    m.name = "pulse_requests_per_second";
    m.target.type = TargetType::average_value;
    m.target.average_value_milli = 20000;
    h.metrics.push_back(m);
    Behavior b;
    b.scale_up.stabilization_window_seconds = 0;
    b.scale_up.policies = {{PolicyType::pods, 1, up_period}};
    b.scale_down.stabilization_window_seconds = window;
    b.scale_down.policies = {{PolicyType::pods, 1, down_period}};
    h.behavior = b;
    return h;
}

Trace step_trace(double low, double high, double step_at, double step_end, double end) {
    Trace t;
    auto &p = t.metrics["pulse_requests_per_second"];
    p.push_back({0, low});
    p.push_back({step_at, high});
    p.push_back({step_end, low});
    p.push_back({end, low});
    return t;
}

Simulation run(const HpaSpec &h, const Trace &t, SimulationOptions o = {}) {
    auto r = simulate(h, t, o);
    EXPECT_TRUE(std::holds_alternative<Simulation>(r))
        << (std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "");
    return std::holds_alternative<Simulation>(r) ? std::get<Simulation>(r) : Simulation{};
}

// The replica count after each decision, with the time it took effect.
std::vector<std::pair<double, int>> changes(const Simulation &s) {
    std::vector<std::pair<double, int>> out;
    for (const Step &st : s.steps) {
        if (st.desired != st.replicas) out.emplace_back(st.time, st.desired - st.replicas);
    }
    return out;
}

TEST(HpaSimulate, StepUpOnePodPerPeriodThenDownAfterTheWindow) {
    HpaSpec h = web_hpa(300, 300, 3600);
    // 40 rps, then 200 rps (10 pods' worth) for two hours, then 40 again for three hours.
    Trace t = step_trace(40, 200, 3600, 3600 + 7200, 3600 + 7200 + 3 * 3600);
    Simulation s = run(h, t);
    ASSERT_FALSE(s.steps.empty());
    EXPECT_EQ(s.peak, 10);
    EXPECT_EQ(s.lowest, 2);
    auto ch = changes(s);
    ASSERT_FALSE(ch.empty());
    double last_up = -1e9, last_down = -1e9;
    for (const auto &[time, change] : ch) {
        if (change > 0) {
            EXPECT_EQ(change, 1) << "at " << time;  // Pods 1 per period
            EXPECT_GE(time - last_up, 300) << "at " << time;
            EXPECT_GE(time, 3600);  // nothing before the load
            last_up = time;
        } else {
            EXPECT_EQ(change, -1) << "at " << time;
            EXPECT_GE(time - last_down, 300) << "at " << time;
            // Nothing down within the hour after the load dropped.
            EXPECT_GE(time, 3600 + 7200 + 3600 - 15) << "at " << time;
            last_down = time;
        }
    }
    EXPECT_EQ(s.steps.back().desired, 2);  // back to minReplicas by the end
    EXPECT_EQ(s.scale_ups, 8);
    EXPECT_EQ(s.scale_downs, 8);
    // Two pods at the start; pod-hours are at least those of minReplicas for the whole trace.
    EXPECT_GT(s.pod_hours, 2 * (t.end() - t.start()) / 3600);
    ASSERT_EQ(s.metrics.size(), 1u);
    EXPECT_EQ(s.metrics[0].target, 20);
    EXPECT_GT(s.metrics[0].seconds_above, 0);
}

TEST(HpaSimulate, NewPodsCarryNoMetricUntilReady) {
    HpaSpec h = web_hpa(15, 15, 60);
    Trace t = step_trace(40, 100, 60, 600, 900);
    SimulationOptions o;
    o.pod_startup = 120;
    Simulation s = run(h, t, o);
    for (const Step &st : s.steps) {
        EXPECT_LE(st.ready, st.replicas);
        if (st.ready > 0 && std::isfinite(st.per_pod[0])) {
            EXPECT_DOUBLE_EQ(st.per_pod[0], st.load[0] / st.ready) << "at " << st.time;
        }
    }
    // Somewhere during the step, pods were created but not ready yet.
    bool starting = false;
    for (const Step &st : s.steps) starting |= st.ready < st.replicas;
    EXPECT_TRUE(starting);
}

TEST(HpaSimulate, IntensiveMetricsAreTakenAsRecorded) {
    HpaSpec h = web_hpa(15, 15, 60);
    h.metrics[0].name = "pulse_request_duration_p95_seconds";
    h.metrics[0].target.average_value_milli = 250;  // 250 ms
    Trace t;
    t.metrics["pulse_request_duration_p95_seconds"] = {{0, 0.1}, {300, 0.5}, {600, 0.5}};
    Simulation s = run(h, t);
    for (const Step &st : s.steps) {
        if (st.ready > 0) {
            EXPECT_DOUBLE_EQ(st.per_pod[0], st.load[0]) << "at " << st.time;
        }
    }
    EXPECT_GT(s.peak, 2);  // 0.5 s against 0.25 s asks for more pods
}

TEST(HpaSimulate, ExtensiveByDefaultAreWhatAddsUpOverPods) {
    EXPECT_EQ(SimulationOptions{}.extensive,
              (std::set<std::string>{"pulse_jobs_waiting", "pulse_requests_in_flight",
                                     "pulse_requests_per_second", "pulse_websocket_connections"}));
}

TEST(HpaSimulate, CsvAndSvg) {
    HpaSpec h = web_hpa(15, 15, 60);
    Simulation s = run(h, step_trace(10, 100, 60, 300, 600));
    std::string csv = simulation_csv(h, s);
    EXPECT_EQ(csv.substr(0, csv.find('\n')),
              "time,replicas,ready,desired,pulse_requests_per_second_load,"
              "pulse_requests_per_second_per_pod,reason");
    EXPECT_EQ(static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')),
              s.steps.size() + 1);
    std::string svg = simulation_svg(h, s, "web <test> & co");
    EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
    EXPECT_NE(svg.find("web &lt;test&gt; &amp; co"), std::string::npos);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    EXPECT_NE(svg.find("<polyline"), std::string::npos);
}

TEST(HpaSimulate, Errors) {
    HpaSpec h = web_hpa();
    Trace other;
    other.metrics["x"] = {{0, 1}};
    auto r = simulate(h, other, {});
    ASSERT_TRUE(std::holds_alternative<std::string>(r));
    EXPECT_EQ(std::get<std::string>(r),
              "the trace has no points for the HPA's metric 0 (pulse_requests_per_second)");
    HpaSpec cpu = web_hpa();
    cpu.metrics[0].type = MetricType::resource;
    cpu.metrics[0].name = "cpu";
    cpu.metrics[0].target.type = TargetType::utilization;
    cpu.metrics[0].target.average_utilization = 70;
    Trace t;
    t.metrics["cpu"] = {{0, 1}};
    r = simulate(cpu, t, {});
    ASSERT_TRUE(std::holds_alternative<std::string>(r));
    EXPECT_NE(std::get<std::string>(r).find("--request cpu=500m"), std::string::npos);
    HpaSpec none = web_hpa();
    none.metrics.clear();
    r = simulate(none, t, {});
    EXPECT_EQ(std::get<std::string>(r), "the HPA has no metrics");
}

}  // namespace
}  // namespace pulse::hpa
