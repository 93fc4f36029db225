// Writing the Prometheus text format 0.0.4 and OpenMetrics 1.0: family headers, samples,
// label escaping, numbers, and choosing the format from a scraper's Accept header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/families.h"

namespace pulse {

using common::MetricType;  // the families' types are the contract (common/families.h)

enum class Format : std::uint8_t { prometheus_text, openmetrics };

std::string_view content_type(Format f);

// Picks OpenMetrics only when the Accept header prefers it (by q-value) over the
// classic text format, as Prometheus' own negotiation does; text 0.0.4 otherwise.
Format negotiate_format(std::string_view accept);

// Appends `value` escaped for a label value: backslash, double quote and newline escaped,
// and any invalid UTF-8 replaced by U+FFFD, so the output always parses.
void append_escaped_label_value(std::string &out, std::string_view value);

// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN".
void append_number(std::string &out, double value);
void append_number(std::string &out, std::uint64_t value);

struct Label {
    std::string_view name;
    std::string_view value;
};

class ExpositionWriter {
  public:
    explicit ExpositionWriter(Format format) : format_(format) {}

    // Starts a family. `name` is the metric's name as exposed in the 0.0.4 format,
    // counters with their "_total"; OpenMetrics names the family without it.
    void family(std::string_view name, std::string_view help, MetricType type);

    // One sample line: the family name plus `suffix` ("_bucket", "_sum", "_count", or "").
    template <class Labels>
    void sample(std::string_view suffix, const Labels &labels, double value,
                std::string_view extra_name = {}, std::string_view extra_value = {}) {
        begin_sample(suffix);
        bool first = true;
        for (const Label &l : labels) write_label(first, l.name, l.value);
        if (!extra_name.empty()) write_label(first, extra_name, extra_value);
        end_sample(first, value);
    }
    void sample(std::string_view suffix, double value) {
        begin_sample(suffix);
        bool first = true;
        end_sample(first, value);
    }

    // Ends the exposition ("# EOF" for OpenMetrics) and hands the text over.
    std::string finish();

    std::string &buffer() { return out_; }

  private:
    void begin_sample(std::string_view suffix);
    void write_label(bool &first, std::string_view name, std::string_view value);
    void end_sample(bool first, double value);

    Format format_;
    std::string out_;
    std::string name_;
    MetricType type_ = MetricType::gauge;
};

}  // namespace pulse
