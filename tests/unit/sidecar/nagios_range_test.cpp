#include "nagios_range.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace {

using pulse::sidecar::NagiosRange;
using pulse::sidecar::parse_nagios_range;

NagiosRange range(const char *text) {
    std::string error;
    auto r = parse_nagios_range(text, &error);
    EXPECT_TRUE(r) << text << ": " << error;
    return r.value_or(NagiosRange{});
}

// The table of the Monitoring Plugins Development Guidelines, one row a test.
TEST(NagiosRange, BareNumberAlertsOutsideZeroToIt) {
    const NagiosRange r = range("10");
    EXPECT_TRUE(r.alerts(-1));
    EXPECT_FALSE(r.alerts(0));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_TRUE(r.alerts(10.5));
}

TEST(NagiosRange, StartColonAlertsBelowStart) {
    const NagiosRange r = range("10:");
    EXPECT_TRUE(r.alerts(9.99));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_FALSE(r.alerts(1e300));
}

TEST(NagiosRange, TildeStartAlertsAboveEnd) {
    const NagiosRange r = range("~:10");
    EXPECT_FALSE(r.alerts(-1e300));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_TRUE(r.alerts(11));
}

TEST(NagiosRange, StartEndAlertsOutside) {
    const NagiosRange r = range("10:20");
    EXPECT_TRUE(r.alerts(9));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_FALSE(r.alerts(20));
    EXPECT_TRUE(r.alerts(21));
}

TEST(NagiosRange, AtAlertsInsideEndsIncluded) {
    const NagiosRange r = range("@10:20");
    EXPECT_FALSE(r.alerts(9));
    EXPECT_TRUE(r.alerts(10));
    EXPECT_TRUE(r.alerts(15));
    EXPECT_TRUE(r.alerts(20));
    EXPECT_FALSE(r.alerts(20.01));
}

TEST(NagiosRange, MissingStartIsZeroAndNegativesAndDecimalsRead) {
    const NagiosRange r = range(":5");
    EXPECT_TRUE(r.alerts(-0.1));
    EXPECT_FALSE(r.alerts(5));
    const NagiosRange n = range("-2.5:-1");
    EXPECT_TRUE(n.alerts(-3));
    EXPECT_FALSE(n.alerts(-2));
    EXPECT_TRUE(n.alerts(0));
    const NagiosRange at = range("@~:0");  // alert at or below zero
    EXPECT_TRUE(at.alerts(-5));
    EXPECT_TRUE(at.alerts(0));
    EXPECT_FALSE(at.alerts(0.001));
}

TEST(NagiosRange, NotANumberAlwaysAlerts) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_TRUE(range("10").alerts(nan));
    EXPECT_TRUE(range("@10:20").alerts(nan));
}

TEST(NagiosRange, KeepsTheTextForPerformanceData) {
    EXPECT_EQ(range("@10:20").text, "@10:20");
    EXPECT_EQ(range("~:10").text, "~:10");
}

TEST(NagiosRange, BadRangesSayWhy) {
    for (const char *bad : {"", "@", "abc", "10:abc", "x:10", "20:10", "@20:10", "1e999",
                            "10::", "nan", "inf", "~", "~:~", "10 "}) {
        std::string error;
        EXPECT_FALSE(parse_nagios_range(bad, &error)) << bad;
        EXPECT_NE(error.find("threshold"), std::string::npos) << bad << ": " << error;
    }
}

}  // namespace
