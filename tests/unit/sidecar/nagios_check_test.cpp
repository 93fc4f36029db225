#include "nagios_check.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace {

using nlohmann::json;
using pulse::sidecar::check_drain;
using pulse::sidecar::check_ready;
using pulse::sidecar::check_signal;
using pulse::sidecar::CheckSpec;
using pulse::sidecar::NagiosState;
using pulse::sidecar::parse_nagios_range;

json signals_doc() {
    return json::parse(R"({
      "age_seconds": 0.4, "stale": false, "draining": false, "last_error": null,
      "pod": {"pulse_requests_per_second": 120.5, "pulse_error_ratio": 0.02,
              "pulse_request_duration_p95_seconds": 0.25},
      "servers": {"shop.example": {"pulse_requests_per_second": 100},
                  "it's=odd": {"pulse_requests_per_second": 20.5}},
      "config_signals": {
        "pulse_jobs_waiting": {"age_seconds": 0.3, "stale": false, "absent_reason": null,
          "series": [{"labels": {"job": "emails"}, "value": 3},
                     {"labels": {"job": "thumbnails"}, "value": 50}]},
        "pulse_queue_down": {"age_seconds": 0.3, "stale": false, "series": [],
          "absent_reason": "source redis is down: connection refused"}
      }})");
}

CheckSpec spec(std::string signal, const char *warn = nullptr, const char *crit = nullptr) {
    CheckSpec s;
    s.signal = std::move(signal);
    std::string error;
    if (warn) s.warning = parse_nagios_range(warn, &error);
    if (crit) s.critical = parse_nagios_range(crit, &error);
    return s;
}

TEST(NagiosCheck, PodSignalWithinThresholdsIsOkWithPerformanceData) {
    auto out = check_signal(signals_doc(), spec("pulse_requests_per_second", "200", "400"));
    EXPECT_EQ(out.state, NagiosState::ok);
    EXPECT_EQ(out.line(),
              "PULSE OK - pulse_requests_per_second = 120.5 | "
              "'pulse_requests_per_second'=120.5;200;400;0;");
}

TEST(NagiosCheck, WarningAndCriticalFollowTheRanges) {
    EXPECT_EQ(check_signal(signals_doc(), spec("pulse_requests_per_second", "100", "200")).state,
              NagiosState::warning);
    EXPECT_EQ(check_signal(signals_doc(), spec("pulse_requests_per_second", "50", "100")).state,
              NagiosState::critical);
    // Inside ranges ('@') and lower bounds ('10:').
    EXPECT_EQ(check_signal(signals_doc(), spec("pulse_requests_per_second", "@100:130")).state,
              NagiosState::warning);
    EXPECT_EQ(check_signal(signals_doc(), spec("pulse_requests_per_second", nullptr, "500:")).state,
              NagiosState::critical);
}

TEST(NagiosCheck, SecondsCarryTheirUnitAndRatiosTheirMaximum) {
    auto p95 = check_signal(signals_doc(), spec("pulse_request_duration_p95_seconds", "0.5"));
    EXPECT_EQ(p95.line(),
              "PULSE OK - pulse_request_duration_p95_seconds = 0.25s | "
              "'pulse_request_duration_p95_seconds'=0.25s;0.5;;0;");
    auto ratio = check_signal(signals_doc(), spec("pulse_error_ratio", nullptr, "0.01"));
    EXPECT_EQ(ratio.state, NagiosState::critical);
    EXPECT_EQ(ratio.perfdata.at(0), "'pulse_error_ratio'=0.02;;0.01;0;1");
}

TEST(NagiosCheck, ServerLabelsAreQuotedAsTheGuidelinesSay) {
    CheckSpec s = spec("pulse_requests_per_second", "10");
    s.server = "it's=odd";
    auto out = check_signal(signals_doc(), s);
    EXPECT_EQ(out.state, NagiosState::warning);
    EXPECT_EQ(out.perfdata.at(0), "'pulse_requests_per_second:it''s_odd'=20.5;10;;0;");
    s.server = "nowhere";
    auto missing = check_signal(signals_doc(), s);
    EXPECT_EQ(missing.state, NagiosState::unknown);
    EXPECT_NE(missing.text.find("shop.example"), std::string::npos) << missing.text;
}

TEST(NagiosCheck, StaleOrOldNumbersAreUnknownNeverChecked) {
    json doc = signals_doc();
    doc["stale"] = true;
    doc["age_seconds"] = 7.5;
    doc["last_error"] = "scrape http://127.0.0.1:8080/metrics: connection refused";
    auto stale = check_signal(doc, spec("pulse_requests_per_second", "1000"));
    EXPECT_EQ(stale.state, NagiosState::unknown);
    EXPECT_NE(stale.text.find("connection refused"), std::string::npos) << stale.text;
    EXPECT_TRUE(stale.perfdata.empty());

    CheckSpec aged = spec("pulse_requests_per_second", "1000");
    aged.max_age_seconds = 0.2;
    auto old = check_signal(signals_doc(), aged);
    EXPECT_EQ(old.state, NagiosState::unknown);
    EXPECT_NE(old.text.find("--max-age"), std::string::npos) << old.text;

    doc["age_seconds"] = nullptr;
    EXPECT_EQ(check_signal(doc, spec("pulse_requests_per_second")).state, NagiosState::unknown);
}

TEST(NagiosCheck, ConfigSignalSeriesChosenByLabelTheWorstWins) {
    CheckSpec one = spec("pulse_jobs_waiting", "10", "40");
    one.labels = {{"job", "emails"}};
    auto emails = check_signal(signals_doc(), one);
    EXPECT_EQ(emails.line(),
              "PULSE OK - pulse_jobs_waiting{job=\"emails\"} = 3 | "
              "'pulse_jobs_waiting:job/emails'=3;10;40;;");
    auto all = check_signal(signals_doc(), spec("pulse_jobs_waiting", "10", "40"));
    EXPECT_EQ(all.state, NagiosState::critical);
    EXPECT_EQ(all.perfdata.size(), 2u);
    EXPECT_NE(all.text.find("thumbnails"), std::string::npos) << all.text;
    CheckSpec none = one;
    none.labels = {{"job", "videos"}};
    EXPECT_EQ(check_signal(signals_doc(), none).state, NagiosState::unknown);
}

TEST(NagiosCheck, AbsentSignalIsUnknownWithItsReasonNeverZero) {
    auto out = check_signal(signals_doc(), spec("pulse_queue_down", "10"));
    EXPECT_EQ(out.state, NagiosState::unknown);
    EXPECT_NE(out.text.find("source redis is down"), std::string::npos) << out.text;
    EXPECT_TRUE(out.perfdata.empty());
}

TEST(NagiosCheck, UnknownSignalsAndGarbageAreUnknown) {
    auto nosuch = check_signal(signals_doc(), spec("pulse_nope"));
    EXPECT_EQ(nosuch.state, NagiosState::unknown);
    EXPECT_NE(nosuch.text.find("pulse_jobs_waiting"), std::string::npos) << nosuch.text;
    EXPECT_EQ(check_signal(json::array(), spec("pulse_requests_per_second")).state,
              NagiosState::unknown);
    EXPECT_EQ(check_signal(json::parse(R"({"pod": 3, "age_seconds": 1})"),
                           spec("pulse_requests_per_second"))
                  .state,
              NagiosState::unknown);
}

TEST(NagiosCheck, StatusLineStaysOneLine) {
    auto out = check_ready(503, "not ready: a|b\nsecond line");
    EXPECT_EQ(out.state, NagiosState::critical);
    EXPECT_EQ(out.line(), "PULSE CRITICAL - not ready: a b");
}

TEST(NagiosCheck, ReadinessAndDrainState) {
    EXPECT_EQ(check_ready(200, "ready\n").line(), "PULSE OK - ready");
    EXPECT_EQ(check_ready(500, "").state, NagiosState::unknown);
    json doc = signals_doc();
    EXPECT_EQ(check_drain(doc).state, NagiosState::ok);
    doc["draining"] = true;
    EXPECT_EQ(check_drain(doc).line(), "PULSE WARNING - draining");
    EXPECT_EQ(check_drain(json::object()).state, NagiosState::unknown);
}

}  // namespace
