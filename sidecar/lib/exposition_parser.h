// A parser of the Prometheus text format 0.0.4 and of OpenMetrics 1.0 text, strict
// enough to reject what Prometheus rejects, with the line of the first error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pulse::sidecar {

enum class TextFormat { prometheus_0_0_4, openmetrics_1_0 };

// The format a Content-Type names; text 0.0.4 unless it says application/openmetrics-text.
TextFormat format_from_content_type(std::string_view content_type);

enum class MetricKind {
    untyped,
    counter,
    gauge,
    histogram,
    summary,
    info,
    stateset,
    gaugehistogram
};

struct Sample {
    std::string name;  // as written: "x_total", "x_bucket", ...
    std::vector<std::pair<std::string, std::string>> labels;  // unescaped values, in order
    double value = 0;
    std::optional<std::int64_t> timestamp_ms;

    // The value of label `name`, if present.
    std::optional<std::string_view> label(std::string_view name) const;
};

struct MetricFamily {
    std::string name;  // the family: counters without "_total" in OpenMetrics, as written in 0.0.4
    MetricKind kind = MetricKind::untyped;
    std::string help;
    std::vector<Sample> samples;
};

struct Exposition {
    std::vector<MetricFamily> families;

    const MetricFamily *find(std::string_view family) const;
};

struct ParseError {
    std::size_t line = 0;  // 1-based; 0 when the error is about the whole text
    std::string message;
};

using ParseResult = std::variant<Exposition, ParseError>;

ParseResult parse_exposition(std::string_view text, TextFormat format);

// Receives the samples of a text as they are parsed, where an Exposition would hold them all.
class SampleSink {
  public:
    virtual ~SampleSink() = default;
    // First offered the sample as written, before its labels are unescaped and copied: true
    // when the sink knows the series from `series` alone and has taken the sample (sample()
    // is then not called for it). Text 0.0.4, samples without a timestamp only.
    virtual bool known(std::string_view series, double value) {
        (void)series;
        (void)value;
        return false;
    }
    // `series`: the sample's name and labels as the text wrote them, a key for "the same
    // series as last time" (empty where the parser does not give it: OpenMetrics). `sample`
    // is valid during the call only.
    virtual void sample(std::string_view series, const Sample &sample) = 0;
};

// The same parse, every sample handed to `sink` and none kept: a text of 10,000 series
// costs no exposition in memory and no allocation a sample. nullopt when the whole text is
// good. The sink sees the samples before an error, so it must not act on them until this
// returns nullopt.
std::optional<ParseError> parse_exposition(std::string_view text, TextFormat format,
                                           SampleSink &sink);

}  // namespace pulse::sidecar
