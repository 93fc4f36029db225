#include "common/trim.h"

#include <gtest/gtest.h>

namespace {

using pulse::common::trim;

TEST(Trim, SpacesAndTabsByDefault) {
    static_assert(trim(" \t a b \t ") == "a b");
    EXPECT_EQ(trim(""), "");
    EXPECT_EQ(trim(" \t "), "");
    EXPECT_EQ(trim("x"), "x");
    EXPECT_EQ(trim("q=0.5 "), "q=0.5");
    // Other white space is content unless asked for.
    EXPECT_EQ(trim("\r\nx\r\n"), "\r\nx\r\n");
    EXPECT_EQ(trim(" x\r", " \t\r"), "x");
}

TEST(Trim, ViewsIntoTheText) {
    std::string_view text = "  abc  ";
    EXPECT_EQ(trim(text).data(), text.data() + 2);
    EXPECT_TRUE(trim("   ").empty());
}

}  // namespace
