// libFuzzer target for the exposition parser (tests/fuzz/run.sh builds and runs it).
//
// Every input is parsed as text 0.0.4 and as OpenMetrics 1.0. Beyond "no crash, no
// sanitizer report", it checks what must hold of any result: error lines within the
// text, label values valid UTF-8, and that a parsed exposition written back out in the
// same format parses again to the same thing (escaping, numbers and timestamps survive).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>
#include <optional>

#include "common/utf8.h"
#include "exposition_parser.h"

using namespace pulse::sidecar;

namespace {

[[noreturn]] void broken(const char *what, std::string_view text) {
    std::fprintf(stderr, "invariant broken: %s\ninput (%zu bytes)\n", what, text.size());
    std::abort();
}

using pulse::common::valid_utf8;

std::size_t lines_of(std::string_view text) {
    std::size_t n = 0;
    for (char c : text) n += c == '\n';
    return text.empty() || text.back() == '\n' ? n : n + 1;
}

void check(std::string_view text, const ParseResult &r, TextFormat format) {
    if (const ParseError *e = std::get_if<ParseError>(&r)) {
        if (e->message.empty()) broken("empty error message", text);
        if (e->line > lines_of(text) + 1) broken("error line beyond the text", text);
        return;
    }
    const Exposition &x = std::get<Exposition>(r);
    if (format == TextFormat::openmetrics_1_0 && text.find("# EOF") == std::string_view::npos) {
        broken("OpenMetrics without # EOF parsed", text);
    }
    for (const MetricFamily &f : x.families) {
        if (f.name.empty()) broken("family without a name", text);
        if (format == TextFormat::prometheus_0_0_4 && f.samples.empty())
            broken("0.0.4 family without samples", text);
        for (const Sample &s : f.samples) {
            if (s.name.empty() || !s.name.starts_with(f.name))
                broken("sample name outside its family", text);
            for (const auto &[name, value] : s.labels) {
                if (name.empty()) broken("empty label name", text);
                if (!valid_utf8(value)) broken("label value not UTF-8", text);
            }
        }
    }
}

void append_escaped(std::string &out, std::string_view s, bool quotes) {
    for (char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && quotes) {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

void append_value(std::string &out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[64];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        out.append(buf, end);
    }
}

std::string_view type_name(MetricKind k, bool openmetrics) {
    switch (k) {
        case MetricKind::counter:
            return "counter";
        case MetricKind::gauge:
            return "gauge";
        case MetricKind::histogram:
            return "histogram";
        case MetricKind::summary:
            return "summary";
        case MetricKind::info:
            return "info";
        case MetricKind::stateset:
            return "stateset";
        case MetricKind::gaugehistogram:
            return "gaugehistogram";
        case MetricKind::untyped:
            break;
    }
    return openmetrics ? "unknown" : "untyped";
}

// The exposition written back out: metadata first, then the samples as parsed.
std::string render(const Exposition &x, bool openmetrics) {
    std::string out;
    for (const MetricFamily &f : x.families) {
        if (openmetrics || !f.help.empty()) {
            out += "# HELP " + f.name + " ";
            append_escaped(out, f.help, openmetrics);
            out += '\n';
        }
        out += "# TYPE " + f.name + " ";
        out += type_name(f.kind, openmetrics);
        out += '\n';
        for (const Sample &s : f.samples) {
            out += s.name;
            if (!s.labels.empty()) {
                out += '{';
                for (std::size_t i = 0; i < s.labels.size(); ++i) {
                    if (i) out += ',';
                    out += s.labels[i].first + "=\"";
                    append_escaped(out, s.labels[i].second, true);
                    out += '"';
                }
                out += '}';
            }
            out += ' ';
            append_value(out, s.value);
            if (s.timestamp_ms) {
                out += ' ';
                std::int64_t ms = *s.timestamp_ms;
                if (!openmetrics) {
                    out += std::to_string(ms);
                } else {  // seconds, exactly
                    std::uint64_t mag = ms < 0 ? 0 - static_cast<std::uint64_t>(ms)
                                               : static_cast<std::uint64_t>(ms);
                    if (ms < 0) out += '-';
                    out += std::to_string(mag / 1000);
                    std::string frac = std::to_string(mag % 1000);
                    out += '.' + std::string(3 - frac.size(), '0') + frac;
                }
            }
            out += '\n';
        }
    }
    if (openmetrics) out += "# EOF\n";
    return out;
}

bool same_value(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

bool same(const Exposition &a, const Exposition &b) {
    if (a.families.size() != b.families.size()) return false;
    for (std::size_t i = 0; i < a.families.size(); ++i) {
        const MetricFamily &f = a.families[i], &g = b.families[i];
        if (f.name != g.name || f.kind != g.kind || f.help != g.help ||
            f.samples.size() != g.samples.size())
            return false;
        for (std::size_t j = 0; j < f.samples.size(); ++j) {
            const Sample &s = f.samples[j], &t = g.samples[j];
            if (s.name != t.name || s.labels != t.labels || s.timestamp_ms != t.timestamp_ms ||
                !same_value(s.value, t.value)) {
                return false;
            }
        }
    }
    return true;
}

}  // namespace

// The samples as a SampleSink receives them, to compare with the Exposition's.
struct Collect : SampleSink {
    std::string_view text;
    std::vector<Sample> samples;
    bool series_outside = false;
    void sample(std::string_view series, const Sample &s) override {
        samples.push_back(s);
        // The written series is a piece of the text that starts with the sample's name.
        if (!series.empty() && (series.data() < text.data() ||
                                series.data() + series.size() > text.data() + text.size() ||
                                !series.starts_with(s.name)))
            series_outside = true;
    }
};

void check_sink_agrees(std::string_view text, TextFormat format, const ParseResult &r) {
    Collect sink;
    sink.text = text;
    const std::optional<ParseError> e = parse_exposition(text, format, sink);
    if (sink.series_outside) broken("the sink's series text is not the sample's", text);
    if (const ParseError *want = std::get_if<ParseError>(&r)) {
        if (!e || e->line != want->line || e->message != want->message)
            broken("the sink parse and the exposition parse fail differently", text);
        return;
    }
    if (e) broken("the sink parse fails where the exposition parse does not", text);
    std::size_t i = 0;
    for (const MetricFamily &f : std::get<Exposition>(r).families) {
        for (const Sample &s : f.samples) {
            if (i >= sink.samples.size()) broken("the sink got fewer samples", text);
            const Sample &got = sink.samples[i++];
            const bool same_value =
                std::isnan(s.value) ? std::isnan(got.value) : s.value == got.value;
            if (got.name != s.name || got.labels != s.labels || !same_value ||
                got.timestamp_ms != s.timestamp_ms)
                broken("the sink got another sample", text);
        }
    }
    if (i != sink.samples.size()) broken("the sink got more samples", text);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    for (TextFormat format : {TextFormat::prometheus_0_0_4, TextFormat::openmetrics_1_0}) {
        const bool openmetrics = format == TextFormat::openmetrics_1_0;
        const ParseResult r = parse_exposition(text, format);
        check(text, r, format);
        check_sink_agrees(text, format, r);
        if (const Exposition *x = std::get_if<Exposition>(&r)) {
            const std::string again_text = render(*x, openmetrics);
            const ParseResult again = parse_exposition(again_text, format);
            if (const ParseError *e = std::get_if<ParseError>(&again)) {
                std::fprintf(stderr, "re-rendered text failed at line %zu: %s\n%s\n", e->line,
                             e->message.c_str(), again_text.c_str());
                broken(openmetrics ? "OpenMetrics round trip does not parse"
                                   : "0.0.4 round trip does not parse",
                       text);
            }
            if (!same(*x, std::get<Exposition>(again))) {
                broken(openmetrics ? "OpenMetrics round trip differs" : "0.0.4 round trip differs",
                       text);
            }
        }
    }
    return 0;
}
