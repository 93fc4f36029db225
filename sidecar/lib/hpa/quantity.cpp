#include "quantity.h"

#include <cstring>
#include <limits>

#include "json_reading.h"

namespace pulse::hpa {

namespace {

constexpr const char *kErrFormat =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr const char *kErrNumeric = "unable to parse numeric part of quantity";
constexpr const char *kErrSuffix = "unable to parse quantity's suffix";
constexpr const char *kErrRange = "quantity is out of range: its milli-units do not fit an int64";

using i128 = __int128;
using u128 = unsigned __int128;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// The pieces of "<sign><number><suffix>", split the way ParseQuantity's scanner splits them:
// leading zeros of the integer part dropped (an empty integer part reads as "0"), the
// fraction's digits kept as written.
struct Pieces {
    bool positive = true;
    std::string_view integer = "0";
    std::string_view fraction;
    std::string_view suffix;
    bool any_digit = false;  // the number part held at least one digit
};

bool split(std::string_view s, Pieces &out) {
    std::size_t pos = 0;
    const std::size_t end = s.size();
    if (pos < end && (s[pos] == '-' || s[pos] == '+')) {
        out.positive = s[pos] != '-';
        ++pos;
    }
    while (pos < end && s[pos] == '0') {
        ++pos;
        out.any_digit = true;
    }
    if (pos >= end) return true;  // only zeros (or nothing) after the sign: zero
    std::size_t start = pos;
    while (pos < end && is_digit(s[pos])) ++pos;
    if (pos > start) {
        out.integer = s.substr(start, pos - start);
        out.any_digit = true;
    }
    if (pos >= end) return true;
    if (s[pos] == '.') {
        start = ++pos;
        while (pos < end && is_digit(s[pos])) ++pos;
        out.fraction = s.substr(start, pos - start);
        if (!out.fraction.empty()) out.any_digit = true;
        if (pos >= end) return true;
    }
    const std::size_t suffix_start = pos;
    while (pos < end && std::strchr("eEinumkKMGTP", s[pos]) != nullptr) ++pos;
    if (pos < end && (s[pos] == '-' || s[pos] == '+')) ++pos;
    while (pos < end && is_digit(s[pos])) ++pos;
    if (pos < end) return false;
    out.suffix = s.substr(suffix_start);
    return true;
}

enum class Format { decimal_si, binary_si, decimal_exponent };

struct Suffix {
    int base = 10;
    std::int32_t exponent = 0;
    Format format = Format::decimal_si;
};

// A base-10 integer with an optional sign, as strconv.ParseInt(s, 10, 64) accepts it.
bool parse_int64(std::string_view s, std::int64_t &out) {
    bool negative = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        negative = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s.empty()) return false;
    u128 magnitude = 0;
    for (char c : s) {
        if (!is_digit(c)) return false;
        magnitude = magnitude * 10 + static_cast<unsigned>(c - '0');
        if (magnitude > (u128{1} << 63)) return false;
    }
    if (!negative && magnitude > static_cast<u128>(std::numeric_limits<std::int64_t>::max()))
        return false;
    out = negative ? static_cast<std::int64_t>(-static_cast<i128>(magnitude))
                   : static_cast<std::int64_t>(magnitude);
    return true;
}

bool interpret(std::string_view s, Suffix &out) {
    struct Entry {
        const char *text;
        int base;
        std::int32_t exponent;
        Format format;
    };
    static constexpr Entry kTable[] = {
        {"", 10, 0, Format::decimal_si},   {"n", 10, -9, Format::decimal_si},
        {"u", 10, -6, Format::decimal_si}, {"m", 10, -3, Format::decimal_si},
        {"k", 10, 3, Format::decimal_si},  {"M", 10, 6, Format::decimal_si},
        {"G", 10, 9, Format::decimal_si},  {"T", 10, 12, Format::decimal_si},
        {"P", 10, 15, Format::decimal_si}, {"E", 10, 18, Format::decimal_si},
        {"Ki", 2, 10, Format::binary_si},  {"Mi", 2, 20, Format::binary_si},
        {"Gi", 2, 30, Format::binary_si},  {"Ti", 2, 40, Format::binary_si},
        {"Pi", 2, 50, Format::binary_si},  {"Ei", 2, 60, Format::binary_si},
    };
    for (const Entry &e : kTable) {
        if (s == e.text) {
            out = Suffix{e.base, e.exponent, e.format};
            return true;
        }
    }
    if (s.size() > 1 && (s[0] == 'e' || s[0] == 'E')) {
        std::int64_t exponent = 0;
        if (!parse_int64(s.substr(1), exponent)) return false;
        // The exponent is kept as an int32, wrapping as the Go conversion does.
        out = Suffix{10, static_cast<std::int32_t>(exponent), Format::decimal_exponent};
        return true;
    }
    return false;
}

ParsedQuantity failure(const char *message) {
    ParsedQuantity r;
    r.error = message;
    return r;
}

ParsedQuantity success(std::int64_t milli) {
    ParsedQuantity r;
    r.ok = true;
    r.milli = milli;
    return r;
}

std::int64_t pow10(int k) {
    std::int64_t p = 1;
    for (int i = 0; i < k; ++i) p *= 10;
    return p;
}

// The int64 path: value x 10^scale held exactly in an int64, scale >= -9. Milli-units are
// rounded away from zero when digits below 1e-3 are dropped.
ParsedQuantity milli_from_scaled(std::int64_t value, std::int32_t scale) {
    if (scale < -3) {
        const std::int64_t p = pow10(-3 - scale);
        std::int64_t q = value / p;
        if (value % p != 0) q += value > 0 ? 1 : -1;
        return success(q);
    }
    std::int64_t v = value;
    for (std::int32_t i = 0; i < scale + 3; ++i) {
        if (__builtin_mul_overflow(v, std::int64_t{10}, &v)) return failure(kErrRange);
    }
    return success(v);
}

// Decimal digit strings (no sign, possibly with leading zeros) for the arbitrary-precision
// path.
std::string strip_zeros(std::string digits) {
    std::size_t i = 0;
    while (i < digits.size() && digits[i] == '0') ++i;
    return digits.substr(i);
}

std::string times_two(const std::string &digits) {
    std::string out(digits.size() + 1, '0');
    int carry = 0;
    for (std::size_t i = digits.size(); i-- > 0;) {
        int d = (digits[i] - '0') * 2 + carry;
        out[i + 1] = static_cast<char>('0' + d % 10);
        carry = d / 10;
    }
    out[0] = static_cast<char>('0' + carry);
    return strip_zeros(out);
}

// More than 38 digits cannot be milli-units of an int64 once divided by 1e6.
constexpr std::size_t kMaxDigits = 38;

u128 to_u128(const std::string &digits) {
    u128 v = 0;
    for (char c : digits) v = v * 10 + static_cast<unsigned>(c - '0');
    return v;
}

// The arbitrary-precision path: |x| = digits x 10^(-fraction_len) x 10^exp10 x 2^exp2 is
// rounded away from zero to nano-units (n), then divided by 1e6 with the quotient truncated
// and raised by one when a remainder is left (which is the ceiling for positive values and
// one above it for inexact negatives).
ParsedQuantity milli_from_decimal(bool positive, std::string digits, std::int64_t fraction_len,
                                  std::int64_t exp10, std::int32_t exp2) {
    digits = strip_zeros(std::move(digits));
    if (digits.empty()) return success(0);
    for (std::int32_t i = 0; i < exp2; ++i) digits = times_two(digits);
    const std::int64_t shift = exp10 - fraction_len + 9;
    u128 nano = 0;
    if (shift >= 0) {
        if (static_cast<std::int64_t>(digits.size()) + shift >
            static_cast<std::int64_t>(kMaxDigits))
            return failure(kErrRange);
        nano = to_u128(digits + std::string(static_cast<std::size_t>(shift), '0'));
    } else {
        const std::uint64_t drop = static_cast<std::uint64_t>(-shift);
        std::string kept, dropped = digits;
        if (drop < digits.size()) {
            kept = digits.substr(0, digits.size() - drop);
            dropped = digits.substr(digits.size() - drop);
        }
        if (kept.size() > kMaxDigits) return failure(kErrRange);
        nano = to_u128(kept);
        if (dropped.find_first_not_of('0') != std::string::npos) ++nano;
    }
    constexpr u128 kMax = static_cast<u128>(std::numeric_limits<std::int64_t>::max());
    if (positive) {
        u128 milli = nano / 1000000 + (nano % 1000000 != 0 ? 1 : 0);
        if (milli > kMax) return failure(kErrRange);
        return success(static_cast<std::int64_t>(milli));
    }
    if (nano > kMax + 1) return failure(kErrRange);
    const std::int64_t v = static_cast<std::int64_t>(-static_cast<i128>(nano));
    return success(v / 1000000 + (v % 1000000 != 0 ? 1 : 0));
}

}  // namespace

ParsedQuantity parse_quantity(std::string_view text) {
    if (text.empty()) return failure(kErrFormat);
    if (text == "0") return success(0);
    Pieces p;
    if (!split(text, p)) return failure(kErrFormat);
    Suffix suffix;
    if (!interpret(p.suffix, suffix)) return failure(kErrSuffix);

    const std::int64_t integer_len = static_cast<std::int64_t>(p.integer.size());
    const std::int64_t fraction_len = static_cast<std::int64_t>(p.fraction.size());
    std::int64_t precision = 0;
    std::int32_t scale = 0;
    std::int64_t mantissa = 1;
    if (suffix.format == Format::binary_si) {
        if (suffix.exponent >= 0 && fraction_len == 0) {
            mantissa = std::int64_t{1} << suffix.exponent;
            precision = 15 - integer_len - suffix.exponent * 3 / 10 - 1;
        } else {
            precision = -1;
        }
    } else {
        scale = suffix.exponent;
        precision = 18 - (integer_len + fraction_len);
    }
    if (precision >= 0) {
        // int32 arithmetic, as in the original.
        scale = static_cast<std::int32_t>(static_cast<std::int64_t>(scale) - fraction_len);
        if (scale >= -9) {
            std::int64_t value = 0;
            for (char c : p.integer) value = value * 10 + (c - '0');
            for (char c : p.fraction) value = value * 10 + (c - '0');
            std::int64_t product = 0;
            if (!__builtin_mul_overflow(value, mantissa, &product)) {
                return milli_from_scaled(p.positive ? product : -product, scale);
            }
        }
    }

    if (!p.any_digit) return failure(kErrNumeric);
    std::string digits(p.integer);
    digits += p.fraction;
    if (suffix.base == 10)
        return milli_from_decimal(p.positive, digits, fraction_len, suffix.exponent, 0);
    return milli_from_decimal(p.positive, digits, fraction_len, 0, suffix.exponent);
}

std::string format_milli(std::int64_t milli) {
    if (milli == 0) return "0";
    // Move factors of ten into the exponent, then back out until the exponent is a multiple
    // of three.
    const bool negative = milli < 0;
    std::uint64_t amount =
        negative ? 0 - static_cast<std::uint64_t>(milli) : static_cast<std::uint64_t>(milli);
    int exponent = -3;
    while (amount >= 10 && amount % 10 == 0) {
        amount /= 10;
        ++exponent;
    }
    while (exponent % 3 != 0) {
        amount *= 10;
        --exponent;
    }
    const char *suffix = "";
    switch (exponent) {
        case -3:
            suffix = "m";
            break;
        case 3:
            suffix = "k";
            break;
        case 6:
            suffix = "M";
            break;
        case 9:
            suffix = "G";
            break;
        case 12:
            suffix = "T";
            break;
        case 15:
            suffix = "P";
            break;
        default:
            break;
    }
    // Built in place: GCC 12's -O3 warns (-Wrestrict, a false positive) on "-" + string&&.
    std::string out = negative ? "-" : "";
    out += std::to_string(amount);
    out += suffix;
    return out;
}

std::string quantity_problem(std::string_view text, const ParsedQuantity &q) {
    if (q.error.rfind("quantity is out of range", 0) == 0)
        return json_reading::quote(text) + ": " + q.error;
    return json_reading::quote(text) + " is not a quantity";
}

}  // namespace pulse::hpa
