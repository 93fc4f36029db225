// The last hour of the sidecar's signals, one point a scrape, for the status page's
// sparklines (GET /history): a ring of scrape times shared by every series and a ring of
// values per series, 4 bytes a point. Bounded: the span divided by the interval points (at
// most 3,600), and at most `max_series` series (the pod's signals, each server's, the
// config signals' series); a series past that bound is not kept and the answer says so.
#pragma once

#include <nlohmann/json.hpp>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pulse::sidecar {

class SignalHistory {
  public:
    SignalHistory(double interval_seconds, double span_seconds = 3600, std::size_t max_series = 64);

    // One scrape's values at `unix_time`; a series known before and missing now gets a gap
    // (a stale or failed scrape: no number, not the last one).
    void record(double unix_time, const std::vector<std::pair<std::string, double>> &values);

    // {"interval_seconds", "span_seconds", "times": [unix...], "series": {key: [v|null...]},
    //  "dropped_series": N}, oldest first.
    nlohmann::json to_json() const;

    std::size_t capacity() const { return capacity_; }
    std::size_t size() const { return count_; }
    std::size_t bytes() const;  // what the rings hold

  private:
    std::size_t capacity_;
    std::size_t max_series_;
    std::size_t next_ = 0;   // where the next point goes
    std::size_t count_ = 0;  // points held (<= capacity_)
    double interval_, span_;
    std::vector<double> times_;
    std::map<std::string, std::vector<float>> series_;
    std::size_t dropped_ = 0;  // series seen but not kept
};

}  // namespace pulse::sidecar
