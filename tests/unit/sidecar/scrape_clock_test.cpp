#include "scrape_clock.h"

#include <gtest/gtest.h>

namespace {

using pulse::sidecar::ScrapeClock;

TEST(ScrapeClock, FirstScrapeKeepsItsStart) {
    ScrapeClock clock(1000);
    EXPECT_EQ(clock.stamp(1'000'123), 1'000'123);
}

TEST(ScrapeClock, StartsWithinTwoMillisecondsOfTheScheduleTakeTheSchedule) {
    ScrapeClock clock(1000);
    EXPECT_EQ(clock.stamp(5000), 5000);
    EXPECT_EQ(clock.stamp(6001), 6000);  // a timer a millisecond late
    EXPECT_EQ(clock.stamp(7002), 7000);  // two: the tolerance, inclusive
    EXPECT_EQ(clock.stamp(7998), 8000);  // early
    EXPECT_EQ(clock.stamp(9000), 9000);
}

TEST(ScrapeClock, LateStartsKeepTheirTimeAndBecomeTheSchedule) {
    ScrapeClock clock(1000);
    EXPECT_EQ(clock.stamp(5000), 5000);
    EXPECT_EQ(clock.stamp(6003), 6003);  // beyond the tolerance
    EXPECT_EQ(clock.stamp(7004), 7003);  // aligned to the new schedule
    EXPECT_EQ(clock.stamp(7997), 7997);  // three early: its own time
}

TEST(ScrapeClock, SkippedTicksAlignToTheTickTheScrapeFallsOn) {
    ScrapeClock clock(1000);
    EXPECT_EQ(clock.stamp(5000), 5000);
    EXPECT_EQ(clock.stamp(9001), 9000);  // three ticks missed (a slow target)
    EXPECT_EQ(clock.stamp(9600), 9600);  // off the schedule
}

TEST(ScrapeClock, ShortIntervalsAreNotAligned) {
    // Prometheus aligns only when the interval exceeds 100 times the tolerance.
    ScrapeClock clock(200);
    EXPECT_EQ(clock.stamp(1000), 1000);
    EXPECT_EQ(clock.stamp(1201), 1201);
    EXPECT_EQ(clock.stamp(1400), 1400);
}

TEST(ScrapeClock, TimeAlwaysGoesForwardEvenWhenTheWallClockStepsBack) {
    ScrapeClock clock(1000);
    EXPECT_EQ(clock.stamp(5000), 5000);
    EXPECT_EQ(clock.stamp(4000), 5001);  // the clock stepped back a second
    EXPECT_EQ(clock.stamp(4000), 5002);
    EXPECT_EQ(clock.stamp(6001), 6002);  // the schedule goes on from the last time given
}

}  // namespace
