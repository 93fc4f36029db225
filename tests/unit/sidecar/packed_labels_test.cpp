#include "packed_labels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace pulse::sidecar {
namespace {

std::vector<LabelView> views(const promql::Labels &labels) {
    std::vector<LabelView> out;
    for (const auto &[n, v] : labels) out.emplace_back(n, v);
    return out;
}

TEST(PackedLabels, UnpacksWhatWasPacked) {
    const promql::Labels labels = {{"__name__", "app_job_duration_seconds_bucket"},
                                   {"empty", ""},
                                   {"instance", "127.0.0.1:9121"},
                                   {"job", "redis"},
                                   {"long", std::string(300, 'x')},  // a two-byte length
                                   {"nul", std::string("a\0b", 3)},
                                   {"utf8", "caf\xc3\xa9"}};
    const PackedLabels p(views(labels));
    EXPECT_EQ(p.unpack(), labels);
    EXPECT_EQ(p.size(), labels.size());
    EXPECT_EQ(p.get("job"), "redis");
    EXPECT_EQ(p.get("long")->size(), 300u);
    EXPECT_EQ(p.get("nul"), std::string_view("a\0b", 3));
    EXPECT_EQ(p.get("empty"), "");
    EXPECT_FALSE(p.get("absent"));
    EXPECT_TRUE(p.equals(views(labels)));
    auto fewer = views(labels);
    fewer.pop_back();
    EXPECT_FALSE(p.equals(fewer));
    auto other = views(labels);
    other[3].second = "redis2";
    EXPECT_FALSE(p.equals(other));
    EXPECT_TRUE(PackedLabels().unpack().empty());
}

TEST(PackedLabels, OrdersAsLabelSetsDo) {
    // Random label sets over a small alphabet, so that prefixes and equal names are common.
    std::mt19937 rng(3);
    auto word = [&] {
        std::string s;
        for (int n = static_cast<int>(rng() % 3); n >= 0; --n) s.push_back("ab"[rng() % 2]);
        return s;
    };
    std::vector<promql::Labels> sets;
    for (int i = 0; i < 300; ++i) {
        promql::Labels l;
        for (int n = static_cast<int>(rng() % 4); n > 0; --n) l.emplace_back(word(), word());
        std::sort(l.begin(), l.end());
        sets.push_back(l);
    }
    for (const auto &a : sets) {
        for (const auto &b : sets) {
            const PackedLabels pa(views(a)), pb(views(b));
            EXPECT_EQ(pa < pb, a < b);
            EXPECT_EQ(pa == pb, a == b);
        }
    }
}

}  // namespace
}  // namespace pulse::sidecar
