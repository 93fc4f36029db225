#include "core/series_store.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "core/buckets.h"
#include "core/labels.h"

namespace pulse {

namespace {

template <class T>
std::atomic_ref<T> atomic(T &v) {
    return std::atomic_ref<T>(v);
}

std::uint64_t fnv1a(std::uint64_t h, const void *data, std::size_t size) {
    auto p = static_cast<const unsigned char *>(data);
    for (std::size_t i = 0; i < size; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

bool same_bounds(std::span<const double> a, std::span<const double> b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

std::uint32_t value_count(Family family, std::span<const double> bounds) {
    return info(family).type == MetricType::histogram ? histogram_value_count(bounds.size()) : 1;
}

}  // namespace

std::uint64_t series_hash(Family family, std::string_view key, std::span<const double> bounds) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    auto f = static_cast<unsigned char>(family);
    h = fnv1a(h, &f, 1);
    h = fnv1a(h, key.data(), key.size());
    if (info(family).type == MetricType::histogram) {
        h = fnv1a(h, bounds.data(), bounds.size_bytes());
    }
    return h;
}

std::string overflow_key(Family family) {
    const FamilyInfo &fi = info(family);
    switch (fi.label_count) {
        case 1:
            return encode_key({kOverflowLabel});
        case 2:
            return encode_key({kOverflowLabel, kOverflowLabel});
        case 3:
            return encode_key({kOverflowLabel, kOverflowLabel, kOverflowLabel});
        default:
            return encode_key({kOverflowLabel, kOverflowLabel, kOverflowLabel, kOverflowLabel});
    }
}

ZoneHeader *SeriesStore::create(Arena &arena, std::uint32_t slots, std::uint32_t table_size,
                                std::span<const double> bounds) {
    slots = std::clamp<std::uint32_t>(slots, 1, kMaxSlots);
    table_size = std::max<std::uint32_t>(table_size, 16);

    void *mem = arena.allocate(sizeof(ZoneHeader));
    auto table = static_cast<Record **>(arena.allocate(sizeof(Record *) * table_size));
    if (mem == nullptr || table == nullptr) return nullptr;
    std::memset(table, 0, sizeof(Record *) * table_size);

    auto h = new (mem) ZoneHeader{};
    h->slot_count = slots;
    h->table_size = table_size;
    h->table = table;

    SeriesStore store(h);
    for (std::size_t f = 0; f < kFamilyCount; ++f) {
        auto family = static_cast<Family>(f);
        std::span<const double> b =
            info(family).type == MetricType::histogram ? bounds : std::span<const double>{};
        std::string key = overflow_key(family);
        h->fallback[f] =
            store.create_record(arena, family, key, b, series_hash(family, key, b), true);
        if (h->fallback[f] == nullptr) return nullptr;
    }
    h->sink = store.create_record(arena, Family::request_duration, "", {}, 0, true, false,
                                  histogram_value_count(kMaxBuckets));
    if (h->sink == nullptr) return nullptr;
    h->magic = kZoneMagic;
    return h;
}

std::uint64_t *SeriesStore::allocate_values(Arena &arena, std::uint32_t count) {
    if (count > kChunkValues) return nullptr;
    if (h_->chunk == nullptr || h_->chunk_used + count > kChunkValues) {
        std::size_t bytes = sizeof(std::uint64_t) * kChunkValues * h_->slot_count;
        auto chunk = static_cast<std::uint64_t *>(arena.allocate(bytes));
        if (chunk == nullptr) return nullptr;
        std::memset(chunk, 0, bytes);
        h_->chunk = chunk;
        h_->chunk_used = 0;
    }
    std::uint64_t *values = h_->chunk + h_->chunk_used;
    h_->chunk_used += count;
    return values;
}

Record *SeriesStore::create_record(Arena &arena, Family family, std::string_view key,
                                   std::span<const double> bounds, std::uint64_t hash,
                                   bool overflow, bool linked, std::uint32_t values_wanted) {
    if (key.size() > 0xffff || bounds.size() > 0xff) return nullptr;
    std::size_t size = sizeof(Record) + bounds.size_bytes() + key.size();
    void *mem = arena.allocate(size);
    if (mem == nullptr) return nullptr;
    std::uint32_t count = values_wanted ? values_wanted : value_count(family, bounds);
    std::uint64_t *values = allocate_values(arena, count);
    if (values == nullptr) return nullptr;  // the record's bytes stay unused in the zone

    auto r = new (mem) Record{};
    r->hash = hash;
    r->values = values;
    r->value_count = count;
    r->key_size = static_cast<std::uint16_t>(key.size());
    r->family = family;
    r->bound_count = static_cast<std::uint8_t>(bounds.size());
    r->overflow = overflow;
    // An empty span may have a null data(): memcpy must not see it, even for 0 bytes.
    if (!bounds.empty()) std::memcpy(r + 1, bounds.data(), bounds.size_bytes());
    std::memcpy(reinterpret_cast<char *>(r + 1) + bounds.size_bytes(), key.data(), key.size());
    if (!linked) return r;

    std::uint32_t bucket = static_cast<std::uint32_t>(hash % h_->table_size);
    r->chain = h_->table[bucket];
    h_->table[bucket] = r;
    r->next = atomic(h_->head).load(std::memory_order_relaxed);
    // Readers walk the list without the lock: publish only a complete record.
    atomic(h_->head).store(r, std::memory_order_release);
    return r;
}

Record *SeriesStore::find(Family family, std::string_view key,
                          std::span<const double> bounds) const {
    std::uint64_t hash = series_hash(family, key, bounds);
    bool histogram = info(family).type == MetricType::histogram;
    for (Record *r = h_->table[hash % h_->table_size]; r != nullptr; r = r->chain) {
        if (r->hash == hash && r->family == family && r->key() == key &&
            (!histogram || same_bounds(r->bounds(), bounds))) {
            return r;
        }
    }
    return nullptr;
}

Record *SeriesStore::resolve(Arena &arena, Family family, std::string_view key,
                             std::span<const double> bounds, std::uint64_t budget) {
    if (info(family).type != MetricType::histogram) bounds = {};
    if (Record *r = find(family, key, bounds)) return r;

    if (load(h_->series) < budget) {
        Record *r =
            create_record(arena, family, key, bounds, series_hash(family, key, bounds), false);
        if (r != nullptr) {
            add(h_->series, 1);
            return r;
        }
    }
    add(h_->dropped, 1);

    std::string okey = overflow_key(family);
    if (Record *r = find(family, okey, bounds)) return r;
    Record *r = create_record(arena, family, okey, bounds, series_hash(family, okey, bounds), true);
    if (r != nullptr) return r;
    Record *fallback = h_->fallback[static_cast<std::size_t>(family)];
    // The caller indexes a histogram by its own bounds: never hand it a smaller one.
    if (info(family).type == MetricType::histogram && !same_bounds(fallback->bounds(), bounds)) {
        return h_->sink;
    }
    return fallback;
}

void SeriesStore::prepare_overflow(Arena &arena, std::span<const double> bounds) {
    for (std::size_t f = 0; f < kFamilyCount; ++f) {
        auto family = static_cast<Family>(f);
        if (info(family).type != MetricType::histogram) continue;
        std::string okey = overflow_key(family);
        if (find(family, okey, bounds) == nullptr) {
            create_record(arena, family, okey, bounds, series_hash(family, okey, bounds), true);
        }
    }
}

std::uint32_t SeriesStore::claim_slot(std::int32_t pid, bool (*alive)(std::int32_t)) {
    for (std::uint32_t s = 0; s < h_->slot_count; ++s) {
        if (atomic(h_->owner[s]).load() == pid) return s;
    }
    for (std::uint32_t s = 0; s < h_->slot_count; ++s) {
        if (atomic(h_->owner[s]).load() == 0) {
            atomic(h_->owner[s]).store(pid);
            return s;
        }
    }
    for (std::uint32_t s = 0; s < h_->slot_count; ++s) {
        if (!alive(atomic(h_->owner[s]).load())) {
            for (Record *r = h_->head; r != nullptr; r = r->next) {
                if (info(r->family).type != MetricType::gauge) continue;
                std::uint64_t *v = r->slot_values(s);
                for (std::uint32_t i = 0; i < r->value_count; ++i) {
                    atomic(v[i]).store(0, std::memory_order_relaxed);
                }
            }
            atomic(h_->owner[s]).store(pid);
            return s;
        }
    }
    return static_cast<std::uint32_t>(pid) % h_->slot_count;
}

std::int32_t SeriesStore::slot_owner(std::uint32_t slot) const {
    return atomic(h_->owner[slot]).load(std::memory_order_relaxed);
}

const Record *SeriesStore::newest() const {
    return atomic(h_->head).load(std::memory_order_acquire);
}

}  // namespace pulse
