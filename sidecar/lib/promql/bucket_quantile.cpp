#include "bucket_quantile.h"

#include <cmath>
#include <cstddef>
#include <limits>

namespace pulse::promql {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// coalesceBuckets: buckets with the same upper bound (le="0.2", le="2e-1") are one.
void coalesce_buckets(std::vector<Bucket> &buckets) {
    Bucket last = buckets[0];
    std::size_t i = 0;
    for (std::size_t k = 1; k < buckets.size(); ++k) {
        if (buckets[k].upper_bound == last.upper_bound) {
            last.count += buckets[k].count;
        } else {
            buckets[i] = last;
            last = buckets[k];
            ++i;
        }
    }
    buckets[i] = last;
    buckets.resize(i + 1);
}

// Float noise that makes counts non-monotonic is flattened.
void correct_precision_errors(std::vector<Bucket> &buckets, double tolerance) {
    double prev = buckets[0].count;
    for (std::size_t i = 1; i < buckets.size(); ++i) {
        const double curr = buckets[i].count;
        const double delta = std::abs(curr - prev);
        if (delta == 0) continue;
        const double eps = delta / curr;
        if (eps <= tolerance) {
            buckets[i].count = prev;
        } else {
            prev = curr;
        }
    }
}

// ensureMonotonic: a count below an earlier one is raised to it.
void ensure_monotonic(std::vector<Bucket> &buckets) {
    double max = buckets[0].count;
    for (std::size_t i = 1; i < buckets.size(); ++i) {
        if (buckets[i].count > max) {
            max = buckets[i].count;
        } else if (buckets[i].count < max) {
            buckets[i].count = max;
        }
    }
}

}  // namespace

double bucket_quantile(double q, std::vector<Bucket> &buckets, double float_noise_tolerance) {
    if (std::isnan(q)) return kNaN;
    if (q < 0) return -kInf;
    if (q > 1) return kInf;
    if (buckets.empty() ||
        !(std::isinf(buckets.back().upper_bound) && buckets.back().upper_bound > 0))
        return kNaN;
    coalesce_buckets(buckets);
    if (float_noise_tolerance > 0) correct_precision_errors(buckets, float_noise_tolerance);
    ensure_monotonic(buckets);
    if (buckets.size() < 2) return kNaN;
    const double observations = buckets.back().count;
    if (observations == 0) return kNaN;
    double rank = q * observations;
    // Go's sort.Search(len(buckets)-1, count >= rank): the first bucket holding the rank.
    std::size_t lo = 0, hi = buckets.size() - 1;
    while (lo < hi) {
        const std::size_t h = (lo + hi) / 2;
        if (!(buckets[h].count >= rank)) {
            lo = h + 1;
        } else {
            hi = h;
        }
    }
    const std::size_t b = lo;
    if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper_bound;
    if (b == 0 && buckets[0].upper_bound <= 0) return buckets[0].upper_bound;
    double bucket_start = 0;
    const double bucket_end = buckets[b].upper_bound;
    double count = buckets[b].count;
    if (b > 0) {
        bucket_start = buckets[b - 1].upper_bound;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    return bucket_start + (bucket_end - bucket_start) * (rank / count);
}

}  // namespace pulse::promql
