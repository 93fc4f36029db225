// Renders everything the zone holds, plus nginx's connection counters and pulse's own
// health, as one exposition. Runs in the worker that answers the scrape, without the
// zone's lock.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/exposition.h"
#include "core/series_store.h"

namespace pulse {

struct ConnectionStats {
    std::uint64_t accepted, handled, active, reading, writing, waiting;
};

struct RenderInputs {
    Format format = Format::prometheus_text;
    // Buckets every histogram is shown with: the current configuration's. Series
    // recorded with other bounds (before a reload) are merged into these.
    std::span<const double> bounds;
    // Which slots' gauges count: those whose owner process is alive.
    std::vector<bool> live_slots;
    std::optional<ConnectionStats> connections;
    std::uint64_t connection_limit = 0;
    std::uint64_t series_limit = 0;
    std::uint64_t shm_used_bytes = 0, shm_free_bytes = 0;
    std::string_view module_version, server_version;
};

// Histogram values are kept in milliseconds (nginx's clock); sums are shown in seconds.
inline constexpr double kTicksPerSecond = 1000.0;

std::string render(const SeriesStore &store, const RenderInputs &in);

// Folds a histogram recorded with `from` bounds (non-cumulative counts, +Inf last) into
// cumulative counts at `to` bounds: an observation is counted under `to[i]` only when it
// is known to be <= to[i], so every bucket stays a true lower bound, the result is
// monotonic, and its +Inf equals the total.
void fold_histogram(std::span<const double> from, std::span<const std::uint64_t> counts,
                    std::span<const double> to, std::span<std::uint64_t> cumulative);

}  // namespace pulse
