// The exposition parser: OpenMetrics' own parser test vectors (both formats), the error
// and success inputs of Prometheus' Go text parser tests (read from Debian's
// golang-github-prometheus-common-dev at test time), and the pulse module's own output.
// Where we knowingly differ from a reference, tests/unit/sidecar/parser_divergences.md
// says why, and the sets below mirror it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "exposition_parser.h"

namespace pulse::sidecar {
namespace {

namespace fs = std::filesystem;

constexpr TextFormat kText = TextFormat::prometheus_0_0_4;
constexpr TextFormat kOpenMetrics = TextFormat::openmetrics_1_0;

std::optional<std::string> read_file(const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const Exposition *ok(const ParseResult &r) {
    return std::get_if<Exposition>(&r);
}
const ParseError *err(const ParseResult &r) {
    return std::get_if<ParseError>(&r);
}

std::string describe(const ParseResult &r) {
    if (const ParseError *e = err(r))
        return "error at line " + std::to_string(e->line) + ": " + e->message;
    return "parsed";
}

std::size_t line_count(std::string_view text) {
    std::size_t n = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    return text.empty() || text.back() == '\n' ? n : n + 1;
}

// ---- the OpenMetrics test vectors ---------------------------------------------------------

struct Vector {
    std::string name;
    std::string metrics;
    bool should_parse = false;
};

std::vector<Vector> load_vectors() {
    std::vector<Vector> out;
    fs::path dir = fs::path(PULSE_TESTDATA_DIR) / "openmetrics-parsers";
    for (const auto &entry : fs::directory_iterator(dir)) {
        if (!entry.is_directory()) continue;
        auto json = read_file(entry.path() / "test.json");
        if (!json) continue;
        auto spec = nlohmann::json::parse(*json);
        auto metrics = read_file(entry.path() / spec.value("file", std::string("metrics")));
        if (!metrics) continue;
        out.push_back(
            {entry.path().filename().string(), *metrics, spec.at("shouldParse").get<bool>()});
    }
    std::sort(out.begin(), out.end(),
              [](const Vector &a, const Vector &b) { return a.name < b.name; });
    return out;
}

// Cases where our OpenMetrics parser deliberately disagrees with "shouldParse"
// (parser_divergences.md, "OpenMetrics 1.0"). Empty: we agree with all 211.
const std::set<std::string> kOpenMetricsDivergences = {};

TEST(ParserOpenMetricsVectors, AgreeWithShouldParse) {
    const auto vectors = load_vectors();
    ASSERT_EQ(vectors.size(), 211u)
        << "expected the 211 cases in " PULSE_TESTDATA_DIR "/openmetrics-parsers";
    std::size_t valid = 0;
    for (const Vector &v : vectors) {
        SCOPED_TRACE(v.name);
        const ParseResult r = parse_exposition(v.metrics, kOpenMetrics);
        const bool parsed = ok(r) != nullptr;
        valid += v.should_parse;
        if (kOpenMetricsDivergences.contains(v.name)) {
            EXPECT_NE(parsed, v.should_parse)
                << v.name << " is listed as a divergence but now agrees: take it off the list ("
                << describe(r) << ")";
        } else {
            EXPECT_EQ(parsed, v.should_parse)
                << v.name << ": shouldParse=" << v.should_parse << ", " << describe(r);
        }
        if (const ParseError *e = err(r)) {
            EXPECT_FALSE(e->message.empty());
            EXPECT_LE(e->line, line_count(v.metrics));
            // Only a missing "# EOF" is about the whole text.
            if (v.name != "bad_no_eof") {
                EXPECT_GT(e->line, 0u) << e->message;
            }
        }
    }
    EXPECT_EQ(valid, 44u);
}

// Valid OpenMetrics that uses syntax text 0.0.4 does not have (parser_divergences.md,
// "The vectors as text 0.0.4"): text 0.0.4 rejects these, as Prometheus' expfmt does.
const std::map<std::string, std::string> kValidOpenMetricsRejectedAsText = {
    {"counter_exemplars", "exemplar"},
    {"counter_exemplars_empty_brackets", "exemplar"},
    {"exemplars_wide_chars", "exemplar"},
    {"exemplars_with_hash_in_label_values", "exemplar"},
    {"histogram_exemplars", "exemplar"},
    {"gaugehistogram_exemplars", "OpenMetrics-only type"},
    {"negative_bucket_gaugehistogram", "OpenMetrics-only type"},
    {"simple_gaugehistogram", "OpenMetrics-only type"},
    {"info_timestamps", "OpenMetrics-only type"},
    {"simple_stateset", "OpenMetrics-only type"},
    {"untyped", "OpenMetrics-only type"},
    {"duplicate_timestamps_0", "timestamp in seconds"},
    {"timestamps", "timestamp in seconds"},
    {"escaping", "escape other than \\\\ \\n (\\\" in labels)"},
    {"help_escaping", "escape other than \\\\ \\n (\\\" in labels)"},
    {"label_escaping", "escape other than \\\\ \\n (\\\" in labels)"},
    {"no_newline_after_eof", "last line without a newline"},
};

// Invalid OpenMetrics that text 0.0.4 accepts, as Prometheus' expfmt does.
const std::map<std::string, std::string> kInvalidOpenMetricsAcceptedAsText = {
    {"bad_no_eof", "no # EOF in 0.0.4"},
    {"bad_blank_line", "blank lines allowed"},
    {"bad_metadata", "free comments"},
    {"bad_histograms_4", "free comments"},
    {"bad_histograms_5", "free comments"},
    {"bad_help_0", "incomplete HELP/TYPE is a comment"},
    {"bad_help_1", "incomplete HELP/TYPE is a comment"},
    {"bad_help_2", "incomplete HELP/TYPE is a comment"},
    {"bad_help_3", "incomplete HELP/TYPE is a comment"},
    {"bad_help_4", "leading blanks allowed"},
    {"bad_type_0", "incomplete HELP/TYPE is a comment"},
    {"bad_type_1", "incomplete HELP/TYPE is a comment"},
    {"bad_type_2", "incomplete HELP/TYPE is a comment"},
    {"bad_type_3", "incomplete HELP/TYPE is a comment"},
    {"bad_type_7", "untyped is a 0.0.4 type"},
    {"bad_repeated_metadata_0", "HELP with empty text is ignored"},
    {"bad_unit_0", "UNIT is a comment"},
    {"bad_unit_1", "UNIT is a comment"},
    {"bad_unit_2", "UNIT is a comment"},
    {"bad_unit_3", "UNIT is a comment"},
    {"bad_unit_4", "UNIT is a comment"},
    {"bad_unit_5", "UNIT is a comment"},
    {"bad_repeated_metadata_3", "UNIT is a comment"},
    {"bad_metadata_in_wrong_place_2", "UNIT is a comment"},
    {"bad_metadata_in_wrong_place_1", "HELP may follow samples"},
    {"bad_clashing_names_2", "no suffixes for counters"},
    {"bad_counter_values_0", "values not checked"},
    {"bad_counter_values_1", "values not checked"},
    {"bad_counter_values_2", "values not checked"},
    {"bad_counter_values_3", "values not checked"},
    {"bad_counter_values_4", "values not checked"},
    {"bad_counter_values_5", "values not checked"},
    {"bad_counter_values_6", "values not checked"},
    {"bad_counter_values_7", "values not checked"},
    {"bad_counter_values_8", "values not checked"},
    {"bad_counter_values_9", "values not checked"},
    {"bad_counter_values_15", "values not checked"},
    {"bad_counter_values_16", "values not checked"},
    {"bad_counter_values_17", "values not checked"},
    {"bad_counter_values_18", "values not checked"},
    {"bad_counter_values_19", "values not checked"},
    {"bad_histograms_0", "histogram structure not checked"},
    {"bad_histograms_1", "histogram structure not checked"},
    {"bad_histograms_2", "histogram structure not checked"},
    {"bad_histograms_3", "histogram structure not checked"},
    {"bad_histograms_9", "histogram structure not checked"},
    {"bad_histograms_10", "histogram structure not checked"},
    {"bad_histograms_11", "histogram structure not checked"},
    {"bad_histograms_12", "histogram structure not checked"},
    {"bad_histograms_13", "histogram structure not checked"},
    {"bad_missing_or_invalid_labels_for_a_type_0", "histogram structure not checked"},
    {"bad_missing_or_invalid_labels_for_a_type_1", "histogram structure not checked"},
    {"bad_missing_or_invalid_labels_for_a_type_3", "histogram structure not checked"},
    {"bad_missing_or_invalid_labels_for_a_type_4", "histogram structure not checked"},
    {"bad_missing_or_invalid_labels_for_a_type_5", "histogram structure not checked"},
    {"bad_grouping_or_ordering_0", "series order and timestamps not checked"},
    {"bad_grouping_or_ordering_4", "series order and timestamps not checked"},
    {"bad_grouping_or_ordering_6", "series order and timestamps not checked"},
    {"bad_grouping_or_ordering_8", "series order and timestamps not checked"},
    {"bad_grouping_or_ordering_9", "series order and timestamps not checked"},
    {"bad_grouping_or_ordering_10", "series order and timestamps not checked"},
    {"bad_value_1", "blanks are looser"},
    {"bad_invalid_labels_6", "blanks are looser"},
    {"bad_missing_or_extra_commas_2", "trailing comma allowed"},
};

// The samples as a SampleSink receives them.
struct CollectingSink : SampleSink {
    std::vector<std::string> series;
    std::vector<Sample> samples;
    void sample(std::string_view written, const Sample &s) override {
        series.emplace_back(written);
        samples.push_back(s);
    }
};

// Parsing into a sink answers as parsing into an Exposition: the same error at the same
// line, or the same samples in the same order; in text 0.0.4 each with its series as written.
TEST(ParserSink, AgreesWithTheExpositionOnEveryVectorInBothFormats) {
    const auto vectors = load_vectors();
    ASSERT_EQ(vectors.size(), 211u);
    std::size_t compared = 0;
    for (const Vector &v : vectors) {
        for (TextFormat format : {kText, kOpenMetrics}) {
            SCOPED_TRACE(v.name + (format == kText ? " as 0.0.4" : " as OpenMetrics"));
            const ParseResult whole = parse_exposition(v.metrics, format);
            CollectingSink sink;
            const std::optional<ParseError> e = parse_exposition(v.metrics, format, sink);
            if (const ParseError *want = err(whole)) {
                ASSERT_TRUE(e.has_value());
                EXPECT_EQ(e->line, want->line);
                EXPECT_EQ(e->message, want->message);
                continue;
            }
            ASSERT_FALSE(e.has_value()) << e->message;
            std::size_t i = 0;
            for (const MetricFamily &f : ok(whole)->families) {
                for (const Sample &s : f.samples) {
                    ASSERT_LT(i, sink.samples.size());
                    const Sample &got = sink.samples[i];
                    EXPECT_EQ(got.name, s.name);
                    EXPECT_EQ(got.labels, s.labels);
                    if (std::isnan(s.value)) {
                        EXPECT_TRUE(std::isnan(got.value));
                    } else {
                        EXPECT_EQ(got.value, s.value);
                    }
                    EXPECT_EQ(got.timestamp_ms, s.timestamp_ms);
                    if (format == kText) {
                        EXPECT_TRUE(sink.series[i].starts_with(s.name)) << sink.series[i];
                        EXPECT_NE(v.metrics.find(sink.series[i]), std::string::npos);
                    } else {
                        EXPECT_TRUE(sink.series[i].empty());
                    }
                    ++i;
                    ++compared;
                }
            }
            EXPECT_EQ(i, sink.samples.size());
        }
    }
    EXPECT_GT(compared, 100u);
}

TEST(ParserSink, TheSeriesIsTheNameAndLabelsAsWritten) {
    CollectingSink sink;
    const std::string text =
        "a 1\nb{x=\"1\",y=\"2\"} 2 1000\nb {y=\"3\", x=\"4\"}\t3\nc{z=\"q\\\"\"} +Inf\n";
    ASSERT_FALSE(parse_exposition(text, kText, sink).has_value());
    ASSERT_EQ(sink.series.size(), 4u);
    EXPECT_EQ(sink.series[0], "a");
    EXPECT_EQ(sink.series[1], "b{x=\"1\",y=\"2\"}");
    EXPECT_EQ(sink.series[2], "b {y=\"3\", x=\"4\"}");
    EXPECT_EQ(sink.series[3], "c{z=\"q\\\"\"}");
    EXPECT_EQ(sink.samples[3].labels.at(0).second, "q\"");
    EXPECT_EQ(*sink.samples[1].timestamp_ms, 1000);
}

TEST(ParserOpenMetricsVectors, AsText004) {
    const auto vectors = load_vectors();
    ASSERT_EQ(vectors.size(), 211u);
    std::size_t valid_as_text = 0;
    for (const Vector &v : vectors) {
        SCOPED_TRACE(v.name);
        const ParseResult r = parse_exposition(v.metrics, kText);
        const bool parsed = ok(r) != nullptr;
        bool expected;
        if (v.should_parse) {
            expected = !kValidOpenMetricsRejectedAsText.contains(v.name);
            valid_as_text += expected;
        } else {
            expected = kInvalidOpenMetricsAcceptedAsText.contains(v.name);
        }
        EXPECT_EQ(parsed, expected) << v.name << " as text 0.0.4: " << describe(r);
        if (const ParseError *e = err(r)) {
            EXPECT_GT(e->line, 0u) << e->message;
            EXPECT_LE(e->line, line_count(v.metrics));
        }
    }
    // The valid OpenMetrics cases without OpenMetrics-only syntax all parse as 0.0.4.
    EXPECT_EQ(valid_as_text, 27u);
    for (const auto &[name, why] : kValidOpenMetricsRejectedAsText) {
        EXPECT_TRUE(std::any_of(vectors.begin(), vectors.end(),
                                [&](const Vector &v) { return v.name == name && v.should_parse; }))
            << name << " (" << why << ") is not a valid case of the vectors";
    }
    for (const auto &[name, why] : kInvalidOpenMetricsAcceptedAsText) {
        EXPECT_TRUE(std::any_of(vectors.begin(), vectors.end(),
                                [&](const Vector &v) { return v.name == name && !v.should_parse; }))
            << name << " (" << why << ") is not an invalid case of the vectors";
    }
}

// ---- Prometheus' Go text parser tests -------------------------------------------------------

// Reads Go string expressions: raw `...` and interpreted "..." literals joined by '+'.
class GoSource {
  public:
    explicit GoSource(std::string_view src) : s_(src) {}

    // The body of `func NAME(`, up to the next top-level func.
    static std::string_view function(std::string_view src, std::string_view name) {
        std::string head = "func " + std::string(name) + "(";
        std::size_t start = src.find(head);
        if (start == std::string_view::npos) return {};
        std::size_t end = src.find("\nfunc ", start + head.size());
        return src.substr(start,
                          end == std::string_view::npos ? std::string_view::npos : end - start);
    }

    struct Scenario {
        std::string in;
        std::optional<std::string> err;
    };

    // Every `in:` of the function's scenario table, with the `err:` that follows it.
    bool scenarios(std::vector<Scenario> &out, std::string &problem) {
        std::size_t i = 0;
        while (i < s_.size()) {
            char c = s_[i];
            if (s_.substr(i, 2) == "//") {
                i = s_.find('\n', i);
                if (i == std::string_view::npos) break;
                continue;
            }
            if (s_.substr(i, 2) == "/*") {
                i = s_.find("*/", i + 2);
                if (i == std::string_view::npos) break;
                i += 2;
                continue;
            }
            if (c == '"' || c == '`') {
                std::string ignored;
                if (!literal(i, ignored)) return fail(problem, "unterminated string literal");
                continue;
            }
            if (c == '\'') {  // a rune literal
                ++i;
                while (i < s_.size() && s_[i] != '\'') i += s_[i] == '\\' ? 2 : 1;
                ++i;
                continue;
            }
            if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
                std::size_t start = i;
                while (i < s_.size() &&
                       (std::isalnum(static_cast<unsigned char>(s_[i])) || s_[i] == '_'))
                    ++i;
                std::string_view ident = s_.substr(start, i - start);
                if (ident != "in" && ident != "err") continue;
                std::size_t j = skip_space(i);
                if (j >= s_.size() || s_[j] != ':' || (j + 1 < s_.size() && s_[j + 1] == '='))
                    continue;
                i = skip_space(j + 1);
                std::string value;
                if (!expression(i, value)) {
                    return fail(problem, "cannot read the Go string after `" + std::string(ident) +
                                             ":` near: " + std::string(s_.substr(start, 60)));
                }
                if (ident == "in") {
                    out.push_back({std::move(value), std::nullopt});
                } else if (!out.empty()) {
                    out.back().err = std::move(value);
                }
                continue;
            }
            ++i;
        }
        return true;
    }

  private:
    static bool fail(std::string &problem, std::string what) {
        problem = std::move(what);
        return false;
    }

    std::size_t skip_space(std::size_t i) const {
        for (;;) {
            while (i < s_.size() && std::isspace(static_cast<unsigned char>(s_[i]))) ++i;
            if (s_.substr(i, 2) == "//") {
                i = s_.find('\n', i);
                if (i == std::string_view::npos) return s_.size();
                continue;
            }
            return i;
        }
    }

    // literal ('+' literal)*
    bool expression(std::size_t &i, std::string &out) {
        if (!literal(i, out)) return false;
        for (;;) {
            std::size_t j = skip_space(i);
            if (j >= s_.size() || s_[j] != '+') return true;
            j = skip_space(j + 1);
            if (!literal(j, out)) return false;
            i = j;
        }
    }

    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    static void append_utf8(std::string &out, std::uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    // Appends the literal at s_[i] to out and moves i past it.
    bool literal(std::size_t &i, std::string &out) {
        if (i >= s_.size()) return false;
        if (s_[i] == '`') {
            std::size_t end = s_.find('`', i + 1);
            if (end == std::string_view::npos) return false;
            for (char c : s_.substr(i + 1, end - i - 1)) {
                if (c != '\r') out += c;  // Go drops carriage returns from raw strings
            }
            i = end + 1;
            return true;
        }
        if (s_[i] != '"') return false;
        ++i;
        while (i < s_.size() && s_[i] != '"') {
            char c = s_[i];
            if (c == '\n') return false;
            if (c != '\\') {
                out += c;
                ++i;
                continue;
            }
            if (i + 1 >= s_.size()) return false;
            char e = s_[i + 1];
            i += 2;
            switch (e) {
                case 'a':
                    out += '\a';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'v':
                    out += '\v';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '\'':
                    out += '\'';
                    break;
                case '"':
                    out += '"';
                    break;
                case 'x': {
                    if (i + 2 > s_.size() || hex(s_[i]) < 0 || hex(s_[i + 1]) < 0) return false;
                    out += static_cast<char>(hex(s_[i]) * 16 + hex(s_[i + 1]));
                    i += 2;
                    break;
                }
                case 'u':
                case 'U': {
                    std::size_t digits = e == 'u' ? 4 : 8;
                    if (i + digits > s_.size()) return false;
                    std::uint32_t cp = 0;
                    for (std::size_t k = 0; k < digits; ++k) {
                        int h = hex(s_[i + k]);
                        if (h < 0) return false;
                        cp = cp * 16 + static_cast<std::uint32_t>(h);
                    }
                    append_utf8(out, cp);
                    i += digits;
                    break;
                }
                default:
                    if (e >= '0' && e <= '7') {  // three octal digits
                        if (i + 2 > s_.size()) return false;
                        int v = (e - '0') * 64 + (s_[i] - '0') * 8 + (s_[i + 1] - '0');
                        out += static_cast<char>(v);
                        i += 2;
                        break;
                    }
                    return false;
            }
        }
        if (i >= s_.size()) return false;
        ++i;  // closing quote
        return true;
    }

    std::string_view s_;
};

std::string go_test_source() {
    const fs::path path = fs::path(PULSE_GO_EXPFMT_DIR) / "text_parse_test.go";
    auto src = read_file(path);
    return src ? *src : std::string();
}

constexpr const char *kInstallHint =
    " is missing: the Go text-parser tests come from the Debian package "
    "golang-github-prometheus-common-dev; "
    "run scripts/install-deps.sh (make test does).";

std::optional<std::size_t> line_in_go_error(std::string_view message) {
    std::size_t at = message.find("in line ");
    if (at == std::string_view::npos) return std::nullopt;
    std::size_t line = 0, i = at + 8, digits = 0;
    for (; i < message.size() && message[i] >= '0' && message[i] <= '9'; ++i, ++digits) {
        line = line * 10 + static_cast<std::size_t>(message[i] - '0');
    }
    if (digits == 0) return std::nullopt;
    return line;
}

TEST(ParserGoExpfmt, RejectsEveryErrorScenarioAtItsLine) {
    const std::string src = go_test_source();
    ASSERT_FALSE(src.empty()) << PULSE_GO_EXPFMT_DIR "/text_parse_test.go" << kInstallHint;
    std::string_view body = GoSource::function(src, "testTextParseError");
    ASSERT_FALSE(body.empty()) << "no func testTextParseError in text_parse_test.go";
    std::vector<GoSource::Scenario> scenarios;
    std::string problem;
    ASSERT_TRUE(GoSource(body).scenarios(scenarios, problem)) << problem;
    ASSERT_GE(scenarios.size(), 30u) << "too few `in:` scenarios extracted";
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
        const auto &sc = scenarios[i];
        SCOPED_TRACE("scenario " + std::to_string(i) + ": " + sc.in);
        const ParseResult r = parse_exposition(sc.in, kText);
        const ParseError *e = err(r);
        ASSERT_NE(e, nullptr) << "accepted an input Prometheus rejects";
        EXPECT_FALSE(e->message.empty());
        if (!sc.in.empty()) {
            EXPECT_GT(e->line, 0u);
        }
        ASSERT_TRUE(sc.err.has_value()) << "no err: for this scenario";
        if (auto line = line_in_go_error(*sc.err)) {
            EXPECT_EQ(e->line, *line) << "Go: " << *sc.err << "; we: " << e->message;
        }
    }
}

// testTextParse's scenario that splits families (parser_divergences.md, "Prometheus'
// Go text parser"): recognised by its first line.
constexpr std::string_view kSplitFamilyScenario =
    "\n# TYPE my_summary summary\nmy_summary{n1=\"val1\",quantile=\"0.5\"} 110\ndecoy";

TEST(ParserGoExpfmt, ParsesTheSuccessScenarios) {
    const std::string src = go_test_source();
    ASSERT_FALSE(src.empty()) << PULSE_GO_EXPFMT_DIR "/text_parse_test.go" << kInstallHint;
    std::string_view body = GoSource::function(src, "testTextParse");
    ASSERT_FALSE(body.empty()) << "no func testTextParse in text_parse_test.go";
    std::vector<GoSource::Scenario> scenarios;
    std::string problem;
    ASSERT_TRUE(GoSource(body).scenarios(scenarios, problem)) << problem;
    ASSERT_GE(scenarios.size(), 4u);
    std::size_t divergences = 0;
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
        const auto &sc = scenarios[i];
        SCOPED_TRACE("scenario " + std::to_string(i) + ": " + sc.in);
        const ParseResult r = parse_exposition(sc.in, kText);
        if (sc.in.starts_with(kSplitFamilyScenario)) {
            ++divergences;
            const ParseError *e = err(r);
            ASSERT_NE(e, nullptr)
                << "the split-family scenario parses now: take it off parser_divergences.md";
            EXPECT_EQ(e->line, 5u);  // my_summary again after "decoy"
            EXPECT_NE(e->message.find("not contiguous"), std::string::npos) << e->message;
            continue;
        }
        const Exposition *x = ok(r);
        ASSERT_NE(x, nullptr) << describe(r);
        for (const MetricFamily &f : x->families) EXPECT_FALSE(f.samples.empty()) << f.name;
        // What the Go test expects of the scenarios, where we recognise them.
        if (const MetricFamily *f = x->find("minimal_metric")) {
            EXPECT_EQ(x->families.size(), 3u);
            ASSERT_EQ(f->samples.size(), 1u);
            EXPECT_EQ(f->samples[0].value, 1.234);
            const MetricFamily *another = x->find("another_metric");
            ASSERT_NE(another, nullptr);
            EXPECT_EQ(another->samples[0].value, -3e3);
            EXPECT_EQ(another->samples[0].timestamp_ms, 103948);
            EXPECT_NE(x->find("no_labels"), nullptr);
        }
        if (const MetricFamily *f = x->find("name")) {
            EXPECT_EQ(f->kind, MetricKind::counter);
            EXPECT_EQ(f->help, "two-line\n doc  str\\ing");
            ASSERT_EQ(f->samples.size(), 2u);
            EXPECT_TRUE(std::isnan(f->samples[0].value));
            EXPECT_EQ(f->samples[1].label("basename"), "base\"v\\al\nue");
            EXPECT_EQ(f->samples[1].value, 0.23);
            EXPECT_EQ(f->samples[1].timestamp_ms, 1234567890);
            const MetricFamily *g = x->find("name2");
            ASSERT_NE(g, nullptr);
            EXPECT_EQ(g->kind, MetricKind::gauge);
            EXPECT_EQ(g->help, "doc str\"ing 2");
            ASSERT_EQ(g->samples.size(), 2u);
            EXPECT_EQ(g->samples[0].value, INFINITY);
            EXPECT_EQ(g->samples[0].label("basename"), "basevalue2");
            EXPECT_EQ(g->samples[1].value, -INFINITY);
            EXPECT_EQ(g->samples[1].labels.size(), 1u);
        }
        if (const MetricFamily *f = x->find("request_duration_microseconds")) {
            EXPECT_EQ(f->kind, MetricKind::histogram);
            EXPECT_EQ(f->help, "The response latency.");
            ASSERT_EQ(f->samples.size(), 7u);
            EXPECT_EQ(f->samples[4].label("le"), "+Inf");
            EXPECT_EQ(f->samples[5].name, "request_duration_microseconds_sum");
            EXPECT_EQ(f->samples[5].value, 1756047.3);
        }
    }
    EXPECT_EQ(divergences, 1u) << "the split-family scenario was not found";
}

// ---- the pulse module's own output ------------------------------------------------------------

const char *const kBounds[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                               "0.5",   "1",    "2.5",   "5",    "10"};

// An exposition as the module renders it (ngx_module/core/render.cpp): counters named
// with _total in 0.0.4 and without in OpenMetrics' HELP/TYPE, escaped label values,
// overflow series, histograms with the default buckets.
std::string module_exposition(bool openmetrics) {
    std::string out;
    auto family = [&](std::string name, std::string_view help, std::string_view type) {
        if (openmetrics && type == "counter" && name.ends_with("_total"))
            name.resize(name.size() - 6);
        out += "# HELP " + name + " " + std::string(help) + "\n# TYPE " + name + " " +
               std::string(type) + "\n";
    };
    family("nginx_http_requests_total", "Requests by server, location, method and status class.",
           "counter");
    out +=
        "nginx_http_requests_total{server=\"example.com\",location=\"/"
        "\",method=\"GET\",status=\"2xx\"} 1027\n";
    out +=
        "nginx_http_requests_total{server=\"example.com\",location=\"/api/"
        "\\\"quoted\\\"\",method=\"POST\",status=\"5xx\"} 3\n";
    out +=
        "nginx_http_requests_total{server=\"tricky\\\\host\",location=\"/"
        "line\\nbreak\",method=\"OTHER\",status=\"4xx\"} 1\n";
    out +=
        "nginx_http_requests_total{server=\"b\xc3\xbc"
        "cher.example\",location=\"/\xe6\x97\xa5\xe6\x9c\xac\",method=\"GET\",status=\"2xx\"} 12\n";
    out +=
        "nginx_http_requests_total{server=\"__overflow__\",location=\"__overflow__\",method=\"__"
        "overflow__\",status=\"__overflow__\"} 77\n";
    family("nginx_http_request_duration_seconds", "Request latency in seconds.", "histogram");
    for (std::string series : {"server=\"example.com\",location=\"/\"",
                               "server=\"__overflow__\",location=\"__overflow__\""}) {
        int count = 0;
        for (const char *le : kBounds) {
            count += 100;
            out += "nginx_http_request_duration_seconds_bucket{" + series + ",le=\"" + le + "\"} " +
                   std::to_string(count) + "\n";
        }
        out += "nginx_http_request_duration_seconds_bucket{" + series + ",le=\"+Inf\"} 1127\n";
        out += "nginx_http_request_duration_seconds_sum{" + series + "} 12.5\n";
        out += "nginx_http_request_duration_seconds_count{" + series + "} 1127\n";
    }
    family("nginx_http_requests_in_flight", "Requests in progress.", "gauge");
    out += "nginx_http_requests_in_flight{server=\"example.com\"} 4\n";
    family("nginx_connections_accepted_total", "Client connections accepted.", "counter");
    out += "nginx_connections_accepted_total 5000\n";
    family("nginx_connections", "Client connections by state.", "gauge");
    for (const char *state : {"active", "reading", "writing", "waiting"}) {
        out += std::string("nginx_connections{state=\"") + state + "\"} 2\n";
    }
    family("nginx_connections_limit", "worker_connections times worker processes.", "gauge");
    out += "nginx_connections_limit 1024\n";
    family("nginx_pulse_series_dropped_total", "Series folded into __overflow__.", "counter");
    out += "nginx_pulse_series_dropped_total 3\n";
    family("nginx_pulse_info", "pulse module and nginx versions.", "gauge");
    out += "nginx_pulse_info{version=\"0.1.0\",nginx_version=\"1.22.1\"} 1\n";
    if (openmetrics) out += "# EOF\n";
    return out;
}

void check_module_exposition(const Exposition &x, bool openmetrics) {
    const std::string requests = openmetrics ? "nginx_http_requests" : "nginx_http_requests_total";
    std::vector<std::string> names;
    for (const MetricFamily &f : x.families) names.push_back(f.name);
    EXPECT_EQ(names,
              (std::vector<std::string>{
                  requests, "nginx_http_request_duration_seconds", "nginx_http_requests_in_flight",
                  openmetrics ? "nginx_connections_accepted" : "nginx_connections_accepted_total",
                  "nginx_connections", "nginx_connections_limit",
                  openmetrics ? "nginx_pulse_series_dropped" : "nginx_pulse_series_dropped_total",
                  "nginx_pulse_info"}));

    const MetricFamily *r = x.find(requests);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->kind, MetricKind::counter);
    EXPECT_EQ(r->help, "Requests by server, location, method and status class.");
    ASSERT_EQ(r->samples.size(), 5u);
    for (const Sample &s : r->samples) EXPECT_EQ(s.name, "nginx_http_requests_total");
    const Sample &first = r->samples[0];
    ASSERT_EQ(first.labels.size(), 4u);
    EXPECT_EQ(first.labels[0], (std::pair<std::string, std::string>{"server", "example.com"}));
    EXPECT_EQ(first.labels[3], (std::pair<std::string, std::string>{"status", "2xx"}));
    EXPECT_EQ(first.value, 1027);
    EXPECT_FALSE(first.timestamp_ms.has_value());
    EXPECT_EQ(r->samples[1].label("location"), "/api/\"quoted\"");
    EXPECT_EQ(r->samples[1].label("status"), "5xx");
    EXPECT_EQ(r->samples[2].label("server"), "tricky\\host");
    EXPECT_EQ(r->samples[2].label("location"), "/line\nbreak");
    EXPECT_EQ(r->samples[3].label("server"),
              "b\xc3\xbc"
              "cher.example");
    EXPECT_EQ(r->samples[3].label("location"), "/\xe6\x97\xa5\xe6\x9c\xac");
    EXPECT_EQ(r->samples[4].label("method"), "__overflow__");
    EXPECT_EQ(r->samples[4].value, 77);
    EXPECT_FALSE(r->samples[4].label("nope").has_value());

    const MetricFamily *h = x.find("nginx_http_request_duration_seconds");
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->kind, MetricKind::histogram);
    ASSERT_EQ(h->samples.size(), 2u * 14u);
    for (std::size_t series = 0; series < 2; ++series) {
        const Sample *s = &h->samples[series * 14];
        for (std::size_t b = 0; b < 11; ++b) {
            EXPECT_EQ(s[b].name, "nginx_http_request_duration_seconds_bucket");
            EXPECT_EQ(s[b].label("le"), kBounds[b]);
            EXPECT_EQ(s[b].value, 100.0 * static_cast<double>(b + 1));
        }
        EXPECT_EQ(s[11].label("le"), "+Inf");
        EXPECT_EQ(s[11].value, 1127);
        EXPECT_EQ(s[12].name, "nginx_http_request_duration_seconds_sum");
        EXPECT_EQ(s[12].value, 12.5);
        EXPECT_FALSE(s[12].label("le").has_value());
        EXPECT_EQ(s[13].name, "nginx_http_request_duration_seconds_count");
        EXPECT_EQ(s[13].value, 1127);
    }
    EXPECT_EQ(h->samples[14].label("server"), "__overflow__");

    const MetricFamily *c = x.find("nginx_connections");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->kind, MetricKind::gauge);
    ASSERT_EQ(c->samples.size(), 4u);
    EXPECT_EQ(c->samples[3].label("state"), "waiting");
    const MetricFamily *limit = x.find("nginx_connections_limit");
    ASSERT_NE(limit, nullptr);
    ASSERT_EQ(limit->samples.size(), 1u);
    EXPECT_TRUE(limit->samples[0].labels.empty());
    EXPECT_EQ(limit->samples[0].value, 1024);
    const MetricFamily *info = x.find("nginx_pulse_info");
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->samples[0].label("nginx_version"), "1.22.1");
}

TEST(ParserModuleOutput, Text004) {
    const std::string text = module_exposition(false);
    const ParseResult r = parse_exposition(text, kText);
    ASSERT_NE(ok(r), nullptr) << describe(r);
    check_module_exposition(*ok(r), false);
}

TEST(ParserModuleOutput, OpenMetrics) {
    const std::string text = module_exposition(true);
    const ParseResult r = parse_exposition(text, kOpenMetrics);
    ASSERT_NE(ok(r), nullptr) << describe(r);
    check_module_exposition(*ok(r), true);
    // Without its "# EOF" the same text is not OpenMetrics.
    const ParseResult cut =
        parse_exposition(std::string_view(text).substr(0, text.size() - 6), kOpenMetrics);
    ASSERT_NE(err(cut), nullptr);
    EXPECT_NE(err(cut)->message.find("# EOF"), std::string::npos);
}

TEST(ParserModuleOutput, FormatFromContentType) {
    EXPECT_EQ(format_from_content_type("text/plain; version=0.0.4; charset=utf-8"), kText);
    EXPECT_EQ(
        format_from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        kOpenMetrics);
    EXPECT_EQ(format_from_content_type(" Application/OpenMetrics-Text ;version=1.0.0"),
              kOpenMetrics);
    EXPECT_EQ(format_from_content_type(""), kText);
    EXPECT_EQ(format_from_content_type("application/json"), kText);
}

TEST(ParserModuleOutput, FourThousandNinetySixSeries) {
    for (bool openmetrics : {false, true}) {
        SCOPED_TRACE(openmetrics ? "OpenMetrics" : "text 0.0.4");
        std::string text;
        text.reserve(4096 * 110);
        text += openmetrics
                    ? "# HELP nginx_http_requests Requests.\n# TYPE nginx_http_requests counter\n"
                    : "# HELP nginx_http_requests_total Requests.\n# TYPE "
                      "nginx_http_requests_total counter\n";
        const char *statuses[] = {"2xx", "3xx", "4xx", "5xx"};
        for (int i = 0; i < 4096; ++i) {
            text += "nginx_http_requests_total{server=\"s" + std::to_string(i / 4) +
                    ".example.com\",location=\"/\",method=\"GET\",status=\"" + statuses[i % 4] +
                    "\"} " + std::to_string(i * 3) + "\n";
        }
        if (openmetrics) text += "# EOF\n";
        const ParseResult r = parse_exposition(text, openmetrics ? kOpenMetrics : kText);
        ASSERT_NE(ok(r), nullptr) << describe(r);
        ASSERT_EQ(ok(r)->families.size(), 1u);
        const auto &samples = ok(r)->families[0].samples;
        ASSERT_EQ(samples.size(), 4096u);
        EXPECT_EQ(samples[4095].label("server"), "s1023.example.com");
        EXPECT_EQ(samples[4095].label("status"), "5xx");
        EXPECT_EQ(samples[4095].value, 4095 * 3);
    }
}

// ---- hand-written cases ------------------------------------------------------------------------

struct ErrorCase {
    std::string_view line7;  // the bad line
    TextFormat format;
    std::string_view hint;  // a word the message must have
};

TEST(ParserErrors, ReportTheirLine) {
    const std::string head =
        "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 2\n# HELP "
        "b B.\n# TYPE b gauge\n";
    const std::string om_head =
        "# HELP a A.\n# TYPE a counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 2\n# HELP b B.\n# "
        "TYPE b gauge\n";
    const ErrorCase cases[] = {
        {"b{1x=\"v\"} 1", kText, "label name"},
        {"b{x=\"v\",x=\"w\"} 1", kText, "duplicate"},
        {"b{x=\"v\"}", kText, "value"},
        {"b{x=\"v\"} 1 2 garbage", kText, "spurious"},
        {"b{x=\"v\"} 1 garbage", kText, "timestamp"},
        {"b{x=\"v\"} one", kText, "float"},
        {"b{x=\"\xff\"} 1", kText, "UTF-8"},
        {"b{x=\"\\q\"} 1", kText, "escape"},
        {"b{x=\"v} 1", kText, "new-line"},
        {"b-c 1", kText, "float"},
        {"9b 1", kText, "metric name"},
        {"# TYPE b counter", kText, "TYPE"},
        {"# HELP b again", kText, "HELP"},
        {"a_total{x=\"3\"} 3", kText, "contiguous"},
        {"b{x=\"v\"} 1e999", kText, "range"},
        {"b{x=\"v\"} 1 99999999999999999999", kText, "timestamp"},
        {"b{__name__=\"v\"} 1", kText, "reserved"},
        {"b{1x=\"v\"} 1", kOpenMetrics, "label name"},
        {"b{x=\"v\",x=\"w\"} 1", kOpenMetrics, "duplicate"},
        {"b{x=\"v\"}", kOpenMetrics, "value"},
        {"b{x=\"v\"} 1 2 garbage", kOpenMetrics, "after the timestamp"},
        {"b{x=\"v\"} 1 garbage", kOpenMetrics, "timestamp"},
        {"b{x=\"\xc0\xaf\"} 1", kOpenMetrics, "UTF-8"},
        {"", kOpenMetrics, "blank"},
        {"# a comment", kOpenMetrics, "OpenMetrics allows only"},
        {"a_total{x=\"3\"} 3", kOpenMetrics, "clashes"},
        {"b 1 # {x=\"y\"} 1", kOpenMetrics, "exemplar"},
    };
    for (const ErrorCase &c : cases) {
        SCOPED_TRACE(std::string(c.line7));
        std::string text = (c.format == kText ? head : om_head) + std::string(c.line7) + "\nb 2\n";
        if (c.format == kOpenMetrics) text += "# EOF\n";
        const ParseResult r = parse_exposition(text, c.format);
        const ParseError *e = err(r);
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->line, 7u) << e->message;
        EXPECT_NE(e->message.find(c.hint), std::string::npos) << e->message;
    }
}

TEST(ParserErrors, EndOfInput) {
    // 0.0.4, as Prometheus: the last line needs its newline; blanks after it are fine.
    EXPECT_EQ(err(parse_exposition("a 1\nb 2", kText))->line, 2u);
    EXPECT_EQ(err(parse_exposition("a 1\n# comment", kText))->line, 2u);
    EXPECT_NE(ok(parse_exposition("a 1\n  \t", kText)), nullptr);
    EXPECT_NE(ok(parse_exposition("", kText)), nullptr);
    EXPECT_NE(ok(parse_exposition("\n\n# just comments\n", kText)), nullptr);
    // OpenMetrics: "# EOF" ends it, with or without a newline, and nothing comes after.
    EXPECT_NE(ok(parse_exposition("a 1\n# EOF", kOpenMetrics)), nullptr);
    EXPECT_EQ(err(parse_exposition("a 1\n# EOF\n\n", kOpenMetrics))->line, 3u);
    EXPECT_EQ(err(parse_exposition("a 1\n", kOpenMetrics))->line, 0u);
    EXPECT_NE(ok(parse_exposition("# EOF\n", kOpenMetrics)), nullptr);
}

TEST(ParserValues, SpecialAndExponents) {
    const std::string text =
        "a{k=\"nan\"} NaN\na{k=\"pinf\"} +Inf\na{k=\"minf\"} -Inf\na{k=\"inf\"} Inf\na{k=\"exp\"} "
        "1.5e3\n"
        "a{k=\"negexp\"} -2E-2\na{k=\"dot\"} .5\na{k=\"under\"} 1e-400\na{k=\"zeros\"} "
        "0001.20\na{k=\"big\"} 9223372036854775808\n";
    for (TextFormat format : {kText, kOpenMetrics}) {
        const ParseResult r = parse_exposition(format == kText ? text : text + "# EOF\n", format);
        ASSERT_NE(ok(r), nullptr) << describe(r);
        const auto &s = ok(r)->families.at(0).samples;
        ASSERT_EQ(s.size(), 10u);
        EXPECT_TRUE(std::isnan(s[0].value));
        EXPECT_EQ(s[1].value, INFINITY);
        EXPECT_EQ(s[2].value, -INFINITY);
        EXPECT_EQ(s[3].value, INFINITY);
        EXPECT_EQ(s[4].value, 1500);
        EXPECT_EQ(s[5].value, -0.02);
        EXPECT_EQ(s[6].value, 0.5);
        EXPECT_EQ(s[7].value, 0);
        EXPECT_EQ(s[8].value, 1.2);
        EXPECT_EQ(s[9].value, 9223372036854775808.0);
    }
    for (std::string_view bad :
         {"0x10", "1_000", "+nan", "inff", "1e", ".", "--1", "1.2.3", "1e400"}) {
        SCOPED_TRACE(std::string(bad));
        EXPECT_NE(err(parse_exposition("a " + std::string(bad) + "\n", kText)), nullptr);
        EXPECT_NE(err(parse_exposition("a " + std::string(bad) + "\n# EOF\n", kOpenMetrics)),
                  nullptr);
    }
}

TEST(ParserValues, Timestamps) {
    {
        const ParseResult r = parse_exposition("a 1 1700000000123\nb 2 -5\nc 3\n", kText);
        ASSERT_NE(ok(r), nullptr) << describe(r);
        const Exposition &x = *ok(r);
        EXPECT_EQ(x.find("a")->samples[0].timestamp_ms, 1700000000123);
        EXPECT_EQ(x.find("b")->samples[0].timestamp_ms, -5);
        EXPECT_FALSE(x.find("c")->samples[0].timestamp_ms.has_value());
        EXPECT_NE(err(parse_exposition("a 1 1.5\n", kText)), nullptr);  // milliseconds are integers
    }
    {
        const ParseResult r = parse_exposition(
            "a{x=\"1\"} 1 1700000000.123\na{x=\"2\"} 1 1.5e3\na{x=\"3\"} 1 -1.1\na{x=\"4\"} 1 "
            "12345678901234567890.5\n"
            "a{x=\"5\"} 1 0.0009\na{x=\"6\"} 1 17\n# EOF\n",
            kOpenMetrics);
        ASSERT_NE(ok(r), nullptr) << describe(r);
        const auto &s = ok(r)->families[0].samples;
        EXPECT_EQ(s[0].timestamp_ms, 1700000000123);  // seconds, kept as milliseconds
        EXPECT_EQ(s[1].timestamp_ms, 1500000);
        EXPECT_EQ(s[2].timestamp_ms, -1100);
        EXPECT_EQ(s[3].timestamp_ms, INT64_MAX);  // saturated
        EXPECT_EQ(s[4].timestamp_ms, 0);
        EXPECT_EQ(s[5].timestamp_ms, 17000);
        // Not numbers of seconds: beyond a double, Inf, NaN.
        for (std::string_view bad : {"1e400", "Inf", "NaN", "1_0", "0x10"}) {
            EXPECT_NE(err(parse_exposition("a 1 " + std::string(bad) + "\n# EOF\n", kOpenMetrics)),
                      nullptr)
                << bad;
        }
    }
}

TEST(ParserText004, HistogramsAndSummariesJoinTheirFamily) {
    const ParseResult r = parse_exposition(
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
        "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 4\ns_count 5\nh_bucket_other 1\n",
        kText);
    ASSERT_NE(ok(r), nullptr) << describe(r);
    const Exposition &x = *ok(r);
    ASSERT_EQ(x.families.size(), 3u);
    EXPECT_EQ(x.families[0].name, "h");
    EXPECT_EQ(x.families[0].kind, MetricKind::histogram);
    EXPECT_EQ(x.families[0].samples.size(), 4u);
    EXPECT_EQ(x.families[0].samples[3].name, "h_count");
    EXPECT_EQ(x.families[1].name, "s");
    EXPECT_EQ(x.families[1].kind, MetricKind::summary);
    EXPECT_EQ(x.families[1].samples.size(), 3u);
    EXPECT_EQ(x.families[2].name, "h_bucket_other");
    EXPECT_EQ(x.families[2].kind, MetricKind::untyped);
    // le and quantile must be numbers; a histogram's _sum after another family splits it.
    EXPECT_EQ(err(parse_exposition("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", kText))->line, 2u);
    EXPECT_EQ(err(parse_exposition("# TYPE s summary\ns{quantile=\"\"} 1\n", kText))->line, 2u);
    EXPECT_EQ(
        err(parse_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nx 1\nh_sum 1\n", kText))
            ->line,
        4u);
}

TEST(ParserText004, LooseButValidSyntax) {
    // Blanks where Prometheus allows them, a trailing comma, HELP after samples, escapes.
    const ParseResult r = parse_exposition(
        "  # TYPE   g gauge\n"
        "g {a = \"1\" , b=\"x\\\\y\\\"z\\n\",\t} 1\n"
        "g{a=\"2\"}-Inf   7\n"
        "#HELP g The \\\\ help\\n.\n"
        "# some comment with HELP in it\n"
        "\n",
        kText);
    ASSERT_NE(ok(r), nullptr) << describe(r);
    const MetricFamily &g = ok(r)->families.at(0);
    EXPECT_EQ(g.kind, MetricKind::gauge);
    EXPECT_EQ(g.help, "The \\ help\n.");
    ASSERT_EQ(g.samples.size(), 2u);
    EXPECT_EQ(g.samples[0].labels,
              (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "x\\y\"z\n"}}));
    EXPECT_EQ(g.samples[1].value, -INFINITY);
    EXPECT_EQ(g.samples[1].timestamp_ms, 7);
    // Families without samples are left out, as Prometheus does.
    const ParseResult empty =
        parse_exposition("# HELP lonely Nothing.\n# TYPE lonely gauge\n", kText);
    ASSERT_NE(ok(empty), nullptr);
    EXPECT_TRUE(ok(empty)->families.empty());
    // Types are lower case, and only the 0.0.4 ones.
    EXPECT_NE(err(parse_exposition("# TYPE g Gauge\n", kText)), nullptr);
    EXPECT_NE(err(parse_exposition("# TYPE g info\n", kText)), nullptr);
    // Trailing blanks after the value are an empty timestamp, as in Prometheus.
    EXPECT_NE(err(parse_exposition("g 1 \n", kText)), nullptr);
    // As in Prometheus, the name ends where a name cannot go on: "g1.5" is g1 = .5.
    const ParseResult glued = parse_exposition("g1.5\n", kText);
    ASSERT_NE(ok(glued), nullptr) << describe(glued);
    EXPECT_EQ(ok(glued)->families[0].name, "g1");
    EXPECT_EQ(ok(glued)->families[0].samples[0].value, 0.5);
    EXPECT_NE(err(parse_exposition("g.x\n", kText)), nullptr);
}

TEST(ParserOpenMetrics, FamiliesKindsAndExemplars) {
    const ParseResult r = parse_exposition(
        "# TYPE c counter\n# UNIT c_seconds seconds\n# TYPE c_seconds counter\n"
        "c_seconds_total{a=\"b\"} 1 # {trace_id=\"abc\"} 0.5 "
        "1700000000\nc_seconds_created{a=\"b\"} 1700000000\n"
        "# TYPE i info\ni_info{version=\"1\"} 1\n"
        "# TYPE st stateset\nst{st=\"on\"} 1\nst{st=\"off\"} 0\n"
        "# TYPE gh gaugehistogram\ngh_bucket{le=\"1\"} 1\ngh_bucket{le=\"+Inf\"} 2\ngh_gcount "
        "2\ngh_gsum 3\n"
        "# TYPE u unknown\nu 1\nplain 2\n# EOF\n",
        kOpenMetrics);
    ASSERT_NE(ok(r), nullptr) << describe(r);
    const Exposition &x = *ok(r);
    const MetricFamily *c = x.find("c");
    ASSERT_NE(c, nullptr);  // metadata only: kept in OpenMetrics
    EXPECT_TRUE(c->samples.empty());
    const MetricFamily *cs = x.find("c_seconds");
    ASSERT_NE(cs, nullptr);
    EXPECT_EQ(cs->kind, MetricKind::counter);
    ASSERT_EQ(cs->samples.size(), 2u);
    EXPECT_EQ(cs->samples[0].name, "c_seconds_total");
    EXPECT_EQ(cs->samples[0].value, 1);
    EXPECT_FALSE(cs->samples[0].timestamp_ms.has_value());
    EXPECT_EQ(cs->samples[0].labels.size(), 1u);  // the exemplar's labels are not the sample's
    EXPECT_EQ(cs->samples[1].name, "c_seconds_created");
    EXPECT_EQ(x.find("i")->kind, MetricKind::info);
    EXPECT_EQ(x.find("st")->kind, MetricKind::stateset);
    EXPECT_EQ(x.find("gh")->kind, MetricKind::gaugehistogram);
    EXPECT_EQ(x.find("gh")->samples.size(), 4u);
    EXPECT_EQ(x.find("u")->kind, MetricKind::untyped);
    EXPECT_EQ(x.find("plain")->kind, MetricKind::untyped);
    EXPECT_EQ(x.find("nope"), nullptr);
}

TEST(ParserOpenMetrics, SeriesStayTogether) {
    const std::string histogram_a1 =
        "h_bucket{a=\"1\",le=\"+Inf\"} 1\nh_count{a=\"1\"} 1\nh_sum{a=\"1\"} 1\n";
    const std::string histogram_a2 =
        "h_bucket{a=\"2\",le=\"+Inf\"} 1\nh_count{a=\"2\"} 1\nh_sum{a=\"2\"} 1\n";
    EXPECT_NE(ok(parse_exposition("# TYPE h histogram\n" + histogram_a1 + histogram_a2 + "# EOF\n",
                                  kOpenMetrics)),
              nullptr);
    const ParseResult r = parse_exposition(
        "# TYPE h histogram\n" + histogram_a1 + histogram_a2 + histogram_a1 + "# EOF\n",
        kOpenMetrics);
    ASSERT_NE(err(r), nullptr);
    EXPECT_EQ(err(r)->line, 8u);
    EXPECT_NE(err(r)->message.find("not together"), std::string::npos) << err(r)->message;
    // Label order does not make another series.
    const ParseResult same =
        parse_exposition("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\n# EOF\n", kOpenMetrics);
    EXPECT_NE(ok(same), nullptr) << describe(same);
    const ParseResult back =
        parse_exposition("a{x=\"1\",y=\"2\"} 1 5\na{y=\"2\",x=\"1\"} 1 4\n# EOF\n", kOpenMetrics);
    ASSERT_NE(err(back), nullptr);
    EXPECT_EQ(err(back)->line, 2u);
}

TEST(ParserOpenMetrics, CountsAndBucketsAreIntegers) {
    EXPECT_NE(ok(parse_exposition(
                  "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2.0\nh_count 2e0\nh_sum 1.5\n# EOF\n",
                  kOpenMetrics)),
              nullptr);
    EXPECT_EQ(err(parse_exposition("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1.5\n# EOF\n",
                                   kOpenMetrics))
                  ->line,
              2u);
    EXPECT_EQ(err(parse_exposition("# TYPE h histogram\nh_bucket{le=\"+Inf\"} +Inf\n# EOF\n",
                                   kOpenMetrics))
                  ->line,
              2u);
    EXPECT_EQ(err(parse_exposition("# TYPE s summary\ns_count 0.5\ns_sum 1\n# EOF\n", kOpenMetrics))
                  ->line,
              2u);
    EXPECT_EQ(err(parse_exposition(
                      "# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 1\ng_gcount 1.25\n# EOF\n",
                      kOpenMetrics))
                  ->line,
              3u);
    EXPECT_NE(ok(parse_exposition("# TYPE g gauge\ng 1.5\n# EOF\n", kOpenMetrics)), nullptr);
}

TEST(ParserOpenMetrics, EscapesAsTheReferenceParser) {
    const ParseResult r = parse_exposition(
        "# HELP a Say \\\"hi\\\" \\\\ \\q\\n.\na{x=\"\\q\\\\\\\"\\n\"} 1\n# EOF\n", kOpenMetrics);
    ASSERT_NE(ok(r), nullptr) << describe(r);
    EXPECT_EQ(ok(r)->families[0].help, "Say \"hi\" \\ \\q\n.");
    EXPECT_EQ(ok(r)->families[0].samples[0].label("x"), "\\q\\\"\n");
}

TEST(ParserRobustness, LargeAndHostileInputs) {
    // Tens of megabytes in one go.
    {
        std::string text = "# TYPE big gauge\n";
        const std::string value(1100, 'v');
        for (int i = 0; i < 20000; ++i)
            text += "big{i=\"" + std::to_string(i) + "\",v=\"" + value + "\"} 1\n";
        ASSERT_GT(text.size(), 20u << 20);
        const ParseResult r = parse_exposition(text, kText);
        ASSERT_NE(ok(r), nullptr) << describe(r);
        EXPECT_EQ(ok(r)->families[0].samples.size(), 20000u);
    }
    // One sample with very many labels (duplicate check and grouping must not be quadratic).
    for (TextFormat format : {kText, kOpenMetrics}) {
        std::string text = "many{";
        for (int i = 0; i < 50000; ++i) text += (i ? ",l" : "l") + std::to_string(i) + "=\"x\"";
        std::string dup = text + ",l123=\"y\"} 1\n";
        text += "} 1\nmany{l0=\"x\"} 2\n";
        if (format == kOpenMetrics) {
            text += "# EOF\n";
            dup += "# EOF\n";
        }
        const ParseResult r = parse_exposition(text, format);
        ASSERT_NE(ok(r), nullptr) << describe(r);
        EXPECT_EQ(ok(r)->families[0].samples[0].labels.size(), 50000u);
        const ParseResult d = parse_exposition(dup, format);
        ASSERT_NE(err(d), nullptr);
        EXPECT_NE(err(d)->message.find("duplicate"), std::string::npos);
    }
    // A long line, deep nesting of nothing, control bytes, a NUL in a label value.
    EXPECT_NE(err(parse_exposition(std::string(5 << 20, '{'), kText)), nullptr);
    EXPECT_NE(err(parse_exposition(std::string(5 << 20, '"'), kOpenMetrics)), nullptr);
    EXPECT_NE(err(parse_exposition(std::string("a{x=\"\0\"} 1\n", 11) + "\x01\x02\n", kText)),
              nullptr);
    const ParseResult nul = parse_exposition(std::string("a{x=\"\0\"} 1\n", 11), kText);
    ASSERT_NE(ok(nul), nullptr) << describe(nul);
    EXPECT_EQ(ok(nul)->families[0].samples[0].label("x"), std::string_view("\0", 1));
    std::string comments;
    for (int i = 0; i < 200000; ++i) comments += "# c\n\n";
    EXPECT_NE(ok(parse_exposition(comments, kText)), nullptr);
}

}  // namespace
}  // namespace pulse::sidecar
