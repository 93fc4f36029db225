// The shared-zone series store (ngx_module/core/series_store.h), on a malloc'd test arena.
#include "core/series_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/buckets.h"
#include "core/labels.h"

namespace pulse {
namespace {

// A bump allocator over one aligned malloc'd buffer: nullptr once exhausted, 64-byte
// alignment for requests of 64 bytes or more (like nginx's slab pages), 8 otherwise.
// The buffer is freed when the arena goes out of scope.
class TestArena final : public Arena {
  public:
    explicit TestArena(std::size_t capacity)
        : capacity_(capacity),
          buffer_(static_cast<unsigned char *>(std::aligned_alloc(64, round_up(capacity, 64) + 64)),
                  &std::free) {}

    void *allocate(std::size_t size) override {
        std::size_t align = size >= 64 ? 64 : 8;
        std::size_t offset = round_up(used_, align);
        if (offset > capacity_ || size > capacity_ - offset) {
            ++refused_;
            return nullptr;
        }
        used_ = offset + size;
        allocations_.push_back({offset, size});
        return buffer_.get() + offset;
    }

    std::size_t used() const { return used_; }
    std::size_t refused() const { return refused_; }
    std::size_t allocation_count() const { return allocations_.size(); }
    bool contains(const void *p, std::size_t bytes) const {
        auto c = static_cast<const unsigned char *>(p);
        return c >= buffer_.get() && c + bytes <= buffer_.get() + used_;
    }

  private:
    static std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

    struct Allocation {
        std::size_t offset, size;
    };
    std::size_t capacity_;
    std::size_t used_ = 0;
    std::size_t refused_ = 0;
    std::unique_ptr<unsigned char, decltype(&std::free)> buffer_;
    std::vector<Allocation> allocations_;
};

constexpr std::uint64_t kNoBudget = UINT64_MAX;
const std::vector<double> kBounds(std::begin(kDefaultBuckets), std::end(kDefaultBuckets));

std::string key2(std::string_view a, std::string_view b) {
    return encode_key({a, b});
}
std::string key4(std::string_view a, std::string_view b, std::string_view c, std::string_view d) {
    return encode_key({a, b, c, d});
}

std::size_t record_count(const SeriesStore &s) {
    std::size_t n = 0;
    for (const Record *r = s.newest(); r != nullptr; r = r->next) ++n;
    return n;
}

// The arena bytes SeriesStore::create needs for `slots` and `bounds`.
std::size_t create_size(std::uint32_t slots, std::span<const double> bounds) {
    TestArena probe(std::size_t{64} << 20);
    if (SeriesStore::create(probe, slots, 64, bounds) == nullptr) return 0;
    return probe.used();
}

// ---------------------------------------------------------------------------------------
// Zone creation

TEST(SeriesStoreCreate, LaysOutAZoneWithOneFallbackOverflowRecordPerFamily) {
    TestArena arena(1 << 20);
    ZoneHeader *h = SeriesStore::create(arena, 4, 64, kBounds);
    ASSERT_NE(h, nullptr);
    EXPECT_TRUE(SeriesStore::compatible(h));
    SeriesStore store(h);
    EXPECT_EQ(store.slot_count(), 4u);
    EXPECT_EQ(store.series(), 0u);
    EXPECT_EQ(store.dropped(), 0u);
    EXPECT_EQ(record_count(store), kFamilyCount);
    for (std::uint32_t s = 0; s < 4; ++s) EXPECT_EQ(store.slot_owner(s), 0);

    for (std::size_t f = 0; f < kFamilyCount; ++f) {
        auto family = static_cast<Family>(f);
        SCOPED_TRACE(info(family).name);
        const Record *r = h->fallback[f];
        ASSERT_NE(r, nullptr);
        EXPECT_TRUE(r->overflow);
        EXPECT_EQ(r->family, family);
        EXPECT_EQ(r->key(), overflow_key(family));
        bool histogram = info(family).type == MetricType::histogram;
        EXPECT_EQ(r->bounds().size(), histogram ? kBounds.size() : 0u);
        EXPECT_EQ(r->value_count, histogram ? histogram_value_count(kBounds.size()) : 1u);
        for (std::uint32_t s = 0; s < 4; ++s) {
            for (std::uint32_t i = 0; i < r->value_count; ++i) {
                EXPECT_EQ(SeriesStore::load(r->slot_values(s)[i]), 0u);
            }
        }
        EXPECT_EQ(store.find(family, overflow_key(family), kBounds), r);
    }
}

TEST(SeriesStoreCreate, ClampsSlotCount) {
    TestArena small(1 << 20);
    ZoneHeader *one = SeriesStore::create(small, 0, 16, kBounds);
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->slot_count, 1u);

    TestArena big(std::size_t{4} << 20);
    ZoneHeader *max = SeriesStore::create(big, 100000, 16, kBounds);
    ASSERT_NE(max, nullptr);
    EXPECT_EQ(max->slot_count, kMaxSlots);
}

TEST(SeriesStoreCreate, ReturnsNullWhenTheArenaIsTooSmall) {
    std::size_t need = create_size(4, kBounds);
    ASSERT_GT(need, 0u);
    for (std::size_t cap : {std::size_t{0}, std::size_t{100}, need / 2, need - 1}) {
        SCOPED_TRACE(cap);
        TestArena arena(cap);
        EXPECT_EQ(SeriesStore::create(arena, 4, 64, kBounds), nullptr);
    }
    TestArena exact(need);
    EXPECT_NE(SeriesStore::create(exact, 4, 64, kBounds), nullptr);
}

TEST(SeriesStoreCreate, CompatibleRejectsNullAndForeignMemory) {
    EXPECT_FALSE(SeriesStore::compatible(nullptr));
    ZoneHeader foreign{};
    EXPECT_FALSE(SeriesStore::compatible(&foreign));
}

TEST(OverflowKey, EveryLabelOfTheFamilyIsOverflow) {
    for (std::size_t f = 0; f < kFamilyCount; ++f) {
        auto family = static_cast<Family>(f);
        SCOPED_TRACE(info(family).name);
        const std::string key = overflow_key(family);
        auto values = decode_key(key);
        ASSERT_EQ(values.size(), info(family).label_count);
        for (auto v : values) EXPECT_EQ(v, kOverflowLabel);
    }
}

// ---------------------------------------------------------------------------------------
// Resolve

class SeriesStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        h_ = SeriesStore::create(arena_, 4, 64, kBounds);
        ASSERT_NE(h_, nullptr);
    }
    TestArena arena_{std::size_t{8} << 20};
    ZoneHeader *h_ = nullptr;
    SeriesStore store() const { return SeriesStore(h_); }
};

TEST_F(SeriesStoreTest, SameFamilyAndKeyResolveToTheSameRecord) {
    SeriesStore s = store();
    std::string k = key4("srv", "/", "GET", "2xx");
    Record *a = s.resolve(arena_, Family::requests, k, {}, kNoBudget);
    Record *b = s.resolve(arena_, Family::requests, k, {}, kNoBudget);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a, b);
    EXPECT_FALSE(a->overflow);
    EXPECT_EQ(a->key(), k);
    EXPECT_EQ(a->family, Family::requests);
    EXPECT_EQ(a->value_count, 1u);
    EXPECT_EQ(s.series(), 1u);
    EXPECT_EQ(s.dropped(), 0u);
    EXPECT_EQ(s.find(Family::requests, k, {}), a);
    EXPECT_EQ(s.newest(), a);
}

TEST_F(SeriesStoreTest, DifferentKeyOrFamilyResolvesToADifferentRecord) {
    SeriesStore s = store();
    Record *a = s.resolve(arena_, Family::requests, key4("srv", "/", "GET", "2xx"), {}, kNoBudget);
    Record *b = s.resolve(arena_, Family::requests, key4("srv", "/", "GET", "4xx"), {}, kNoBudget);
    Record *c = s.resolve(arena_, Family::response_bytes, key2("srv", "/"), {}, kNoBudget);
    Record *d = s.resolve(arena_, Family::request_bytes, key2("srv", "/"), {}, kNoBudget);
    EXPECT_NE(a, b);
    EXPECT_NE(c, d);
    EXPECT_NE(a->values, b->values);
    EXPECT_NE(c->values, d->values);
    EXPECT_EQ(s.series(), 4u);
    EXPECT_EQ(s.find(Family::requests, key4("srv", "/", "GET", "5xx"), {}), nullptr);
}

TEST_F(SeriesStoreTest, HistogramWithDifferentBoundsIsADifferentRecord) {
    SeriesStore s = store();
    const std::vector<double> old_bounds = {0.1, 1};
    std::string k = key2("srv", "/");
    Record *cur = s.resolve(arena_, Family::request_duration, k, kBounds, kNoBudget);
    Record *old = s.resolve(arena_, Family::request_duration, k, old_bounds, kNoBudget);
    ASSERT_NE(cur, old);
    EXPECT_EQ(std::vector<double>(cur->bounds().begin(), cur->bounds().end()), kBounds);
    EXPECT_EQ(std::vector<double>(old->bounds().begin(), old->bounds().end()), old_bounds);
    EXPECT_EQ(cur->value_count, histogram_value_count(kBounds.size()));
    EXPECT_EQ(old->value_count, histogram_value_count(2));
    EXPECT_EQ(cur->key(), k);
    EXPECT_EQ(old->key(), k);
    EXPECT_EQ(s.resolve(arena_, Family::request_duration, k, old_bounds, kNoBudget), old);
    EXPECT_EQ(s.resolve(arena_, Family::request_duration, k, kBounds, kNoBudget), cur);
    EXPECT_EQ(s.series(), 2u);
}

TEST_F(SeriesStoreTest, BoundsAreIgnoredForCountersAndGauges) {
    SeriesStore s = store();
    const std::vector<double> other = {0.1, 1};
    Record *a = s.resolve(arena_, Family::response_bytes, key2("srv", "/"), kBounds, kNoBudget);
    Record *b = s.resolve(arena_, Family::response_bytes, key2("srv", "/"), other, kNoBudget);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a->bound_count, 0u);
    EXPECT_EQ(series_hash(Family::response_bytes, "k", kBounds),
              series_hash(Family::response_bytes, "k", other));
    EXPECT_NE(series_hash(Family::request_duration, "k", kBounds),
              series_hash(Family::request_duration, "k", other));
}

TEST_F(SeriesStoreTest, BudgetSpentFoldsNewSeriesIntoOverflow) {
    SeriesStore s = store();
    const std::uint64_t budget = 3;
    std::vector<Record *> kept;
    for (int i = 0; i < 3; ++i) {
        Record *r = s.resolve(arena_, Family::requests,
                              key4("srv", "/" + std::to_string(i), "GET", "2xx"), {}, budget);
        EXPECT_FALSE(r->overflow);
        kept.push_back(r);
    }
    EXPECT_EQ(s.series(), 3u);
    EXPECT_EQ(s.dropped(), 0u);

    Record *fourth =
        s.resolve(arena_, Family::requests, key4("srv", "/3", "GET", "2xx"), {}, budget);
    ASSERT_NE(fourth, nullptr);
    EXPECT_TRUE(fourth->overflow);
    EXPECT_EQ(fourth->key(), overflow_key(Family::requests));
    EXPECT_EQ(fourth->family, Family::requests);
    EXPECT_EQ(s.dropped(), 1u);
    EXPECT_EQ(s.series(), 3u);
    EXPECT_EQ(s.find(Family::requests, key4("srv", "/3", "GET", "2xx"), {}), nullptr);

    // Series that exist keep resolving to themselves without counting as dropped.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(s.resolve(arena_, Family::requests,
                            key4("srv", "/" + std::to_string(i), "GET", "2xx"), {}, budget),
                  kept[i]);
    }
    EXPECT_EQ(s.dropped(), 1u);

    // Another new series lands in the same overflow record.
    EXPECT_EQ(s.resolve(arena_, Family::requests, key4("srv", "/4", "GET", "2xx"), {}, budget),
              fourth);
    EXPECT_EQ(s.dropped(), 2u);
    EXPECT_EQ(s.series(), 3u);
}

TEST_F(SeriesStoreTest, BudgetOverflowForHistogramWithNewBoundsGetsThoseBounds) {
    SeriesStore s = store();
    const std::vector<double> other = {0.05, 0.5};
    Record *r = s.resolve(arena_, Family::request_duration, key2("srv", "/"), other, 0);
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(r->overflow);
    EXPECT_EQ(r->key(), overflow_key(Family::request_duration));
    EXPECT_EQ(std::vector<double>(r->bounds().begin(), r->bounds().end()), other);
    EXPECT_NE(r, h_->fallback[static_cast<std::size_t>(Family::request_duration)]);
    EXPECT_EQ(s.series(), 0u);
    EXPECT_EQ(s.dropped(), 1u);
    // With the zone's own bounds the fallback made at creation is used.
    Record *f = s.resolve(arena_, Family::request_duration, key2("srv", "/"), kBounds, 0);
    EXPECT_EQ(f, h_->fallback[static_cast<std::size_t>(Family::request_duration)]);
}

TEST_F(SeriesStoreTest, PrepareOverflowCreatesHistogramOverflowOnceForNewBounds) {
    SeriesStore s = store();
    const std::vector<double> other = {0.2, 2};
    std::size_t before = record_count(s);
    s.prepare_overflow(arena_, other);
    std::size_t histograms = 0;
    for (const auto &fi : kFamilies) histograms += fi.type == MetricType::histogram;
    EXPECT_EQ(record_count(s), before + histograms);
    s.prepare_overflow(arena_, other);
    s.prepare_overflow(arena_, kBounds);
    EXPECT_EQ(record_count(s), before + histograms);
    const Record *r = s.find(Family::upstream_header, overflow_key(Family::upstream_header), other);
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(r->overflow);
    EXPECT_EQ(s.series(), 0u);
}

// ---------------------------------------------------------------------------------------
// Memory exhaustion

TEST(SeriesStoreMemory, ExhaustedArenaStillReturnsTheFallbackAndCountsDropped) {
    const std::size_t need = create_size(2, kBounds);
    TestArena arena(need);  // room for the zone itself and nothing more
    ZoneHeader *h = SeriesStore::create(arena, 2, 64, kBounds);
    ASSERT_NE(h, nullptr);
    SeriesStore s(h);

    Record *c = s.resolve(arena, Family::requests, key4("a", "/", "GET", "2xx"), {}, kNoBudget);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c, h->fallback[static_cast<std::size_t>(Family::requests)]);
    EXPECT_TRUE(c->overflow);
    EXPECT_EQ(s.series(), 0u);
    EXPECT_EQ(s.dropped(), 1u);

    Record *hist = s.resolve(arena, Family::request_duration, key2("a", "/"), kBounds, kNoBudget);
    ASSERT_NE(hist, nullptr);
    EXPECT_EQ(hist, h->fallback[static_cast<std::size_t>(Family::request_duration)]);
    EXPECT_EQ(s.dropped(), 2u);

    Record *g = s.resolve(arena, Family::requests_in_flight, encode_key({"a"}), {}, kNoBudget);
    EXPECT_EQ(g, h->fallback[static_cast<std::size_t>(Family::requests_in_flight)]);
    EXPECT_EQ(s.dropped(), 3u);
    EXPECT_GT(arena.refused(), 0u);

    // The fallback is usable.
    SeriesStore::add(c->slot_values(1)[0], 5);
    EXPECT_EQ(SeriesStore::load(c->slot_values(1)[0]), 5u);
}

TEST(SeriesStoreMemory, RunningOutPartWayNeverReturnsNullOrAliasesRecords) {
    const std::size_t need = create_size(2, kBounds);
    TestArena arena(need + 3000);  // some records fit, then memory runs out
    ZoneHeader *h = SeriesStore::create(arena, 2, 64, kBounds);
    ASSERT_NE(h, nullptr);
    SeriesStore s(h);
    std::set<const Record *> distinct;
    std::size_t overflowed = 0;
    for (int i = 0; i < 1000; ++i) {
        Record *r = s.resolve(arena, Family::requests,
                              key4("srv", "/" + std::to_string(i), "GET", "2xx"), {}, kNoBudget);
        ASSERT_NE(r, nullptr) << i;
        if (r->overflow) {
            EXPECT_EQ(r, h->fallback[static_cast<std::size_t>(Family::requests)]);
            ++overflowed;
        } else {
            EXPECT_TRUE(distinct.insert(r).second) << i;
        }
    }
    EXPECT_GT(distinct.size(), 0u);
    EXPECT_GT(overflowed, 0u);
    EXPECT_EQ(s.series(), distinct.size());
    EXPECT_EQ(s.dropped(), overflowed);
}

// With memory exhausted after a reload that changed the buckets (so prepare_overflow
// could not make an overflow record for the new bounds), the zone's fallback histogram
// has the zone's old bounds. The module (observe() in ngx_http_pulse_module.cpp) indexes
// the returned values with the *new* thresholds, so resolve must hand back a record with
// room for them (the zone's sink), never a smaller one, and never one that renders.
TEST(SeriesStoreMemory, ExhaustedFallbackHistogramHasRoomForTheRequestedBounds) {
    const std::vector<double> zone_bounds = {0.1, 1};
    const std::size_t need = create_size(2, zone_bounds);
    TestArena arena(need);
    ZoneHeader *h = SeriesStore::create(arena, 2, 64, zone_bounds);
    ASSERT_NE(h, nullptr);
    SeriesStore s(h);
    const std::size_t records = record_count(s);
    s.prepare_overflow(arena, kBounds);  // fails silently: no memory
    EXPECT_EQ(record_count(s), records);
    Record *r = s.resolve(arena, Family::request_duration, key2("a", "/"), kBounds, kNoBudget);
    ASSERT_NE(r, nullptr);
    EXPECT_GE(r->value_count, histogram_value_count(kBounds.size()));
    EXPECT_EQ(s.dropped(), 1u);
    EXPECT_EQ(s.series(), 0u);
    // Whatever it is, it is not on the list the exporter walks.
    for (const Record *l = s.newest(); l != nullptr; l = l->next) EXPECT_NE(l, r);
    // Any number of buckets up to the maximum fits.
    std::vector<double> most;
    for (std::size_t i = 1; i <= kMaxBuckets; ++i) most.push_back(0.001 * static_cast<double>(i));
    Record *m = s.resolve(arena, Family::upstream_response, encode_key({"u"}), most, kNoBudget);
    ASSERT_NE(m, nullptr);
    EXPECT_GE(m->value_count, histogram_value_count(kMaxBuckets));
    // With the zone's own bounds the fallback is still the answer.
    EXPECT_EQ(s.resolve(arena, Family::request_duration, key2("b", "/"), zone_bounds, kNoBudget),
              h->fallback[static_cast<std::size_t>(Family::request_duration)]);
    EXPECT_EQ(s.dropped(), 3u);
}

// ---------------------------------------------------------------------------------------
// Slots

std::set<std::int32_t> g_dead;
bool alive(std::int32_t pid) {
    return g_dead.count(pid) == 0;
}

class SlotTest : public SeriesStoreTest {
  protected:
    void SetUp() override {
        SeriesStoreTest::SetUp();
        g_dead.clear();
    }
    void TearDown() override { g_dead.clear(); }
};

TEST_F(SlotTest, DistinctPidsGetDistinctFreeSlotsAndKeepThem) {
    SeriesStore s = store();
    std::set<std::uint32_t> used;
    const std::int32_t pids[] = {101, 102, 103, 104};
    for (std::uint32_t i = 0; i < 4; ++i) {
        std::uint32_t slot = s.claim_slot(pids[i], alive);
        EXPECT_LT(slot, 4u);
        EXPECT_TRUE(used.insert(slot).second) << "slot " << slot << " handed out twice";
        EXPECT_EQ(s.slot_owner(slot), pids[i]);
    }
    for (std::int32_t pid : pids) {
        std::uint32_t slot = s.claim_slot(pid, alive);
        EXPECT_EQ(s.slot_owner(slot), pid) << "pid " << pid << " did not get its slot back";
    }
}

TEST_F(SlotTest, AllOwnersAliveSharesSlotPidModuloSlotCount) {
    SeriesStore s = store();
    for (std::int32_t pid : {101, 102, 103, 104}) s.claim_slot(pid, alive);
    std::vector<std::int32_t> owners;
    for (std::uint32_t i = 0; i < 4; ++i) owners.push_back(s.slot_owner(i));
    for (std::int32_t pid : {105, 106, 200, 4099}) {
        EXPECT_EQ(s.claim_slot(pid, alive), static_cast<std::uint32_t>(pid) % 4u) << pid;
    }
    for (std::uint32_t i = 0; i < 4; ++i) EXPECT_EQ(s.slot_owner(i), owners[i]) << "owner changed";
}

TEST_F(SlotTest, DeadOwnersSlotIsReusedWithGaugesZeroedAndCountersKept) {
    SeriesStore s = store();
    std::uint32_t slot_of[4];
    const std::int32_t pids[] = {101, 102, 103, 104};
    for (int i = 0; i < 4; ++i) slot_of[i] = s.claim_slot(pids[i], alive);

    Record *requests =
        s.resolve(arena_, Family::requests, key4("s", "/", "GET", "2xx"), {}, kNoBudget);
    Record *in_flight =
        s.resolve(arena_, Family::requests_in_flight, encode_key({"s"}), {}, kNoBudget);
    Record *ws = s.resolve(arena_, Family::websocket_connections, key2("s", "/"), {}, kNoBudget);
    Record *hist = s.resolve(arena_, Family::request_duration, key2("s", "/"), kBounds, kNoBudget);
    Record *gauge_overflow = h_->fallback[static_cast<std::size_t>(Family::requests_in_flight)];
    for (std::uint32_t slot = 0; slot < 4; ++slot) {
        SeriesStore::add(requests->slot_values(slot)[0], 10 + slot);
        SeriesStore::add(in_flight->slot_values(slot)[0], 20 + slot);
        SeriesStore::add(ws->slot_values(slot)[0], 30 + slot);
        SeriesStore::add(gauge_overflow->slot_values(slot)[0], 40 + slot);
        for (std::uint32_t i = 0; i < hist->value_count; ++i) {
            SeriesStore::add(hist->slot_values(slot)[i], 50 + slot);
        }
    }

    g_dead.insert(103);
    const std::uint32_t dead = slot_of[2];
    EXPECT_EQ(s.claim_slot(500, alive), dead);
    EXPECT_EQ(s.slot_owner(dead), 500);

    for (std::uint32_t slot = 0; slot < 4; ++slot) {
        SCOPED_TRACE(slot);
        EXPECT_EQ(SeriesStore::load(requests->slot_values(slot)[0]), 10 + slot);
        for (std::uint32_t i = 0; i < hist->value_count; ++i) {
            EXPECT_EQ(SeriesStore::load(hist->slot_values(slot)[i]), 50 + slot);
        }
        const std::uint64_t zero_or = slot == dead ? 0 : 1;  // gauges of the dead slot: 0
        EXPECT_EQ(SeriesStore::load(in_flight->slot_values(slot)[0]), zero_or * (20 + slot));
        EXPECT_EQ(SeriesStore::load(ws->slot_values(slot)[0]), zero_or * (30 + slot));
        EXPECT_EQ(SeriesStore::load(gauge_overflow->slot_values(slot)[0]), zero_or * (40 + slot));
    }
    // The other owners are untouched.
    for (int i = 0; i < 4; ++i) {
        if (i != 2) {
            EXPECT_EQ(s.slot_owner(slot_of[i]), pids[i]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Value layout

TEST_F(SeriesStoreTest, SlotsOfOneRecordAreOneSegmentApartAndNeverShareACacheLine) {
    SeriesStore s = store();
    for (int i = 0; i < 20; ++i) {
        s.resolve(arena_, Family::requests, key4("s", std::to_string(i), "GET", "2xx"), {},
                  kNoBudget);
        s.resolve(arena_, Family::upstream_connect, encode_key({std::to_string(i)}), kBounds,
                  kNoBudget);
    }
    std::vector<std::set<std::uintptr_t>> lines(s.slot_count());
    for (const Record *r = s.newest(); r != nullptr; r = r->next) {
        for (std::uint32_t slot = 0; slot < s.slot_count(); ++slot) {
            const std::uint64_t *v = r->slot_values(slot);
            EXPECT_EQ(v - r->values, static_cast<std::ptrdiff_t>(slot) * kChunkValues);
            EXPECT_EQ(
                reinterpret_cast<std::uintptr_t>(v) - reinterpret_cast<std::uintptr_t>(r->values),
                std::uintptr_t{4096} * slot);
            EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v) % alignof(std::uint64_t), 0u);
            for (std::uint32_t i = 0; i < r->value_count; ++i) {
                lines[slot].insert(reinterpret_cast<std::uintptr_t>(v + i) / 64);
            }
        }
    }
    for (std::uint32_t a = 0; a < s.slot_count(); ++a) {
        for (std::uint32_t b = a + 1; b < s.slot_count(); ++b) {
            for (auto line : lines[a]) {
                EXPECT_EQ(lines[b].count(line), 0u)
                    << "slots " << a << " and " << b << " share cache line " << line;
            }
        }
    }
}

TEST_F(SeriesStoreTest, ManyRecordsSpillIntoNewChunksWithoutAliasing) {
    SeriesStore s = store();
    const std::uint64_t *first_chunk = h_->chunk;
    std::vector<Record *> records;
    for (int i = 0; i < 2000; ++i) {
        records.push_back(s.resolve(arena_, Family::requests,
                                    key4("srv", "/" + std::to_string(i), "GET", "2xx"), {},
                                    kNoBudget));
        if (i % 7 == 0) {  // histograms in between: multi-value allocations at chunk ends
            records.push_back(s.resolve(arena_, Family::request_duration,
                                        key2("srv", "/" + std::to_string(i)), kBounds, kNoBudget));
        }
    }
    EXPECT_NE(h_->chunk, first_chunk) << "2000 counters must need more than one chunk";
    EXPECT_EQ(s.series(), records.size());
    EXPECT_EQ(s.dropped(), 0u);

    std::set<const std::uint64_t *> addresses;
    std::size_t total = 0;
    for (const Record *r : records) {
        ASSERT_FALSE(r->overflow);
        for (std::uint32_t slot = 0; slot < s.slot_count(); ++slot) {
            const std::uint64_t *v = r->slot_values(slot);
            ASSERT_TRUE(arena_.contains(v, r->value_count * sizeof(std::uint64_t)));
            for (std::uint32_t i = 0; i < r->value_count; ++i) {
                ASSERT_EQ(SeriesStore::load(v[i]), 0u) << "new values start at zero";
                addresses.insert(v + i);
                ++total;
            }
        }
    }
    EXPECT_EQ(addresses.size(), total) << "two records share a value";

    // Write a distinct number everywhere, then read everything back.
    auto tag = [](std::size_t rec, std::uint32_t slot, std::uint32_t i) {
        return (static_cast<std::uint64_t>(rec) << 20) | (std::uint64_t{slot} << 8) | i;
    };
    for (std::size_t n = 0; n < records.size(); ++n) {
        for (std::uint32_t slot = 0; slot < s.slot_count(); ++slot) {
            for (std::uint32_t i = 0; i < records[n]->value_count; ++i) {
                SeriesStore::add(records[n]->slot_values(slot)[i], tag(n, slot, i));
            }
        }
    }
    for (std::size_t n = 0; n < records.size(); ++n) {
        for (std::uint32_t slot = 0; slot < s.slot_count(); ++slot) {
            for (std::uint32_t i = 0; i < records[n]->value_count; ++i) {
                ASSERT_EQ(SeriesStore::load(records[n]->slot_values(slot)[i]), tag(n, slot, i))
                    << "record " << n << " slot " << slot << " value " << i;
            }
        }
    }
    // Every record is still found by its key.
    for (int i = 0; i < 2000; i += 97) {
        EXPECT_NE(s.find(Family::requests, key4("srv", "/" + std::to_string(i), "GET", "2xx"), {}),
                  nullptr);
    }
}

// ---------------------------------------------------------------------------------------
// Concurrency

TEST_F(SeriesStoreTest, ConcurrentAddsOnOneValueAreExact) {
    SeriesStore s = store();
    Record *r = s.resolve(arena_, Family::requests, key4("s", "/", "GET", "2xx"), {}, kNoBudget);
    std::uint64_t &v = r->slot_values(0)[0];
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&v] {
            for (int i = 0; i < 100000; ++i) SeriesStore::add(v, 1);
        });
    }
    for (auto &t : threads) t.join();
    EXPECT_EQ(SeriesStore::load(v), 400000u);
}

TEST_F(SeriesStoreTest, ConcurrentAddAndSubOnAGaugeBalanceToZero) {
    SeriesStore s = store();
    Record *r = s.resolve(arena_, Family::requests_in_flight, encode_key({"s"}), {}, kNoBudget);
    std::uint64_t &v = r->slot_values(1)[0];
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&v] {
            for (int i = 0; i < 50000; ++i) {
                SeriesStore::add(v, 1);
                SeriesStore::sub(v, 1);
            }
        });
    }
    for (auto &t : threads) t.join();
    EXPECT_EQ(SeriesStore::load(v), 0u);
}

}  // namespace
}  // namespace pulse
