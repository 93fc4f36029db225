#include "sample_blocks.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

using pulse::promql::Point;
using pulse::sidecar::SampleBlocks;

std::vector<Point> reference_range(const std::vector<Point> &all, std::int64_t mint,
                                   std::int64_t maxt) {
    std::vector<Point> out;
    for (const Point &p : all) {
        if (p.t_ms >= mint && p.t_ms <= maxt) out.push_back(p);
    }
    return out;
}

// Bit for bit: NaNs (the staleness marker among them) compare by their bits.
void expect_same(const std::vector<Point> &want, const std::vector<Point> &got) {
    ASSERT_EQ(want.size(), got.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(want[i].t_ms, got[i].t_ms) << "sample " << i;
        EXPECT_EQ(std::bit_cast<std::uint64_t>(want[i].v), std::bit_cast<std::uint64_t>(got[i].v))
            << "sample " << i << ": " << want[i].v << " vs " << got[i].v;
    }
}

TEST(SampleBlocks, EmptyReadsNothing) {
    SampleBlocks b;
    EXPECT_TRUE(b.empty());
    EXPECT_FALSE(b.last());
    std::vector<Point> out;
    b.read(0, 1000, out);
    EXPECT_TRUE(out.empty());
}

TEST(SampleBlocks, RoundTripsEveryKindOfStepAndValue) {
    // Regular and irregular intervals (each class of delta-of-delta, a jump past 20 bits and
    // a step back to regular), and values that repeat, creep, jump, change sign and
    // exponent, infinities, NaN and the staleness marker.
    std::mt19937_64 rng(7);
    std::vector<Point> all;
    std::int64_t t = 1'700'000'000'000;
    double v = 0;
    const std::int64_t steps[] = {1000,   1000, 1001, 999,           1000, 1050, 9000, 1000,
                                  131000, 1000, 1000, 3'000'000'000, 1000, 1,    1000};
    const double specials[] = {std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity(),
                               std::nan(""),
                               pulse::promql::stale_marker(),
                               -0.0,
                               1e308,
                               5e-324};
    for (int i = 0; i < 2000; ++i) {
        t += steps[i % std::size(steps)];
        switch (rng() % 6) {
            case 0:
                break;  // the same value
            case 1:
                v += 1;
                break;
            case 2:
                v += static_cast<double>(rng() % 1000) / 7;
                break;
            case 3:
                v = -v * 1e5;
                break;
            case 4:
                v = specials[rng() % std::size(specials)];
                all.push_back({t, v});
                v = static_cast<double>(rng() % 100);
                continue;
            default:
                v = std::bit_cast<double>(rng() & 0x7fefffffffffffffull);
        }
        all.push_back({t, v});
    }
    for (std::uint32_t per_block : {2u, 7u, 32u, 120u, 5000u, 100000u}) {
        SampleBlocks b(per_block);
        for (const Point &p : all) b.append(p.t_ms, p.v);
        EXPECT_EQ(b.size(), all.size());
        std::vector<Point> got;
        b.read(std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
               got);
        expect_same(all, got);
        // Ranges that start and end inside blocks, on a sample and between two.
        for (std::size_t from : {0ul, 1ul, 33ul, 500ul, 1999ul}) {
            for (std::size_t to : {from, from + 1, from + 64, all.size() - 1}) {
                if (to >= all.size()) continue;
                std::int64_t mint = all[from].t_ms, maxt = all[to].t_ms;
                got.clear();
                b.read(mint, maxt, got);
                expect_same(reference_range(all, mint, maxt), got);
                got.clear();
                b.read(mint + 1, maxt - 1, got);
                expect_same(reference_range(all, mint + 1, maxt - 1), got);
            }
        }
        ASSERT_TRUE(b.last());
        EXPECT_EQ(b.last()->t_ms, all.back().t_ms);
    }
}

TEST(SampleBlocks, ABlockClosesBeforeItsSpanOrPayloadOutgrowsItsHeader) {
    // Samples 3,000,000,000 ms apart (the span field holds 32 bits) and values that change
    // every bit (19 bytes a sample: the payload field holds 16 bits), in blocks that would
    // otherwise hold 60,000 samples.
    SampleBlocks b(60000);
    std::vector<Point> all;
    std::mt19937_64 rng(11);
    std::int64_t t = 0;
    for (int i = 0; i < 9000; ++i) {
        t += i % 1000 == 999 ? 3'000'000'000 : 1000 + static_cast<std::int64_t>(rng() % 100000);
        all.push_back({t, std::bit_cast<double>(rng() & 0x7fefffffffffffffull)});
        b.append(all.back().t_ms, all.back().v);
    }
    std::vector<Point> got;
    b.read(std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), got);
    expect_same(all, got);
    got.clear();
    b.read(all[4321].t_ms, all[8765].t_ms, got);
    expect_same(reference_range(all, all[4321].t_ms, all[8765].t_ms), got);
}

TEST(SampleBlocks, IgnoresSamplesNotNewer) {
    SampleBlocks b;
    b.append(1000, 1);
    b.append(1000, 2);
    b.append(999, 3);
    b.append(2000, 4);
    std::vector<Point> got;
    b.read(0, 5000, got);
    expect_same({{1000, 1}, {2000, 4}}, got);
}

TEST(SampleBlocks, DropsWholeBlocksOutOfTheRangeOnly) {
    SampleBlocks b(10);
    std::vector<Point> all;
    for (int i = 0; i < 95; ++i) {
        all.push_back({i * 1000, static_cast<double>(i * i)});
        b.append(i * 1000, i * i);
    }
    // Samples 0..29 are three whole blocks older than 30 s; the block of 30..39 stays.
    b.drop_before(30'500);
    EXPECT_EQ(b.size(), 65u);
    std::vector<Point> got;
    b.read(0, 1'000'000, got);
    expect_same(std::vector<Point>(all.begin() + 30, all.end()), got);
    // Appending after a drop continues the open block.
    b.append(95'000, 1.5);
    all.push_back({95'000, 1.5});
    got.clear();
    b.read(90'000, 1'000'000, got);
    expect_same(reference_range(all, 90'000, 1'000'000), got);
    // Everything older: nothing left, and it starts again.
    b.drop_before(200'000);
    EXPECT_TRUE(b.empty());
    b.append(300'000, 2);
    got.clear();
    b.read(0, 1'000'000, got);
    expect_same({{300'000, 2}}, got);
}

TEST(SampleBlocks, AScrapeASecondCostsAFewBitsASample) {
    // A counter growing by small integers and a gauge that mostly holds, every second:
    // what the window holds for the workers' queues.
    SampleBlocks counter(64), gauge(64);
    double c = 1000, g = 20;
    for (int i = 0; i < 600; ++i) {
        c += i % 3;
        if (i % 10 == 0) g += 1;
        counter.append(1'700'000'000'000 + i * 1000, c);
        gauge.append(1'700'000'000'000 + i * 1000, g);
    }
    EXPECT_LT(counter.bytes(), 600u * 4);
    EXPECT_LT(gauge.bytes(), 600u * 2);
}

}  // namespace
