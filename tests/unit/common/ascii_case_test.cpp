#include "common/ascii_case.h"

#include <gtest/gtest.h>

namespace {

using namespace pulse::common;

TEST(AsciiCase, Iequals) {
    static_assert(iequals("Content-Type", "content-type"));
    static_assert(iequals("", ""));
    EXPECT_TRUE(iequals("application/OpenMetrics-Text", "application/openmetrics-text"));
    EXPECT_TRUE(iequals("X-REMOTE-USER", "x-remote-user"));
    EXPECT_FALSE(iequals("Content-Typ", "content-type"));
    EXPECT_FALSE(iequals("Content-Types", "content-type"));
    EXPECT_FALSE(iequals("a", "b"));
    // Only A-Z fold: "@" (0x40) and "`" (0x60), "[" and "{" stay apart.
    EXPECT_FALSE(iequals("@", "`"));
    EXPECT_FALSE(iequals("[", "{"));
    // Bytes above ASCII compare as they are.
    EXPECT_TRUE(iequals("\xc3\xa9", "\xc3\xa9"));
    EXPECT_FALSE(iequals("\xc3\xa9", "\xc3\x89"));
}

TEST(AsciiCase, PrefixesAndSuffixes) {
    static_assert(istarts_with("Image/PNG", "image/"));
    EXPECT_TRUE(istarts_with("x", ""));
    EXPECT_FALSE(istarts_with("im", "image/"));
    EXPECT_TRUE(iends_with("vnd.api+JSON", "+json"));
    EXPECT_FALSE(iends_with("json", "+json"));
}

TEST(AsciiCase, Lowercase) {
    static_assert(to_lower('A') == 'a' && to_lower('z') == 'z' && to_lower('@') == '@');
    EXPECT_EQ(lowercase("MiXeD-Case 09_Z"), "mixed-case 09_z");
    EXPECT_EQ(lowercase(""), "");
    EXPECT_EQ(lowercase("\xc3\x89"), "\xc3\x89");
}

}  // namespace
