// The series store that lives in nginx's shared zone.
//
// Layout: a header, a chained hash table for lookups, an append-only list of series
// records for the exporter, and value chunks. Every process (worker) owns a slot; each
// chunk holds one 4 KiB segment per slot, so the counters one worker writes never share
// a cache line with another worker's. Values are only ever changed with relaxed atomic
// adds, so two processes briefly sharing a slot (old and new workers during a reload)
// stay exact. Records are never freed or moved: a worker caches pointers to its values
// and the request path is then a few atomic adds, with no lock and no search.
//
// Creating records (and claiming slots) must be done under the zone's lock, which the
// caller holds; reading (rendering) needs no lock: records are published with a release
// store after they are complete.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/families.h"

namespace pulse {

// The zone's families are the contract with the sidecar (common/families.h).
using common::Family;
using common::FamilyInfo;
using common::info;
using common::kFamilies;
using common::kFamilyCount;
using common::kMaxLabels;
using common::kOverflowLabel;
using common::MetricType;

inline constexpr std::uint32_t kChunkValues = 512;  // per slot: 4 KiB
inline constexpr std::uint32_t kMaxSlots = 256;
inline constexpr std::uint64_t kZoneMagic = 0x70756c73655a4e31ULL;  // "pulseZN1"

// Where store memory comes from: nginx's slab allocator (locked by the caller) in the
// module, malloc in tests. Returns nullptr when the zone is full.
class Arena {
  public:
    virtual void *allocate(std::size_t size) = 0;

  protected:
    ~Arena() = default;
};

struct Record {
    Record *next;   // creation list, newest first
    Record *chain;  // hash chain
    std::uint64_t hash;
    std::uint64_t *values;  // this record's values in slot 0; slot s is kChunkValues further
    std::uint32_t value_count;
    std::uint16_t key_size;
    Family family;
    std::uint8_t bound_count;  // histogram bounds, +Inf not included
    bool overflow;
    // followed by: double bounds[bound_count]; char key[key_size];

    std::span<const double> bounds() const {
        return {reinterpret_cast<const double *>(this + 1), bound_count};
    }
    std::string_view key() const {
        return {reinterpret_cast<const char *>(bounds().data() + bound_count), key_size};
    }
    std::uint64_t *slot_values(std::uint32_t slot) const {
        return values + static_cast<std::size_t>(slot) * kChunkValues;
    }
};

struct ZoneHeader {
    std::uint64_t magic;
    std::uint32_t slot_count;
    std::uint32_t table_size;
    Record **table;
    Record *head;                    // atomic: newest record
    std::uint64_t series;            // atomic: records counted against the budget
    std::uint64_t dropped;           // atomic: series refused (budget or memory)
    std::uint64_t *chunk;            // current value chunk (slot_count * kChunkValues values)
    std::uint32_t chunk_used;        // values handed out of the current chunk
    std::int32_t owner[kMaxSlots];   // atomic: pid owning each slot, 0 = never used
    Record *fallback[kFamilyCount];  // overflow records made with the zone: never fail
    // Where a histogram goes when memory is spent and no overflow record has its bounds
    // (buckets changed by a reload into a full zone): room for any bounds, never shown.
    Record *sink;
};

// Histograms keep one count per bucket plus +Inf, then the sum (in the family's ticks).
constexpr std::uint32_t histogram_value_count(std::size_t bounds) {
    return static_cast<std::uint32_t>(bounds) + 2;
}

class SeriesStore {
  public:
    explicit SeriesStore(ZoneHeader *header) : h_(header) {}

    // Lays out a new zone. `slots` is clamped to [1, kMaxSlots]. Creates one overflow
    // record per family with `bounds` so overflow never needs memory later.
    // Returns nullptr when `arena` is too small.
    static ZoneHeader *create(Arena &arena, std::uint32_t slots, std::uint32_t table_size,
                              std::span<const double> bounds);

    // Whether `header` is a zone this code laid out (a reload keeps the old zone).
    static bool compatible(const ZoneHeader *header) {
        return header != nullptr && header->magic == kZoneMagic;
    }

    // The record for (family, key, bounds), creating it if needed; caller holds the lock.
    // When the budget is spent or memory runs out, the family's overflow record is
    // returned instead (with these bounds if it can be made, else the zone's fallback)
    // and `dropped` grows. Never returns nullptr.
    Record *resolve(Arena &arena, Family family, std::string_view key,
                    std::span<const double> bounds, std::uint64_t budget);

    // Lookup only; caller holds the lock. nullptr when absent.
    Record *find(Family family, std::string_view key, std::span<const double> bounds) const;

    // Gives process `pid` a slot; caller holds the lock. Prefers a never-used slot, then
    // one whose owner is dead (its gauges are zeroed: the requests they counted died with
    // it; its counters stay), else shares one with a live process.
    std::uint32_t claim_slot(std::int32_t pid, bool (*alive)(std::int32_t));

    // Creates the overflow record for `bounds` if missing (after a reload that changed
    // the buckets); caller holds the lock. Failing is harmless: the fallback remains.
    void prepare_overflow(Arena &arena, std::span<const double> bounds);

    std::uint64_t series() const { return load(h_->series); }
    std::uint64_t dropped() const { return load(h_->dropped); }
    std::uint32_t slot_count() const { return h_->slot_count; }
    std::int32_t slot_owner(std::uint32_t slot) const;
    const Record *newest() const;

    ZoneHeader *header() const { return h_; }

    static std::uint64_t load(const std::uint64_t &v) {
        return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t &>(v))
            .load(std::memory_order_relaxed);
    }
    static void add(std::uint64_t &v, std::uint64_t n) {
        std::atomic_ref<std::uint64_t>(v).fetch_add(n, std::memory_order_relaxed);
    }
    static void sub(std::uint64_t &v, std::uint64_t n) {
        std::atomic_ref<std::uint64_t>(v).fetch_sub(n, std::memory_order_relaxed);
    }

  private:
    Record *create_record(Arena &arena, Family family, std::string_view key,
                          std::span<const double> bounds, std::uint64_t hash, bool overflow,
                          bool linked = true, std::uint32_t values = 0);
    std::uint64_t *allocate_values(Arena &arena, std::uint32_t count);

    ZoneHeader *h_;
};

// The key of a family's overflow series: every label "__overflow__".
std::string overflow_key(Family family);

std::uint64_t series_hash(Family family, std::string_view key, std::span<const double> bounds);

}  // namespace pulse
