// Label escaping, numbers, format negotiation and the writer (ngx_module/core/exposition.h).
#include "core/exposition.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

namespace pulse {
namespace {

using namespace std::literals;

constexpr std::string_view kReplacement = "\xef\xbf\xbd";

std::string escaped(std::string_view v) {
    std::string out;
    append_escaped_label_value(out, v);
    return out;
}

// A strict UTF-8 check (no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        bool overlong = (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
        if (overlong) return false;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

// ---------------------------------------------------------------------------------------
// Label values

struct EscapeCase {
    std::string_view in;
    std::string_view out;
};

TEST(EscapeLabelValue, BackslashQuoteAndNewlineAreEscapedOtherAsciiKept) {
    const EscapeCase cases[] = {
        {"", ""},
        {"plain /path?x=1", "plain /path?x=1"},
        {"a\\b", "a\\\\b"},
        {"say \"hi\"", "say \\\"hi\\\""},
        {"line1\nline2", "line1\\nline2"},
        {"\\\"\n", "\\\\\\\"\\n"},
        {"\\n", "\\\\n"},  // a literal backslash-n stays distinguishable from a newline
        {"tab\there\rcr", "tab\there\rcr"},
        {"nul\0inside"sv, "nul\0inside"sv},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.in));
        EXPECT_EQ(escaped(c.in), c.out);
    }
}

TEST(EscapeLabelValue, AppendsToExistingText) {
    std::string out = "x=\"";
    append_escaped_label_value(out, "a\"b");
    EXPECT_EQ(out, "x=\"a\\\"b");
}

TEST(EscapeLabelValue, ValidMultiByteUtf8IsKept) {
    const std::string_view cases[] = {
        "caf\xc3\xa9",                   // é (2 bytes)
        "\xe6\x97\xa5\xe6\x9c\xac",      // 日本 (3 bytes each)
        "\xf0\x9f\x98\x80",              // 😀 (4 bytes)
        "\xef\xbf\xbd",                  // U+FFFD itself
        "\xed\x9f\xbf",                  // U+D7FF, just below the surrogates
        "\xee\x80\x80",                  // U+E000, just above them
        "\xf4\x8f\xbf\xbf",              // U+10FFFF, the last code point
        "\xc2\x80\xdf\xbf\xe0\xa0\x80",  // smallest 2- and 3-byte forms
    };
    for (auto v : cases) {
        SCOPED_TRACE(std::string(v));
        EXPECT_EQ(escaped(v), v);
    }
}

struct InvalidCase {
    const char *what;
    std::string_view bytes;
};

TEST(EscapeLabelValue, InvalidSequencesBecomeReplacementCharacters) {
    const InvalidCase cases[] = {
        {"lone 0xff", "\xff"},
        {"truncated 3-byte", "\xe2\x82"},
        {"overlong slash", "\xc0\xaf"},
        {"surrogate U+D800", "\xed\xa0\x80"},
        {"lone continuation", "\x80"},
        {"above U+10FFFF", "\xf4\x90\x80\x80"},
        {"overlong 3-byte", "\xe0\x80\xaf"},
        {"truncated 4-byte", "\xf0\x9f\x98"},
        {"0xfe", "\xfe"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.what);
        // In the middle of valid text: the neighbours survive, the bad bytes become one or
        // more U+FFFD and nothing else.
        std::string in = "a" + std::string(c.bytes) + "b";
        std::string out = escaped(in);
        EXPECT_TRUE(valid_utf8(out));
        ASSERT_GE(out.size(), 2 + kReplacement.size());
        EXPECT_EQ(out.front(), 'a');
        EXPECT_EQ(out.back(), 'b');
        std::string_view middle = std::string_view(out).substr(1, out.size() - 2);
        ASSERT_EQ(middle.size() % kReplacement.size(), 0u) << middle;
        for (std::size_t i = 0; i < middle.size(); i += kReplacement.size()) {
            EXPECT_EQ(middle.substr(i, kReplacement.size()), kReplacement);
        }
        // Never more replacements than bad bytes.
        EXPECT_LE(middle.size() / kReplacement.size(), c.bytes.size());
    }
}

TEST(EscapeLabelValue, LoneInvalidByteIsExactlyOneReplacement) {
    EXPECT_EQ(escaped("\xff"), std::string(kReplacement));
    EXPECT_EQ(escaped("x\xffy"), "x" + std::string(kReplacement) + "y");
    // A bad lead byte must not swallow a following valid character or an escape.
    EXPECT_EQ(escaped("\xe2\""), std::string(kReplacement) + "\\\"");
    EXPECT_EQ(escaped("\xc3\xc3\xa9"), std::string(kReplacement) + "\xc3\xa9");
}

TEST(EscapeLabelValue, EveryByteStringOfLengthTwoComesOutValid) {
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            const char in[2] = {static_cast<char>(a), static_cast<char>(b)};
            std::string out = escaped(std::string_view(in, 2));
            ASSERT_TRUE(valid_utf8(out)) << a << "," << b;
            ASSERT_EQ(out.find('\n'), std::string::npos);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Numbers

std::string number(double v) {
    std::string out;
    append_number(out, v);
    return out;
}

TEST(AppendNumber, FormatsSpecialAndSimpleValues) {
    EXPECT_EQ(number(0.0), "0");
    EXPECT_EQ(number(1.0), "1");
    EXPECT_EQ(number(0.1), "0.1");
    EXPECT_EQ(number(2.5), "2.5");
    EXPECT_EQ(number(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(number(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(number(std::numeric_limits<double>::quiet_NaN()), "NaN");
    std::string u;
    append_number(u, std::uint64_t{18446744073709551615ULL});
    EXPECT_EQ(u, "18446744073709551615");
}

TEST(AppendNumber, RoundTripsThroughStrtod) {
    const double cases[] = {0.0,
                            1.0,
                            0.1,
                            1e-9,
                            1e21,
                            0.005,
                            0.57,
                            123456789.125,
                            -2.5,
                            1.0 / 3,
                            5e-324,
                            1.7976931348623157e308,
                            0.30000000000000004};
    for (double v : cases) {
        std::string s = number(v);
        SCOPED_TRACE(s);
        EXPECT_EQ(s.find(' '), std::string::npos);
        char *end = nullptr;
        double back = std::strtod(s.c_str(), &end);
        EXPECT_EQ(end, s.c_str() + s.size());
        EXPECT_EQ(back, v);
    }
    // Extreme magnitudes use exponent notation, not hundreds of digits.
    EXPECT_LE(number(1e21).size(), 6u);
    EXPECT_LE(number(1e-9).size(), 6u);
}

// ---------------------------------------------------------------------------------------
// Format negotiation

struct AcceptCase {
    std::string_view accept;
    Format format;
};

TEST(NegotiateFormat, PicksOpenMetricsOnlyWhenPreferredAndVersionOne) {
    const AcceptCase cases[] = {
        // Prometheus 2.42's Accept header.
        {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
         "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
         Format::openmetrics},
        {"text/plain", Format::prometheus_text},
        {"", Format::prometheus_text},
        {"application/openmetrics-text;version=0.0.1", Format::prometheus_text},
        {"application/openmetrics-text;version=1.0.0;q=0", Format::prometheus_text},
        {"application/openmetrics-text;q=0", Format::prometheus_text},
        {"garbage", Format::prometheus_text},
        {";;;,,,==;q=", Format::prometheus_text},
        {"*/*", Format::prometheus_text},
        {"application/openmetrics-text", Format::openmetrics},
        {"application/openmetrics-text; version=1.0.0; charset=utf-8", Format::openmetrics},
        {"Application/OpenMetrics-Text;Version=1.0.0", Format::openmetrics},
        {"text/plain;q=0.9, application/openmetrics-text;version=1.0.0;q=0.5",
         Format::prometheus_text},
        {"text/plain;q=0.5, application/openmetrics-text;version=1.0.0;q=0.9", Format::openmetrics},
        {"application/openmetrics-text;version=1.0.0;q=bogus", Format::prometheus_text},
        {"application/openmetrics-text;version=1.0.0;q=2", Format::prometheus_text},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(std::string(c.accept));
        EXPECT_EQ(negotiate_format(c.accept), c.format);
    }
}

TEST(ContentType, MatchesTheFormat) {
    EXPECT_EQ(content_type(Format::prometheus_text), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(content_type(Format::openmetrics),
              "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

// ---------------------------------------------------------------------------------------
// Writer

TEST(ExpositionWriter, TextCounterKeepsTotalInHelpAndTypeAndHasNoEof) {
    ExpositionWriter w(Format::prometheus_text);
    w.family("x_requests_total", "Requests.", MetricType::counter);
    w.sample("", 3.0);
    EXPECT_EQ(w.finish(),
              "# HELP x_requests_total Requests.\n"
              "# TYPE x_requests_total counter\n"
              "x_requests_total 3\n");
}

TEST(ExpositionWriter, OpenMetricsCounterDropsTotalInHeaderOnlyAndEndsWithEof) {
    ExpositionWriter w(Format::openmetrics);
    w.family("x_requests_total", "Requests.", MetricType::counter);
    std::array<Label, 1> l{{{"a", "x"}}};
    w.sample("", l, 3.0);
    w.family("x_in_flight", "In flight.", MetricType::gauge);
    w.sample("", 2.0);
    EXPECT_EQ(w.finish(),
              "# HELP x_requests Requests.\n"
              "# TYPE x_requests counter\n"
              "x_requests_total{a=\"x\"} 3\n"
              "# HELP x_in_flight In flight.\n"
              "# TYPE x_in_flight gauge\n"
              "x_in_flight 2\n"
              "# EOF\n");
}

TEST(ExpositionWriter, OpenMetricsKeepsTotalOnNonCounters) {
    ExpositionWriter w(Format::openmetrics);
    w.family("odd_gauge_total", "A gauge.", MetricType::gauge);
    w.sample("", 1.0);
    EXPECT_EQ(w.finish(),
              "# HELP odd_gauge_total A gauge.\n"
              "# TYPE odd_gauge_total gauge\n"
              "odd_gauge_total 1\n"
              "# EOF\n");
}

TEST(ExpositionWriter, HistogramSampleWithLabelsAndExtraLabel) {
    ExpositionWriter w(Format::prometheus_text);
    w.family("name", "A histogram.", MetricType::histogram);
    std::array<Label, 1> l{{{"a", "x"}}};
    w.sample("_bucket", l, 3.0, "le", "0.5");
    w.sample("_bucket", l, 4.0, "le", "+Inf");
    w.sample("_sum", l, 1.5);
    w.sample("_count", l, 4.0);
    std::array<Label, 0> none{};
    w.sample("_bucket", none, 0.0, "le", "1");
    EXPECT_EQ(w.finish(),
              "# HELP name A histogram.\n"
              "# TYPE name histogram\n"
              "name_bucket{a=\"x\",le=\"0.5\"} 3\n"
              "name_bucket{a=\"x\",le=\"+Inf\"} 4\n"
              "name_sum{a=\"x\"} 1.5\n"
              "name_count{a=\"x\"} 4\n"
              "name_bucket{le=\"1\"} 0\n");
}

TEST(ExpositionWriter, SampleEscapesLabelValues) {
    ExpositionWriter w(Format::prometheus_text);
    w.family("g", "G.", MetricType::gauge);
    std::array<Label, 2> l{{{"a", "q\"b\\n\nx"}, {"b", "\xff"}}};
    w.sample("", l, 1.0);
    EXPECT_EQ(w.finish(),
              "# HELP g G.\n# TYPE g gauge\n"
              "g{a=\"q\\\"b\\\\n\\nx\",b=\"\xef\xbf\xbd\"} 1\n");
}

TEST(ExpositionWriter, SampleValuesUseIntegerOrShortestForm) {
    ExpositionWriter w(Format::prometheus_text);
    w.family("g", "G.", MetricType::gauge);
    w.sample("", 0.0);
    w.sample("", 1e15);
    w.sample("", 0.25);
    w.sample("", 1e21);
    w.sample("", std::numeric_limits<double>::quiet_NaN());
    EXPECT_EQ(w.finish(),
              "# HELP g G.\n# TYPE g gauge\n"
              "g 0\ng 1000000000000000\ng 0.25\ng 1e+21\ng NaN\n");
}

}  // namespace
}  // namespace pulse
