// The signal math (sidecar/lib/signals.h): histogram_quantile against values worked out by
// hand from Prometheus' bucketQuantile (promql/quantile.go), rate()'s reset rule, the
// windowed signals and the snapshot window.
#include "signals.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <limits>
#include <string>
#include <vector>

namespace pulse::sidecar {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Histogram hist(std::vector<double> bounds, std::vector<double> counts, double sum = 0) {
    Histogram h;
    h.bounds = std::move(bounds);
    h.counts = std::move(counts);
    h.sum = sum;
    return h;
}

// ---- histogram_quantile ------------------------------------------------------------------
// bucketQuantile: rank = q * count(+Inf); b = first bucket (the +Inf one excluded from the
// search) whose cumulative count >= rank; b == +Inf -> the highest finite bound; otherwise
// start(b) + (end(b) - start(b)) * (rank - count(b-1)) / (count(b) - count(b-1)), start of
// the first bucket 0.

// Bounds 1, 2, 4, +Inf; cumulative 10, 30, 40, 40.
const Histogram kA = hist({1, 2, 4, kInf}, {10, 30, 40, 40});

TEST(Quantile, RankInTheFirstBucketInterpolatesFromZero) {
    // q=0.2: rank 8 -> bucket le=1 (10 >= 8): 0 + (1 - 0) * 8/10 = 0.8
    EXPECT_DOUBLE_EQ(histogram_quantile(0.2, kA), 0.8);
}

TEST(Quantile, InsideABucketInterpolatesFromThePreviousBound) {
    // q=0.5: rank 20 -> le=2 (30 >= 20): 1 + (2 - 1) * (20 - 10)/(30 - 10) = 1.5
    EXPECT_DOUBLE_EQ(histogram_quantile(0.5, kA), 1.5);
    // q=0.9: rank 36 -> le=4 (40 >= 36): 2 + (4 - 2) * (36 - 30)/(40 - 30) = 3.2
    EXPECT_DOUBLE_EQ(histogram_quantile(0.9, kA), 3.2);
}

TEST(Quantile, RankExactlyOnABucketBoundaryGivesThatBound) {
    // q=0.25: rank 10 -> le=1 (10 >= 10, the search takes the first such): 0 + 1 * 10/10 = 1
    EXPECT_DOUBLE_EQ(histogram_quantile(0.25, kA), 1.0);
    // q=0.75: rank 30 -> le=2: 1 + 1 * (30 - 10)/(30 - 10) = 2
    EXPECT_DOUBLE_EQ(histogram_quantile(0.75, kA), 2.0);
}

TEST(Quantile, RankInTheInfBucketGivesTheHighestFiniteBound) {
    // 1, 2, +Inf with 10, 20, 40: q=0.9 -> rank 36, no finite bucket reaches it -> 2
    const Histogram h = hist({1, 2, kInf}, {10, 20, 40});
    EXPECT_EQ(histogram_quantile(0.9, h), 2.0);
    EXPECT_EQ(histogram_quantile(0.51, h), 2.0);          // rank 20.4 > 20
    EXPECT_DOUBLE_EQ(histogram_quantile(0.5, h), 2.0);    // rank 20: le=2, 1 + 1 * 10/10
    EXPECT_DOUBLE_EQ(histogram_quantile(0.375, h), 1.5);  // rank 15: 1 + 1 * 5/10
}

TEST(Quantile, AllObservationsInOneBucket) {
    // 0.1, 0.5, 1, +Inf with 0, 50, 50, 50
    const Histogram h = hist({0.1, 0.5, 1, kInf}, {0, 50, 50, 50});
    EXPECT_DOUBLE_EQ(histogram_quantile(0.5, h), 0.3);     // 0.1 + 0.4 * 25/50
    EXPECT_DOUBLE_EQ(histogram_quantile(0.99, h), 0.496);  // 0.1 + 0.4 * 49.5/50
    EXPECT_DOUBLE_EQ(histogram_quantile(1.0, h), 0.5);     // rank 50 -> le=0.5, its upper bound
}

TEST(Quantile, QZeroAndQOne) {
    // q=0: rank 0 -> le=1 -> 0 + 1 * 0/10 = 0
    EXPECT_EQ(histogram_quantile(0.0, kA), 0.0);
    // q=1: rank 40 -> le=4 (first reaching 40): 2 + 2 * 10/10 = 4
    EXPECT_DOUBLE_EQ(histogram_quantile(1.0, kA), 4.0);
    // q=0 with an empty first bucket: rank 0 -> le=0.1 with 0 of 0: Prometheus computes
    // 0 + 0.1 * (0/0), which is NaN.
    EXPECT_TRUE(std::isnan(histogram_quantile(0.0, hist({0.1, 0.5, kInf}, {0, 50, 50}))));
    // q=1 with observations above the last finite bound -> that bound
    EXPECT_EQ(histogram_quantile(1.0, hist({1, 2, kInf}, {10, 20, 40})), 2.0);
}

TEST(Quantile, OutOfRangeAndNaNQ) {
    EXPECT_EQ(histogram_quantile(-0.1, kA), -kInf);
    EXPECT_EQ(histogram_quantile(1.1, kA), kInf);
    EXPECT_TRUE(std::isnan(histogram_quantile(std::nan(""), kA)));
    // q out of range wins over an unusable histogram, as in Prometheus
    EXPECT_EQ(histogram_quantile(-1, Histogram{}), -kInf);
    EXPECT_EQ(histogram_quantile(2, Histogram{}), kInf);
}

TEST(Quantile, NaNWithoutObservationsFewerThanTwoBucketsOrNoInf) {
    EXPECT_TRUE(std::isnan(histogram_quantile(0.5, hist({0.1, 0.5, kInf}, {0, 0, 0}))));
    EXPECT_TRUE(std::isnan(histogram_quantile(0.5, hist({kInf}, {5}))));
    EXPECT_TRUE(std::isnan(histogram_quantile(0.5, hist({1, 2}, {5, 10}))));
    EXPECT_TRUE(std::isnan(histogram_quantile(0.5, Histogram{})));
}

TEST(Quantile, NonMonotonicCountsAreMadeMonotonic) {
    // 1, 2, 4, +Inf with 10, 8, 30, 40 -> envelope 10, 10, 30, 40. q=0.5: rank 20 -> le=4:
    // 2 + 2 * (20 - 10)/(30 - 10) = 3. (Unfixed it would be 2 + 2 * 12/22 = 3.09.)
    EXPECT_DOUBLE_EQ(histogram_quantile(0.5, hist({1, 2, 4, kInf}, {10, 8, 30, 40})), 3.0);
    // +Inf below a finite bucket: 10, 20, 15 -> 10, 20, 20; q=0.5: rank 10 -> le=1 -> 1.
    // (Unfixed: rank 7.5 -> 0.75.)
    EXPECT_DOUBLE_EQ(histogram_quantile(0.5, hist({1, 2, kInf}, {10, 20, 15})), 1.0);
}

TEST(Quantile, PrecisionNoiseIsFlattened) {
    // 10 then 10 + 1e-12 (relative 1e-13 <= 1e-12): the second count becomes 10, so rank
    // 10.00000000000025 falls in le=4: 2 + 2 * 0.00000000000025/10 ~ 2. (Unflattened it
    // would be in le=2: 1 + 0.25e-12/1e-12 = 1.25.)
    const Histogram h = hist({1, 2, 4, kInf}, {10, 10 + 1e-12, 20, 20});
    EXPECT_NEAR(histogram_quantile(0.5 + 2.5e-14, h), 2.0, 1e-9);
}

TEST(Quantile, UnsortedAndDuplicateBoundsAreSortedAndCoalesced) {
    EXPECT_DOUBLE_EQ(histogram_quantile(0.5, hist({2, 1, kInf, 4}, {30, 10, 40, 40})), 1.5);
    // le=1 twice (5 + 5) is the same as kA.
    EXPECT_DOUBLE_EQ(histogram_quantile(0.5, hist({1, 1, 2, 4, kInf}, {5, 5, 30, 40, 40})), 1.5);
}

TEST(Quantile, NonPositiveFirstBoundIsReturnedAsIs) {
    // -1, 0, 1, +Inf with 5, 10, 20, 20; q=0.1: rank 2 -> le=-1 <= 0 -> -1
    EXPECT_EQ(histogram_quantile(0.1, hist({-1, 0, 1, kInf}, {5, 10, 20, 20})), -1.0);
}

TEST(Quantile, KnownDistributionP95) {
    // 100 requests: 90 in le=0.1, 10 in (0.1, 0.5].
    const Histogram h = hist({0.1, 0.5, 1, kInf}, {90, 100, 100, 100});
    EXPECT_DOUBLE_EQ(histogram_quantile(0.95, h), 0.3);  // 0.1 + 0.4 * (95 - 90)/10
    EXPECT_DOUBLE_EQ(histogram_quantile(0.5, h), 0.1 * 50 / 90);
    EXPECT_DOUBLE_EQ(histogram_quantile(0.99, h), 0.46);  // 0.1 + 0.4 * 9/10
}

// ---- counter_increase ----------------------------------------------------------------------

TEST(CounterIncrease, NoReset) {
    EXPECT_EQ(counter_increase({10, 20, 30, 45}), 35);
    EXPECT_EQ(counter_increase({7, 7, 7}), 0);
}

TEST(CounterIncrease, FewerThanTwoValuesIsZero) {
    EXPECT_EQ(counter_increase({}), 0);
    EXPECT_EQ(counter_increase({123}), 0);
}

TEST(CounterIncrease, OneResetCountsTheNewValue) {
    // 10 -> 20: +10; 20 -> 5 is a reset: +5; 5 -> 8: +3
    EXPECT_EQ(counter_increase({10, 20, 5, 8}), 18);
    // reset to 0 adds nothing, never subtracts
    EXPECT_EQ(counter_increase({100, 0}), 0);
}

TEST(CounterIncrease, ResetThatClimbsAboveTheOldValue) {
    // 10 -> 20: +10; 20 -> 5 reset: +5; 5 -> 30 (above the old 20): +25
    EXPECT_EQ(counter_increase({10, 20, 5, 30}), 40);
}

TEST(CounterIncrease, SeveralResets) {
    // +5, reset +2, +5, reset +1, +3
    EXPECT_EQ(counter_increase({5, 10, 2, 7, 1, 4}), 16);
}

TEST(CounterIncrease, NeverNegative) {
    EXPECT_GE(counter_increase({1000, 3, 2, 1, 0}), 0);
    // every step down is a reset that adds the new value: 3 + 2 + 1 + 0
    EXPECT_EQ(counter_increase({1000, 3, 2, 1, 0}), 6);
}

// ---- histogram_increase ----------------------------------------------------------------------

TEST(CounterHistogramIncrease, NoResetIsPerBucketDifference) {
    const Histogram h1 = hist({0.1, 0.5, kInf}, {10, 15, 20}, 3);
    const Histogram h2 = hist({0.1, 0.5, kInf}, {30, 40, 50}, 9);
    Histogram inc = histogram_increase({&h1, &h2});
    EXPECT_EQ(inc.bounds, (std::vector<double>{0.1, 0.5, kInf}));
    EXPECT_EQ(inc.counts, (std::vector<double>{20, 25, 30}));
    EXPECT_DOUBLE_EQ(inc.sum, 6);
}

TEST(CounterHistogramIncrease, ResetAddsTheNewHistogram) {
    const Histogram h1 = hist({0.1, 0.5, kInf}, {10, 15, 20}, 3);
    const Histogram h2 = hist({0.1, 0.5, kInf}, {30, 40, 50}, 9);
    const Histogram h3 = hist({0.1, 0.5, kInf}, {5, 8, 10}, 1.5);  // restarted
    const Histogram h4 = hist({0.1, 0.5, kInf}, {15, 20, 25}, 4);
    Histogram inc = histogram_increase({&h1, &h2, &h3, &h4});
    // 0.1: 20 + 5 + 10; 0.5: 25 + 8 + 12; +Inf: 30 + 10 + 15; sum 6 + 1.5 + 2.5
    EXPECT_EQ(inc.counts, (std::vector<double>{35, 45, 55}));
    EXPECT_DOUBLE_EQ(inc.sum, 10);
}

TEST(CounterHistogramIncrease, ResetIsDecidedByTheCountForEveryBucket) {
    // The count went 50 -> 45: a restart, although le=0.1 went 30 -> 35. Its 35 are new.
    const Histogram h1 = hist({0.1, 0.5, kInf}, {10, 15, 20});
    const Histogram h2 = hist({0.1, 0.5, kInf}, {30, 40, 50});
    const Histogram h3 = hist({0.1, 0.5, kInf}, {35, 41, 45});
    Histogram inc = histogram_increase({&h1, &h2, &h3});
    EXPECT_EQ(inc.counts, (std::vector<double>{20 + 35, 25 + 41, 30 + 45}));
}

TEST(CounterHistogramIncrease, SkipsNullAndEmptyEntries) {
    const Histogram empty;
    const Histogram h1 = hist({0.1, kInf}, {10, 20});
    const Histogram h2 = hist({0.1, kInf}, {12, 30});
    Histogram inc = histogram_increase({nullptr, &empty, &h1, nullptr, &empty, &h2, nullptr});
    EXPECT_EQ(inc.counts, (std::vector<double>{2, 10}));
    EXPECT_TRUE(histogram_increase({nullptr, &empty}).empty());
}

TEST(CounterHistogramIncrease, BoundsComeFromTheNewest) {
    // Buckets changed (a reload): le=0.25 exists only in the newest, so it has no increase
    // yet; the others carry on.
    const Histogram old_h = hist({0.1, kInf}, {10, 20});
    const Histogram new_h = hist({0.1, 0.25, kInf}, {14, 18, 26});
    Histogram inc = histogram_increase({&old_h, &new_h});
    EXPECT_EQ(inc.bounds, (std::vector<double>{0.1, 0.25, kInf}));
    EXPECT_EQ(inc.counts, (std::vector<double>{4, 0, 6}));
}

// ---- compute_signals -----------------------------------------------------------------------

// One snapshot per second from t0 to t1 (inclusive), filled by `fill(snapshot, t)`.
template <typename Fill>
std::deque<NginxSnapshot> series(int t0, int t1, Fill fill) {
    std::deque<NginxSnapshot> out;
    for (int t = t0; t <= t1; ++t) {
        NginxSnapshot s;
        s.time = 1000 + t;
        fill(s, t);
        out.push_back(s);
    }
    return out;
}

TEST(Signals, ConstantRateOverThirtySecondsIsExact) {
    auto window = series(0, 30, [](NginxSnapshot &s, int t) {
        s.pod.requests = 1000 + 50.0 * t;
        s.pod.errors = 100 + 5.0 * t;
    });
    Signals sig = compute_signals(window);
    EXPECT_EQ(sig.pod.requests_per_second, 50.0);
    EXPECT_DOUBLE_EQ(sig.pod.error_ratio, 0.1);
    EXPECT_EQ(sig.window_seconds, 30.0);
    EXPECT_EQ(sig.samples, 31u);
}

TEST(Signals, RateUsesTheActualSpan) {
    // 3 snapshots at 0, 4 and 10 s: 600 requests in 10 s
    std::deque<NginxSnapshot> window(3);
    window[0].time = 0;
    window[0].pod.requests = 0;
    window[1].time = 4;
    window[1].pod.requests = 100;
    window[2].time = 10;
    window[2].pod.requests = 600;
    Signals sig = compute_signals(window);
    EXPECT_DOUBLE_EQ(sig.pod.requests_per_second, 60);
    EXPECT_EQ(sig.window_seconds, 10);
}

TEST(Signals, OneSnapshotGivesZeroRatesAndGauges) {
    NginxSnapshot s;
    s.time = 5;
    s.pod.requests = 500;
    s.pod.errors = 50;
    s.pod.in_flight = 7;
    s.pod.websockets = 2;
    s.pod.duration = hist({0.1, kInf}, {400, 500});
    s.servers["a"] = s.pod;
    Signals sig = compute_signals({s});
    EXPECT_EQ(sig.samples, 1u);
    EXPECT_EQ(sig.window_seconds, 0);
    EXPECT_EQ(sig.pod.requests_per_second, 0);
    EXPECT_EQ(sig.pod.error_ratio, 0);
    EXPECT_EQ(sig.pod.request_duration_p95_seconds, 0);
    EXPECT_EQ(sig.pod.requests_in_flight, 7);
    EXPECT_EQ(sig.pod.websocket_connections, 2);
    ASSERT_EQ(sig.servers.count("a"), 1u);
    EXPECT_EQ(sig.servers.at("a").requests_per_second, 0);
    EXPECT_EQ(sig.servers.at("a").requests_in_flight, 7);
}

TEST(Signals, EmptyWindowIsAllZero) {
    Signals sig = compute_signals({});
    EXPECT_EQ(sig.samples, 0u);
    EXPECT_EQ(sig.pod.requests_per_second, 0);
    EXPECT_TRUE(sig.servers.empty());
}

TEST(Signals, ZeroSpanGivesZeroRate) {
    std::deque<NginxSnapshot> window(2);
    window[0].time = window[1].time = 7;
    window[0].pod.requests = 10;
    window[1].pod.requests = 20;
    Signals sig = compute_signals(window);
    EXPECT_EQ(sig.pod.requests_per_second, 0);
    EXPECT_TRUE(std::isfinite(sig.pod.requests_per_second));
}

TEST(Signals, NoRequestsInTheWindowGivesZeroErrorRatioAndQuantiles) {
    auto window = series(0, 30, [](NginxSnapshot &s, int) {
        s.pod.requests = 100;
        s.pod.errors = 40;
        s.pod.duration = hist({0.1, 0.5, kInf}, {50, 90, 100});
        s.upstream_response = hist({0.1, 0.5, kInf}, {50, 90, 100});
    });
    Signals sig = compute_signals(window);
    EXPECT_EQ(sig.pod.requests_per_second, 0);
    EXPECT_EQ(sig.pod.error_ratio, 0);
    EXPECT_EQ(sig.pod.request_duration_p50_seconds, 0);
    EXPECT_EQ(sig.pod.request_duration_p95_seconds, 0);
    EXPECT_EQ(sig.pod.request_duration_p99_seconds, 0);
    EXPECT_EQ(sig.pod.upstream_duration_p95_seconds, 0);
}

TEST(Signals, ServerAppearingMidWindowUsesItsOwnSpan) {
    auto window = series(0, 30, [](NginxSnapshot &s, int t) {
        s.pod.requests = 50.0 * t;
        s.servers["a"].requests = 30.0 * t;
        if (t >= 10) {
            s.servers["b"].requests = 7 + 20.0 * (t - 10);
            s.servers["b"].errors = 1 + 5.0 * (t - 10);
        }
    });
    Signals sig = compute_signals(window);
    ASSERT_EQ(sig.servers.size(), 2u);
    EXPECT_DOUBLE_EQ(sig.servers.at("a").requests_per_second, 30);
    EXPECT_DOUBLE_EQ(sig.servers.at("b").requests_per_second, 20);  // 400 over 20 s, not 30
    EXPECT_DOUBLE_EQ(sig.servers.at("b").error_ratio, 0.25);
    EXPECT_DOUBLE_EQ(sig.pod.requests_per_second, 50);
}

TEST(Signals, ServerInOnlyTheNewestSnapshotHasNoRateYet) {
    auto window = series(0, 3, [](NginxSnapshot &s, int t) {
        if (t == 3) {
            s.servers["new"].requests = 100;
            s.servers["new"].in_flight = 4;
        }
    });
    Signals sig = compute_signals(window);
    ASSERT_EQ(sig.servers.count("new"), 1u);
    EXPECT_EQ(sig.servers.at("new").requests_per_second, 0);
    EXPECT_EQ(sig.servers.at("new").requests_in_flight, 4);
}

TEST(Signals, RestartMidWindowNeitherGoesNegativeNorSpikes) {
    // 100 req/s with 2% errors; nginx restarts right after the scrape at t=15 and counts
    // from 0 again (100 requests by t=16). Durations: 90% in le=0.1, 10% in le=0.5.
    auto fill = [](NginxSnapshot &s, int t) {
        const double n = t <= 15 ? 100.0 * t : 100.0 * (t - 15);
        s.pod.requests = n;
        s.pod.errors = 0.02 * n;
        s.pod.duration = hist({0.1, 0.5, kInf}, {0.9 * n, n, n}, 0.05 * n);
        s.servers["a"].requests = n;
        s.servers["a"].errors = 0.02 * n;
    };
    Signals sig = compute_signals(series(0, 30, fill));
    EXPECT_NEAR(sig.pod.requests_per_second, 100, 1e-9);
    EXPECT_NEAR(sig.pod.error_ratio, 0.02, 1e-12);
    EXPECT_NEAR(sig.servers.at("a").requests_per_second, 100, 1e-9);
    // 95th of 3000: rank 2850, 2700 in le=0.1 -> 0.1 + 0.4 * 150/300 = 0.3
    EXPECT_NEAR(sig.pod.request_duration_p95_seconds, 0.3, 1e-9);

    // The window just after the restart too (oldest before, newest after).
    Signals just_after = compute_signals(series(10, 16, fill));
    EXPECT_NEAR(just_after.pod.requests_per_second, 100, 1e-9);
    EXPECT_GE(just_after.pod.error_ratio, 0);
}

TEST(Signals, InFlightAndWebsocketsComeFromTheNewestSnapshot) {
    auto window = series(0, 2, [](NginxSnapshot &s, int t) {
        const double in_flight[] = {3, 9, 4};
        const double websockets[] = {10, 2, 6};
        s.pod.in_flight = in_flight[t];
        s.pod.websockets = websockets[t];
        s.servers["a"].in_flight = in_flight[t] - 1;
        s.servers["a"].websockets = websockets[t] - 1;
        if (t < 2) s.servers["gone"].in_flight = 8;
    });
    Signals sig = compute_signals(window);
    EXPECT_EQ(sig.pod.requests_in_flight, 4);
    EXPECT_EQ(sig.pod.websocket_connections, 6);
    EXPECT_EQ(sig.servers.at("a").requests_in_flight, 3);
    EXPECT_EQ(sig.servers.at("a").websocket_connections, 5);
    EXPECT_EQ(sig.servers.at("gone").requests_in_flight, 0);  // not in the newest scrape
}

TEST(Signals, ConnectionSaturationIsNewestActiveOverLimit) {
    auto window = series(0, 1, [](NginxSnapshot &s, int t) {
        s.connections_active = t == 0 ? 900 : 256;
        s.connections_limit = 1024;
    });
    EXPECT_DOUBLE_EQ(compute_signals(window).pod.connection_saturation, 0.25);

    window.back().connections_limit = 0;
    Signals no_limit = compute_signals(window);
    EXPECT_EQ(no_limit.pod.connection_saturation, 0);
}

TEST(Signals, DurationQuantilesAreOfTheIncreaseInTheWindow) {
    // Before the window: 1000 requests, all slow (le=1). In the window: 100 more, 90 in
    // le=0.1 and 10 in (0.1, 0.5].
    std::deque<NginxSnapshot> window(2);
    window[0].time = 0;
    window[0].pod.duration = hist({0.1, 0.5, 1, kInf}, {0, 0, 1000, 1000});
    window[1].time = 30;
    window[1].pod.duration = hist({0.1, 0.5, 1, kInf}, {90, 100, 1100, 1100});
    window[0].servers["a"].duration = window[0].pod.duration;
    window[1].servers["a"].duration = window[1].pod.duration;
    window[0].upstream_response = hist({0.1, 0.5, 1, kInf}, {0, 0, 0, 0});
    window[1].upstream_response = hist({0.1, 0.5, 1, kInf}, {0, 50, 100, 100});
    Signals sig = compute_signals(window);
    EXPECT_DOUBLE_EQ(sig.pod.request_duration_p95_seconds, 0.3);  // 0.1 + 0.4 * 5/10
    EXPECT_DOUBLE_EQ(sig.pod.request_duration_p50_seconds, 0.1 * 50 / 90);
    EXPECT_DOUBLE_EQ(sig.pod.request_duration_p99_seconds, 0.46);  // 0.1 + 0.4 * 9/10
    EXPECT_DOUBLE_EQ(sig.servers.at("a").request_duration_p95_seconds, 0.3);
    EXPECT_DOUBLE_EQ(sig.pod.upstream_duration_p95_seconds, 0.95);    // 0.5 + 0.5 * 45/50
    EXPECT_EQ(sig.servers.at("a").upstream_duration_p95_seconds, 0);  // pod only
    EXPECT_EQ(sig.servers.at("a").connection_saturation, 0);          // pod only
}

TEST(Signals, ObservationsOnlyInInfGiveTheHighestFiniteBound) {
    std::deque<NginxSnapshot> window(2);
    window[0].time = 0;
    window[0].pod.duration = hist({0.1, 10, kInf}, {0, 0, 0});
    window[1].time = 1;
    window[1].pod.duration = hist({0.1, 10, kInf}, {0, 0, 5});
    Signals sig = compute_signals(window);
    EXPECT_EQ(sig.pod.request_duration_p95_seconds, 10);
    EXPECT_TRUE(std::isfinite(sig.pod.request_duration_p50_seconds));
}

TEST(Signals, ErrorRatioStaysARatioWhenOnlyTheErrorCounterShowsAReset) {
    // A restart only the error counter reveals (requests climbed past their old value):
    // errors count 40 new, requests only 20; the ratio is capped at 1, not 2.
    std::deque<NginxSnapshot> window(2);
    window[0].time = 0;
    window[0].pod.requests = 100;
    window[0].pod.errors = 50;
    window[1].time = 1;
    window[1].pod.requests = 120;
    window[1].pod.errors = 40;
    EXPECT_EQ(compute_signals(window).pod.error_ratio, 1.0);
}

TEST(Signals, HistogramWithoutFiniteBucketsGivesZeroNotNaN) {
    // Observations, but only a +Inf bucket: Prometheus has no answer (NaN); the signal is 0.
    std::deque<NginxSnapshot> window(2);
    window[0].time = 0;
    window[0].pod.duration = hist({kInf}, {10});
    window[1].time = 1;
    window[1].pod.duration = hist({kInf}, {30});
    Signals sig = compute_signals(window);
    EXPECT_EQ(sig.pod.request_duration_p50_seconds, 0);
    EXPECT_EQ(sig.pod.request_duration_p95_seconds, 0);
    EXPECT_EQ(sig.pod.request_duration_p99_seconds, 0);
}

// ---- SnapshotWindow ------------------------------------------------------------------------

NginxSnapshot at(double time) {
    NginxSnapshot s;
    s.time = time;
    return s;
}

TEST(Window, KeepsTheNewestSnapshotAtOrBeforeTheWindowStart) {
    SnapshotWindow w(30);
    for (int t = 0; t <= 40; ++t) w.add(at(t));
    ASSERT_EQ(w.snapshots().size(), 31u);
    EXPECT_EQ(w.snapshots().front().time, 10);  // 40 - 30
    EXPECT_EQ(w.snapshots().back().time, 40);
}

TEST(Window, IrregularTimesKeepOneSnapshotBeforeTheStart) {
    SnapshotWindow w(30);
    for (double t : {0, 7, 14, 21, 28, 35, 42}) w.add(at(t));
    // start 12: the newest at or before it is 7; 0 is dropped
    ASSERT_EQ(w.snapshots().size(), 6u);
    EXPECT_EQ(w.snapshots().front().time, 7);
}

TEST(Window, ShorterThanTheWindowKeepsEverything) {
    SnapshotWindow w(30);
    w.add(at(0));
    w.add(at(10));
    w.add(at(29.5));
    EXPECT_EQ(w.snapshots().size(), 3u);
    EXPECT_EQ(w.snapshots().front().time, 0);
}

TEST(Window, ExactEdges) {
    SnapshotWindow w(30);
    w.add(at(0));
    w.add(at(30));  // start 0: 0 is at the start, kept
    EXPECT_EQ(w.snapshots().front().time, 0);
    w.add(at(31));  // start 1: 0 is still the newest before it
    EXPECT_EQ(w.snapshots().size(), 3u);
    EXPECT_EQ(w.snapshots().front().time, 0);
    w.add(at(60));  // start 30: 30 is exactly at it, 0 goes
    ASSERT_EQ(w.snapshots().size(), 3u);
    EXPECT_EQ(w.snapshots().front().time, 30);
    w.add(at(100));  // start 70: 60 is the newest before it
    ASSERT_EQ(w.snapshots().size(), 2u);
    EXPECT_EQ(w.snapshots().front().time, 60);
}

TEST(Window, TimeGoingBackwardsStartsAfresh) {
    SnapshotWindow w(30);
    w.add(at(10));
    w.add(at(11));
    w.add(at(5));
    ASSERT_EQ(w.snapshots().size(), 1u);
    EXPECT_EQ(w.snapshots().front().time, 5);
}

TEST(Window, ClearEmpties) {
    SnapshotWindow w(30);
    w.add(at(1));
    w.clear();
    EXPECT_TRUE(w.snapshots().empty());
}

TEST(Window, FeedsComputeSignalsOverTheWholeWindow) {
    SnapshotWindow w(30);
    // 10 req/s for 60 s, then 40 req/s for 30 s: the last 30 s rate is 40
    double requests = 0;
    for (int t = 0; t <= 90; ++t) {
        if (t > 0) requests += t <= 60 ? 10 : 40;
        NginxSnapshot s = at(t);
        s.pod.requests = requests;
        w.add(s);
    }
    Signals sig = compute_signals(w.snapshots());
    EXPECT_EQ(sig.window_seconds, 30);
    EXPECT_DOUBLE_EQ(sig.pod.requests_per_second, 40);
}

}  // namespace
}  // namespace pulse::sidecar
