#include "common/utf8.h"

#include <gtest/gtest.h>

namespace {

using namespace pulse::common;

TEST(Utf8, SequenceLengths) {
    static_assert(utf8_sequence_length("a") == 1);
    EXPECT_EQ(utf8_sequence_length(""), 0u);
    EXPECT_EQ(utf8_sequence_length("\xc3\xa9"), 2u);          // é
    EXPECT_EQ(utf8_sequence_length("\xe2\x82\xac"), 3u);      // €
    EXPECT_EQ(utf8_sequence_length("\xf0\x9f\x98\x80"), 4u);  // 😀
    EXPECT_EQ(utf8_sequence_length("\xc3"), 0u);              // cut short
    EXPECT_EQ(utf8_sequence_length("\x80"), 0u);              // a continuation byte
}

TEST(Utf8, AsGoSeesIt) {
    EXPECT_TRUE(valid_utf8(""));
    EXPECT_TRUE(valid_utf8("plain ascii"));
    EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
    EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong "/"
    EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
    EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(valid_utf8("\xff"));
    EXPECT_FALSE(valid_utf8("ok\xe2\x82"));  // cut short at the end
}

TEST(Utf8, LengthInCodePoints) {
    static_assert(utf8_length("caf\xc3\xa9") == 4);
    EXPECT_EQ(utf8_length(""), 0u);
    EXPECT_EQ(utf8_length("\xf0\x9f\x98\x80x"), 2u);
    EXPECT_EQ(utf8_length("a\xffz"), std::string_view::npos);
}

}  // namespace
