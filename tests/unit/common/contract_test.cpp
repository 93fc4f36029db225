// The contract tables of common/: families, labels, signals and the /signals fields keep
// the shape both programs rely on.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/families.h"
#include "common/labels.h"
#include "common/signals.h"
#include "common/signals_document.h"

namespace {

using namespace pulse::common;

TEST(Families, NamesAreUniqueAndLabelsFilled) {
    std::set<std::string_view> names;
    for (const FamilyInfo &f : kFamilies) {
        EXPECT_TRUE(names.insert(f.name).second) << f.name;
        EXPECT_GE(f.label_count, 1u) << f.name;
        EXPECT_LE(f.label_count, kMaxLabels) << f.name;
        for (std::size_t i = 0; i < kMaxLabels; ++i)
            EXPECT_EQ(f.labels[i].empty(), i >= f.label_count) << f.name << " " << i;
        // Counters name their samples with "_total"; the others never do.
        EXPECT_EQ(f.name.ends_with("_total"), f.type == MetricType::counter) << f.name;
    }
    for (const FamilyInfo *f :
         {&nginx_family::connections_accepted, &nginx_family::connections_handled,
          &nginx_family::connections, &nginx_family::connections_limit, &nginx_family::series,
          &nginx_family::series_limit, &nginx_family::series_dropped, &nginx_family::shm_bytes,
          &nginx_family::info}) {
        EXPECT_TRUE(names.insert(f->name).second) << f->name;
        EXPECT_EQ(f->name.ends_with("_total"), f->type == MetricType::counter) << f->name;
    }
}

TEST(Families, WhatTheSidecarReads) {
    EXPECT_EQ(info(Family::requests).name, "nginx_http_requests_total");
    EXPECT_EQ(info(Family::request_duration).type, MetricType::histogram);
    EXPECT_EQ(info(Family::request_duration).labels[0], label::server);
    EXPECT_EQ(info(Family::requests).labels[3], label::status);
    EXPECT_EQ(nginx_family::connections.labels[0], label::state);
    EXPECT_EQ(kOverflowLabel, "__overflow__");
}

TEST(Labels, ServerErrors) {
    static_assert(is_server_error_status("5xx"));
    EXPECT_TRUE(is_server_error_status("500"));
    EXPECT_TRUE(is_server_error_status("599"));
    for (const char *s : {"4xx", "2xx", "other", "404", "50", "5000", "5x", "5xxx", "5a0", ""})
        EXPECT_FALSE(is_server_error_status(s)) << s;
}

TEST(Signals, TableFacts) {
    std::set<std::string_view> names;
    for (const SignalInfo &s : kSignals) {
        EXPECT_TRUE(names.insert(s.name).second) << s.name;
        EXPECT_TRUE(s.name.starts_with("pulse_")) << s.name;
        EXPECT_EQ(&info(s.signal), &s);
        EXPECT_EQ(find_signal(s.name), &s);
        EXPECT_FALSE(s.unit.empty()) << s.name;
        EXPECT_FALSE(s.help.empty()) << s.name;
        if (s.name.ends_with("_seconds")) {
            EXPECT_EQ(s.unit, "seconds") << s.name;
        }
    }
    EXPECT_EQ(find_signal("pulse_nope"), nullptr);
    EXPECT_EQ(find_signal(""), nullptr);
}

TEST(Signals, ScopeTimingAndAggregation) {
    // Summed over pods: what adds up; the others take the worst pod.
    std::set<std::string_view> sum, instantaneous, pod_only;
    for (const SignalInfo &s : kSignals) {
        if (s.across_pods == Aggregation::sum) sum.insert(s.name);
        if (s.timing == Timing::instantaneous) instantaneous.insert(s.name);
        if (s.scope == Scope::pod) pod_only.insert(s.name);
    }
    EXPECT_EQ(sum,
              (std::set<std::string_view>{"pulse_requests_per_second", "pulse_requests_in_flight",
                                          "pulse_websocket_connections"}));
    EXPECT_EQ(instantaneous,
              (std::set<std::string_view>{"pulse_requests_in_flight", "pulse_websocket_connections",
                                          "pulse_connection_saturation"}));
    EXPECT_EQ(pod_only, (std::set<std::string_view>{"pulse_upstream_duration_p95_seconds",
                                                    "pulse_connection_saturation"}));
}

TEST(SignalsDocument, FieldNames) {
    // Readers outside pulse (dashboards, scripts, the docs) know these names.
    EXPECT_EQ(signals_field::timestamp_unix, "timestamp_unix");
    EXPECT_EQ(signals_field::stale, "stale");
    EXPECT_EQ(signals_field::config_signals, "config_signals");
    EXPECT_EQ(signals_field::absent_reason, "absent_reason");
}

}  // namespace
