// Evaluates ast.h's tree at one instant as Prometheus 2.42's engine answers an instant query
// (promql/engine.go, functions.go, quantile.go at tag v2.42.0). Names follow the Go code
// where there is an equivalent (extrapolatedRate, VectorBinop, bucketQuantile, ...) so the
// two can be read side by side, and every floating-point operation is done in the same order
// as there, so that results match bit for bit. Where Prometheus leans on Go's math package
// (Exp, Log, Pow) the Go algorithms are re-implemented too, since glibc rounds differently.
#include "evaluator.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <re2/re2.h>

#include "bucket_quantile.h"
#include "common/ascii_case.h"
#include "common/utf8.h"

namespace pulse::promql {

namespace {

constexpr std::uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;  // value.StaleNaN
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
const std::string kMetricName = "__name__";
const std::string kBucketLabel = "le";

}  // namespace

bool is_stale_marker(double v) {
    return std::bit_cast<std::uint64_t>(v) == kStaleNaNBits;
}

double stale_marker() {
    return std::bit_cast<double>(kStaleNaNBits);
}

namespace {

// ---- Go's math package ------------------------------------------------------------------
// Prometheus is a Go program: where its result depends on how Go's math package rounds, the
// Go algorithm is re-implemented here. Exp and Log are the amd64 assembly versions
// (exp_amd64.s, log_amd64.s) that Go uses on x86-64; Pow, Log2 and Log10 are Go's portable
// code on top of them. Sqrt, Floor, Ceil, Abs and Mod are exact in both languages.
namespace gomath {

double from_bits(std::uint64_t b) {
    return std::bit_cast<double>(b);
}
std::uint64_t bits(double v) {
    return std::bit_cast<std::uint64_t>(v);
}

constexpr std::uint64_t kSignMask = 1ULL << 63;
constexpr std::uint64_t kPosInfBits = 0x7FF0000000000000ULL;
constexpr std::uint64_t kNegInfBits = 0xFFF0000000000000ULL;

// math.Max / math.Min: an infinity wins over NaN, NaN over any number, and +0 > -0.
double max(double x, double y) {
    if (std::isinf(x) && x > 0) return kInf;
    if (std::isinf(y) && y > 0) return kInf;
    if (std::isnan(x) || std::isnan(y)) return kNaN;
    if (x == 0 && x == y) return std::signbit(x) ? y : x;
    return x > y ? x : y;
}

double min(double x, double y) {
    if (std::isinf(x) && x < 0) return -kInf;
    if (std::isinf(y) && y < 0) return -kInf;
    if (std::isnan(x) || std::isnan(y)) return kNaN;
    if (x == 0 && x == y) return std::signbit(x) ? x : y;
    return x < y ? x : y;
}

// log_amd64.s: FreeBSD's e_log.c algorithm. Subnormal inputs are not renormalised there
// (their exponent field is read as is), and neither are they here.
double log(double x) {
    const std::uint64_t bx = bits(x);
    if ((bx & ~kSignMask) == 0) return -kInf;
    if (static_cast<std::int64_t>(bx) < 0) return kNaN;
    if (bx >= kPosInfBits) return x;  // +Inf or NaN
    constexpr double kHSqrt2 = 7.07106781186547524401e-01;
    const double ln2_hi = from_bits(0x3fe62e42fee00000ULL);
    const double ln2_lo = from_bits(0x3dea39ef35793c76ULL);
    const double l1 = from_bits(0x3FE5555555555593ULL);
    const double l2 = from_bits(0x3FD999999997FA04ULL);
    const double l3 = from_bits(0x3FD2492494229359ULL);
    const double l4 = from_bits(0x3FCC71C51D8E78AFULL);
    const double l5 = from_bits(0x3FC7466496CB03DEULL);
    const double l6 = from_bits(0x3FC39A09D078C69FULL);
    const double l7 = from_bits(0x3FC2F112DF3E5244ULL);
    double f1 = from_bits((bx & 0x000FFFFFFFFFFFFFULL) | bits(0.5));
    double k = static_cast<double>(static_cast<int>((bx >> 52) & 0x7FF) - 0x3FE);
    // CMPSD $5 (not-less-than) of HSqrt2 against f1: halve the range when f1 <= sqrt(2)/2.
    if (!(kHSqrt2 < f1)) {
        k -= 1;
        f1 *= 2;
    }
    const double f = f1 - 1;
    const double s = f / (2 + f);
    const double s2 = s * s;
    const double s4 = s2 * s2;
    const double t1 = s2 * (l1 + s4 * (l3 + s4 * (l5 + s4 * l7)));
    const double t2 = s4 * (l2 + s4 * (l4 + s4 * l6));
    const double r = t1 + t2;
    const double hfsq = 0.5 * f * f;
    return k * ln2_hi - ((hfsq - (s * (hfsq + r) + k * ln2_lo)) - f);
}

// exp_amd64.s (Shibata's method from SLEEF). Go takes its FMA path on CPUs with AVX and FMA,
// which is what Prometheus runs on in practice (x86-64 since Haswell); kExpUsesFma picks the
// same path here.
constexpr bool kExpUsesFma = true;

double exp(double x) {
    const std::uint64_t bx = bits(x);
    if ((bx & ~kSignMask) >= kPosInfBits) {
        if (bx == kNegInfBits) return 0;
        return x;  // NaN or +Inf
    }
    constexpr double kOverflow = 7.09782712893384e+02;
    if (x > kOverflow) return kInf;
    constexpr double kLog2e = 1.4426950408889634073599246810018920;
    constexpr double kLn2U = 0.69314718055966295651160180568695068359375;
    constexpr double kLn2L = 0.28235290563031577122588448175013436025525412068e-12;
    constexpr double c[] = {1.6666666666666666667e-1, 4.1666666666666666667e-2,
                            8.3333333333333333333e-3, 1.3888888888888888889e-3,
                            1.9841269841269841270e-4, 2.4801587301587301587e-5};
    // CVTSD2SL: round to nearest even; out of int32 range gives INT32_MIN (only the low side
    // can be out of range here, x being <= kOverflow).
    const double scaled = std::nearbyint(kLog2e * x);
    std::int32_t e = scaled < -2147483648.0 ? std::numeric_limits<std::int32_t>::min()
                                            : static_cast<std::int32_t>(scaled);
    const double k = static_cast<double>(e);
    double p;
    if (kExpUsesFma) {
        x = std::fma(-k, kLn2U, x);
        x = std::fma(-k, kLn2L, x);
        x *= 0.0625;
        p = c[5];
        p = std::fma(p, x, c[4]);
        p = std::fma(p, x, c[3]);
        p = std::fma(p, x, c[2]);
        p = std::fma(p, x, c[1]);
        p = std::fma(p, x, c[0]);
        p = std::fma(p, x, 0.5);
        p = std::fma(p, x, 1.0);
        x = x * p;
        for (int i = 0; i < 3; ++i) {
            p = x + 2.0;
            x = x * p;
        }
        p = x + 2.0;
        x = std::fma(x, p, 1.0);
    } else {
        x = x - k * kLn2U;
        x = x - k * kLn2L;
        x *= 0.0625;
        p = c[5];
        p = p * x + c[4];
        p = p * x + c[3];
        p = p * x + c[2];
        p = p * x + c[1];
        p = p * x + c[0];
        p = p * x + 0.5;
        p = p * x + 1.0;
        x = x * p;
        for (int i = 0; i < 4; ++i) {
            p = 2.0 + x;
            x = x * p;
        }
        x = x + 1.0;
    }
    // x * 2**e, in two steps when the result is subnormal.
    std::int32_t biased = e + 0x3FF;
    if (biased <= 0) {
        if (biased < -52) return 0;
        biased += 0x3FE;
        x *= from_bits(static_cast<std::uint64_t>(biased) << 52);
        biased = 1;
    } else if (biased >= 0x7FF) {
        return kInf;
    }
    return x * from_bits(static_cast<std::uint64_t>(biased) << 52);
}

// Go's conversion of a float64 to int64 on amd64 (CVTTSD2SQ): truncation, and
// 0x8000000000000000 for NaN and out-of-range values.
std::int64_t to_int64(double v) {
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
        return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(v);
}

bool is_odd_int(double x) {
    double xi;
    const double xf = std::modf(x, &xi);
    return xf == 0 && (to_int64(xi) & 1) == 1;
}

// math.Pow (pow.go).
double pow(double x, double y) {
    if (y == 0 || x == 1) return 1;
    if (y == 1) return x;
    if (std::isnan(x) || std::isnan(y)) return kNaN;
    if (x == 0) {
        if (y < 0) return is_odd_int(y) ? std::copysign(kInf, x) : kInf;
        if (y > 0) return is_odd_int(y) ? x : 0;
    }
    if (std::isinf(y)) {
        if (x == -1) return 1;
        if ((std::fabs(x) < 1) == (y > 0)) return 0;
        return kInf;
    }
    if (std::isinf(x)) {
        if (x < 0) return pow(1 / x, -y);  // Pow(-0, -y)
        if (y < 0) return 0;
        if (y > 0) return kInf;
    }
    if (y == 0.5) return std::sqrt(x);
    if (y == -0.5) return 1 / std::sqrt(x);

    double yi;
    double yf = std::modf(std::fabs(y), &yi);
    if (yf != 0 && x < 0) return kNaN;
    if (yi >= 9223372036854775808.0) {
        if (x == -1) return 1;
        if ((std::fabs(x) < 1) == (y > 0)) return 0;
        return kInf;
    }
    double a1 = 1.0;
    int ae = 0;
    if (yf != 0) {
        if (yf > 0.5) {
            yf--;
            yi++;
        }
        a1 = exp(yf * log(x));
    }
    int xe;
    double x1 = std::frexp(x, &xe);
    for (std::int64_t i = static_cast<std::int64_t>(yi); i != 0; i >>= 1) {
        if (xe < -(1 << 12) || (1 << 12) < xe) {
            ae += xe;
            break;
        }
        if ((i & 1) == 1) {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if (x1 < .5) {
            x1 += x1;
            xe--;
        }
    }
    if (y < 0) {
        a1 = 1 / a1;
        ae = -ae;
    }
    return std::ldexp(a1, ae);
}

constexpr double kLog2E = 1.44269504088896340735992468100189213742664595415298593413544940693;
constexpr double kLog10E = 0.43429448190325182765112891891660508229439700580366656611445378316;

double log2(double x) {
    int exp;
    const double frac = std::frexp(x, &exp);
    if (frac == 0.5) return static_cast<double>(exp - 1);  // exact powers of two
    return log(frac) * kLog2E + static_cast<double>(exp);
}

double log10(double x) {
    return log(x) * kLog10E;
}

}  // namespace gomath

// ---- strconv.ParseFloat, for `le` -------------------------------------------------------

bool underscore_ok(std::string_view s) {
    char saw = '^';
    std::size_t i = 0;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
    bool hex = false;
    if (s.size() >= 2 && s[0] == '0' &&
        (std::tolower(static_cast<unsigned char>(s[1])) == 'b' ||
         std::tolower(static_cast<unsigned char>(s[1])) == 'o' ||
         std::tolower(static_cast<unsigned char>(s[1])) == 'x')) {
        i = 2;
        saw = '0';
        hex = std::tolower(static_cast<unsigned char>(s[1])) == 'x';
    }
    for (; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (std::isdigit(c) || (hex && std::isxdigit(c))) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0') return false;
            saw = '_';
            continue;
        }
        if (saw == '_') return false;
        saw = '!';
    }
    return saw != '_';
}

using common::iequals;

// Go's strconv.ParseFloat(s, 64): nullopt where Go returns an error (bad syntax, or a finite
// number too large for a float64).
std::optional<double> go_parse_float(std::string_view s) {
    if (s.empty()) return std::nullopt;
    {  // special values: [+-]inf, [+-]infinity, nan (case-insensitive)
        std::string_view body = s;
        double sign = 1;
        bool has_sign = false;
        if (body[0] == '+' || body[0] == '-') {
            sign = body[0] == '-' ? -1 : 1;
            has_sign = true;
            body.remove_prefix(1);
        }
        if (iequals(body, "inf") || iequals(body, "infinity")) return sign * kInf;
        if (!has_sign && iequals(body, "nan")) return kNaN;
    }
    std::size_t i = 0;
    if (s[i] == '+' || s[i] == '-') ++i;
    bool hex = false;
    if (i + 2 < s.size() && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        hex = true;
        i += 2;
    }
    bool underscores = false;
    bool saw_digits = false;
    bool saw_dot = false;
    auto is_mant_digit = [&](unsigned char c) { return hex ? std::isxdigit(c) : std::isdigit(c); };
    for (; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '_') {
            underscores = true;
        } else if (c == '.') {
            if (saw_dot) return std::nullopt;
            saw_dot = true;
        } else if (is_mant_digit(c)) {
            saw_digits = true;
        } else {
            break;
        }
    }
    if (!saw_digits) return std::nullopt;
    const char exp_char = hex ? 'p' : 'e';
    if (i < s.size() && std::tolower(static_cast<unsigned char>(s[i])) == exp_char) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        bool exp_digits = false;
        for (; i < s.size(); ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c == '_') {
                underscores = true;
            } else if (std::isdigit(c)) {
                exp_digits = true;
            } else {
                break;
            }
        }
        if (!exp_digits) return std::nullopt;
    } else if (hex) {
        return std::nullopt;  // a hexadecimal mantissa needs a 'p' exponent
    }
    if (i != s.size()) return std::nullopt;
    if (underscores && !underscore_ok(s)) return std::nullopt;
    std::string clean;
    clean.reserve(s.size());
    for (char c : s)
        if (c != '_') clean += c;
    errno = 0;
    char *end = nullptr;
    const double v = std::strtod(clean.c_str(), &end);
    if (end != clean.c_str() + clean.size()) return std::nullopt;
    if (std::isinf(v)) return std::nullopt;  // out of range
    return v;
}

// ---- Go's strconv.Quote and labels.Labels.String(), for error messages ---------------------

std::string go_quote(std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                continue;
            case '\\':
                out += "\\\\";
                continue;
            case '\a':
                out += "\\a";
                continue;
            case '\b':
                out += "\\b";
                continue;
            case '\f':
                out += "\\f";
                continue;
            case '\n':
                out += "\\n";
                continue;
            case '\r':
                out += "\\r";
                continue;
            case '\t':
                out += "\\t";
                continue;
            case '\v':
                out += "\\v";
                continue;
            default:
                break;
        }
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);  // printable ASCII and UTF-8 as is
        }
    }
    out += '"';
    return out;
}

// Labels read in place: a whole label set, or a series' labels without its leading name.
using LabelSpan = std::span<const std::pair<std::string, std::string>>;

std::string labels_string(LabelSpan ls) {
    std::string out = "{";
    for (std::size_t i = 0; i < ls.size(); ++i) {
        if (i > 0) out += ", ";
        out += ls[i].first;
        out += '=';
        out += go_quote(ls[i].second);
    }
    out += '}';
    return out;
}

// ---- labels -------------------------------------------------------------------------------

const std::string *label_find(LabelSpan ls, std::string_view name) {
    for (const auto &[n, v] : ls)
        if (n == name) return &v;
    return nullptr;
}

std::string label_get(LabelSpan ls, std::string_view name) {
    const std::string *v = label_find(ls, name);
    return v != nullptr ? *v : std::string();
}

Labels drop_metric_name(Labels ls) {
    std::erase_if(ls, [](const auto &l) { return l.first == kMetricName; });
    return ls;
}

Labels without_metric_name(LabelSpan ls) {
    Labels out;
    out.reserve(ls.size());
    for (const auto &l : ls)
        if (l.first != kMetricName) out.push_back(l);
    return out;
}

// labels.Builder.Set: an empty value deletes; the result stays sorted by name.
void label_set(Labels &ls, const std::string &name, const std::string &value) {
    auto it = std::lower_bound(ls.begin(), ls.end(), name,
                               [](const auto &l, const std::string &n) { return l.first < n; });
    if (value.empty()) {
        if (it != ls.end() && it->first == name) ls.erase(it);
        return;
    }
    if (it != ls.end() && it->first == name) {
        it->second = value;
    } else {
        ls.insert(it, {name, value});
    }
}

bool valid_label_name(std::string_view n) {  // model.LabelNameRE: ^[a-zA-Z_][a-zA-Z0-9_]*$
    if (n.empty()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const auto c = static_cast<unsigned char>(n[i]);
        if (!(std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c)))) return false;
    }
    return true;
}

// An unambiguous key for a list of label pairs (lengths first, so no separator can clash).
void append_key(std::string &key, std::string_view name, std::string_view value) {
    key += std::to_string(name.size());
    key += ':';
    key += name;
    key += std::to_string(value.size());
    key += ':';
    key += value;
}

// Sorted by name, empty values dropped (a missing label and an empty one are the same in
// Prometheus), first of a repeated name kept.
Labels normalize_labels(Labels ls) {
    std::stable_sort(ls.begin(), ls.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    Labels out;
    out.reserve(ls.size());
    for (auto &l : ls) {
        if (l.second.empty()) continue;
        if (!out.empty() && out.back().first == l.first) continue;
        out.push_back(std::move(l));
    }
    return out;
}

// ---- regular expressions --------------------------------------------------------------------
// Prometheus compiles label matcher and label_replace() patterns with Go's regexp, anchored
// as ^(?:pattern)$ (textually: label_replace() takes `a)|(b` as ^(?:a)|(b)$, so the
// anchored pattern is searched for, as Go does, rather than matched against the whole
// value). RE2 speaks Go's syntax, and the parser has refused in Prometheus' words whatever
// Go refuses; like Go it matches in time linear in the value, without recursion, and its
// submatches are Go's (leftmost-first).
//
// The value is read as UTF-8, so that `.` is one character as in Go (RE2's other encoding,
// Latin-1, would make it one byte of "é"). Go reads each byte that starts no valid UTF-8
// sequence as one rune U+FFFD (which `.`, `[^a]` or `\x{FFFD}` match); RE2 matches no
// invalid byte at all, and takes overlong forms and surrogates for characters. So a value
// that is not valid UTF-8 is matched as Go reads it: each invalid byte replaced by U+FFFD,
// and submatches mapped back to the value's own bytes.

// RE2's memory budget per pattern, for its compiled programs and their DFA caches: 4 times
// RE2's default (8 MiB), so that patterns such as \pL{1000}, which Go accepts, compile. A
// larger pattern is refused at parse time; a DFA that fills its share falls back to RE2's
// slower NFA, never to a wrong answer.
constexpr std::int64_t kRegexMaxMem = std::int64_t{32} << 20;

re2::RE2::Options regex_options() {
    re2::RE2::Options o;
    o.set_encoding(re2::RE2::Options::EncodingUTF8);
    o.set_log_errors(false);
    o.set_max_mem(kRegexMaxMem);
    return o;  // Perl syntax, leftmost-first, case-sensitive: as Go's regexp.Compile
}

struct CompiledRegex {
    explicit CompiledRegex(const std::string &pattern)
        : re("^(?:" + pattern + ")$", regex_options()) {
        if (!re.ok()) return;
        group_names.resize(static_cast<std::size_t>(re.NumberOfCapturingGroups()) + 1);
        // Every group's name, as Go's SubexpNames: with a name given twice, Expand takes the
        // leftmost group of that name that matched (NamedCapturingGroups() keeps the leftmost
        // one only).
        for (const auto &[index, name] : re.CapturingGroupNames())
            group_names[static_cast<std::size_t>(index)] = name;
    }
    bool ok() const { return re.ok(); }

    re2::RE2 re;                           // the anchored pattern
    std::vector<std::string> group_names;  // [i]: group i's name, "" if none ([0]: the match)
};

// One compiled regex per pattern, shared by every evaluation and every thread (RE2's
// matching is thread-safe).
std::shared_ptr<const CompiledRegex> compile_anchored(const std::string &pattern) {
    static std::mutex mutex;
    static std::unordered_map<std::string, std::shared_ptr<const CompiledRegex>> cache;
    {
        std::lock_guard lock(mutex);
        if (auto it = cache.find(pattern); it != cache.end()) return it->second;
    }
    auto compiled = std::make_shared<const CompiledRegex>(pattern);
    std::lock_guard lock(mutex);
    if (cache.size() >= 4096) cache.clear();
    return cache.emplace(pattern, std::move(compiled)).first->second;
}

// Go's utf8.DecodeRuneInString's width: the length of the valid UTF-8 sequence at s[i], or
// 0 when none starts there.
std::size_t utf8_width(std::string_view s, std::size_t i) {
    return common::utf8_sequence_length(s.substr(i));
}

// A label value as RE2 is to match it: the value itself when it is valid UTF-8, else a copy
// with U+FFFD for each invalid byte.
class MatchText {
  public:
    explicit MatchText(std::string_view value) : value_(value) {
        std::size_t i = 0;
        for (std::size_t w; i < value.size() && (w = utf8_width(value, i)) != 0;) i += w;
        if (i == value.size()) return;
        copy_.reserve(value.size() + 8);
        offsets_.reserve(value.size() + 9);
        for (i = 0; i < value.size();) {
            const std::size_t w = utf8_width(value, i);
            const std::string_view piece = w != 0 ? value.substr(i, w) : "\xEF\xBF\xBD";
            copy_ += piece;
            offsets_.insert(offsets_.end(), piece.size(), i);
            i += w != 0 ? w : 1;
        }
        offsets_.push_back(value.size());
    }
    re2::StringPiece text() const {
        return offsets_.empty() ? re2::StringPiece(value_) : re2::StringPiece(copy_);
    }
    // The value's bytes for a submatch of text(), which starts and ends between characters.
    std::string_view original(re2::StringPiece piece) const {
        const auto begin = static_cast<std::size_t>(piece.data() - text().data());
        if (offsets_.empty()) return value_.substr(begin, piece.size());
        const std::size_t from = offsets_[begin], to = offsets_[begin + piece.size()];
        return value_.substr(from, to - from);
    }

  private:
    std::string_view value_;
    std::string copy_;                  // when value_ is not valid UTF-8
    std::vector<std::size_t> offsets_;  // copy_'s byte k comes from value_[offsets_[k]]
};

// Whether the anchored pattern matches the value; with `groups`, also its submatches (as
// many as there are StringPieces, unmatched groups with a null data()).
bool regex_match(const CompiledRegex &re, const MatchText &text,
                 std::vector<re2::StringPiece> *groups = nullptr) {
    const re2::StringPiece t = text.text();
    return re.re.Match(t, 0, t.size(), re2::RE2::UNANCHORED,
                       groups != nullptr ? groups->data() : nullptr,
                       groups != nullptr ? static_cast<int>(groups->size()) : 0);
}

bool matcher_matches(const LabelMatcher &m, const CompiledRegex *re, std::string_view value) {
    switch (m.op) {
        case LabelMatcher::Op::equal:
            return value == m.value;
        case LabelMatcher::Op::not_equal:
            return value != m.value;
        case LabelMatcher::Op::regex:
            return re != nullptr && re->ok() && regex_match(*re, MatchText(value));
        case LabelMatcher::Op::not_regex:
            return re != nullptr && re->ok() && !regex_match(*re, MatchText(value));
    }
    return false;
}

bool is_regex(const LabelMatcher &m) {
    return m.op == LabelMatcher::Op::regex || m.op == LabelMatcher::Op::not_regex;
}

}  // namespace

// ---- MemoryStorage ----------------------------------------------------------------------------

void Storage::read_points(const Series &series, std::int64_t mint, std::int64_t maxt,
                          std::vector<Point> &out) const {
    const auto &pts = series.points;
    auto it = std::lower_bound(pts.begin(), pts.end(), mint,
                               [](const Point &p, std::int64_t t) { return p.t_ms < t; });
    for (; it != pts.end() && it->t_ms <= maxt; ++it) out.push_back(*it);
}

std::optional<Point> Storage::newest_point(const Series &series, std::int64_t maxt) const {
    const auto &pts = series.points;
    auto it = std::upper_bound(pts.begin(), pts.end(), maxt,
                               [](std::int64_t t, const Point &p) { return t < p.t_ms; });
    if (it == pts.begin()) return std::nullopt;
    return *std::prev(it);
}

void MemoryStorage::add(Series series) {
    series.labels = normalize_labels(std::move(series.labels));
    auto by_time = [](const Point &a, const Point &b) { return a.t_ms < b.t_ms; };
    auto same_time = [](const Point &a, const Point &b) { return a.t_ms == b.t_ms; };
    // A series with the labels of an earlier one adds to it.
    auto existing = std::find_if(series_.begin(), series_.end(),
                                 [&](const Series &s) { return s.labels == series.labels; });
    std::vector<Point> *points = &series.points;
    if (existing != series_.end()) {
        existing->points.insert(existing->points.end(), series.points.begin(), series.points.end());
        points = &existing->points;
    }
    if (!std::is_sorted(points->begin(), points->end(), by_time))
        std::stable_sort(points->begin(), points->end(), by_time);
    // A second sample at the same time is dropped, as Prometheus' TSDB rejects it.
    points->erase(std::unique(points->begin(), points->end(), same_time), points->end());
    if (existing == series_.end()) series_.push_back(std::move(series));
}

struct MatcherSet::Impl {
    std::vector<LabelMatcher> matchers;
    std::vector<std::shared_ptr<const CompiledRegex>> regexes;
};

MatcherSet::MatcherSet(const std::vector<LabelMatcher> &matchers) {
    auto impl = std::make_shared<Impl>();
    impl->matchers = matchers;
    impl->regexes.resize(matchers.size());
    for (std::size_t i = 0; i < matchers.size(); ++i)
        if (is_regex(matchers[i])) impl->regexes[i] = compile_anchored(matchers[i].value);
    impl_ = std::move(impl);
}

MatcherSet::~MatcherSet() = default;

bool MatcherSet::matches(const Labels &labels) const {
    for (std::size_t i = 0; i < impl_->matchers.size(); ++i) {
        const LabelMatcher &m = impl_->matchers[i];
        const std::string *value = label_find(labels, m.name);
        if (!matcher_matches(m, impl_->regexes[i].get(), value ? std::string_view(*value) : ""))
            return false;
    }
    return true;
}

bool labels_match(const std::vector<LabelMatcher> &matchers, const Labels &labels) {
    return MatcherSet(matchers).matches(labels);
}

std::vector<const Series *> MemoryStorage::select(const std::vector<LabelMatcher> &matchers) const {
    MatcherSet set(matchers);
    std::vector<const Series *> out;
    for (const auto &s : series_) {
        if (set.matches(s.labels)) out.push_back(&s);
    }
    return out;
}

namespace {

// ---- evaluation -------------------------------------------------------------------------------

struct Failure {  // thrown where Prometheus panics with an error; becomes the EvalError
    std::size_t pos;
    std::string message;
};

[[noreturn]] void fail(std::size_t pos, std::string message) {
    throw Failure{pos, std::move(message)};
}

// A sample's labels, shared by the vectors that carry them unchanged (a selector's series, a
// range function's result that several signals read) and copied only when one changes them:
// an evaluation over 10,000 series would otherwise copy each label set several times. A range
// function's result reads its series' labels in place, without the leading __name__, until
// something asks for a label set of its own.
class SharedLabels {
  public:
    SharedLabels() = default;
    SharedLabels(Labels ls) : p_(std::make_shared<Labels>(std::move(ls))) {}  // NOLINT
    // The labels of a series the storage holds for the whole evaluation, not copied.
    static SharedLabels borrow(const Labels &ls) {
        SharedLabels out;
        out.p_ = std::shared_ptr<Labels>(std::shared_ptr<Labels>(), const_cast<Labels *>(&ls));
        return out;
    }
    // The same without __name__: in place when the name sorts first, as it does unless a
    // label name starts with an upper-case letter, a digit-led "_" or the like.
    static SharedLabels borrow_without_name(const Labels &ls) {
        if (ls.empty() || ls.front().first != kMetricName) {
            if (std::none_of(ls.begin(), ls.end(),
                             [](const auto &l) { return l.first == kMetricName; }))
                return borrow(ls);
            return SharedLabels(without_metric_name(ls));
        }
        SharedLabels out = borrow(ls);
        out.skip_name_ = true;
        return out;
    }

    LabelSpan span() const { return LabelSpan(p_ ? *p_ : empty()).subspan(skip_name_ ? 1 : 0); }
    operator LabelSpan() const { return span(); }  // NOLINT
    // A label set of its own, made from the borrowed one when it reads it without the name.
    const Labels &get() const {
        if (skip_name_) {
            p_ = std::make_shared<Labels>(span().begin(), span().end());
            skip_name_ = false;
        }
        return p_ ? *p_ : empty();
    }
    operator const Labels &() const { return get(); }  // NOLINT
    LabelSpan::iterator begin() const { return span().begin(); }
    LabelSpan::iterator end() const { return span().end(); }
    std::size_t size() const { return span().size(); }

    // Labels of its own to change: copied unless no other vector shares them.
    Labels &edit() {
        get();
        if (!p_ || p_.use_count() != 1) p_ = std::make_shared<Labels>(get());
        return *p_;
    }
    // The labels, moved out when no other vector shares them.
    Labels take() && {
        get();
        if (p_ && p_.use_count() == 1) return std::move(*p_);
        return get();
    }

    friend bool operator<(const SharedLabels &a, const SharedLabels &b) {
        if (a.p_ == b.p_ && a.skip_name_ == b.skip_name_) return false;
        const LabelSpan x = a.span(), y = b.span();
        return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
    }
    friend bool operator==(const SharedLabels &a, const SharedLabels &b) {
        if (a.p_ == b.p_ && a.skip_name_ == b.skip_name_) return true;
        const LabelSpan x = a.span(), y = b.span();
        return std::equal(x.begin(), x.end(), y.begin(), y.end());
    }

  private:
    static const Labels &empty() {
        static const Labels none;
        return none;
    }
    // Borrowed labels have no control block (use_count() 0): never changed in place.
    mutable std::shared_ptr<Labels> p_;
    mutable bool skip_name_ = false;
};

struct Sample {
    SharedLabels labels;
    double v = 0;
    std::int64_t t = 0;  // the sample's own time for timestamp(selector); else the eval time
};

using Vector = std::vector<Sample>;

struct StringValue {
    std::string v;
};

using Value = std::variant<Vector, Scalar, StringValue>;

enum class VT { scalar, vector, matrix, string };

const char *documented_type(VT t) {
    switch (t) {
        case VT::scalar:
            return "scalar";
        case VT::vector:
            return "instant vector";
        case VT::matrix:
            return "range vector";
        case VT::string:
            return "string";
    }
    return "?";
}

enum class Fn {
    abs,
    absent,
    absent_over_time,
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atanh,
    avg_over_time,
    ceil,
    changes,
    clamp,
    clamp_max,
    clamp_min,
    cos,
    cosh,
    count_over_time,
    days_in_month,
    day_of_month,
    day_of_week,
    day_of_year,
    deg,
    delta,
    deriv,
    exp,
    floor,
    histogram_count,
    histogram_sum,
    histogram_fraction,
    histogram_quantile,
    holt_winters,
    hour,
    idelta,
    increase,
    irate,
    label_replace,
    label_join,
    last_over_time,
    ln,
    log10,
    log2,
    max_over_time,
    min_over_time,
    minute,
    month,
    pi,
    predict_linear,
    present_over_time,
    quantile_over_time,
    rad,
    rate,
    resets,
    round,
    scalar,
    sgn,
    sin,
    sinh,
    sort,
    sort_desc,
    sqrt,
    stddev_over_time,
    stdvar_over_time,
    sum_over_time,
    tan,
    tanh,
    time,
    timestamp,
    vector,
    year,
};

struct FunctionInfo {
    Fn fn;
    std::vector<VT> args;
    int variadic = 0;  // 0: exactly args; n > 0: up to n more of the last type; -1: any more
    VT ret = VT::vector;
};

// promql/parser/functions.go's table.
const std::unordered_map<std::string_view, FunctionInfo> &functions() {
    using enum VT;
    static const std::unordered_map<std::string_view, FunctionInfo> table = {
        {"abs", {Fn::abs, {vector}}},
        {"absent", {Fn::absent, {vector}}},
        {"absent_over_time", {Fn::absent_over_time, {matrix}}},
        {"acos", {Fn::acos, {vector}}},
        {"acosh", {Fn::acosh, {vector}}},
        {"asin", {Fn::asin, {vector}}},
        {"asinh", {Fn::asinh, {vector}}},
        {"atan", {Fn::atan, {vector}}},
        {"atanh", {Fn::atanh, {vector}}},
        {"avg_over_time", {Fn::avg_over_time, {matrix}}},
        {"ceil", {Fn::ceil, {vector}}},
        {"changes", {Fn::changes, {matrix}}},
        {"clamp", {Fn::clamp, {vector, scalar, scalar}}},
        {"clamp_max", {Fn::clamp_max, {vector, scalar}}},
        {"clamp_min", {Fn::clamp_min, {vector, scalar}}},
        {"cos", {Fn::cos, {vector}}},
        {"cosh", {Fn::cosh, {vector}}},
        {"count_over_time", {Fn::count_over_time, {matrix}}},
        {"days_in_month", {Fn::days_in_month, {vector}, 1}},
        {"day_of_month", {Fn::day_of_month, {vector}, 1}},
        {"day_of_week", {Fn::day_of_week, {vector}, 1}},
        {"day_of_year", {Fn::day_of_year, {vector}, 1}},
        {"deg", {Fn::deg, {vector}}},
        {"delta", {Fn::delta, {matrix}}},
        {"deriv", {Fn::deriv, {matrix}}},
        {"exp", {Fn::exp, {vector}}},
        {"floor", {Fn::floor, {vector}}},
        {"histogram_count", {Fn::histogram_count, {vector}}},
        {"histogram_sum", {Fn::histogram_sum, {vector}}},
        {"histogram_fraction", {Fn::histogram_fraction, {scalar, scalar, vector}}},
        {"histogram_quantile", {Fn::histogram_quantile, {scalar, vector}}},
        {"holt_winters", {Fn::holt_winters, {matrix, scalar, scalar}}},
        {"hour", {Fn::hour, {vector}, 1}},
        {"idelta", {Fn::idelta, {matrix}}},
        {"increase", {Fn::increase, {matrix}}},
        {"irate", {Fn::irate, {matrix}}},
        {"label_replace", {Fn::label_replace, {vector, string, string, string, string}}},
        {"label_join", {Fn::label_join, {vector, string, string, string}, -1}},
        {"last_over_time", {Fn::last_over_time, {matrix}}},
        {"ln", {Fn::ln, {vector}}},
        {"log10", {Fn::log10, {vector}}},
        {"log2", {Fn::log2, {vector}}},
        {"max_over_time", {Fn::max_over_time, {matrix}}},
        {"min_over_time", {Fn::min_over_time, {matrix}}},
        {"minute", {Fn::minute, {vector}, 1}},
        {"month", {Fn::month, {vector}, 1}},
        {"pi", {Fn::pi, {}, 0, scalar}},
        {"predict_linear", {Fn::predict_linear, {matrix, scalar}}},
        {"present_over_time", {Fn::present_over_time, {matrix}}},
        {"quantile_over_time", {Fn::quantile_over_time, {scalar, matrix}}},
        {"rad", {Fn::rad, {vector}}},
        {"rate", {Fn::rate, {matrix}}},
        {"resets", {Fn::resets, {matrix}}},
        {"round", {Fn::round, {vector, scalar}, 1}},
        {"scalar", {Fn::scalar, {vector}, 0, scalar}},
        {"sgn", {Fn::sgn, {vector}}},
        {"sin", {Fn::sin, {vector}}},
        {"sinh", {Fn::sinh, {vector}}},
        {"sort", {Fn::sort, {vector}}},
        {"sort_desc", {Fn::sort_desc, {vector}}},
        {"sqrt", {Fn::sqrt, {vector}}},
        {"stddev_over_time", {Fn::stddev_over_time, {matrix}}},
        {"stdvar_over_time", {Fn::stdvar_over_time, {matrix}}},
        {"sum_over_time", {Fn::sum_over_time, {matrix}}},
        {"tan", {Fn::tan, {vector}}},
        {"tanh", {Fn::tanh, {vector}}},
        {"time", {Fn::time, {}, 0, scalar}},
        {"timestamp", {Fn::timestamp, {vector}}},
        {"vector", {Fn::vector, {scalar}}},
        {"year", {Fn::year, {vector}, 1}},
    };
    return table;
}

bool is_comparison(BinaryOp op) {
    switch (op) {
        case BinaryOp::eq:
        case BinaryOp::ne:
        case BinaryOp::gt:
        case BinaryOp::lt:
        case BinaryOp::ge:
        case BinaryOp::le:
            return true;
        default:
            return false;
    }
}

// shouldDropMetricName: arithmetic drops the metric name, comparisons keep it.
bool should_drop_metric_name(BinaryOp op) {
    return !is_comparison(op);
}

const Node &child(const NodePtr &p, std::size_t parent_pos, const char *what) {
    if (!p) fail(parent_pos, std::string("missing ") + what);
    return *p;
}

// The static type of an expression, checked as Prometheus' parser checks it (checkAST), so
// that a tree built by hand cannot reach an evaluation it has no meaning for.
VT check(const Node &node) {
    return std::visit(
        [&](const auto &n) -> VT {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, NumberLiteral>) {
                return VT::scalar;
            } else if constexpr (std::is_same_v<T, StringLiteral>) {
                return VT::string;
            } else if constexpr (std::is_same_v<T, VectorSelector>) {
                if (n.range_ms < 0) fail(node.pos, "a range must be positive");
                return n.range_ms > 0 ? VT::matrix : VT::vector;
            } else if constexpr (std::is_same_v<T, Call>) {
                const auto &table = functions();
                auto it = table.find(n.function);
                if (it == table.end())
                    fail(node.pos, "unknown function with name \"" + n.function + "\"");
                const FunctionInfo &f = it->second;
                const std::size_t nargs = f.args.size();
                if (f.variadic == 0) {
                    if (nargs != n.args.size())
                        fail(node.pos, "expected " + std::to_string(nargs) +
                                           " argument(s) in call to \"" + n.function + "\", got " +
                                           std::to_string(n.args.size()));
                } else {
                    const std::size_t na = nargs - 1;
                    if (na > n.args.size()) {
                        fail(node.pos, "expected at least " + std::to_string(na) +
                                           " argument(s) in call to \"" + n.function + "\", got " +
                                           std::to_string(n.args.size()));
                    } else if (f.variadic > 0 &&
                               na + static_cast<std::size_t>(f.variadic) < n.args.size()) {
                        fail(node.pos,
                             "expected at most " +
                                 std::to_string(na + static_cast<std::size_t>(f.variadic)) +
                                 " argument(s) in call to \"" + n.function + "\", got " +
                                 std::to_string(n.args.size()));
                    }
                }
                for (std::size_t i = 0; i < n.args.size(); ++i) {
                    const Node &arg = child(n.args[i], node.pos, "function argument");
                    const VT want = f.args[std::min(i, nargs - 1)];
                    const VT got = check(arg);
                    if (got != want)
                        fail(arg.pos, std::string("expected type ") + documented_type(want) +
                                          " in call to function \"" + n.function + "\", got " +
                                          documented_type(got));
                }
                return f.ret;
            } else if constexpr (std::is_same_v<T, Aggregation>) {
                const Node &e = child(n.expr, node.pos, "aggregation operand");
                const VT t = check(e);
                if (t != VT::vector)
                    fail(e.pos, std::string("expected type instant vector in aggregation "
                                            "expression, got ") +
                                    documented_type(t));
                return VT::vector;
            } else if constexpr (std::is_same_v<T, Binary>) {
                const Node &l = child(n.lhs, node.pos, "left operand");
                const Node &r = child(n.rhs, node.pos, "right operand");
                const VT lt = check(l);
                const VT rt = check(r);
                if (n.return_bool && !is_comparison(n.op))
                    fail(node.pos, "bool modifier can only be used on comparison operators");
                if (is_comparison(n.op) && !n.return_bool && lt == VT::scalar && rt == VT::scalar)
                    fail(node.pos, "comparisons between scalars must use BOOL modifier");
                if ((lt != VT::scalar && lt != VT::vector) ||
                    (rt != VT::scalar && rt != VT::vector))
                    fail(node.pos,
                         "binary expression must contain only scalar and instant vector types");
                if ((lt != VT::vector || rt != VT::vector) && n.has_matching &&
                    !n.matching_labels.empty())
                    fail(node.pos, "vector matching only allowed between instant vectors");
                return lt == VT::scalar && rt == VT::scalar ? VT::scalar : VT::vector;
            } else {
                static_assert(std::is_same_v<T, Unary>);
                const Node &e = child(n.expr, node.pos, "operand");
                const VT t = check(e);
                if (t != VT::scalar && t != VT::vector)
                    fail(node.pos,
                         "unary expression only allowed on expressions of type scalar or "
                         "instant vector");
                return t;
            }
        },
        node.value);
}

// Vector.ContainsSameLabelset.
void check_no_duplicate_labelsets(const Vector &vec, std::size_t pos) {
    if (vec.size() < 2) return;
    // By a hash of each label set; label sets are compared only when their hashes meet.
    std::vector<std::pair<std::uint64_t, const SharedLabels *>> hashed;
    hashed.reserve(vec.size());
    const std::hash<std::string_view> hash;  // murmur on libstdc++: words, not bytes
    for (const auto &s : vec) {
        std::uint64_t h = 0;
        for (const auto &[n, v] : s.labels) {
            h ^= hash(n) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
            h ^= hash(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        }
        hashed.emplace_back(h, &s.labels);
    }
    std::sort(hashed.begin(), hashed.end(),
              [](const auto &a, const auto &b) { return a.first < b.first; });
    for (std::size_t i = 1; i < hashed.size(); ++i) {
        for (std::size_t j = i; j-- > 0 && hashed[j].first == hashed[i].first;) {
            if (*hashed[j].second == *hashed[i].second)
                fail(pos, "vector cannot contain metrics with the same labelset");
        }
    }
}

// ---- numeric kernels (functions.go, quantile.go) ------------------------------------------

// kahanSumInc (Neumaier's variant).
void kahan_sum_inc(double inc, double &sum, double &c) {
    const double t = sum + inc;
    if (std::fabs(sum) >= std::fabs(inc)) {
        c += (sum - t) + inc;
    } else {
        c += (inc - t) + sum;
    }
    sum = t;
}

// time.Duration(range).Seconds().
double range_seconds(std::int64_t range_ms) {
    const std::int64_t sec = range_ms / 1000;
    const std::int64_t nsec = (range_ms % 1000) * 1000000;
    return static_cast<double>(sec) + static_cast<double>(nsec) / 1e9;
}

// extrapolatedRate: rate(), increase() and delta().
std::optional<double> extrapolated_rate(const std::vector<Point> &points, std::int64_t range_ms,
                                        std::int64_t ts, bool is_counter, bool is_rate) {
    if (points.size() < 2) return std::nullopt;
    const std::int64_t range_start = ts - range_ms;
    const std::int64_t range_end = ts;
    double result = points.back().v - points.front().v;
    if (is_counter) {
        double prev = points.front().v;
        for (std::size_t i = 1; i < points.size(); ++i) {
            if (points[i].v < prev) result += prev;
            prev = points[i].v;
        }
    }
    double duration_to_start = static_cast<double>(points.front().t_ms - range_start) / 1000;
    const double duration_to_end = static_cast<double>(range_end - points.back().t_ms) / 1000;
    const double sampled_interval =
        static_cast<double>(points.back().t_ms - points.front().t_ms) / 1000;
    const double average_duration_between_samples =
        sampled_interval / static_cast<double>(points.size() - 1);
    if (is_counter && result > 0 && points.front().v >= 0) {
        // A counter cannot go below zero: extrapolate to the start no further than the point
        // where it would have been 0.
        const double duration_to_zero = sampled_interval * (points.front().v / result);
        if (duration_to_zero < duration_to_start) duration_to_start = duration_to_zero;
    }
    const double extrapolation_threshold = average_duration_between_samples * 1.1;
    double extrapolate_to_interval = sampled_interval;
    if (duration_to_start < extrapolation_threshold) {
        extrapolate_to_interval += duration_to_start;
    } else {
        extrapolate_to_interval += average_duration_between_samples / 2;
    }
    if (duration_to_end < extrapolation_threshold) {
        extrapolate_to_interval += duration_to_end;
    } else {
        extrapolate_to_interval += average_duration_between_samples / 2;
    }
    double factor = extrapolate_to_interval / sampled_interval;
    if (is_rate) factor /= range_seconds(range_ms);
    result *= factor;
    return result;
}

// instantValue: irate() and idelta().
std::optional<double> instant_value(const std::vector<Point> &points, bool is_rate) {
    if (points.size() < 2) return std::nullopt;
    const Point &last = points[points.size() - 1];
    const Point &previous = points[points.size() - 2];
    double result;
    if (is_rate && last.v < previous.v) {
        result = last.v;  // counter reset
    } else {
        result = last.v - previous.v;
    }
    const std::int64_t sampled_interval = last.t_ms - previous.t_ms;
    if (sampled_interval == 0) return std::nullopt;
    if (is_rate) result /= static_cast<double>(sampled_interval) / 1000;
    return result;
}

// linearRegression, for deriv() and predict_linear().
std::pair<double, double> linear_regression(const std::vector<Point> &samples,
                                            std::int64_t intercept_time) {
    double n = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0,
           c_x2 = 0;
    const double init_y = samples[0].v;
    bool const_y = true;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const Point &s = samples[i];
        if (const_y && i > 0 && s.v != init_y) const_y = false;
        n += 1.0;
        const double x = static_cast<double>(s.t_ms - intercept_time) / 1e3;
        kahan_sum_inc(x, sum_x, c_x);
        kahan_sum_inc(s.v, sum_y, c_y);
        kahan_sum_inc(x * s.v, sum_xy, c_xy);
        kahan_sum_inc(x * x, sum_x2, c_x2);
    }
    if (const_y) {
        if (std::isinf(init_y)) return {kNaN, kNaN};
        return {0, init_y};
    }
    sum_x = sum_x + c_x;
    sum_y = sum_y + c_y;
    sum_xy = sum_xy + c_xy;
    sum_x2 = sum_x2 + c_x2;
    const double cov_xy = sum_xy - sum_x * sum_y / n;
    const double var_x = sum_x2 - sum_x * sum_x / n;
    const double slope = cov_xy / var_x;
    const double intercept = sum_y / n - slope * sum_x / n;
    return {slope, intercept};
}

// Go's sort.Sort for the small inputs these sorts see (insertion sort below 13 elements,
// which is stable); above that Go's pdqsort is not stable, and a stable sort is used here.
template <typename T, typename Less>
void go_sort(std::vector<T> &v, Less less) {
    if (v.size() <= 12) {
        for (std::size_t i = 1; i < v.size(); ++i)
            for (std::size_t j = i; j > 0 && less(v[j], v[j - 1]); --j) std::swap(v[j], v[j - 1]);
        return;
    }
    std::stable_sort(v.begin(), v.end(), less);
}

// quantile(): the φ-quantile of values, NaNs sorted first (vectorByValueHeap.Less).
double quantile(double q, std::vector<double> values) {
    if (values.empty() || std::isnan(q)) return kNaN;
    if (q < 0) return -kInf;
    if (q > 1) return kInf;
    // Less: NaN before anything; otherwise ascending. NaNs go first, the rest ascending
    // (stable: equal values keep their order, as Go's insertion sort keeps them).
    std::stable_partition(values.begin(), values.end(), [](double v) { return std::isnan(v); });
    auto first_number =
        std::find_if(values.begin(), values.end(), [](double v) { return !std::isnan(v); });
    std::stable_sort(first_number, values.end());
    const double n = static_cast<double>(values.size());
    const double rank = q * (n - 1);
    const double lower_index = gomath::max(0, std::floor(rank));
    const double upper_index = gomath::min(n - 1, lower_index + 1);
    const double weight = rank - std::floor(rank);
    return values[static_cast<std::size_t>(lower_index)] * (1 - weight) +
           values[static_cast<std::size_t>(upper_index)] * weight;
}

// Go's regexp.Regexp.Expand for label_replace()'s replacement: $1, ${1}, $name, ${name}, $$.
// m[i] is group i's submatch, empty when the group did not match; names[i] its name.
std::string go_expand(std::string_view tmpl, const std::vector<std::optional<std::string_view>> &m,
                      const std::vector<std::string> &names) {
    std::string out;
    auto is_name_char = [](unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; };
    while (!tmpl.empty()) {
        const std::size_t dollar = tmpl.find('$');
        if (dollar == std::string_view::npos) break;
        out += tmpl.substr(0, dollar);
        tmpl.remove_prefix(dollar + 1);
        if (!tmpl.empty() && tmpl[0] == '$') {
            out += '$';
            tmpl.remove_prefix(1);
            continue;
        }
        // extract(): a name of letters, digits and '_', possibly in braces.
        std::string_view str = tmpl;
        bool brace = false;
        if (!str.empty() && str[0] == '{') {
            brace = true;
            str.remove_prefix(1);
        }
        std::size_t i = 0;
        while (i < str.size() && is_name_char(static_cast<unsigned char>(str[i]))) ++i;
        bool ok = i > 0;
        const std::string_view name = str.substr(0, i);
        if (ok && brace) {
            if (i >= str.size() || str[i] != '}') {
                ok = false;
            } else {
                ++i;
            }
        }
        if (!ok) {
            out += '$';  // malformed: the $ is kept as text
            continue;
        }
        tmpl = str.substr(i);
        long num = 0;
        for (char c : name) {
            if (c < '0' || c > '9' || num >= 100000000) {
                num = -1;
                break;
            }
            num = num * 10 + (c - '0');
        }
        if (name[0] == '0' && name.size() > 1) num = -1;
        if (num >= 0) {
            if (static_cast<std::size_t>(num) < m.size() && m[static_cast<std::size_t>(num)])
                out += *m[static_cast<std::size_t>(num)];
        } else {
            for (std::size_t g = 0; g < names.size() && g < m.size(); ++g) {
                if (names[g] == name && m[g]) {
                    out += *m[g];
                    break;
                }
            }
        }
    }
    out += tmpl;
    return out;
}

// Go's time.Unix(sec, 0).UTC() broken down as its Year, Month, Day, ... methods do
// (time.go's absDate), including its unsigned wrap-around for times out of its range, which
// the date functions reach with NaN or huge values.
struct CivilTime {
    std::int64_t year;
    int month;  // 1..12
    int day;    // 1..31
    int hour;
    int minute;
    int weekday;  // 0 = Sunday
    int yearday;  // 1..366
};

bool is_leap(std::int64_t y) {
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

CivilTime civil(std::int64_t sec) {
    constexpr std::uint64_t kSecondsPerDay = 86400;
    constexpr std::uint64_t kDaysPer400Years = 365 * 400 + 97;
    constexpr std::uint64_t kDaysPer100Years = 365 * 100 + 24;
    constexpr std::uint64_t kDaysPer4Years = 365 * 4 + 1;
    constexpr std::int64_t kAbsoluteZeroYear = -292277022399;
    constexpr std::uint64_t kUnixToAbsolute = 9223372028715321600ULL;
    const std::uint64_t abs = static_cast<std::uint64_t>(sec) + kUnixToAbsolute;
    CivilTime c{};
    c.hour = static_cast<int>(abs % kSecondsPerDay / 3600);
    c.minute = static_cast<int>(abs % 3600 / 60);
    c.weekday = static_cast<int>((abs + kSecondsPerDay) % (7 * kSecondsPerDay) / kSecondsPerDay);
    std::uint64_t d = abs / kSecondsPerDay;
    std::uint64_t n = d / kDaysPer400Years;
    std::uint64_t y = 400 * n;
    d -= kDaysPer400Years * n;
    n = d / kDaysPer100Years;
    n -= n >> 2;
    y += 100 * n;
    d -= kDaysPer100Years * n;
    n = d / kDaysPer4Years;
    y += 4 * n;
    d -= kDaysPer4Years * n;
    n = d / 365;
    n -= n >> 2;
    y += n;
    d -= 365 * n;
    c.year = static_cast<std::int64_t>(y) + kAbsoluteZeroYear;
    int yday = static_cast<int>(d);
    c.yearday = yday + 1;
    int day = yday;
    if (is_leap(c.year)) {
        if (day > 31 + 29 - 1) {
            day--;  // after the leap day: as if it were not there
        } else if (day == 31 + 29 - 1) {
            c.month = 2;
            c.day = 29;
            return c;
        }
    }
    static constexpr int kDaysBefore[] = {0,   31,  59,  90,  120, 151, 181,
                                          212, 243, 273, 304, 334, 365};
    int month = day / 31;
    const int end = kDaysBefore[month + 1];
    int begin;
    if (day >= end) {
        month++;
        begin = end;
    } else {
        begin = kDaysBefore[month];
    }
    c.month = month + 1;
    c.day = day - begin + 1;
    return c;
}

int days_in_month(std::int64_t year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// Go's fmt %f, for holt_winters()'s message.
std::string go_format_f(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[512];
    std::snprintf(buf, sizeof buf, "%f", v);
    return buf;
}

// ---- the evaluator ----------------------------------------------------------------------

}  // namespace

namespace {

struct RangeKey {
    const Series *series = nullptr;
    Fn fn{};
    std::int64_t range_ms = 0;
    bool operator==(const RangeKey &) const = default;
};

std::size_t pointer_hash(const void *p) {
    const std::uint64_t h = reinterpret_cast<std::uintptr_t>(p) * 0x9e3779b97f4a7c15ull;
    return static_cast<std::size_t>(h ^ (h >> 29));
}

struct RangeKeyHash {
    std::size_t operator()(const RangeKey &k) const {
        return pointer_hash(k.series) ^
               (static_cast<std::size_t>(k.range_ms) * 0xbf58476d1ce4e5b9ull +
                static_cast<std::size_t>(k.fn));
    }
};

// Open addressing in one array: an evaluation pass adds an entry for each series it reads
// (10,000 and more), where a node-based map would allocate each one.
template <typename Key, typename Value, typename Hash>
class FlatTable {
  public:
    // The value for `key`, default-made when new (`fresh`); valid until the next call.
    std::pair<Value *, bool> try_emplace(const Key &key) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = Hash{}(key)&mask;; i = (i + 1) & mask) {
            Slot &slot = slots_[i];
            if (!slot.used) {
                slot.used = true;
                slot.key = key;
                ++size_;
                return {&slot.value, true};
            }
            if (slot.key == key) return {&slot.value, false};
        }
    }
    void clear() {
        std::vector<Slot>().swap(slots_);
        size_ = 0;
    }

  private:
    struct Slot {
        bool used = false;
        Key key{};
        Value value{};
    };
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(std::max<std::size_t>(64, old.size() * 2), Slot{});
        size_ = 0;
        for (Slot &slot : old) {
            if (slot.used) *try_emplace(slot.key).first = std::move(slot.value);
        }
    }
    std::vector<Slot> slots_;  // a power of two, at most half full
    std::size_t size_ = 0;
};

struct RangeValue {
    bool computed = false;
    bool has_points = false;  // the range held samples (absent_over_time asks)
    std::optional<double> v;
};

}  // namespace

struct EvalCache::Impl {
    std::int64_t ts = 0;
    std::unordered_map<std::string, Vector> range_calls;  // by range_call_key
    FlatTable<RangeKey, RangeValue, RangeKeyHash> range_values;
    void clear() {
        range_calls.clear();
        range_values.clear();
    }
};

EvalCache::EvalCache() : impl_(std::make_unique<Impl>()) {}
EvalCache::~EvalCache() = default;

namespace {

// Function, range and matchers: what a single-argument range function's value depends on.
std::string range_call_key(const Call &call, const VectorSelector &sel) {
    std::string key = call.function;
    key += '\0';
    key += std::to_string(sel.range_ms);
    for (const LabelMatcher &m : sel.matchers) {
        key += '\0';
        key += m.name;
        key += static_cast<char>('0' + static_cast<int>(m.op));
        key += m.value;
    }
    return key;
}

class Evaluator {
  public:
    Evaluator(const Storage &storage, std::int64_t ts, std::int64_t lookback_ms,
              EvalCache *cache = nullptr)
        : storage_(storage), ts_(ts), lookback_ms_(lookback_ms), cache_(cache) {}

    Value eval(const Node &node) {
        return std::visit(
            [&](const auto &n) -> Value {
                using T = std::decay_t<decltype(n)>;
                if constexpr (std::is_same_v<T, NumberLiteral>) {
                    return Scalar{n.value};
                } else if constexpr (std::is_same_v<T, StringLiteral>) {
                    return StringValue{n.value};
                } else if constexpr (std::is_same_v<T, VectorSelector>) {
                    return instant_selector(n, false);
                } else if constexpr (std::is_same_v<T, Call>) {
                    return eval_call(node, n);
                } else if constexpr (std::is_same_v<T, Aggregation>) {
                    Vector out = aggregate(n, std::get<Vector>(eval(*n.expr)));
                    check_no_duplicate_labelsets(out, node.pos);
                    return out;
                } else if constexpr (std::is_same_v<T, Binary>) {
                    return eval_binary(node, n);
                } else {
                    static_assert(std::is_same_v<T, Unary>);
                    Value v = eval(*n.expr);
                    if (!n.negate) return v;
                    if (auto *s = std::get_if<Scalar>(&v)) return Scalar{-s->v};
                    Vector vec = std::get<Vector>(std::move(v));
                    for (auto &s : vec) {
                        s.labels = drop_metric_name(std::move(s.labels).take());
                        s.v = -s.v;
                    }
                    check_no_duplicate_labelsets(vec, node.pos);
                    return vec;
                }
            },
            node.value);
    }

  private:
    // The selector's series, sorted by labels; an invalid regex is an error at its matcher.
    std::vector<const Series *> select(const VectorSelector &vs) {
        for (const auto &m : vs.matchers) {
            if (!is_regex(m)) continue;
            auto re = compile_anchored(m.value);
            if (!re->ok())
                fail(m.pos, "invalid regular expression \"" + m.value + "\": " + re->re.error());
        }
        std::vector<const Series *> series = storage_.select(vs.matchers);
        auto by_labels = [](const Series *a, const Series *b) { return a->labels < b->labels; };
        if (!storage_.selects_in_label_order()) std::sort(series.begin(), series.end(), by_labels);
        return series;
    }

    // vectorSelectorSingle: the newest sample at or before ts, no older than the lookback
    // delta, and not a staleness marker.
    Vector instant_selector(const VectorSelector &vs, bool sample_time) {
        Vector out;
        for (const Series *s : select(vs)) {
            const std::optional<Point> newest = storage_.newest_point(*s, ts_);
            if (!newest) continue;
            const Point &p = *newest;
            if (p.t_ms < ts_ - lookback_ms_) continue;
            if (is_stale_marker(p.v)) continue;
            out.push_back(Sample{SharedLabels::borrow(s->labels), p.v, sample_time ? p.t_ms : ts_});
        }
        return out;
    }

    // matrixIterSlice: the samples in [ts - range, ts], staleness markers left out.
    // (Prometheus 2.x includes a sample exactly at ts - range; 3.0 made the range left-open.)
    // The returned vector is reused by the next call.
    const std::vector<Point> &range_points(const Series &s, std::int64_t range_ms) {
        const std::int64_t mint = ts_ - range_ms;
        std::vector<Point> &out = range_scratch_;
        out.clear();
        storage_.read_points(s, mint, ts_, out);
        std::erase_if(out, [](const Point &p) { return is_stale_marker(p.v); });
        return out;
    }

    static const VectorSelector *as_selector(const Node &n) {
        return std::get_if<VectorSelector>(&n.value);
    }

    double scalar_of(const Node &n) { return std::get<Scalar>(eval(n)).v; }

    // createLabelsForAbsentFunction.
    static Labels absent_labels(const Node &arg) {
        const VectorSelector *vs = as_selector(arg);
        if (vs == nullptr) return {};
        Labels out;
        std::set<std::string> has;
        for (const auto &m : vs->matchers) {
            if (m.name == kMetricName) continue;
            if (m.op == LabelMatcher::Op::equal && !has.count(m.name)) {
                label_set(out, m.name, m.value);
                has.insert(m.name);
            } else {
                label_set(out, m.name, "");
            }
        }
        return out;
    }

    Value eval_call(const Node &node, const Call &call) {
        const FunctionInfo &info = functions().at(call.function);
        // A function over a range vector: evaluated series by series.
        for (std::size_t i = 0; i < info.args.size(); ++i)
            if (info.args[i] == VT::matrix) return eval_range_call(node, call, info, i);

        if (info.fn == Fn::timestamp) {
            // timestamp(selector) reads the samples' own times; of anything else, the
            // evaluation time (engine.go special-cases the bare selector).
            if (const VectorSelector *vs = as_selector(*call.args[0])) {
                Vector in = instant_selector(*vs, true);
                return finish(node, simple(std::move(in), [](const Sample &s) {
                                  return static_cast<double>(s.t) / 1000;
                              }));
            }
        }
        std::vector<Value> args;
        args.reserve(call.args.size());
        for (const auto &a : call.args) args.push_back(eval(*a));
        auto vec_arg = [&](std::size_t i) -> Vector & { return std::get<Vector>(args[i]); };
        auto scalar_arg = [&](std::size_t i) { return std::get<Scalar>(args[i]).v; };
        auto string_arg = [&](std::size_t i) -> const std::string & {
            return std::get<StringValue>(args[i]).v;
        };
        auto math = [&](double (*f)(double)) {
            return finish(node,
                          simple(std::move(vec_arg(0)), [f](const Sample &s) { return f(s.v); }));
        };
        switch (info.fn) {
            case Fn::abs:
                return math([](double v) { return std::fabs(v); });
            case Fn::ceil:
                return math([](double v) { return std::ceil(v); });
            case Fn::floor:
                return math([](double v) { return std::floor(v); });
            case Fn::exp:
                return math(gomath::exp);
            case Fn::sqrt:
                return math([](double v) { return std::sqrt(v); });
            case Fn::ln:
                return math(gomath::log);
            case Fn::log2:
                return math(gomath::log2);
            case Fn::log10:
                return math(gomath::log10);
            // The trigonometric functions use the C library (Go's own algorithms may differ
            // from it in the last bit).
            case Fn::sin:
                return math([](double v) { return std::sin(v); });
            case Fn::cos:
                return math([](double v) { return std::cos(v); });
            case Fn::tan:
                return math([](double v) { return std::tan(v); });
            case Fn::asin:
                return math([](double v) { return std::asin(v); });
            case Fn::acos:
                return math([](double v) { return std::acos(v); });
            case Fn::atan:
                return math([](double v) { return std::atan(v); });
            case Fn::sinh:
                return math([](double v) { return std::sinh(v); });
            case Fn::cosh:
                return math([](double v) { return std::cosh(v); });
            case Fn::tanh:
                return math([](double v) { return std::tanh(v); });
            case Fn::asinh:
                return math([](double v) { return std::asinh(v); });
            case Fn::acosh:
                return math([](double v) { return std::acosh(v); });
            case Fn::atanh:
                return math([](double v) { return std::atanh(v); });
            case Fn::rad:
                return math([](double v) { return v * std::numbers::pi / 180; });
            case Fn::deg:
                return math([](double v) { return v * 180 / std::numbers::pi; });
            case Fn::sgn:
                return math([](double v) {
                    if (v < 0) return -1.0;
                    if (v > 0) return 1.0;
                    return v;
                });
            case Fn::pi:
                return Scalar{std::numbers::pi};
            case Fn::time:
                return Scalar{static_cast<double>(ts_) / 1000};
            case Fn::timestamp:
                return finish(node, simple(std::move(vec_arg(0)), [](const Sample &s) {
                                  return static_cast<double>(s.t) / 1000;
                              }));
            case Fn::vector:
                return finish(node, Vector{Sample{{}, scalar_arg(0), ts_}});
            case Fn::scalar: {
                const Vector &v = vec_arg(0);
                return Scalar{v.size() == 1 ? v[0].v : kNaN};
            }
            case Fn::clamp: {
                const double min = scalar_arg(1), max = scalar_arg(2);
                if (max < min) return finish(node, Vector{});
                return finish(node, simple(std::move(vec_arg(0)), [&](const Sample &s) {
                                  return gomath::max(min, gomath::min(max, s.v));
                              }));
            }
            case Fn::clamp_max: {
                const double max = scalar_arg(1);
                return finish(node, simple(std::move(vec_arg(0)),
                                           [&](const Sample &s) { return gomath::min(max, s.v); }));
            }
            case Fn::clamp_min: {
                const double min = scalar_arg(1);
                return finish(node, simple(std::move(vec_arg(0)),
                                           [&](const Sample &s) { return gomath::max(min, s.v); }));
            }
            case Fn::round: {
                const double to_nearest = args.size() >= 2 ? scalar_arg(1) : 1;
                const double inverse = 1.0 / to_nearest;
                return finish(node, simple(std::move(vec_arg(0)), [&](const Sample &s) {
                                  return std::floor(s.v * inverse + 0.5) / inverse;
                              }));
            }
            case Fn::absent: {
                if (!vec_arg(0).empty()) return finish(node, Vector{});
                return finish(node, Vector{Sample{absent_labels(*call.args[0]), 1, ts_}});
            }
            case Fn::sort:
            case Fn::sort_desc: {
                Vector v = std::move(vec_arg(0));
                const bool desc = info.fn == Fn::sort_desc;
                // NaNs last in both; ties (which Go's unstable sort leaves in no set order)
                // by labels.
                std::stable_partition(v.begin(), v.end(),
                                      [](const Sample &s) { return !std::isnan(s.v); });
                auto nan_begin = std::find_if(v.begin(), v.end(),
                                              [](const Sample &s) { return std::isnan(s.v); });
                std::sort(v.begin(), nan_begin, [desc](const Sample &a, const Sample &b) {
                    if (a.v != b.v) return desc ? a.v > b.v : a.v < b.v;
                    return a.labels < b.labels;
                });
                std::sort(nan_begin, v.end(),
                          [](const Sample &a, const Sample &b) { return a.labels < b.labels; });
                return finish(node, std::move(v));
            }
            case Fn::histogram_quantile:
                return finish(node, histogram_quantile(scalar_arg(0), std::move(vec_arg(1))));
            case Fn::histogram_count:
            case Fn::histogram_sum:
            case Fn::histogram_fraction:
                // Native histograms only; the storage holds floats, so there is nothing.
                return finish(node, Vector{});
            case Fn::label_replace:
                return finish(node, label_replace(node, std::move(vec_arg(0)), string_arg(1),
                                                  string_arg(2), string_arg(3), string_arg(4)));
            case Fn::label_join: {
                std::vector<std::string> src;
                for (std::size_t i = 3; i < args.size(); ++i) {
                    if (!valid_label_name(string_arg(i)))
                        fail(node.pos,
                             "invalid source label name in label_join(): " + string_arg(i));
                    src.push_back(string_arg(i));
                }
                const std::string &dst = string_arg(1);
                if (!valid_label_name(dst))
                    fail(node.pos, "invalid destination label name in label_join(): " + dst);
                Vector out = std::move(vec_arg(0));
                for (auto &s : out) {
                    std::string joined;
                    for (std::size_t i = 0; i < src.size(); ++i) {
                        if (i > 0) joined += string_arg(2);
                        joined += label_get(s.labels, src[i]);
                    }
                    label_set(s.labels.edit(), dst, joined);
                    s.t = ts_;
                }
                return finish(node, std::move(out));
            }
            case Fn::days_in_month:
            case Fn::day_of_month:
            case Fn::day_of_week:
            case Fn::day_of_year:
            case Fn::hour:
            case Fn::minute:
            case Fn::month:
            case Fn::year: {
                auto field = [fn = info.fn](std::int64_t sec) -> double {
                    const CivilTime c = civil(sec);
                    switch (fn) {
                        case Fn::days_in_month:
                            return days_in_month(c.year, c.month);
                        case Fn::day_of_month:
                            return c.day;
                        case Fn::day_of_week:
                            return c.weekday;
                        case Fn::day_of_year:
                            return c.yearday;
                        case Fn::hour:
                            return c.hour;
                        case Fn::minute:
                            return c.minute;
                        case Fn::month:
                            return c.month;
                        default:
                            return static_cast<double>(c.year);
                    }
                };
                if (args.empty()) {
                    // time.Unix(enh.Ts/1000, 0): Go's integer division truncates.
                    return finish(node, Vector{Sample{{}, field(ts_ / 1000), ts_}});
                }
                return finish(node, simple(std::move(vec_arg(0)), [&](const Sample &s) {
                                  return field(gomath::to_int64(s.v));
                              }));
            }
            default:
                break;
        }
        fail(node.pos, "function \"" + call.function + "\" is not implemented");
    }

    // simpleFunc: f of each value, the metric name dropped.
    template <typename F>
    Vector simple(Vector in, F f) {
        for (auto &s : in) {
            s.v = f(s);
            s.labels = drop_metric_name(std::move(s.labels).take());
            s.t = ts_;
        }
        return in;
    }

    // What rangeEval does after each function call: no two results with the same labels.
    Value finish(const Node &node, Vector v) {
        check_no_duplicate_labelsets(v, node.pos);
        return v;
    }

    Value eval_range_call(const Node &node, const Call &call, const FunctionInfo &info,
                          std::size_t matrix_index) {
        if (cache_ == nullptr || call.args.size() != 1)
            return eval_range_call_uncached(node, call, info, matrix_index);
        const auto &sel = std::get<VectorSelector>(call.args[matrix_index]->value);
        auto &calls = cache_->impl().range_calls;
        std::string key = range_call_key(call, sel);
        if (auto it = calls.find(key); it != calls.end()) {
            storage_.select(sel.matchers);  // the storage still sees what is read
            return it->second;
        }
        Value v = eval_range_call_uncached(node, call, info, matrix_index);
        if (auto *vec = std::get_if<Vector>(&v)) calls.emplace(std::move(key), *vec);
        return v;
    }

    static bool names_one_metric(const VectorSelector &sel) {
        return std::any_of(sel.matchers.begin(), sel.matchers.end(), [](const LabelMatcher &m) {
            return m.name == kMetricName && m.op == LabelMatcher::Op::equal;
        });
    }

    // The value of a function over time for one series' points (not empty); nullopt when
    // the function has none for them.
    std::optional<double> range_value(const Node &node, const Call &call, const FunctionInfo &info,
                                      const std::vector<Point> &points, std::int64_t range_ms,
                                      const std::vector<double> &scalars) {
        std::optional<double> v;
        switch (info.fn) {
            case Fn::rate:
                v = extrapolated_rate(points, range_ms, ts_, true, true);
                break;
            case Fn::increase:
                v = extrapolated_rate(points, range_ms, ts_, true, false);
                break;
            case Fn::delta:
                v = extrapolated_rate(points, range_ms, ts_, false, false);
                break;
            case Fn::irate:
                v = instant_value(points, true);
                break;
            case Fn::idelta:
                v = instant_value(points, false);
                break;
            case Fn::avg_over_time:
                v = avg_over_time(points);
                break;
            case Fn::sum_over_time: {
                double sum = 0, c = 0;
                for (const auto &p : points) kahan_sum_inc(p.v, sum, c);
                v = std::isinf(sum) ? sum : sum + c;
                break;
            }
            case Fn::count_over_time:
                v = static_cast<double>(points.size());
                break;
            case Fn::last_over_time:
                v = points.back().v;
                break;
            case Fn::max_over_time: {
                double max = points[0].v;
                for (const auto &p : points)
                    if (p.v > max || std::isnan(max)) max = p.v;
                v = max;
                break;
            }
            case Fn::min_over_time: {
                double min = points[0].v;
                for (const auto &p : points)
                    if (p.v < min || std::isnan(min)) min = p.v;
                v = min;
                break;
            }
            case Fn::quantile_over_time: {
                std::vector<double> values;
                values.reserve(points.size());
                for (const auto &p : points) values.push_back(p.v);
                v = quantile(scalars[0], std::move(values));
                break;
            }
            case Fn::stddev_over_time:
            case Fn::stdvar_over_time: {
                double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
                for (const auto &p : points) {
                    count++;
                    const double delta = p.v - (mean + c_mean);
                    kahan_sum_inc(delta / count, mean, c_mean);
                    kahan_sum_inc(delta * (p.v - (mean + c_mean)), aux, c_aux);
                }
                v = info.fn == Fn::stddev_over_time ? std::sqrt((aux + c_aux) / count)
                                                    : (aux + c_aux) / count;
                break;
            }
            case Fn::present_over_time:
            case Fn::absent_over_time:
                v = 1;
                break;
            case Fn::changes:
            case Fn::resets: {
                int n = 0;
                double prev = points[0].v;
                for (std::size_t i = 1; i < points.size(); ++i) {
                    const double cur = points[i].v;
                    if (info.fn == Fn::resets
                            ? cur < prev
                            : cur != prev && !(std::isnan(cur) && std::isnan(prev)))
                        ++n;
                    prev = cur;
                }
                v = n;
                break;
            }
            case Fn::deriv:
                if (points.size() >= 2) v = linear_regression(points, points[0].t_ms).first;
                break;
            case Fn::predict_linear:
                if (points.size() >= 2) {
                    auto [slope, intercept] = linear_regression(points, ts_);
                    v = slope * scalars[1] + intercept;
                }
                break;
            case Fn::holt_winters:
                v = holt_winters(node, points, scalars[1], scalars[2]);
                break;
            default:
                fail(node.pos, "function \"" + call.function + "\" is not implemented");
        }
        return v;
    }

    Value eval_range_call_uncached(const Node &node, const Call &call, const FunctionInfo &info,
                                   std::size_t matrix_index) {
        // The other (scalar) arguments first, as engine.go evaluates them.
        std::vector<double> scalars(call.args.size(), 0);
        for (std::size_t i = 0; i < call.args.size(); ++i)
            if (i != matrix_index) scalars[i] = scalar_of(*call.args[i]);
        const auto &sel = std::get<VectorSelector>(call.args[matrix_index]->value);
        const std::int64_t range_ms = sel.range_ms;
        Vector out;
        bool any_points = false;
        const bool memoize = cache_ != nullptr && call.args.size() == 1;
        const std::vector<const Series *> series = select(sel);
        constexpr std::size_t kAhead = 4;
        for (std::size_t i = 0; i < series.size(); ++i) {
            const Series *s = series[i];
            if (i + kAhead < series.size()) storage_.prefetch(*series[i + kAhead]);
            // A series' value under one function and range, computed once per evaluation
            // pass: rate(x[1m]) and rate(x{status="failed"}[1m]) read the same series.
            RangeValue r;
            RangeValue *memo = nullptr;
            if (memoize) {
                memo =
                    cache_->impl().range_values.try_emplace(RangeKey{s, info.fn, range_ms}).first;
                r = *memo;
            }
            if (memo == nullptr || !r.computed) {
                const std::vector<Point> &points = range_points(*s, range_ms);
                r.computed = true;
                r.has_points = !points.empty();
                if (r.has_points) r.v = range_value(node, call, info, points, range_ms, scalars);
                if (memo != nullptr) *memo = r;
            }
            if (!r.has_points) continue;
            any_points = true;
            const std::optional<double> &v = r.v;
            if (!v) continue;
            // last_over_time acts like an offset and keeps the metric name; every other
            // function over time drops it.
            out.push_back(Sample{info.fn == Fn::last_over_time
                                     ? SharedLabels::borrow(s->labels)
                                     : SharedLabels::borrow_without_name(s->labels),
                                 *v, ts_});
        }
        if (info.fn == Fn::absent_over_time) {
            if (any_points) return Vector{};
            return Vector{Sample{absent_labels(*call.args[matrix_index]), 1, ts_}};
        }
        // A selector's series differ in their labels; with the name dropped two can meet
        // only when the selector reads more than one metric name.
        if (info.fn == Fn::last_over_time || names_one_metric(sel)) return out;
        return finish(node, std::move(out));
    }

    static double avg_over_time(const std::vector<Point> &points) {
        double mean = 0, count = 0, c = 0;
        for (const auto &p : points) {
            count++;
            if (std::isinf(mean)) {
                if (std::isinf(p.v) && (mean > 0) == (p.v > 0)) continue;
                if (!std::isinf(p.v) && !std::isnan(p.v)) continue;
            }
            kahan_sum_inc(p.v / count - mean / count, mean, c);
        }
        if (std::isinf(mean)) return mean;
        return mean + c;
    }

    static std::optional<double> holt_winters(const Node &node, const std::vector<Point> &points,
                                              double sf, double tf) {
        if (sf <= 0 || sf >= 1)
            fail(node.pos,
                 "invalid smoothing factor. Expected: 0 < sf < 1, got: " + go_format_f(sf));
        if (tf <= 0 || tf >= 1)
            fail(node.pos, "invalid trend factor. Expected: 0 < tf < 1, got: " + go_format_f(tf));
        const std::size_t l = points.size();
        if (l < 2) return std::nullopt;  // no smoothing with fewer than two points
        double s0 = 0, s1 = points[0].v, b = points[1].v - points[0].v;
        for (std::size_t i = 1; i < l; ++i) {
            const double x = sf * points[i].v;
            // calcTrendValue(i-1, tf, s0, s1, b)
            if (i - 1 != 0) b = tf * (s1 - s0) + (1 - tf) * b;
            const double y = (1 - sf) * (s1 + b);
            s0 = s1;
            s1 = x + y;
        }
        return s1;
    }

    Vector histogram_quantile(double q, Vector in) {
        // Buckets grouped by every label but `le` (the metric name included); the result
        // drops the name and `le`. A bucket whose `le` does not parse is left out.
        struct Group {
            Labels labels;
            std::vector<Bucket> buckets;
        };
        std::map<std::string, Group> groups;
        for (auto &s : in) {
            const std::string *le = label_find(s.labels, kBucketLabel);
            if (le == nullptr) continue;
            const std::optional<double> upper = go_parse_float(*le);
            if (!upper) continue;
            std::string key;
            for (const auto &[n, v] : s.labels)
                if (n != kBucketLabel) append_key(key, n, v);
            auto [it, inserted] = groups.try_emplace(key);
            if (inserted) {
                Labels ls = without_metric_name(s.labels);
                std::erase_if(ls, [](const auto &l) { return l.first == kBucketLabel; });
                it->second.labels = std::move(ls);
            }
            it->second.buckets.push_back(Bucket{*upper, s.v});
        }
        Vector out;
        for (auto &[key, g] : groups) {
            go_sort(g.buckets,
                    [](const Bucket &a, const Bucket &b) { return a.upper_bound < b.upper_bound; });
            out.push_back(Sample{std::move(g.labels), bucket_quantile(q, g.buckets), ts_});
        }
        return out;
    }

    Vector label_replace(const Node &node, Vector in, const std::string &dst,
                         const std::string &replacement, const std::string &src,
                         const std::string &regex) {
        auto re = compile_anchored(regex);
        if (!re->ok()) fail(node.pos, "invalid regular expression in label_replace(): " + regex);
        if (!valid_label_name(dst))
            fail(node.pos, "invalid destination label name in label_replace(): " + dst);
        std::vector<re2::StringPiece> groups(re->group_names.size());
        std::vector<std::optional<std::string_view>> submatches(groups.size());
        for (auto &s : in) {
            const std::string src_value = label_get(s.labels, src);
            const MatchText text(src_value);
            if (regex_match(*re, text, &groups)) {
                for (std::size_t g = 0; g < groups.size(); ++g)
                    submatches[g] = groups[g].data() != nullptr
                                        ? std::optional(text.original(groups[g]))
                                        : std::nullopt;
                label_set(s.labels.edit(), dst,
                          go_expand(replacement, submatches, re->group_names));
            }
            s.t = ts_;
        }
        return in;
    }

    Vector aggregate(const Aggregation &a, Vector in) {
        const std::vector<std::string> &grouping = a.grouping;
        const std::hash<std::string_view> hash;
        struct Group {
            Labels labels;
            double value = 0;
            double mean = 0;
            std::int64_t count = 0;
        };
        std::vector<Group> groups;
        // Groups found by a hash of their labels, which point into `in`'s (alive for the
        // whole call): no label is copied until a group is made, no string compared unless
        // two hashes meet.
        using Label = std::pair<std::string, std::string>;
        std::unordered_map<std::uint64_t, std::vector<std::size_t>> index;
        index.reserve(in.size());
        std::vector<const Label *> key;
        for (const auto &s : in) {
            // The group's labels: `without` drops the listed labels and the metric name;
            // `by` keeps the listed labels only.
            key.clear();
            std::uint64_t h = 0;
            for (const auto &l : s.labels) {
                const bool listed = std::find(grouping.begin(), grouping.end(), l.first) !=
                                    grouping.end();  // a list of one or two, most often
                if (a.without ? (!listed && l.first != kMetricName) : listed) {
                    key.push_back(&l);
                    h ^= hash(l.first) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
                    h ^= hash(l.second) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
                }
            }
            auto &bucket = index[h];
            std::size_t found = groups.size();
            for (std::size_t g : bucket) {
                const Labels &labels = groups[g].labels;
                if (labels.size() != key.size()) continue;
                bool same = true;
                for (std::size_t i = 0; i < key.size() && same; ++i) same = labels[i] == *key[i];
                if (same) {
                    found = g;
                    break;
                }
            }
            if (found == groups.size()) {
                bucket.push_back(groups.size());
                Labels labels;
                labels.reserve(key.size());
                for (const Label *l : key) labels.push_back(*l);
                groups.push_back(Group{std::move(labels), s.v, s.v, 1});
                continue;
            }
            Group &g = groups[found];
            switch (a.op) {
                case AggregationOp::sum:
                    g.value += s.v;
                    break;
                case AggregationOp::avg:
                    g.count++;
                    if (std::isinf(g.mean)) {
                        // Inf of the same sign cannot be subtracted, but the mean is right
                        // already; a finite value added to an infinite mean leaves it.
                        if (std::isinf(s.v) && (g.mean > 0) == (s.v > 0)) break;
                        if (!std::isinf(s.v) && !std::isnan(s.v)) break;
                    }
                    // Each side of the `-` divided by the count to avoid overflow.
                    g.mean +=
                        s.v / static_cast<double>(g.count) - g.mean / static_cast<double>(g.count);
                    break;
                case AggregationOp::max:
                    if (g.value < s.v || std::isnan(g.value)) g.value = s.v;
                    break;
                case AggregationOp::min:
                    if (g.value > s.v || std::isnan(g.value)) g.value = s.v;
                    break;
                case AggregationOp::count:
                    g.count++;
                    break;
            }
        }
        Vector out;
        out.reserve(groups.size());
        for (auto &g : groups) {
            double v = g.value;
            if (a.op == AggregationOp::avg) v = g.mean;
            if (a.op == AggregationOp::count) v = static_cast<double>(g.count);
            out.push_back(Sample{std::move(g.labels), v, ts_});
        }
        return out;
    }

    // scalarBinop / vectorElemBinop's arithmetic.
    static double arithmetic(BinaryOp op, double l, double r) {
        switch (op) {
            case BinaryOp::add:
                return l + r;
            case BinaryOp::sub:
                return l - r;
            case BinaryOp::mul:
                return l * r;
            case BinaryOp::div:
                return l / r;
            case BinaryOp::mod:
                return std::fmod(l, r);  // math.Mod: exact, like fmod
            case BinaryOp::pow:
                return gomath::pow(l, r);
            default:
                return 0;
        }
    }

    static bool compare(BinaryOp op, double l, double r) {
        switch (op) {
            case BinaryOp::eq:
                return l == r;
            case BinaryOp::ne:
                return l != r;
            case BinaryOp::gt:
                return l > r;
            case BinaryOp::lt:
                return l < r;
            case BinaryOp::ge:
                return l >= r;
            case BinaryOp::le:
                return l <= r;
            default:
                return false;
        }
    }

    // vectorElemBinop: the value, and whether a comparison keeps the element.
    static std::pair<double, bool> elem_binop(BinaryOp op, double l, double r) {
        if (is_comparison(op)) return {l, compare(op, l, r)};
        return {arithmetic(op, l, r), true};
    }

    Value eval_binary(const Node &node, const Binary &b) {
        Value lv = eval(*b.lhs);
        Value rv = eval(*b.rhs);
        auto *ls = std::get_if<Scalar>(&lv);
        auto *rs = std::get_if<Scalar>(&rv);
        if (ls != nullptr && rs != nullptr) {
            // scalarBinop: comparisons (always with bool) give 1 or 0.
            if (is_comparison(b.op)) return Scalar{compare(b.op, ls->v, rs->v) ? 1.0 : 0.0};
            return Scalar{arithmetic(b.op, ls->v, rs->v)};
        }
        Vector out;
        if (ls == nullptr && rs == nullptr) {
            out = vector_binop(node, b, std::get<Vector>(std::move(lv)),
                               std::get<Vector>(std::move(rv)));
        } else if (rs != nullptr) {
            out = vector_scalar_binop(b, std::get<Vector>(std::move(lv)), rs->v, false);
        } else {
            out = vector_scalar_binop(b, std::get<Vector>(std::move(rv)), ls->v, true);
        }
        check_no_duplicate_labelsets(out, node.pos);
        return out;
    }

    // VectorscalarBinop: the vector is always `lhs` here; swap says the scalar was written
    // first.
    Vector vector_scalar_binop(const Binary &b, Vector vec, double scalar, bool swap) {
        Vector out;
        for (auto &s : vec) {
            double lv = s.v, rv = scalar;
            if (swap) std::swap(lv, rv);
            auto [value, keep] = elem_binop(b.op, lv, rv);
            // A comparison keeps the vector element's value even when the scalar is on the left.
            if (is_comparison(b.op) && swap) value = rv;
            if (b.return_bool) {
                value = keep ? 1.0 : 0.0;
                keep = true;
            }
            if (!keep) continue;
            s.v = value;
            if (should_drop_metric_name(b.op) || b.return_bool)
                s.labels = drop_metric_name(std::move(s.labels).take());
            s.t = ts_;
            out.push_back(std::move(s));
        }
        return out;
    }

    // The labels a sample is matched on: on(...) the listed ones; otherwise all but the listed
    // ones and the metric name (labels.MatchLabels, and what signatureFunc hashes).
    static Labels match_labels(LabelSpan ls, bool on, const std::vector<std::string> &names) {
        Labels out;
        for (const auto &l : ls) {
            const bool listed = std::find(names.begin(), names.end(), l.first) != names.end();
            if (on ? listed : (!listed && l.first != kMetricName)) out.push_back(l);
        }
        return out;
    }

    // The key of match_labels(ls, ...), written into `key` without making the labels.
    static void match_key(LabelSpan ls, bool on, const std::vector<std::string> &names,
                          std::string &key) {
        key.clear();
        for (const auto &[n, v] : ls) {
            const bool listed = std::find(names.begin(), names.end(), n) != names.end();
            if (on ? listed : (!listed && n != kMetricName)) append_key(key, n, v);
        }
    }

    // VectorBinop for one-to-one matching (group_left/group_right are not in the subset).
    Vector vector_binop(const Node &node, const Binary &b, Vector lhs, Vector rhs) {
        if (lhs.empty() || rhs.empty()) return {};  // nothing is going to match
        static const std::vector<std::string> kNoLabels;
        const bool on = b.has_matching && b.on;
        const std::vector<std::string> &names = b.has_matching ? b.matching_labels : kNoLabels;
        std::unordered_map<std::string, const Sample *> right_sigs;
        right_sigs.reserve(rhs.size());
        std::string sig;
        for (const auto &rs : rhs) {
            match_key(rs.labels, on, names, sig);
            auto [it, inserted] = right_sigs.try_emplace(sig, &rs);
            if (!inserted) {
                Labels matched = match_labels(rs.labels, on, names);
                fail(node.pos,
                     "found duplicate series for the match group " + labels_string(matched) +
                         " on the right hand-side of the operation: [" + labels_string(rs.labels) +
                         ", " + labels_string(it->second->labels) +
                         "];many-to-many matching not allowed: matching labels must be "
                         "unique on one side");
            }
        }
        std::unordered_set<std::string> matched_sigs;
        Vector out;
        for (const auto &ls : lhs) {
            match_key(ls.labels, on, names, sig);
            auto it = right_sigs.find(sig);
            if (it == right_sigs.end()) continue;
            const Sample &rs = *it->second;
            auto [value, keep] = elem_binop(b.op, ls.v, rs.v);
            if (b.return_bool) {
                value = keep ? 1.0 : 0.0;
            } else if (!keep) {
                continue;
            }
            // resultMetric: arithmetic drops the name; one-to-one keeps the on(...) labels or
            // drops the ignoring(...) ones.
            Labels metric;
            for (const auto &l : ls.labels) {
                if (should_drop_metric_name(b.op) && l.first == kMetricName) continue;
                const bool listed = std::find(names.begin(), names.end(), l.first) != names.end();
                if (on ? !listed : listed) continue;
                metric.push_back(l);
            }
            if (b.return_bool) metric = drop_metric_name(std::move(metric));
            if (!matched_sigs.insert(sig).second)
                fail(node.pos,
                     "multiple matches for labels: many-to-one matching must be explicit "
                     "(group_left/group_right)");
            out.push_back(Sample{std::move(metric), value, ts_});
        }
        return out;
    }

    const Storage &storage_;
    std::int64_t ts_;
    std::int64_t lookback_ms_;
    std::vector<Point> range_scratch_;  // range_points' answer, reused
    EvalCache *cache_;
};

}  // namespace

EvalResult evaluate(const Node &expr, const Storage &storage, std::int64_t t_ms,
                    const EvalOptions &options) {
    try {
        const VT type = check(expr);
        if (type == VT::matrix)
            return EvalError{
                expr.pos,
                "a range vector is not supported as a signal: wrap it in rate(), increase(), "
                "avg_over_time() or another function over time"};
        if (type == VT::string)
            return EvalError{expr.pos,
                             "a string cannot be a signal: the expression must give an instant "
                             "vector or a scalar"};
        // As Prometheus' engine, a lookback delta of 0 means the default of 5 minutes.
        const std::int64_t lookback = options.lookback_ms > 0 ? options.lookback_ms : 5 * 60 * 1000;
        if (options.cache != nullptr && options.cache->impl().ts != t_ms) {
            options.cache->impl().clear();
            options.cache->impl().ts = t_ms;
        }
        Evaluator ev(storage, t_ms, lookback, options.cache);
        Value v = ev.eval(expr);
        if (auto *s = std::get_if<Scalar>(&v)) return *s;
        Vector &vec = std::get<Vector>(v);
        InstantVector out;
        out.reserve(vec.size());
        for (auto &s : vec) out.push_back(InstantSample{std::move(s.labels).take(), s.v});
        // Prometheus leaves an instant vector in no particular order, except sort() and
        // sort_desc(); here it is sorted by labels, except after those two.
        const auto *call = std::get_if<Call>(&expr.value);
        const bool keep_order =
            call != nullptr && (call->function == "sort" || call->function == "sort_desc");
        if (!keep_order)
            std::sort(out.begin(), out.end(), [](const InstantSample &a, const InstantSample &b) {
                return a.labels < b.labels;
            });
        return out;
    } catch (const Failure &f) {
        return EvalError{f.pos, f.message};
    }
}

RegexCheck check_regex(const std::string &pattern) {
    const auto re = compile_anchored(pattern);
    if (!re->ok()) return RegexCheck{re->re.error(), false};
    return RegexCheck{"", regex_match(*re, MatchText(""))};
}

}  // namespace pulse::promql
