#include "common/rfc3339.h"

#include <gtest/gtest.h>

namespace {

using namespace pulse::common;

constexpr double kT0 = 1612325106;  // 2021-02-03T04:05:06Z

TEST(Rfc3339, ParsesAsMetaV1TimeWritesIt) {
    EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0.0);
    EXPECT_EQ(parse_rfc3339("2021-02-03T04:05:06Z"), kT0);
    EXPECT_EQ(parse_rfc3339("2021-02-03T04:05:06.5Z"), kT0 + 0.5);
    EXPECT_EQ(parse_rfc3339("2021-02-03T05:05:06+01:00"), kT0);
    EXPECT_EQ(parse_rfc3339("2021-02-03T03:35:06-00:30"), kT0);
    EXPECT_EQ(parse_rfc3339("2024-02-29T23:59:59Z"), 1709251199.0);
    EXPECT_EQ(parse_rfc3339("0001-01-01T00:00:00Z"), -62135596800.0);
    for (const char *bad :
         {"", "2021-02-03", "2021-02-03T04:05:06", "2021-02-03 04:05:06Z", "2021-02-30T04:05:06Z",
          "2021-13-03T04:05:06Z", "2021-02-03T24:05:06Z", "2021-02-03T04:05:60Z",
          "2021-02-03T04:05:06.Z", "2021-02-03T04:05:06+1", "2021-02-03T04:05:06Zjunk", "yesterday",
          "2023-02-29T00:00:00Z", "2021-02-03t04:05:06z"})
        EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(Rfc3339, FormatsUtcWholeSecondsRoundedDown) {
    EXPECT_EQ(format_rfc3339(kT0), "2021-02-03T04:05:06Z");
    EXPECT_EQ(format_rfc3339(kT0 + 0.999), "2021-02-03T04:05:06Z");
    EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    EXPECT_EQ(format_rfc3339(-62135596800.0), "0001-01-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339(1709251199), "2024-02-29T23:59:59Z");
    EXPECT_EQ(format_rfc3339(1795772400.999), "2026-11-27T09:40:00Z");
    EXPECT_EQ(format_rfc3339(951782400), "2000-02-29T00:00:00Z");
}

TEST(Rfc3339, FormatsMillisecondsRoundedDown) {
    EXPECT_EQ(format_rfc3339(1795772400.25, Fraction::milliseconds), "2026-11-27T09:40:00.250Z");
    EXPECT_EQ(format_rfc3339(kT0, Fraction::milliseconds), "2021-02-03T04:05:06.000Z");
    EXPECT_EQ(format_rfc3339(kT0 + 0.9999, Fraction::milliseconds), "2021-02-03T04:05:06.999Z");
    EXPECT_EQ(format_rfc3339(-0.5, Fraction::milliseconds), "1969-12-31T23:59:59.500Z");
}

TEST(Rfc3339, NonFiniteIsTheEpoch) {
    EXPECT_EQ(format_rfc3339(std::nan("")), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339(HUGE_VAL, Fraction::milliseconds), "1970-01-01T00:00:00.000Z");
}

TEST(Rfc3339, RoundTrips) {
    for (double t : {0.0, kT0, -1.0, 1709251199.0, -62135596800.0, 253402300799.0})
        EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t) << t;
}

TEST(Rfc3339, CalendarIsConstexpr) {
    static_assert(days_from_civil(1970, 1, 1) == 0);
    static_assert(days_from_civil(2000, 3, 1) == 11017);
    static_assert(civil_from_days(11017).year == 2000 && civil_from_days(11017).month == 3 &&
                  civil_from_days(11017).day == 1);
    static_assert(civil_from_days(-1).year == 1969 && civil_from_days(-1).day == 31);
    static_assert(days_in_month(2024, 2) == 29 && days_in_month(1900, 2) == 28 &&
                  days_in_month(2000, 2) == 29 && days_in_month(2023, 4) == 30);
    for (std::int64_t d = -800000; d <= 800000; d += 997) {
        const CivilDate c = civil_from_days(d);
        EXPECT_EQ(days_from_civil(c.year, c.month, c.day), d);
    }
}

}  // namespace
