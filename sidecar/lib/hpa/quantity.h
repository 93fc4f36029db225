// Kubernetes resource quantities ("500m", "1.5", "2Ki", "1e3") as the HPA controller reads
// and writes them: parse_quantity gives resource.ParseQuantity(text).MilliValue() of
// apimachinery 1.20 (pkg/api/resource), integer for integer, including its rounding; and
// format_milli gives resource.NewMilliQuantity(milli, DecimalSI).String(), the form the
// controller writes into status.currentMetrics.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pulse::hpa {

struct ParsedQuantity {
    bool ok = false;
    std::int64_t milli = 0;
    // When !ok: ParseQuantity's own error text ("quantities must match the regular
    // expression '...'", "unable to parse quantity's suffix", "unable to parse numeric part
    // of quantity"), or "quantity is out of range: ..." for values whose milli-units do not
    // fit an int64 (where MilliValue() would wrap or return an unrelated number).
    std::string error;
};

// The milli-units of a quantity, rounded as MilliValue() rounds: up (away from zero) for
// quantities written with at most 18 significant digits and a scale of at least 1e-9 (its
// int64 fast path; "0.1m" is 1, "-1.5m" is -2), and, on its arbitrary-precision path (more
// digits, fractional binary suffixes such as "1.5Gi", scales below 1e-9), a round away from
// zero to 1e-9 followed by the ceiling in milli-units, plus one for an inexact negative
// ("-0.0000000015" is 1, as the controller computes it). No surrounding whitespace.
ParsedQuantity parse_quantity(std::string_view text);

// What a reader of a spec or state says of `text` that did not parse as `q` (!q.ok):
// "\"1x\" is not a quantity", or "\"9e99\": quantity is out of range: ...".
std::string quantity_problem(std::string_view text, const ParsedQuantity &q);

// The canonical DecimalSI text of milli/1000: "0", "500m", "2", "1500m", "1k", "-250m".
std::string format_milli(std::int64_t milli);

}  // namespace pulse::hpa
