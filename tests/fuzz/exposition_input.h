// How an input of exposition_writer_fuzz (and of its promtool replay) becomes the module's
// series: one definition, so that the replay renders exactly what the fuzzer checked.
//
// Input: a control byte, then label values, each ended by a backslash followed by any byte
// other than a backslash ("\\\\" is one backslash inside a value): every byte value can
// be in a value and seeds stay writable by hand. The first two values are the module and
// nginx versions (the info family's labels); the rest fill series in turn, each taking as
// many values as its family has labels; the family of series i is (control + i) modulo
// the number of families. Bit 7 of the control byte picks OpenMetrics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/families.h"
#include "core/labels.h"
#include "core/render.h"
#include "core/series_store.h"

namespace pulse::fuzz {

struct SeriesSpec {
    common::Family family;
    std::vector<std::string> values;  // raw, one per label of the family
    std::uint64_t count;              // what the series counts (a histogram: observations)
};

struct ExpositionInput {
    bool openmetrics = false;
    std::string module_version, server_version;
    std::vector<SeriesSpec> series;
};

// A bounded number of series keeps one input's render small.
inline constexpr std::size_t kMaxSeries = 64;

inline std::vector<std::string> split_values(std::string_view data) {
    std::vector<std::string> out(1);
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (data[i] != '\\') {
            out.back() += data[i];
        } else if (i + 1 < data.size() && data[i + 1] == '\\') {
            out.back() += '\\';
            ++i;
        } else {
            ++i;  // the byte after the ending backslash is dropped
            out.emplace_back();
        }
    }
    return out;
}

inline ExpositionInput read_input(std::string_view data) {
    ExpositionInput in;
    if (data.empty()) return in;
    const auto control = static_cast<unsigned char>(data[0]);
    in.openmetrics = (control & 0x80) != 0;
    std::vector<std::string> values = split_values(data.substr(1));
    std::size_t next = 0;
    auto take = [&]() { return next < values.size() ? std::move(values[next++]) : std::string(); };
    in.module_version = take();
    in.server_version = take();
    for (std::size_t i = 0; next < values.size() && in.series.size() < kMaxSeries; ++i) {
        const auto f = static_cast<common::Family>((control + i) % common::kFamilyCount);
        SeriesSpec s{f, {}, i + 1};
        for (std::size_t l = 0; l < common::info(f).label_count; ++l) s.values.push_back(take());
        in.series.push_back(std::move(s));
    }
    return in;
}

// Histogram bounds of every histogram series; the count of series i is spread over them.
inline constexpr double kBounds[] = {0.005, 0.1, 1, 10};

// A bump allocator over one zeroed buffer, as nginx's slab gives the zone.
class BufferArena final : public Arena {
  public:
    explicit BufferArena(std::size_t capacity)
        : capacity_(capacity), buffer_(static_cast<unsigned char *>(std::calloc(capacity, 1))) {}
    void *allocate(std::size_t size) override {
        std::size_t align = size >= 64 ? 64 : 8;
        std::size_t offset = (used_ + align - 1) / align * align;
        if (buffer_ == nullptr || offset > capacity_ || size > capacity_ - offset) return nullptr;
        used_ = offset + size;
        return buffer_.get() + offset;
    }

  private:
    struct Free {
        void operator()(unsigned char *p) const { std::free(p); }
    };
    std::size_t capacity_;
    std::size_t used_ = 0;
    std::unique_ptr<unsigned char, Free> buffer_;
};

// The exposition the module serves for the input's series (render.h, as a scrape does).
inline std::string render_input(const ExpositionInput &in) {
    // The zone's own records and one value chunk, and room for kMaxSeries records with
    // chunks of their own and keys as long as the input (a series' key holds its values).
    std::size_t keys = 0;
    for (const SeriesSpec &s : in.series) {
        for (const std::string &v : s.values) keys += v.size() + 2;
    }
    BufferArena arena((64u << 10) + kMaxSeries * 512 + 2 * keys);
    ZoneHeader *zone = SeriesStore::create(arena, 1, 64, kBounds);
    if (zone == nullptr) std::abort();
    SeriesStore store(zone);
    for (const SeriesSpec &s : in.series) {
        std::vector<std::string_view> values(s.values.begin(), s.values.end());
        Record *r = store.resolve(arena, s.family, encode_key(values), kBounds, UINT64_MAX);
        std::uint64_t *v = r->slot_values(0);
        if (info(s.family).type != MetricType::histogram) {
            SeriesStore::add(v[0], s.count);
            continue;
        }
        // Observations in the bucket the count picks, and as many milliseconds of sum.
        SeriesStore::add(v[s.count % (r->bound_count + 1u)], s.count);
        SeriesStore::add(v[r->bound_count + 1u], s.count);
    }
    RenderInputs ri;
    ri.format = in.openmetrics ? Format::openmetrics : Format::prometheus_text;
    ri.bounds = kBounds;
    ri.live_slots = {true};
    ri.module_version = in.module_version;
    ri.server_version = in.server_version;
    return render(store, ri);
}

}  // namespace pulse::fuzz
