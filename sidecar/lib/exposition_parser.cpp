// Parsers of the Prometheus text format 0.0.4 and of OpenMetrics 1.0 text.
//
// Text 0.0.4 follows Prometheus' expfmt TextParser (what `promtool check metrics` runs),
// plus the format's written rule that a family's lines are contiguous. OpenMetrics 1.0
// follows the specification and the checks of the reference parser that its test
// vectors were written against (tests/unit/sidecar/parser_divergences.md says where we
// differ from either).
//
// Both scan the input once, line by line, with string_views; the only allocations are
// the result itself, a per-family name index and, for OpenMetrics, per-family group
// hashes. Label sets are checked in O(n log n) at worst (duplicate names, groups).
#include "exposition_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "common/ascii_case.h"
#include "common/trim.h"
#include "common/utf8.h"

namespace pulse::sidecar {

// ---- small public helpers ---------------------------------------------------------------

using common::iequals;

TextFormat format_from_content_type(std::string_view content_type) {
    std::string_view media = common::trim(content_type.substr(0, content_type.find(';')));
    return iequals(media, "application/openmetrics-text") ? TextFormat::openmetrics_1_0
                                                          : TextFormat::prometheus_0_0_4;
}

std::optional<std::string_view> Sample::label(std::string_view name) const {
    for (const auto &[n, v] : labels) {
        if (n == name) return std::string_view(v);
    }
    return std::nullopt;
}

const MetricFamily *Exposition::find(std::string_view family) const {
    for (const MetricFamily &f : families) {
        if (f.name == family) return &f;
    }
    return nullptr;
}

// ---- shared scanning helpers ------------------------------------------------------------

namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_label_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_label_char(char c) {
    return is_label_start(c) || is_digit(c);
}
bool is_metric_start(char c) {
    return is_label_start(c) || c == ':';
}
bool is_metric_char(char c) {
    return is_label_char(c) || c == ':';
}

std::size_t skip_blanks(std::string_view s, std::size_t i) {
    while (i < s.size() && is_blank(s[i])) ++i;
    return i;
}

// End of the metric name that starts at s[i] (== i when there is none).
std::size_t scan_metric_name(std::string_view s, std::size_t i) {
    if (i >= s.size() || !is_metric_start(s[i])) return i;
    ++i;
    while (i < s.size() && is_metric_char(s[i])) ++i;
    return i;
}

std::size_t scan_label_name(std::string_view s, std::size_t i) {
    if (i >= s.size() || !is_label_start(s[i])) return i;
    ++i;
    while (i < s.size() && is_label_char(s[i])) ++i;
    return i;
}

bool is_metric_name(std::string_view s) {
    return !s.empty() && scan_metric_name(s, 0) == s.size();
}

using common::utf8_length;
using common::valid_utf8;

// s quoted for an error message, like Go's %q, cut after `max` bytes.
std::string quote(std::string_view s, std::size_t max = 64) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::min(s.size(), max) + 8);
    out += '"';
    std::size_t i = 0;
    for (; i < s.size() && i < max; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (c < 0x20 || c == 0x7f || c >= 0x80) {
                    out += "\\x";
                    out += kHex[c >> 4];
                    out += kHex[c & 15];
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
    if (i < s.size()) out += "...";
    return out;
}

// The byte at s[i] described for an error message, or "end of line".
std::string found_at(std::string_view s, std::size_t i) {
    if (i >= s.size()) return "end of line";
    std::string q = quote(s.substr(i, 1));
    q.front() = '\'';
    q.back() = '\'';
    return q;
}

std::string cat(std::initializer_list<std::string_view> parts) {
    std::size_t n = 0;
    for (auto p : parts) n += p.size();
    std::string out;
    out.reserve(n);
    for (auto p : parts) out += p;
    return out;
}

enum class Num { ok, invalid, out_of_range };

// The decimal grammar both numbers and OpenMetrics timestamps share:
// [+-]digits[.digits][e[+-]digits], at least one digit before the exponent, nothing after.
struct Decimal {
    bool neg = false;
    std::size_t mantissa_start = 0, mantissa_end = 0;  // the digits and the dot
    std::size_t int_digits = 0, frac_digits = 0;
    long exponent = 0;  // saturates far beyond any double
};

std::optional<Decimal> scan_decimal(std::string_view s) {
    const std::size_t n = s.size();
    Decimal d;
    std::size_t i = 0;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        d.neg = s[0] == '-';
        i = 1;
    }
    d.mantissa_start = i;
    while (i < n && is_digit(s[i])) ++i, ++d.int_digits;
    if (i < n && s[i] == '.') {
        ++i;
        while (i < n && is_digit(s[i])) ++i, ++d.frac_digits;
    }
    d.mantissa_end = i;
    if (d.int_digits + d.frac_digits == 0) return std::nullopt;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            ++i;
        }
        std::size_t digits = 0;
        while (i < n && is_digit(s[i])) {
            if (d.exponent < 100000000) d.exponent = d.exponent * 10 + (s[i] - '0');
            ++i;
            ++digits;
        }
        if (digits == 0) return std::nullopt;
        if (eneg) d.exponent = -d.exponent;
    }
    if (i != n) return std::nullopt;
    return d;
}

// A float as Go's strconv.ParseFloat reads it, decimal forms only:
// [+-]digits[.digits][e[+-]digits],
// [+-]Inf, [+-]Infinity, NaN (case-insensitive). Hexadecimal forms and underscores are refused,
// as Prometheus refuses them; a value too large for a double is out of range, as in Go.
Num parse_float(std::string_view s, double &out) {
    const std::size_t n = s.size();
    if (n == 0) return Num::invalid;
    std::size_t i = 0;
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    std::string_view word = s.substr(i);
    if (iequals(word, "inf") || iequals(word, "infinity")) {
        out = neg ? -std::numeric_limits<double>::infinity()
                  : std::numeric_limits<double>::infinity();
        return Num::ok;
    }
    if (i == 0 && iequals(word, "nan")) {
        out = std::numeric_limits<double>::quiet_NaN();
        return Num::ok;
    }
    auto d = scan_decimal(s);
    if (!d) return Num::invalid;
    // Where the first significant digit stands, for range errors.
    long magnitude = 0;  // decimal position of the first non-zero digit, without the exponent
    bool nonzero = false;
    long position = static_cast<long>(d->int_digits);
    for (std::size_t k = d->mantissa_start; k < d->mantissa_end; ++k) {
        if (s[k] == '.') continue;
        if (s[k] != '0') {
            nonzero = true;
            magnitude = position;
            break;
        }
        --position;
    }
    const long exponent = d->exponent;

    const char *first = s.data() + (s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(first, s.data() + n, out, std::chars_format::general);
    if (ec == std::errc::result_out_of_range) {
        if (nonzero && magnitude + exponent > 0) return Num::out_of_range;  // overflow, as Go
        out = neg ? -0.0 : 0.0;                                             // underflow: zero
        return Num::ok;
    }
    if (ec != std::errc() || end != s.data() + n) return Num::invalid;
    return Num::ok;
}

// An integer as Go's strconv.ParseInt(s, 10, 64) reads it.
bool parse_int64(std::string_view s, std::int64_t &out) {
    std::size_t i = 0;
    bool neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == s.size()) return false;
    const std::uint64_t limit = neg ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
    std::uint64_t v = 0;
    for (; i < s.size(); ++i) {
        if (!is_digit(s[i])) return false;
        auto d = static_cast<std::uint64_t>(s[i] - '0');
        if (v > (limit - d) / 10) return false;
        v = v * 10 + d;
    }
    out = neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
    return true;
}

// An OpenMetrics timestamp: a real number of seconds (no Inf/NaN), exactly, in nanoseconds,
// saturated far beyond any real time.
using Nanos = __int128;
constexpr Nanos kNanosCap = static_cast<Nanos>(1) << 100;

bool parse_om_timestamp(std::string_view s, Nanos &ns) {
    auto d = scan_decimal(s);
    if (!d) return false;
    const bool neg = d->neg;
    const std::size_t mantissa_start = d->mantissa_start, mantissa_end = d->mantissa_end;
    const std::size_t int_digits = d->int_digits, frac_digits = d->frac_digits;
    const long exponent = d->exponent;
    double as_double;  // beyond a double's range is not a number of seconds (as in Prometheus)
    if (parse_float(s, as_double) != Num::ok) return false;

    // value = digits * 10^(exponent - frac_digits); in ns, scale by 10^(that + 9).
    const long scale = exponent - static_cast<long>(frac_digits) + 9;
    const long total = static_cast<long>(int_digits + frac_digits);
    const long keep = scale >= 0 ? total : total + scale;  // leading digits that count
    Nanos acc = 0;
    bool saturated = false;
    long taken = 0;
    for (std::size_t k = mantissa_start; k < mantissa_end && taken < keep; ++k) {
        if (s[k] == '.') continue;
        acc = acc * 10 + (s[k] - '0');
        ++taken;
        if (acc > kNanosCap) {
            saturated = true;
            break;
        }
    }
    for (long k = 0; !saturated && acc != 0 && k < scale; ++k) {
        acc *= 10;
        if (acc > kNanosCap) saturated = true;
    }
    if (saturated) acc = kNanosCap;
    ns = neg ? -acc : acc;
    return true;
}

std::int64_t nanos_to_ms(Nanos ns) {
    Nanos ms = ns / 1000000;  // truncates toward zero
    if (ms > std::numeric_limits<std::int64_t>::max())
        return std::numeric_limits<std::int64_t>::max();
    if (ms < std::numeric_limits<std::int64_t>::min())
        return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(ms);
}

// A label as scanned: the value still escaped, between its quotes.
struct RawLabel {
    std::string_view name;
    std::string_view raw;
    bool escaped = false;
};

// \\, \" and \n are unescaped; in OpenMetrics any other escape stays as written (text 0.0.4
// refuses those before we get here).
void unescape(std::string &out, std::string_view raw) {
    out.clear();
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c != '\\' || i + 1 >= raw.size()) {
            out += c;
            continue;
        }
        char e = raw[++i];
        if (e == 'n') {
            out += '\n';
        } else if (e == '\\' || e == '"') {
            out += e;
        } else {
            out += '\\';
            out += e;
        }
    }
}

// Index of a label whose name repeats an earlier one, or npos. Sorts a copy for big sets.
std::size_t find_duplicate_name(std::span<const RawLabel> labels,
                                std::vector<std::string_view> &scratch) {
    const std::size_t n = labels.size();
    if (n <= 16) {
        for (std::size_t i = 1; i < n; ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                if (labels[i].name == labels[j].name) return i;
            }
        }
        return npos;
    }
    scratch.clear();
    for (const RawLabel &l : labels) scratch.push_back(l.name);
    std::sort(scratch.begin(), scratch.end());
    auto it = std::adjacent_find(scratch.begin(), scratch.end());
    if (it == scratch.end()) return npos;
    for (std::size_t i = 0; i < n; ++i) {
        if (labels[i].name == *it) {
            for (std::size_t j = i + 1; j < n; ++j) {
                if (labels[j].name == *it) return j;
            }
        }
    }
    return npos;
}

void build_labels(Sample &s, std::span<const RawLabel> labels) {
    s.labels.reserve(labels.size());
    for (const RawLabel &l : labels) {
        auto &p = s.labels.emplace_back();
        p.first.assign(l.name);
        if (l.escaped) {
            unescape(p.second, l.raw);
        } else {
            p.second.assign(l.raw);
        }
    }
}

// Walks text line by line. `has_newline` says whether the line ended with '\n'.
struct LineReader {
    std::string_view text;
    std::size_t pos = 0;
    std::size_t number = 0;

    bool next(std::string_view &line, bool &has_newline) {
        if (pos >= text.size()) return false;
        ++number;
        const void *nl = std::memchr(text.data() + pos, '\n', text.size() - pos);
        std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char *>(nl) - text.data())
                             : text.size();
        line = text.substr(pos, end - pos);
        has_newline = nl != nullptr;
        pos = nl ? end + 1 : text.size();
        return true;
    }
};

// ---- text format 0.0.4 ------------------------------------------------------------------

// The labels into a sample whose strings are reused: no allocation once they have grown.
void assign_labels(Sample &s, std::span<const RawLabel> labels) {
    s.labels.resize(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) {
        s.labels[i].first.assign(labels[i].name);
        if (labels[i].escaped) {
            unescape(s.labels[i].second, labels[i].raw);
        } else {
            s.labels[i].second.assign(labels[i].raw);
        }
    }
}

class TextParser {
  public:
    explicit TextParser(std::string_view text, SampleSink *sink = nullptr)
        : reader_{text}, sink_(sink) {}

    ParseResult run() {
        std::string_view line;
        while (reader_.next(line, has_newline_)) {
            if (!parse_line(line)) return std::move(error_);
            if (!has_newline_ && skip_blanks(line, 0) != line.size()) {
                fail("unexpected end of input: the last line does not end with a newline");
                return std::move(error_);
            }
        }
        // As Prometheus: families that only had HELP or TYPE lines are not part of the result.
        std::erase_if(out_.families, [](const MetricFamily &f) { return f.samples.empty(); });
        return std::move(out_);
    }

  private:
    struct FamilyState {
        bool help_set = false;
        bool type_set = false;
        bool closed = false;
    };

    bool fail(std::string message) {
        error_.line = reader_.number;
        error_.message = std::move(message);
        return false;
    }

    bool parse_line(std::string_view line) {
        std::size_t i = skip_blanks(line, 0);
        if (i == line.size()) return true;
        if (line[i] == '#') return parse_comment(line, i + 1);
        return parse_sample(line, i);
    }

    // The family a name belongs to, as expfmt resolves it: the family itself, or the
    // summary/histogram whose _sum/_count/_bucket it is. Creates it when unknown.
    std::size_t resolve(std::string_view name) {
        if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
        auto base_of = [&](std::string_view suffix) -> std::string_view {
            if (name.size() > suffix.size() && name.ends_with(suffix)) {
                return name.substr(0, name.size() - suffix.size());
            }
            return {};
        };
        std::string_view base = base_of("_count");
        if (base.empty()) base = base_of("_sum");
        if (!base.empty()) {
            if (auto it = by_name_.find(base);
                it != by_name_.end() && (out_.families[it->second].kind == MetricKind::summary ||
                                         out_.families[it->second].kind == MetricKind::histogram)) {
                return it->second;
            }
        }
        base = base_of("_bucket");
        if (!base.empty()) {
            if (auto it = by_name_.find(base);
                it != by_name_.end() && out_.families[it->second].kind == MetricKind::histogram) {
                return it->second;
            }
        }
        const std::size_t index = out_.families.size();
        MetricFamily &f = out_.families.emplace_back();
        f.name.assign(name);
        state_.emplace_back();
        by_name_.emplace(name, index);
        return index;
    }

    // Resolves `name` and makes its family the current one: a family's lines are contiguous.
    bool enter_family(std::string_view name, std::size_t &index) {
        index = resolve(name);
        if (index == current_) return true;
        if (state_[index].closed) {
            return fail(cat({"lines of metric family ", quote(out_.families[index].name),
                             " are not contiguous: it appears again after other families"}));
        }
        if (current_ != npos) state_[current_].closed = true;
        current_ = index;
        return true;
    }

    bool parse_comment(std::string_view line, std::size_t i) {
        const std::size_t n = line.size();
        i = skip_blanks(line, i);
        std::size_t k = i;
        while (k < n && !is_blank(line[k])) ++k;
        if (k == n) return true;  // a comment of one word at most
        std::string_view keyword = line.substr(i, k - i);
        if (keyword != "HELP" && keyword != "TYPE") return true;
        i = skip_blanks(line, k);
        std::size_t e = scan_metric_name(line, i);
        if (e == n) return true;  // "# HELP" or "# HELP name" alone: ignored, as by Prometheus
        if (!is_blank(line[e])) {
            return fail(cat({"invalid metric name in comment: ", quote(line.substr(i))}));
        }
        std::string_view name = line.substr(i, e - i);
        i = skip_blanks(line, e);
        if (i == n) return true;  // nothing after the name
        std::size_t index;
        if (!enter_family(name, index)) return false;
        MetricFamily &f = out_.families[index];
        FamilyState &st = state_[index];
        std::string_view rest = line.substr(i);
        if (keyword == "HELP") {
            if (st.help_set) return fail(cat({"second HELP line for metric name ", quote(f.name)}));
            f.help.reserve(rest.size());
            for (std::size_t j = 0; j < rest.size(); ++j) {
                if (rest[j] != '\\') {
                    f.help += rest[j];
                    continue;
                }
                if (j + 1 >= rest.size())
                    return fail("invalid escape sequence: '\\' at the end of a HELP line");
                char esc = rest[++j];
                if (esc == '\\') {
                    f.help += '\\';
                } else if (esc == 'n') {
                    f.help += '\n';
                } else {
                    return fail(cat({"invalid escape sequence '\\", std::string_view(&rest[j], 1),
                                     "' in HELP (only \\\\ and \\n are allowed)"}));
                }
            }
            st.help_set = true;
            return true;
        }
        if (st.type_set) {
            return fail(cat({"second TYPE line for metric name ", quote(f.name),
                             ", or TYPE reported after samples"}));
        }
        if (rest == "counter") {
            f.kind = MetricKind::counter;
        } else if (rest == "gauge") {
            f.kind = MetricKind::gauge;
        } else if (rest == "histogram") {
            f.kind = MetricKind::histogram;
        } else if (rest == "summary") {
            f.kind = MetricKind::summary;
        } else if (rest == "untyped") {
            f.kind = MetricKind::untyped;
        } else {
            return fail(cat({"unknown metric type ", quote(rest),
                             " (expected counter, gauge, histogram, summary or untyped)"}));
        }
        st.type_set = true;
        return true;
    }

    bool parse_labels(std::string_view line, std::size_t &i, const MetricFamily &f) {
        const std::size_t n = line.size();
        ++i;  // '{'
        for (;;) {
            i = skip_blanks(line, i);
            if (i < n && line[i] == '}') {
                ++i;
                break;
            }
            std::size_t e = scan_label_name(line, i);
            if (e == i) {
                return fail(cat({"invalid label name for metric ", quote(f.name), ": found ",
                                 found_at(line, i)}));
            }
            std::string_view name = line.substr(i, e - i);
            if (name == "__name__") return fail("label name \"__name__\" is reserved");
            i = skip_blanks(line, e);
            if (i >= n || line[i] != '=') {
                return fail(cat({"expected '=' after label name ", quote(name), ", found ",
                                 found_at(line, i)}));
            }
            i = skip_blanks(line, i + 1);
            if (i >= n || line[i] != '"') {
                return fail(
                    cat({"expected '\"' at start of label value, found ", found_at(line, i)}));
            }
            const std::size_t start = ++i;
            bool escaped = false;
            for (;;) {
                if (i >= n) {
                    std::string_view so_far = line.substr(start);
                    return fail(
                        has_newline_
                            ? cat({"label value ", quote(so_far), " contains unescaped new-line"})
                            : cat({"unexpected end of input in label value ", quote(so_far)}));
                }
                char c = line[i];
                if (c == '"') break;
                if (c == '\\') {
                    if (i + 1 >= n)
                        return fail("invalid escape sequence: '\\' before the end of the line");
                    char esc = line[i + 1];
                    if (esc != '\\' && esc != '"' && esc != 'n') {
                        return fail(
                            cat({"invalid escape sequence '\\", std::string_view(&line[i + 1], 1),
                                 "' in label value (only \\\\, \\\" and \\n are allowed)"}));
                    }
                    escaped = true;
                    i += 2;
                    continue;
                }
                ++i;
            }
            std::string_view raw = line.substr(start, i - start);
            ++i;  // closing quote
            if (!valid_utf8(raw))
                return fail(cat({"invalid label value ", quote(raw), ": not valid UTF-8"}));
            const bool quantile = f.kind == MetricKind::summary && name == "quantile";
            const bool le = f.kind == MetricKind::histogram && name == "le";
            if (quantile || le) {
                std::string_view value = raw;
                if (escaped) {
                    unescape(scratch_value_, raw);
                    value = scratch_value_;
                }
                double v;
                if (parse_float(value, v) != Num::ok) {
                    return fail(cat(
                        {"expected float as value for '", name, "' label, got ", quote(value)}));
                }
            }
            labels_.push_back({name, raw, escaped});
            i = skip_blanks(line, i);
            if (i < n && line[i] == ',') {
                ++i;
                continue;
            }
            if (i < n && line[i] == '}') {
                ++i;
                break;
            }
            return fail(cat({"unexpected end of label value ", quote(raw),
                             ": expected ',' or '}', found ", found_at(line, i)}));
        }
        if (std::size_t d = find_duplicate_name(labels_, scratch_names_); d != npos) {
            return fail(cat({"duplicate label names for metric ", quote(f.name), ": ",
                             quote(labels_[d].name)}));
        }
        return true;
    }

    bool parse_sample(std::string_view line, std::size_t i) {
        const std::size_t n = line.size();
        const std::size_t start = i;
        std::size_t e = scan_metric_name(line, i);
        if (e == i) return fail(cat({"invalid metric name: line starts with ", found_at(line, i)}));
        std::string_view name = line.substr(i, e - i);
        std::size_t index;
        if (!enter_family(name, index)) return false;
        MetricFamily &f = out_.families[index];
        if (!state_[index].type_set) {
            state_[index].type_set = true;  // a later TYPE line is an error, as in Prometheus
            f.kind = MetricKind::untyped;
        }
        // As in Prometheus, the value may follow the name without a blank ("a+1", "a.5"):
        // the name ends at the first byte that cannot be part of it.
        i = skip_blanks(line, e);
        labels_.clear();
        std::size_t labels_end = e;
        if (i < n && line[i] == '{') {
            if (!parse_labels(line, i, f)) return false;
            labels_end = i;
            i = skip_blanks(line, i);
        }
        std::size_t v = i;
        while (i < n && !is_blank(line[i])) ++i;
        std::string_view value_text = line.substr(v, i - v);
        double value;
        if (value_text.empty()) return fail(cat({"missing value for metric ", quote(name)}));
        if (Num r = parse_float(value_text, value); r != Num::ok) {
            return fail(cat({"expected float as value, got ", quote(value_text),
                             r == Num::out_of_range ? " (out of range)" : ""}));
        }
        std::optional<std::int64_t> timestamp;
        if (i < n) {
            i = skip_blanks(line, i);
            std::size_t t = i;
            while (i < n && !is_blank(line[i])) ++i;
            std::string_view ts_text = line.substr(t, i - t);
            std::int64_t ts;
            if (!parse_int64(ts_text, ts)) {
                return fail(
                    ts_text.empty()
                        ? std::string(
                              "expected integer as timestamp, got \"\" (trailing whitespace)")
                        : cat({"expected integer as timestamp, got ", quote(ts_text)}));
            }
            if (i < n)
                return fail(cat({"spurious string after timestamp: ", quote(line.substr(i))}));
            timestamp = ts;
        }
        if (sink_ != nullptr) {
            const std::string_view series = line.substr(start, labels_end - start);
            if (!timestamp && sink_->known(series, value)) return true;
            scratch_sample_.name.assign(name);
            assign_labels(scratch_sample_, labels_);
            scratch_sample_.value = value;
            scratch_sample_.timestamp_ms = timestamp;
            sink_->sample(series, scratch_sample_);
            return true;
        }
        Sample &s = f.samples.emplace_back();
        s.name.assign(name);
        build_labels(s, labels_);
        s.value = value;
        s.timestamp_ms = timestamp;
        return true;
    }

    LineReader reader_;
    SampleSink *sink_;
    Sample scratch_sample_;
    bool has_newline_ = true;
    Exposition out_;
    ParseError error_;
    std::vector<FamilyState> state_;
    std::unordered_map<std::string_view, std::size_t> by_name_;
    std::size_t current_ = npos;
    std::vector<RawLabel> labels_;
    std::vector<std::string_view> scratch_names_;
    std::string scratch_value_;
};

// ---- OpenMetrics 1.0 --------------------------------------------------------------------

enum class OmType { unknown, counter, gauge, histogram, gaugehistogram, summary, info, stateset };

std::span<const std::string_view> om_suffixes(OmType t) {
    static constexpr std::string_view kCounter[] = {"_total", "_created"};
    static constexpr std::string_view kSummary[] = {"", "_count", "_sum", "_created"};
    static constexpr std::string_view kHistogram[] = {"_count", "_sum", "_bucket", "_created"};
    static constexpr std::string_view kGaugeHistogram[] = {"_gcount", "_gsum", "_bucket"};
    static constexpr std::string_view kInfo[] = {"_info"};
    static constexpr std::string_view kPlain[] = {""};
    switch (t) {
        case OmType::counter:
            return kCounter;
        case OmType::summary:
            return kSummary;
        case OmType::histogram:
            return kHistogram;
        case OmType::gaugehistogram:
            return kGaugeHistogram;
        case OmType::info:
            return kInfo;
        default:
            return kPlain;
    }
}

MetricKind kind_of(OmType t) {
    switch (t) {
        case OmType::counter:
            return MetricKind::counter;
        case OmType::gauge:
            return MetricKind::gauge;
        case OmType::histogram:
            return MetricKind::histogram;
        case OmType::gaugehistogram:
            return MetricKind::gaugehistogram;
        case OmType::summary:
            return MetricKind::summary;
        case OmType::info:
            return MetricKind::info;
        case OmType::stateset:
            return MetricKind::stateset;
        case OmType::unknown:
            break;
    }
    return MetricKind::untyped;
}

bool is_histogram(OmType t) {
    return t == OmType::histogram || t == OmType::gaugehistogram;
}

std::uint64_t hash_bytes(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ull;
    }
    return h;
}

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

using LabelPairs = std::vector<std::pair<std::string, std::string>>;

// A sample's group: its labels less the one that tells the points of one series apart
// (le of a bucket, quantile of a summary, the state of a stateset); info has one group.
struct GroupView {
    const LabelPairs *labels = nullptr;
    std::string_view skip;  // label left out, or empty
    bool whole_family = false;
};

class OpenMetricsParser {
  public:
    explicit OpenMetricsParser(std::string_view text) : reader_{text} {}

    ParseResult run() {
        std::string_view line;
        bool has_newline = false;
        bool eof = false;
        while (reader_.next(line, has_newline)) {
            if (eof) {
                fail("text after \"# EOF\"");
                return std::move(error_);
            }
            if (line.empty()) {
                fail("blank line (not allowed in OpenMetrics)");
                return std::move(error_);
            }
            if (line == "# EOF") {
                eof = true;
                continue;
            }
            bool ok = line[0] == '#' ? parse_metadata(line) : parse_sample(line);
            if (!ok) return std::move(error_);
        }
        if (!close_family()) return std::move(error_);
        if (!eof) {
            error_ = {0, "missing \"# EOF\" at the end of the exposition"};
            return std::move(error_);
        }
        return std::move(out_);
    }

  private:
    struct HistogramGroup {
        bool active = false;
        std::size_t last_line = 0;
        bool has_bucket = false;
        double bucket = 0;  // the last bucket's bound
        double value = 0;   // the last bucket's count
        bool has_count = false;
        double count = 0;
        bool has_sum = false, has_gsum = false;
        bool negative_buckets = false, negative_gsum = false;
    };

    struct Current {
        bool active = false;
        std::size_t index = 0;
        std::string_view name;
        bool help_set = false, type_set = false, unit_set = false;
        OmType type = OmType::unknown;
        std::string_view unit;
        HistogramGroup histogram;
    };

    bool fail(std::string message, std::size_t line = 0) {
        error_.line = line ? line : reader_.number;
        error_.message = std::move(message);
        return false;
    }

    MetricFamily &family() { return out_.families[cur_.index]; }

    // Ends the current family: its last histogram group is checked and its names are taken.
    bool close_family() {
        if (!cur_.active) return true;
        if (is_histogram(cur_.type) && cur_.histogram.active && !check_histogram_group())
            return false;
        seen_names_.emplace(cur_.name);
        for (std::string_view suffix : om_suffixes(cur_.type)) {
            if (!suffix.empty()) seen_names_.emplace(cat({cur_.name, suffix}));
        }
        cur_.active = false;
        return true;
    }

    bool clashes(std::string_view name, std::string_view suffix) {
        scratch_name_.assign(name);
        scratch_name_ += suffix;
        if (!seen_names_.contains(scratch_name_)) return false;
        return !fail(cat({"metric family ", quote(name), " clashes with an earlier family (",
                          quote(scratch_name_),
                          "): a family's lines must be contiguous and names must not overlap"}));
    }

    bool start_family(std::string_view name, bool from_sample) {
        if (!close_family()) return false;
        if (clashes(name, "")) return false;
        cur_ = Current{};
        cur_.active = true;
        cur_.name = name;
        cur_.index = out_.families.size();
        out_.families.emplace_back().name.assign(name);
        if (from_sample) cur_.type_set = true;  // an unknown family: no TYPE can follow
        seen_groups_.clear();
        return true;
    }

    bool parse_metadata(std::string_view line) {
        if (line.size() < 2 || line[1] != ' ') {
            return fail(cat({"invalid line ", quote(line),
                             ": OpenMetrics allows only \"# HELP\", \"# TYPE\", \"# UNIT\" and \"# "
                             "EOF\" after '#'"}));
        }
        std::string_view rest = line.substr(2);
        std::size_t sp = rest.find(' ');
        std::string_view keyword = rest.substr(0, sp);
        if (keyword != "HELP" && keyword != "TYPE" && keyword != "UNIT") {
            return fail(cat({"invalid line ", quote(line),
                             ": OpenMetrics allows only \"# HELP\", \"# TYPE\", \"# UNIT\" and \"# "
                             "EOF\" after '#'"}));
        }
        if (sp == npos) return fail(cat({"\"# ", keyword, "\" without a metric name"}));
        rest = rest.substr(sp + 1);
        sp = rest.find(' ');
        std::string_view name = rest.substr(0, sp);
        if (!is_metric_name(name))
            return fail(cat({"invalid metric name ", quote(name), " in # ", keyword}));
        if (sp == npos)
            return fail(
                cat({"\"# ", keyword, " ", name, "\" needs a space and a value after the name"}));
        std::string_view text = rest.substr(sp + 1);

        if (!cur_.active || name != cur_.name) {
            if (!start_family(name, false)) return false;
        } else if (!family().samples.empty()) {
            return fail(cat({"# ", keyword, " for ", quote(name), " after its samples"}));
        }
        MetricFamily &f = family();
        if (keyword == "HELP") {
            if (cur_.help_set)
                return fail(cat({"second HELP line for metric family ", quote(name)}));
            if (!valid_utf8(text))
                return fail(cat({"HELP of ", quote(name), " is not valid UTF-8"}));
            f.help.reserve(text.size());
            for (std::size_t i = 0; i < text.size(); ++i) {
                char c = text[i];
                if (c != '\\' || i + 1 >= text.size()) {
                    f.help += c;
                    continue;
                }
                char e = text[++i];
                if (e == 'n') {
                    f.help += '\n';
                } else if (e == '\\' || e == '"') {
                    f.help += e;
                } else {
                    f.help += '\\';
                    f.help += e;
                }
            }
            cur_.help_set = true;
            return true;
        }
        if (keyword == "TYPE") {
            if (cur_.type_set)
                return fail(cat({"second TYPE line for metric family ", quote(name)}));
            static constexpr std::pair<std::string_view, OmType> kTypes[] = {
                {"counter", OmType::counter},     {"gauge", OmType::gauge},
                {"histogram", OmType::histogram}, {"gaugehistogram", OmType::gaugehistogram},
                {"summary", OmType::summary},     {"info", OmType::info},
                {"stateset", OmType::stateset},   {"unknown", OmType::unknown}};
            auto it = std::find_if(std::begin(kTypes), std::end(kTypes),
                                   [&](auto &t) { return t.first == text; });
            if (it == std::end(kTypes)) {
                return fail(cat({"unknown metric type ", quote(text),
                                 " (expected counter, gauge, histogram, gaugehistogram, summary, "
                                 "info, stateset "
                                 "or unknown)"}));
            }
            cur_.type = it->second;
            cur_.type_set = true;
            f.kind = kind_of(cur_.type);
            for (std::string_view suffix : om_suffixes(cur_.type)) {
                if (!suffix.empty() && clashes(name, suffix)) return false;
            }
            if (!cur_.unit.empty() &&
                (cur_.type == OmType::info || cur_.type == OmType::stateset)) {
                return fail(cat({"a ", text, " cannot have a unit (", quote(name), ")"}));
            }
            return true;
        }
        // UNIT
        if (cur_.unit_set) return fail(cat({"second UNIT line for metric family ", quote(name)}));
        for (char c : text) {
            if (!is_metric_char(c)) return fail(cat({"invalid unit ", quote(text)}));
        }
        if (!text.empty()) {
            if (!(name.size() > text.size() + 1 && name.ends_with(text) &&
                  name[name.size() - text.size() - 1] == '_')) {
                return fail(cat(
                    {"metric family ", quote(name), " must end with its unit \"_", text, "\""}));
            }
            if (cur_.type == OmType::info || cur_.type == OmType::stateset) {
                return fail(cat({"an info or stateset cannot have a unit (", quote(name), ")"}));
            }
        }
        cur_.unit = text;
        cur_.unit_set = true;
        return true;
    }

    // Scans "{...}" at line[i] (OpenMetrics: no blanks, no trailing comma). `code_points`
    // adds up the names' and unescaped values' lengths (for the exemplar limit).
    bool parse_labels(std::string_view line, std::size_t &i, std::vector<RawLabel> &labels,
                      std::size_t *code_points) {
        const std::size_t n = line.size();
        ++i;  // '{'
        if (i < n && line[i] == '}') {
            ++i;
            return true;
        }
        for (;;) {
            std::size_t e = scan_label_name(line, i);
            if (e == i) return fail(cat({"invalid label name: found ", found_at(line, i)}));
            std::string_view name = line.substr(i, e - i);
            if (name == "__name__") return fail("label name \"__name__\" is reserved");
            if (e >= n || line[e] != '=') {
                return fail(cat({"expected '=' after label name ", quote(name), ", found ",
                                 found_at(line, e)}));
            }
            i = e + 1;
            if (i >= n || line[i] != '"') {
                return fail(cat({"expected '\"' at start of the value of label ", quote(name),
                                 ", found ", found_at(line, i)}));
            }
            const std::size_t start = ++i;
            bool escaped = false;
            std::size_t known_escapes = 0;
            for (;;) {
                if (i >= n) return fail(cat({"unterminated value of label ", quote(name)}));
                char c = line[i];
                if (c == '"') break;
                if (c == '\\') {
                    if (i + 1 >= n) return fail(cat({"unterminated value of label ", quote(name)}));
                    char esc = line[i + 1];
                    if (esc == '\\' || esc == '"' || esc == 'n') ++known_escapes;
                    escaped = true;
                    i += 2;
                    continue;
                }
                ++i;
            }
            std::string_view raw = line.substr(start, i - start);
            ++i;  // closing quote
            std::size_t length = utf8_length(raw);
            if (length == npos)
                return fail(cat({"invalid label value ", quote(raw), ": not valid UTF-8"}));
            if (code_points) *code_points += name.size() + length - known_escapes;
            labels.push_back({name, raw, escaped});
            if (i < n && line[i] == ',') {
                ++i;
                if (i < n && line[i] == '}') return fail("trailing comma in a label set");
                continue;
            }
            if (i < n && line[i] == '}') {
                ++i;
                break;
            }
            return fail(cat({"expected ',' or '}' after the value of label ", quote(name),
                             ", found ", found_at(line, i)}));
        }
        if (std::size_t d = find_duplicate_name(labels, scratch_names_); d != npos) {
            return fail(cat({"duplicate label name ", quote(labels[d].name)}));
        }
        return true;
    }

    bool parse_exemplar(std::string_view line, std::size_t i) {
        const std::size_t n = line.size();
        // line[i] == '#'
        if (i + 1 >= n || line[i + 1] != ' ' || i + 2 >= n || line[i + 2] != '{') {
            return fail(cat({"invalid exemplar ", quote(line.substr(i)),
                             ": expected \"# {labels} value [timestamp]\""}));
        }
        i += 2;
        exemplar_labels_.clear();
        std::size_t length = 0;
        if (!parse_labels(line, i, exemplar_labels_, &length)) return false;
        if (length > 128) return fail("exemplar labels are longer than 128 characters");
        if (i >= n || line[i] != ' ')
            return fail(cat({"missing exemplar value: found ", found_at(line, i)}));
        std::size_t v = ++i;
        while (i < n && line[i] != ' ') ++i;
        std::string_view value = line.substr(v, i - v);
        double d;
        if (parse_float(value, d) != Num::ok)
            return fail(cat({"invalid exemplar value ", quote(value)}));
        if (i < n) {
            std::string_view ts = line.substr(i + 1);
            Nanos ns;
            if (!parse_om_timestamp(ts, ns))
                return fail(cat({"invalid exemplar timestamp ", quote(ts)}));
        }
        return true;
    }

    bool allowed(std::string_view name) const {
        if (!cur_.active || !name.starts_with(cur_.name)) return false;
        std::string_view suffix = name.substr(cur_.name.size());
        if (!cur_.type_set) return suffix.empty();
        for (std::string_view s : om_suffixes(cur_.type)) {
            if (s == suffix) return true;
        }
        return false;
    }

    GroupView group_of(const Sample &s) const {
        GroupView g{&s.labels, {}, false};
        const std::string_view fam = cur_.name;
        switch (cur_.type) {
            case OmType::info:
                g.whole_family = true;
                break;
            case OmType::summary:
                if (s.name == fam) g.skip = "quantile";
                break;
            case OmType::stateset:
                g.skip = fam;
                break;
            case OmType::histogram:
            case OmType::gaugehistogram:
                if (s.name.size() == fam.size() + 7 && s.name.ends_with("_bucket")) g.skip = "le";
                break;
            default:
                break;
        }
        return g;
    }

    static std::uint64_t group_hash(const GroupView &g) {
        if (g.whole_family) return 0;
        std::uint64_t h = 0;
        for (const auto &[n, v] : *g.labels) {
            if (n == g.skip) continue;
            h += mix(hash_bytes(n) ^ mix(hash_bytes(v) + 0x9e3779b97f4a7c15ull));
        }
        return h;
    }

    bool same_group(const GroupView &a, const GroupView &b) {
        if (a.whole_family || b.whole_family) return a.whole_family == b.whole_family;
        auto collect = [](const GroupView &g,
                          std::vector<const std::pair<std::string, std::string> *> &out) {
            out.clear();
            for (const auto &p : *g.labels) {
                if (p.first != g.skip) out.push_back(&p);
            }
        };
        collect(a, group_a_);
        collect(b, group_b_);
        if (group_a_.size() != group_b_.size()) return false;
        if (group_a_.size() <= 16) {
            for (const auto *p : group_a_) {
                auto it = std::find_if(group_b_.begin(), group_b_.end(),
                                       [&](const auto *q) { return q->first == p->first; });
                if (it == group_b_.end() || (*it)->second != p->second) return false;
            }
            return true;
        }
        auto by_name = [](const auto *x, const auto *y) { return x->first < y->first; };
        std::sort(group_a_.begin(), group_a_.end(), by_name);
        std::sort(group_b_.begin(), group_b_.end(), by_name);
        for (std::size_t i = 0; i < group_a_.size(); ++i) {
            if (*group_a_[i] != *group_b_[i]) return false;
        }
        return true;
    }

    bool check_histogram_group() {
        HistogramGroup &h = cur_.histogram;
        const std::string name = quote(cur_.name);
        const std::size_t line = h.last_line;
        h.active = false;
        if (!h.has_bucket || !std::isinf(h.bucket) || h.bucket < 0) {
            return fail(cat({"histogram ", name, " has no +Inf bucket"}), line);
        }
        if (h.has_count && h.value != h.count) {
            return fail(cat({"histogram ", name, ": the count does not match the +Inf bucket"}),
                        line);
        }
        if (h.has_sum && !h.has_count)
            return fail(cat({"histogram ", name, " has _sum but no _count"}), line);
        if (h.has_gsum && !h.has_count)
            return fail(cat({"gaugehistogram ", name, " has _gsum but no _gcount"}), line);
        if (h.has_count && !h.has_sum && !h.has_gsum) {
            return fail(cat({"histogram ", name, " has a count but no sum"}), line);
        }
        if (h.negative_buckets && h.has_sum) {
            return fail(cat({"histogram ", name, " has negative buckets and a _sum"}), line);
        }
        if (!h.negative_buckets && h.negative_gsum) {
            return fail(
                cat({"gaugehistogram ", name, " has a negative _gsum but no negative bucket"}),
                line);
        }
        return true;
    }

    bool parse_sample(std::string_view line) {
        const std::size_t n = line.size();
        std::size_t e = scan_metric_name(line, 0);
        if (e == 0) return fail(cat({"invalid metric name: line starts with ", found_at(line, 0)}));
        std::string_view name = line.substr(0, e);
        std::size_t i = e;
        labels_.clear();
        if (i < n && line[i] == '{') {
            if (!parse_labels(line, i, labels_, nullptr)) return false;
        } else if (i < n && line[i] != ' ') {
            return fail(cat({"invalid metric name ", quote(line.substr(0, i + 1)), ": unexpected ",
                             found_at(line, i)}));
        }
        if (i >= n || line[i] != ' ') {
            return fail(
                i >= n ? cat({"missing value for metric ", quote(name)})
                       : cat({"expected a space after the labels, found ", found_at(line, i)}));
        }
        std::size_t v = ++i;
        while (i < n && line[i] != ' ') ++i;
        std::string_view value_text = line.substr(v, i - v);
        double value;
        if (value_text.empty())
            return fail(cat({"missing value for metric ", quote(name), " (two spaces?)"}));
        if (Num r = parse_float(value_text, value); r != Num::ok) {
            return fail(cat({"expected float as value, got ", quote(value_text),
                             r == Num::out_of_range ? " (out of range)" : ""}));
        }
        std::optional<Nanos> timestamp;
        bool exemplar = false;
        if (i < n) {
            ++i;  // the space
            if (i < n && line[i] == '#') {
                if (!parse_exemplar(line, i)) return false;
                exemplar = true;
            } else {
                std::size_t t = i;
                while (i < n && line[i] != ' ') ++i;
                std::string_view ts_text = line.substr(t, i - t);
                Nanos ns;
                if (ts_text.empty()) return fail("unexpected space after the value");
                if (!parse_om_timestamp(ts_text, ns)) {
                    return fail(cat(
                        {"expected timestamp (seconds) after the value, got ", quote(ts_text)}));
                }
                timestamp = ns;
                if (i < n) {
                    ++i;
                    if (i >= n || line[i] != '#') {
                        return fail(cat(
                            {"unexpected text after the timestamp: ", quote(line.substr(i - 1))}));
                    }
                    if (!parse_exemplar(line, i)) return false;
                    exemplar = true;
                }
            }
        }

        if (!allowed(name) && !start_family(name, true)) return false;
        MetricFamily &f = family();
        const OmType type = cur_.type;
        const std::string_view fam = cur_.name;
        const std::string_view suffix = name.substr(fam.size());

        Sample s;
        s.name.assign(name);
        build_labels(s, labels_);
        s.value = value;
        if (timestamp) s.timestamp_ms = nanos_to_ms(*timestamp);

        // What each type asks of its labels.
        double le = 0;
        if (type == OmType::stateset && !s.label(fam)) {
            return fail(
                cat({"stateset ", quote(fam), " sample without its ", quote(fam), " label"}));
        }
        if (is_histogram(type) && suffix == "_bucket") {
            auto text = s.label("le");
            if (!text || parse_float(*text, le) != Num::ok || std::isnan(le) ||
                (std::isinf(le) && le > 0 && *text != "+Inf")) {
                return fail(cat({"bucket of ", quote(fam), " without a valid le label (",
                                 text ? quote(*text) : "none", ")"}));
            }
        }
        if (type == OmType::summary && suffix.empty()) {
            auto text = s.label("quantile");
            double q;
            if (!text || parse_float(*text, q) != Num::ok || !(q >= 0 && q <= 1)) {
                return fail(cat({"summary ", quote(fam), " sample without a valid quantile label (",
                                 text ? quote(*text) : "none", ")"}));
            }
        }

        // Groups (the points of one series) stay together; within one, timestamps are all
        // there or all absent and do not go backwards.
        const GroupView g = group_of(s);
        const std::uint64_t hash = group_hash(g);
        const Sample *prev = f.samples.empty() ? nullptr : &f.samples.back();
        const bool same_as_prev = prev && prev_hash_ == hash && same_group(g, group_of(*prev));
        if (!same_as_prev) {
            auto range = seen_groups_.equal_range(hash);
            for (auto it = range.first; it != range.second; ++it) {
                if (same_group(g, group_of(f.samples[it->second]))) {
                    return fail(
                        cat({"samples of one series of ", quote(fam),
                             " are not together: its group appeared earlier in the family"}));
                }
            }
            seen_groups_.emplace(hash, static_cast<std::uint32_t>(f.samples.size()));
        } else {
            if (timestamp.has_value() != prev_timestamp_.has_value()) {
                return fail(cat(
                    {"mix of samples with and without timestamps in one series of ", quote(fam)}));
            }
            if (timestamp && *prev_timestamp_ > *timestamp && type != OmType::info) {
                return fail(cat({"timestamps went backwards in one series of ", quote(fam)}));
            }
        }

        // What each type asks of its values.
        if (type == OmType::stateset && value != 0 && value != 1) {
            return fail(cat({"stateset ", quote(fam), " values can only be 0 or 1"}));
        }
        if (type == OmType::info && value != 1)
            return fail(cat({"info ", quote(fam), " values can only be 1"}));
        if (type == OmType::summary && suffix.empty() && value < 0) {
            return fail(cat({"quantile values of summary ", quote(fam), " cannot be negative"}));
        }
        const bool counter_like = suffix == "_total" || suffix == "_sum" || suffix == "_count" ||
                                  suffix == "_bucket" || suffix == "_gcount" || suffix == "_gsum";
        if (counter_like && std::isnan(value)) {
            return fail(cat({"counter-like sample ", quote(name), " cannot be NaN"}));
        }
        if (counter_like && suffix != "_gsum" && value < 0) {
            return fail(cat({"counter-like sample ", quote(name), " cannot be negative"}));
        }
        // "Count and bucket values MUST be integers" (histograms, gauge histograms, summaries).
        const bool integral = (is_histogram(type) && (suffix == "_bucket" || suffix == "_count" ||
                                                      suffix == "_gcount")) ||
                              (type == OmType::summary && suffix == "_count");
        if (integral && !(std::isfinite(value) && value == std::floor(value))) {
            return fail(cat({"count or bucket sample ", quote(name), " must be an integer, got ",
                             quote(value_text)}));
        }
        if (exemplar && !((is_histogram(type) && suffix == "_bucket") ||
                          (type == OmType::counter && suffix == "_total"))) {
            return fail(cat({"exemplar on ", quote(name),
                             ": only histogram buckets and counter totals can have one"}));
        }

        // Histograms: buckets ascending and cumulative, +Inf present and equal to the count,
        // _sum/_count together (per series and timestamp).
        if (is_histogram(type)) {
            HistogramGroup &h = cur_.histogram;
            if (h.active && (!same_as_prev || timestamp != prev_timestamp_) &&
                !check_histogram_group())
                return false;
            if (!h.active) h = HistogramGroup{.active = true};
            h.last_line = reader_.number;
            if (suffix == "_bucket") {
                if (le < 0) h.negative_buckets = true;
                if (h.has_bucket && le <= h.bucket)
                    return fail(cat({"buckets of ", quote(fam), " out of order"}));
                if (value < h.value)
                    return fail(cat({"bucket counts of ", quote(fam), " are not cumulative"}));
                h.has_bucket = true;
                h.bucket = le;
                h.value = value;
            } else if (suffix == "_count" || suffix == "_gcount") {
                h.has_count = true;
                h.count = value;
            } else if (suffix == "_sum") {
                h.has_sum = true;
            } else if (suffix == "_gsum") {
                h.has_gsum = true;
                if (value < 0) h.negative_gsum = true;
            }
        }

        prev_timestamp_ = timestamp;
        prev_hash_ = hash;
        f.samples.push_back(std::move(s));
        return true;
    }

    LineReader reader_;
    Exposition out_;
    ParseError error_;
    Current cur_;
    std::optional<Nanos> prev_timestamp_;  // of the family's last sample
    std::uint64_t prev_hash_ = 0;          // of the family's last sample's group
    std::unordered_set<std::string> seen_names_;
    std::unordered_multimap<std::uint64_t, std::uint32_t> seen_groups_;
    std::vector<RawLabel> labels_, exemplar_labels_;
    std::vector<std::string_view> scratch_names_;
    std::vector<const std::pair<std::string, std::string> *> group_a_, group_b_;
    std::string scratch_name_;
};

}  // namespace

ParseResult parse_exposition(std::string_view text, TextFormat format) {
    if (format == TextFormat::openmetrics_1_0) return OpenMetricsParser(text).run();
    return TextParser(text).run();
}

std::optional<ParseError> parse_exposition(std::string_view text, TextFormat format,
                                           SampleSink &sink) {
    if (format == TextFormat::openmetrics_1_0) {
        // Its checks span a series' samples (groups, histograms): parsed whole first.
        ParseResult r = OpenMetricsParser(text).run();
        if (auto *e = std::get_if<ParseError>(&r)) return std::move(*e);
        for (const MetricFamily &f : std::get<Exposition>(r).families) {
            for (const Sample &s : f.samples) sink.sample({}, s);
        }
        return std::nullopt;
    }
    ParseResult r = TextParser(text, &sink).run();
    if (auto *e = std::get_if<ParseError>(&r)) return std::move(*e);
    return std::nullopt;
}

}  // namespace pulse::sidecar
