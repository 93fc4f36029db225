// Prometheus' bucketQuantile (promql/quantile.go): the φ-quantile of one classic histogram
// from its cumulative bucket counts, by linear interpolation inside the bucket it falls in.
// The PromQL evaluator's histogram_quantile() and the sidecar's built-in latency signals
// (signals.cpp) both answer with it.
#pragma once

#include <vector>

namespace pulse::promql {

struct Bucket {
    double upper_bound;
    double count;  // cumulative: observations at or below upper_bound
};

// `buckets` sorted by upper bound (each caller sorts as the Prometheus it follows does).
// Buckets with equal bounds are merged and counts that go down are raised to the highest
// before them (ensureMonotonic). With `float_noise_tolerance` above 0, a count differing
// from the one before by at most that fraction is first taken as equal to it, as
// Prometheus does since 2.46; 0 keeps Prometheus 2.42's arithmetic exactly.
//
// NaN for a NaN q, without a +Inf bucket last, with fewer than two buckets or no
// observations; -Inf below q 0, +Inf above 1. The lower bound of the first bucket is 0
// (unless its upper bound is not above 0); a quantile in the +Inf bucket is the highest
// finite bound. `buckets` is changed.
double bucket_quantile(double q, std::vector<Bucket> &buckets, double float_noise_tolerance = 0);

}  // namespace pulse::promql
