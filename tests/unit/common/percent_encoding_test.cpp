#include "common/percent_encoding.h"

#include <gtest/gtest.h>

namespace {

using namespace pulse::common;

// In a query string: "+" is a space.
std::string query_decode(std::string_view s) {
    return percent_decode(s, Plus::space);
}

TEST(PercentDecode, QueryEscapes) {
    EXPECT_EQ(query_decode(""), "");
    EXPECT_EQ(query_decode("plain"), "plain");
    EXPECT_EQ(query_decode("%2A"), "*");
    EXPECT_EQ(query_decode("%2a"), "*");
    EXPECT_EQ(query_decode("a+b"), "a b");
    EXPECT_EQ(query_decode("%2B"), "+");  // an escaped plus is a plus
    EXPECT_EQ(query_decode("%41%42c"), "ABc");
    EXPECT_EQ(query_decode("%25"), "%");
    EXPECT_EQ(query_decode("%2541"), "%41");  // decoded once only
    EXPECT_EQ(query_decode("x%20y%20"), "x y ");
    EXPECT_EQ(query_decode("%FF"), std::string(1, '\xff'));
    EXPECT_EQ(query_decode("%00"), std::string(1, '\0'));
}

TEST(PercentDecode, MalformedEscapesStay) {
    EXPECT_EQ(query_decode("%"), "%");
    EXPECT_EQ(query_decode("a%"), "a%");
    EXPECT_EQ(query_decode("%4"), "%4");
    EXPECT_EQ(query_decode("a%4"), "a%4");
    EXPECT_EQ(query_decode("%zz"), "%zz");
    EXPECT_EQ(query_decode("%4z"), "%4z");
    EXPECT_EQ(query_decode("%z4"), "%z4");
    EXPECT_EQ(query_decode("%%41"), "%A");
    EXPECT_EQ(query_decode("%g0%41"), "%g0A");
    EXPECT_EQ(query_decode("100%"), "100%");
    // The characters after a malformed "%" are still decoded on their own.
    EXPECT_EQ(query_decode("%+"), "% ");
}

TEST(PercentDecode, InAPathPlusIsAPlus) {
    EXPECT_EQ(percent_decode("a+b"), "a+b");
    EXPECT_EQ(percent_decode("%2A"), "*");
    EXPECT_EQ(percent_decode("pods%2f%2A"), "pods/*");
    EXPECT_EQ(percent_decode("%zz+"), "%zz+");
}

TEST(PercentDecode, StrictRefusesMalformedEscapes) {
    EXPECT_EQ(percent_decode_strict(""), "");
    EXPECT_EQ(percent_decode_strict("us%40er+x"), "us@er+x");
    EXPECT_EQ(percent_decode_strict("%41%62"), "Ab");
    for (const char *bad : {"%", "a%", "%4", "%zz", "%4z", "%z4", "100%", "%%41"})
        EXPECT_FALSE(percent_decode_strict(bad)) << bad;
}

TEST(PercentEncode, KeepsOnlyUnreserved) {
    EXPECT_EQ(percent_encode(""), "");
    EXPECT_EQ(percent_encode("app=web,tier in (a,b)"), "app%3Dweb%2Ctier%20in%20%28a%2Cb%29");
    EXPECT_EQ(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
    EXPECT_EQ(percent_encode("x&y#z"), "x%26y%23z");
    EXPECT_EQ(percent_encode("a:b/c"), "a%3Ab%2Fc");
    EXPECT_EQ(percent_encode("a b~c"), "a%20b~c");
    EXPECT_EQ(percent_encode("+%"), "%2B%25");
    EXPECT_EQ(percent_encode(std::string("\xff\x00", 2)), "%FF%00");
}

TEST(PercentEncode, DecodesBackWhole) {
    std::string all;
    for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
    EXPECT_EQ(percent_decode(percent_encode(all)), all);
    EXPECT_EQ(percent_decode(percent_encode(all), Plus::space), all);
}

TEST(HexDigit, Values) {
    static_assert(hex_digit_value('0') == 0 && hex_digit_value('9') == 9);
    static_assert(hex_digit_value('a') == 10 && hex_digit_value('F') == 15);
    static_assert(hex_digit_value('g') == -1 && hex_digit_value('%') == -1);
}

}  // namespace
