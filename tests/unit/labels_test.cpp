// Label values and series keys (ngx_module/core/labels.h).
#include "core/labels.h"

#include <gtest/gtest.h>

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {
namespace {

using namespace std::literals;

// ---------------------------------------------------------------------------------------
// Methods

struct MethodCase {
    std::string_view name;
    Method method;
};

TEST(MethodLabel, EveryStandardMethodByNameAnythingElseOther) {
    const MethodCase cases[] = {
        {"GET", Method::get},         {"HEAD", Method::head},       {"POST", Method::post},
        {"PUT", Method::put},         {"DELETE", Method::del},      {"PATCH", Method::patch},
        {"OPTIONS", Method::options}, {"CONNECT", Method::connect}, {"TRACE", Method::trace},
        {"OTHER", Method::other},
    };
    static_assert(std::size(cases) == kMethodCount);
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.name));
        EXPECT_EQ(method_label(c.method), c.name);
    }
}

// ---------------------------------------------------------------------------------------
// Status

struct StatusCase {
    unsigned status;
    std::size_t class_index;
    std::string_view class_label;
    std::string_view exact_label;
};

TEST(StatusLabel, ClassAndExactModesForEdgesAndOutOfRangeValues) {
    const StatusCase cases[] = {
        {100, 0, "1xx", "100"},     {199, 0, "1xx", "199"},    {200, 1, "2xx", "200"},
        {404, 3, "4xx", "404"},     {499, 3, "4xx", "499"},    {599, 4, "5xx", "599"},
        {0, 5, "other", "other"},   {99, 5, "other", "other"}, {600, 5, "other", "other"},
        {999, 5, "other", "other"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.status);
        EXPECT_EQ(status_class_index(c.status), c.class_index);
        EXPECT_EQ(status_class_label(c.class_index), c.class_label);
        EXPECT_EQ(status_label(c.status, /*exact=*/false), c.class_label);
        EXPECT_EQ(status_label(c.status, /*exact=*/true), c.exact_label);
    }
}

TEST(StatusLabel, ClassIndexIsAlwaysBelowClassCount) {
    for (unsigned s = 0; s < 2000; ++s) {
        ASSERT_LT(status_class_index(s), kStatusClassCount) << s;
    }
    EXPECT_LT(status_class_index(~0u), kStatusClassCount);
}

// ---------------------------------------------------------------------------------------
// Locations

struct LocationCase {
    LocationKind kind;
    std::string_view name;
    std::string_view label;
};

TEST(LocationLabel, EachKindIsWrittenAsInTheConfiguration) {
    const LocationCase cases[] = {
        {LocationKind::prefix, "/", "/"},
        {LocationKind::prefix, "/static/", "/static/"},
        {LocationKind::exact, "/metrics", "= /metrics"},
        {LocationKind::no_regex, "/static/", "^~ /static/"},
        {LocationKind::regex, "\\.php$", "~ \\.php$"},
        {LocationKind::regex_caseless, "\\.png$", "~* \\.png$"},
        {LocationKind::named, "@fallback", "@fallback"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.label));
        EXPECT_EQ(location_label(c.kind, c.name), c.label);
    }
    EXPECT_EQ(kNoLocationLabel, "-");
}

// ---------------------------------------------------------------------------------------
// Series keys

std::vector<std::string> as_strings(const std::vector<std::string_view> &v) {
    return {v.begin(), v.end()};
}

TEST(SeriesKey, RoundTripsValuesWithAnyBytes) {
    const std::string nul_inside("a\0b"sv);
    const std::string only_nuls("\0\0\0"sv);
    const std::string quotes = "say \"hi\" \\ 'there'";
    const std::string high_bytes = "\xff\xfe\x80\x00\x01"s;
    const std::string len_lookalike("\x00\x05hello"sv);  // looks like an encoded value itself

    const std::vector<std::vector<std::string>> cases = {
        {"server", "location", "GET", "2xx"},
        {""},
        {"", "", "", ""},
        {nul_inside, quotes},
        {only_nuls, "", high_bytes},
        {len_lookalike, len_lookalike},
        {std::string(255, 'x'), std::string(256, 'y'), std::string(65535, 'z')},
    };
    for (const auto &values : cases) {
        const std::vector<std::string_view> views(values.begin(), values.end());
        std::string key = encode_key(views);
        std::size_t expected_size = 0;
        for (const auto &v : values) expected_size += 2 + v.size();
        EXPECT_EQ(key.size(), expected_size);
        EXPECT_EQ(as_strings(decode_key(key)), values);
    }
}

TEST(SeriesKey, ASpanOfAnyLengthEncodesAsTheListOfTheSameValues) {
    EXPECT_EQ(encode_key(std::span<const std::string_view>{}), "");
    EXPECT_EQ(encode_key(std::vector<std::string_view>{"a"}), encode_key({"a"}));
    EXPECT_EQ(encode_key(std::vector<std::string_view>{"srv", "/loc/", "GET", "2xx"}),
              encode_key({"srv", "/loc/", "GET", "2xx"}));
    // Values after a fixed prefix, as a status counter's key is built: one encoder
    // whatever the number of values.
    std::vector<std::string_view> values;
    std::string expected;
    for (int n = 0; n < 12; ++n) {
        SCOPED_TRACE(n);
        EXPECT_EQ(encode_key(values), expected);
        EXPECT_EQ(decode_key(encode_key(values)), values);
        values.push_back(n % 3 == 0 ? ""sv : n % 3 == 1 ? "upstream:8080"sv : "5xx"sv);
        expected += encode_key({values.back()});
    }
    // A sub-span encodes only its own values.
    const std::string_view four[] = {"a", "b", "c", "d"};
    EXPECT_EQ(encode_key(std::span<const std::string_view>(four).subspan(1, 2)),
              encode_key({"b", "c"}));
}

TEST(SeriesKey, NeighboursCannotBeConfused) {
    // Plain concatenation would make these equal.
    EXPECT_NE(encode_key({"ab", "c"}), encode_key({"a", "bc"}));
    EXPECT_NE(encode_key({"", "x"}), encode_key({"x", ""}));
    EXPECT_NE(encode_key({""}), encode_key({"", ""}));
}

TEST(SeriesKey, EncodesLengthBigEndianInTwoBytes) {
    EXPECT_EQ(encode_key({"abc"}), std::string("\x00\x03"
                                               "abc"sv));
    std::string v(0x1234, 'q');
    std::string key = encode_key({v});
    ASSERT_EQ(key.size(), 2u + 0x1234);
    EXPECT_EQ(static_cast<unsigned char>(key[0]), 0x12);
    EXPECT_EQ(static_cast<unsigned char>(key[1]), 0x34);
}

TEST(SeriesKey, ValueLongerThan65535BytesIsTruncatedTo65535) {
    std::string big(70000, 'v');
    big[65534] = 'L';  // last kept byte
    big[65535] = 'X';  // first dropped byte
    std::string key = encode_key({"before", big, "after"});
    auto values = decode_key(key);
    ASSERT_EQ(values.size(), 3u);
    EXPECT_EQ(values[0], "before");
    ASSERT_EQ(values[1].size(), 65535u);
    EXPECT_EQ(values[1], std::string_view(big).substr(0, 65535));
    EXPECT_EQ(values[1].back(), 'L');
    EXPECT_EQ(values[2], "after");
}

TEST(SeriesKey, EmptyKeyDecodesToNoValues) {
    EXPECT_TRUE(decode_key("").empty());
}

TEST(SeriesKey, DecodeThrowsOnTruncatedInput) {
    const std::string good = encode_key({"server", "location"});
    // Every strict prefix that does not end on a value boundary is truncated.
    const std::size_t boundaries[] = {0, 2 + 6, good.size()};
    for (std::size_t n = 1; n < good.size(); ++n) {
        bool boundary = false;
        for (auto b : boundaries) boundary |= (b == n);
        SCOPED_TRACE(n);
        if (boundary) {
            EXPECT_NO_THROW(decode_key(std::string_view(good).substr(0, n)));
        } else {
            EXPECT_THROW(decode_key(std::string_view(good).substr(0, n)), std::invalid_argument);
        }
    }
    EXPECT_THROW(decode_key("\x00"sv), std::invalid_argument);  // half a length
    EXPECT_THROW(decode_key("\x00\x05"
                            "abc"sv),
                 std::invalid_argument);                            // short value
    EXPECT_THROW(decode_key("\xff\xff"sv), std::invalid_argument);  // 65535 promised
}

}  // namespace
}  // namespace pulse
