#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <variant>

#include "exposition_parser.h"
#include "munin_fields.h"
#include "munin_graphs.h"

namespace {

using namespace pulse::sidecar;

bool munin_accepts(const std::string &name) {
    static const std::regex valid("[A-Za-z_][A-Za-z0-9_]*");
    return std::regex_match(name, valid) && name != "root";
}

TEST(MuninFields, CleanNamesStayAsTheyAre) {
    EXPECT_EQ(munin_field_name("web"), "web");
    EXPECT_EQ(munin_field_name("shop_2"), "shop_2");
}

TEST(MuninFields, EveryNameBecomesOneMuninAcceptsStableAndApart) {
    const char *names[] = {"shop.example",
                           "shop-example",
                           "shop_example",
                           "café.example",
                           "cafe\xcc\x81.example",
                           "日本.example",
                           "9lives",
                           "99lives",
                           "",
                           "root",
                           "a b",
                           "__overflow__",
                           "x=y;z",
                           "'quoted'"};
    std::set<std::string> seen;
    for (const char *n : names) {
        const std::string f = munin_field_name(n);
        EXPECT_TRUE(munin_accepts(f)) << n << " -> " << f;
        EXPECT_EQ(f, munin_field_name(n)) << "the same on every run";
        EXPECT_TRUE(seen.insert(f).second) << n << " -> " << f << " met another name";
    }
    EXPECT_EQ(munin_field_name("shop.example").rfind("shop_example_", 0), 0u);
}

TEST(MuninFields, ForcedMeetingsGetANumber) {
    MuninFields fields;
    const std::string cleaned = munin_field_name("a.b");  // "a_b_<hash>"
    EXPECT_EQ(fields.field("a.b"), cleaned);
    EXPECT_EQ(fields.field(cleaned), cleaned + "_2");  // a server literally named so
    EXPECT_EQ(fields.field("a.b"), cleaned);           // asked again: the same
}

Exposition module_text() {
    auto r = parse_exposition(R"(# TYPE nginx_http_requests_total counter
nginx_http_requests_total{server="shop.example",location="/",method="GET",status="2xx"} 100
nginx_http_requests_total{server="shop.example",location="/",method="GET",status="5xx"} 5
nginx_http_requests_total{server="café",location="/",method="GET",status="404"} 7
nginx_http_requests_total{server="__overflow__",location="__overflow__",method="__overflow__",status="__overflow__"} 3
)",
                              TextFormat::prometheus_0_0_4);
    return std::get<Exposition>(r);
}

nlohmann::json signals_doc(bool stale = false) {
    return nlohmann::json::parse(std::string(R"({"stale": )") + (stale ? "true" : "false") + R"(,
      "pod": {"pulse_request_duration_p50_seconds": 0.01, "pulse_request_duration_p95_seconds": 0.2,
              "pulse_request_duration_p99_seconds": 0.4, "pulse_upstream_duration_p95_seconds": 0.1,
              "pulse_requests_in_flight": 3, "pulse_websocket_connections": 7,
              "pulse_connection_saturation": 0.25, "pulse_error_ratio": 0.02},
      "servers": {"shop.example": {}, "admin": {}},
      "config_signals": {"pulse_jobs_waiting": {"stale": false, "series": [
          {"labels": {"job": "emails"}, "value": 4}, {"labels": {"job": "pdf.render"}, "value": 9}]},
        "pulse_queue_gone": {"stale": false, "series": [], "absent_reason": "source down"}}})");
}

TEST(MuninGraphs, ConfigAndFetchAgreeFieldForField) {
    const Exposition module = module_text();
    const nlohmann::json doc = signals_doc();
    const auto graphs = munin_graphs(&module, &doc);
    const std::string config = munin_config(graphs), fetch = munin_fetch(graphs);
    for (const MuninGraph &g : graphs) {
        EXPECT_NE(config.find("multigraph " + g.name + "\n"), std::string::npos);
        EXPECT_NE(fetch.find("multigraph " + g.name + "\n"), std::string::npos);
        std::set<std::string> names;
        for (const MuninField &f : g.fields) {
            EXPECT_TRUE(munin_accepts(f.name)) << f.name;
            EXPECT_TRUE(names.insert(f.name).second) << g.name << ": " << f.name << " twice";
            EXPECT_NE(config.find(f.name + ".label "), std::string::npos) << f.name;
            EXPECT_NE(fetch.find(f.name + ".value "), std::string::npos) << f.name;
        }
    }
}

TEST(MuninGraphs, RequestsByServerAndClassAreDeriveCounters) {
    const Exposition module = module_text();
    const nlohmann::json doc = signals_doc();
    const std::string fetch = munin_fetch(munin_graphs(&module, &doc));
    const std::string config = munin_config(munin_graphs(&module, &doc));
    const std::string shop = munin_field_name("shop.example");
    EXPECT_NE(fetch.find(shop + ".value 105\n"), std::string::npos) << fetch;
    EXPECT_NE(fetch.find(munin_field_name("café") + ".value 7\n"), std::string::npos) << fetch;
    EXPECT_NE(config.find(shop + ".type DERIVE\n" + shop + ".min 0\n"), std::string::npos);
    EXPECT_NE(config.find(".label other servers (series budget spent)\n"), std::string::npos);
    // admin is known to the sidecar, not yet to the module: a field without a number.
    EXPECT_NE(fetch.find("admin.value U\n"), std::string::npos) << fetch;
    EXPECT_NE(fetch.find("class_2xx.value 100\nclass_3xx.value 0\nclass_4xx.value 7\n"
                         "class_5xx.value 5\nclass_other.value 3\n"),
              std::string::npos)
        << fetch;
}

TEST(MuninGraphs, SignalsCarryUnitsAndThePulseAlertThresholds) {
    const nlohmann::json doc = signals_doc();
    const auto graphs = munin_graphs(nullptr, &doc);
    const std::string config = munin_config(graphs), fetch = munin_fetch(graphs);
    EXPECT_NE(config.find("p95.warning 0.5\n"), std::string::npos) << config;
    EXPECT_NE(config.find("error_ratio.critical 5\n"), std::string::npos) << config;
    EXPECT_NE(fetch.find("p95.value 0.2\n"), std::string::npos);
    EXPECT_NE(fetch.find("saturation.value 25\n"), std::string::npos);
    EXPECT_NE(fetch.find("websockets.value 7\n"), std::string::npos);
    EXPECT_NE(fetch.find("multigraph pulse_signal_pulse_jobs_waiting\n"), std::string::npos);
    EXPECT_NE(fetch.find(munin_field_name("job=pdf.render") + ".value 9\n"), std::string::npos);
    EXPECT_EQ(fetch.find("pulse_queue_gone"), std::string::npos) << "an absent signal has no graph";
    // The module unreadable: its graphs stay, with unknown values.
    EXPECT_NE(fetch.find("class_2xx.value U\n"), std::string::npos) << fetch;
}

TEST(MuninGraphs, StaleOrMissingNumbersAreUnknownNeverOldOrZero) {
    const nlohmann::json stale = signals_doc(true);
    const std::string fetch = munin_fetch(munin_graphs(nullptr, &stale));
    EXPECT_NE(fetch.find("p95.value U\n"), std::string::npos) << fetch;
    EXPECT_NE(fetch.find("in_flight.value U\n"), std::string::npos) << fetch;
    const std::string none = munin_fetch(munin_graphs(nullptr, nullptr));
    EXPECT_NE(none.find("p50.value U\n"), std::string::npos) << none;
    const nlohmann::json garbage = nlohmann::json::parse(R"({"stale": false, "pod": [1],
        "config_signals": {"x": 3, "y": {"stale": false, "series": [1, {"labels": 2}]}}})");
    EXPECT_NO_THROW(munin_fetch(munin_graphs(nullptr, &garbage)));
}

}  // namespace
