#include "signal_history.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace {

using pulse::sidecar::SignalHistory;

TEST(SignalHistory, AnHourAtTheScrapeIntervalAtMost3600Points) {
    EXPECT_EQ(SignalHistory(1).capacity(), 3600u);
    EXPECT_EQ(SignalHistory(10).capacity(), 360u);
    EXPECT_EQ(SignalHistory(0.2).capacity(), 3600u);  // bounded, not 18,000
}

TEST(SignalHistory, KeepsTheNewestPointsOldestFirst) {
    SignalHistory h(1, 5);  // 5 points
    for (int i = 0; i < 8; ++i) h.record(100 + i, {{"pod/rps", i * 10.0}});
    const auto j = h.to_json();
    EXPECT_EQ(j["times"], nlohmann::json({103, 104, 105, 106, 107}));
    EXPECT_EQ(j["series"]["pod/rps"], nlohmann::json({30.0, 40.0, 50.0, 60.0, 70.0}));
}

TEST(SignalHistory, AMissingOrNonFiniteValueIsAGapNeverTheLastNumber) {
    SignalHistory h(1, 4);
    h.record(1, {{"a", 1}, {"b", 2}});
    h.record(2, {{"a", 3}});  // b missing: stale
    h.record(3, {{"a", std::nan("")}, {"b", 4}});
    const auto j = h.to_json();
    EXPECT_EQ(j["series"]["a"], nlohmann::json({1.0, 3.0, nullptr}));
    EXPECT_EQ(j["series"]["b"], nlohmann::json({2.0, nullptr, 4.0}));
    // A series that starts late has gaps before it.
    h.record(4, {{"c", 5}});
    EXPECT_EQ(h.to_json()["series"]["c"], nlohmann::json({nullptr, nullptr, nullptr, 5.0}));
}

TEST(SignalHistory, SeriesPastTheBoundAreCountedNotKept) {
    SignalHistory h(1, 10, 2);
    h.record(1, {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}});
    const auto j = h.to_json();
    EXPECT_EQ(j["series"].size(), 2u);
    EXPECT_EQ(j["dropped_series"], 2);
    EXPECT_LE(h.bytes(), 10 * (8 + 2 * 4u));
}

}  // namespace
