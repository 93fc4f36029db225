// Kubernetes quantities as the HPA controller reads them (ParseQuantity(s).MilliValue()) and
// writes them (NewMilliQuantity(v, DecimalSI).String()). The expected values were produced by
// apimachinery 1.20's resource package itself (Go 1.19, amd64), string for string.
#include "hpa/quantity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace {

using pulse::hpa::format_milli;
using pulse::hpa::parse_quantity;

constexpr const char *kFormatError =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

struct MilliCase {
    const char *text;
    std::int64_t milli;
};

void expect_milli(const MilliCase &c) {
    const auto r = parse_quantity(c.text);
    EXPECT_TRUE(r.ok) << "'" << c.text << "': " << r.error;
    EXPECT_EQ(r.milli, c.milli) << "'" << c.text << "'";
}

void expect_error(const char *text, const std::string &error) {
    const auto r = parse_quantity(text);
    EXPECT_FALSE(r.ok) << "'" << text << "' parsed as " << r.milli;
    EXPECT_EQ(r.error, error) << "'" << text << "'";
}

TEST(HpaQuantity, ParsesTheCommonForms) {
    for (const MilliCase &c : {
             MilliCase{"500m", 500},
             {"1", 1000},
             {"1.5", 1500},
             {"2Ki", 2048000},
             {"1Gi", 1073741824000},
             {"1Mi", 1048576000},
             {"1e3", 1000000},
             {"1E3", 1000000},
             {"1k", 1000000},
             {"100M", 100000000000},
             {"0.1", 100},
             {"-5", -5000},
             {"+2", 2000},
             {"1.0", 1000},
             {"1.25", 1250},
             {"1.5e3", 1500000},
             {"2e-1", 200},
             {"12345m", 12345},
         }) {
        expect_milli(c);
    }
}

TEST(HpaQuantity, ZeroInItsManySpellings) {
    for (const char *text : {"0", "0.0", "000", "0m", ".", "-", "+", "0Ki", "0e5"}) {
        expect_milli({text, 0});
    }
}

TEST(HpaQuantity, NumbersWithoutOneSideOfThePoint) {
    expect_milli({".5", 500});
    expect_milli({"5.", 5000});
    expect_milli({"1.Ki", 1024000});
}

TEST(HpaQuantity, RoundsUpBelowOneMilli) {
    // MilliValue() is ScaledValue(Milli), which never rounds a non-zero amount down to zero
    for (const MilliCase &c : {
             MilliCase{"1m", 1},
             {"0.1m", 1},
             {"0.5m", 1},
             {"1.0001m", 2},
             {"100u", 1},
             {"1u", 1},
             {"1n", 1},
             {"999999n", 1},
             {"1000001n", 2},
             {"1e-3", 1},
             {"1e-4", 1},
             {"12.3456789012345678901", 12346},
         }) {
        expect_milli(c);
    }
}

TEST(HpaQuantity, ScalesBelowNanoAreRoundedToNanoFirst) {
    expect_milli({"1e-10", 1});
    expect_milli({"0.0000000001", 1});
}

TEST(HpaQuantity, NegativeFractionsRoundAwayFromZeroOnTheInt64Path) {
    expect_milli({"-1.5m", -2});
    expect_milli({"-0.5m", -1});
}

TEST(HpaQuantity, NegativeFractionsOnTheDecimalPathGoOneAboveTheCeiling) {
    // more than nine decimals: the arbitrary-precision path, rounded to -2n, then the
    // truncated quotient plus one
    expect_milli({"-0.0000000015", 1});
}

TEST(HpaQuantity, FractionalBinarySuffixes) {
    expect_milli({"1.5Gi", 1610612736000});
    expect_milli({"0.5Ki", 512000});
    expect_milli({"1.1Ki", 1126400});
    expect_milli({"-1.5Gi", -1610612736000});
}

TEST(HpaQuantity, TheExponentIsAnInt32) {
    // 4294967296 wraps to 0, as the Go conversion does
    expect_milli({"1e4294967296", 1000});
}

TEST(HpaQuantity, TheLargestMilliValues) {
    expect_milli({"9223372036854775m", 9223372036854775});
    expect_milli({"9223372036854775807m", std::numeric_limits<std::int64_t>::max()});
}

TEST(HpaQuantity, ValuesBeyondInt64MilliUnitsAreRefused) {
    // MilliValue() wraps or answers 0 for these ("1E" is 0, "1Ei" the most negative int64)
    for (const char *text : {"1E", "1Ei", "8Ei", "123456789012345678", "1e100", "-1e100",
                             "9223372036854775808m", "-9223372036854775807u"}) {
        const auto r = parse_quantity(text);
        EXPECT_FALSE(r.ok) << text;
        EXPECT_NE(r.error.find("out of range"), std::string::npos) << text << ": " << r.error;
    }
}

TEST(HpaQuantity, MalformedTextIsRefusedWithParseQuantitysErrors) {
    expect_error("", kFormatError);
    expect_error("1 ", kFormatError);
    expect_error(" 1", kFormatError);
    expect_error("abc", kFormatError);
    expect_error("1..5", kFormatError);
    expect_error("1e3.5", kFormatError);
    expect_error("1K", "unable to parse quantity's suffix");
    expect_error("1mi", "unable to parse quantity's suffix");
    expect_error("1e", "unable to parse quantity's suffix");
    expect_error("1ee3", "unable to parse quantity's suffix");
    expect_error("1e+", "unable to parse quantity's suffix");
    expect_error("--1", "unable to parse quantity's suffix");
    expect_error("+.e-10", "unable to parse numeric part of quantity");
    expect_error("-.e-10", "unable to parse numeric part of quantity");
}

TEST(HpaQuantity, FormatsAsTheControllerWritesStatus) {
    EXPECT_EQ(format_milli(0), "0");
    EXPECT_EQ(format_milli(1), "1m");
    EXPECT_EQ(format_milli(10), "10m");
    EXPECT_EQ(format_milli(120), "120m");
    EXPECT_EQ(format_milli(500), "500m");
    EXPECT_EQ(format_milli(1000), "1");
    EXPECT_EQ(format_milli(1200), "1200m");
    EXPECT_EQ(format_milli(1500), "1500m");
    EXPECT_EQ(format_milli(2000), "2");
    EXPECT_EQ(format_milli(6667), "6667m");
    EXPECT_EQ(format_milli(100000), "100");
    EXPECT_EQ(format_milli(1000000), "1k");
    EXPECT_EQ(format_milli(1500000), "1500");
    EXPECT_EQ(format_milli(-250), "-250m");
    EXPECT_EQ(format_milli(2000000000000), "2G");
    EXPECT_EQ(format_milli(std::numeric_limits<std::int64_t>::max()), "9223372036854775807m");
    EXPECT_EQ(format_milli(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808m");
}

TEST(HpaQuantity, FormatThenParseIsTheIdentity) {
    for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{999}, std::int64_t{1000},
                           std::int64_t{1001}, std::int64_t{123456789}, std::int64_t{-42},
                           std::int64_t{5000000000000}}) {
        const auto r = parse_quantity(format_milli(v));
        ASSERT_TRUE(r.ok) << v;
        EXPECT_EQ(r.milli, v);
    }
}

}  // namespace
