// Histogram bucket bounds (ngx_module/core/buckets.h).
#include "core/buckets.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace pulse {
namespace {

struct GoodBound {
    std::string_view text;
    double value;
};

TEST(ParseBound, AcceptsDecimalIntegerAndExponentForms) {
    const GoodBound cases[] = {
        {"0.005", 0.005}, {"1", 1.0},   {"2.5e-3", 0.0025},
        {"0.25", 0.25},   {"10", 10.0}, {"1E2", 100.0},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.text));
        double out = -42;
        auto err = parse_bound(c.text, out);
        EXPECT_FALSE(err.has_value()) << *err;
        EXPECT_EQ(out, c.value);
    }
}

TEST(ParseBound, RejectsEmptyGarbageUnitsNonPositiveAndNonFinite) {
    const std::string_view cases[] = {"",    "abc", "1s",   "-1",    "0",     "-0",
                                      "0.0", "inf", "nan",  "1e999", "+Inf",  " 1",
                                      "1 ",  "1,5", "0x10", "-inf",  "1e-999"};
    for (auto text : cases) {
        SCOPED_TRACE(std::string(text));
        double out = 7.0;
        auto err = parse_bound(text, out);
        ASSERT_TRUE(err.has_value());
        EXPECT_FALSE(err->empty());
        EXPECT_EQ(out, 7.0) << "out must not change on error";
    }
}

TEST(ValidateBounds, AcceptsTheDefaultAndSingleAndMaximumLengthLists) {
    EXPECT_FALSE(validate_bounds(kDefaultBuckets).has_value());
    const double one[] = {0.1};
    EXPECT_FALSE(validate_bounds(one).has_value());
    std::vector<double> max;
    for (std::size_t i = 1; i <= kMaxBuckets; ++i) max.push_back(0.001 * static_cast<double>(i));
    EXPECT_FALSE(validate_bounds(max).has_value());
}

TEST(ValidateBounds, RejectsBadLists) {
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> too_many;
    for (std::size_t i = 1; i <= kMaxBuckets + 1; ++i) {
        too_many.push_back(0.001 * static_cast<double>(i));
    }
    const std::vector<std::vector<double>> cases = {
        {},                  // empty
        {0.5, 0.1},          // decreasing
        {0.1, 0.5, 0.2},     // not increasing at the end
        {0.1, 0.1},          // equal neighbours
        {0.1, 0.5, 0.5, 1},  // equal neighbours inside
        {0, 0.1},            // not positive
        {-1, 0.1},           // negative
        {0.1, inf},          // not finite
        {nan},               // not a number
        {0.1, nan, 0.2},     // not a number inside
        too_many,            // > kMaxBuckets
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE(i);
        auto err = validate_bounds(cases[i]);
        ASSERT_TRUE(err.has_value());
        EXPECT_FALSE(err->empty());
    }
}

TEST(MillisecondThresholds, RoundsBinaryNearWholeMillisecondsAndFloorsTheRest) {
    const double bounds[] = {0.005, 0.57, 0.29, 1, 2.5, 0.0005};
    EXPECT_EQ(millisecond_thresholds(bounds),
              (std::vector<std::uint64_t>{5, 570, 290, 1000, 2500, 0}));
}

TEST(MillisecondThresholds, BoundsWhoseBinaryProductFallsJustBelowAWholeNumber) {
    // (0.57 * 1000.0 happens to round to exactly 570.0 in IEEE double; these do not.)
    struct Case {
        double bound;
        std::uint64_t ms;
    };
    const Case cases[] = {{1.001, 1001}, {2.01, 2010}, {4.02, 4020}, {8.11, 8110}, {0.57, 570}};
    for (const auto &c : cases) {
        SCOPED_TRACE(c.bound);
        if (c.bound != 0.57) {
            ASSERT_LT(c.bound * 1000.0, static_cast<double>(c.ms)) << "premise of the case";
        }
        const double b[] = {c.bound};
        EXPECT_EQ(millisecond_thresholds(b).at(0), c.ms);
    }
}

TEST(MillisecondThresholds, DefaultBucketsAndFractionalMilliseconds) {
    EXPECT_EQ(millisecond_thresholds(kDefaultBuckets),
              (std::vector<std::uint64_t>{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}));
    // A bound between two whole milliseconds: ms <= 1.5 means ms <= 1.
    const double frac[] = {0.0015, 0.0999, 0.1234567};
    EXPECT_EQ(millisecond_thresholds(frac), (std::vector<std::uint64_t>{1, 99, 123}));
    // Every n/1000 for n in 1..100000 maps to n exactly (the 0.57 class of problem).
    for (std::uint64_t n = 1; n <= 100000; ++n) {
        const double b[] = {static_cast<double>(n) / 1000.0};
        ASSERT_EQ(millisecond_thresholds(b).at(0), n) << "bound " << b[0];
    }
}

TEST(MillisecondThresholds, HugeBoundSaturates) {
    const double b[] = {1e300};
    EXPECT_EQ(millisecond_thresholds(b).at(0), UINT64_MAX);
}

struct IndexCase {
    std::uint64_t ms;
    std::size_t index;
};

TEST(BucketIndex, ObservationEqualToThresholdGoesInThatBucketAndAboveAllIsInf) {
    const std::vector<std::uint64_t> t = {5, 10, 25, 1000};
    const IndexCase cases[] = {
        {0, 0},  {5, 0},  {6, 1},    {10, 1},   {11, 2},
        {25, 2}, {26, 3}, {1000, 3}, {1001, 4}, {UINT64_MAX, 4},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.ms);
        EXPECT_EQ(bucket_index(t, c.ms), c.index);
    }
}

TEST(BucketIndex, ZeroThresholdAndEmptyList) {
    const std::vector<std::uint64_t> t = {0, 1};
    EXPECT_EQ(bucket_index(t, 0), 0u);
    EXPECT_EQ(bucket_index(t, 1), 1u);
    EXPECT_EQ(bucket_index(t, 2), 2u);
    EXPECT_EQ(bucket_index({}, 0), 0u);
    EXPECT_EQ(bucket_index({}, 12345), 0u);
}

}  // namespace
}  // namespace pulse
