// The time a scrape's samples get. As in Prometheus' scrape loop (2.42, scrape.go, with
// --scrape.timestamp-tolerance's default of 2 ms, prometheus/prometheus#9283): the scrape's
// start, moved onto the scrape schedule when it is within 2 ms of it. Timers wake a little
// late, by a different amount each time; without the alignment every sample's time would
// cost 16 bits in the window's encoding (sample_blocks.h) instead of one.
#pragma once

#include <cstdint>

namespace pulse::sidecar {

class ScrapeClock {
  public:
    static constexpr std::int64_t kToleranceMs = 2;

    explicit ScrapeClock(std::int64_t interval_ms) : interval_ms_(interval_ms) {}

    // The sample time of a scrape that started at `start_ms` (wall clock, ms): the schedule's
    // time when the start is within the tolerance of it, else the start itself, which then
    // becomes the schedule (a late scrape, or the wall clock stepped). Always after the time
    // it gave the scrape before, so that a series' samples go forward in time.
    std::int64_t stamp(std::int64_t start_ms) {
        std::int64_t t = start_ms;
        // Prometheus aligns only when the tolerance is small beside the interval.
        if (scheduled_ms_ != kNone && interval_ms_ > 100 * kToleranceMs) {
            std::int64_t next = scheduled_ms_ + interval_ms_;
            if (start_ms > next && interval_ms_ > 0)
                next += (start_ms - next) / interval_ms_ * interval_ms_;  // ticks skipped
            const std::int64_t off = start_ms - next;
            if (off >= -kToleranceMs && off <= kToleranceMs) t = next;
        }
        if (last_ms_ != kNone && t <= last_ms_) t = last_ms_ + 1;
        scheduled_ms_ = t;
        last_ms_ = t;
        return t;
    }

  private:
    static constexpr std::int64_t kNone = INT64_MIN;
    std::int64_t interval_ms_;
    std::int64_t scheduled_ms_ = kNone;
    std::int64_t last_ms_ = kNone;
};

}  // namespace pulse::sidecar
