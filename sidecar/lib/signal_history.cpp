#include "signal_history.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace pulse::sidecar {

namespace {

constexpr std::size_t kMaxPoints = 3600;

}  // namespace

SignalHistory::SignalHistory(double interval_seconds, double span_seconds, std::size_t max_series)
    : capacity_(static_cast<std::size_t>(
          std::clamp(std::ceil(span_seconds / std::max(interval_seconds, 1e-3)), 2.0,
                     static_cast<double>(kMaxPoints)))),
      max_series_(max_series),
      interval_(interval_seconds),
      span_(span_seconds),
      times_(capacity_, std::numeric_limits<double>::quiet_NaN()) {}

void SignalHistory::record(double unix_time,
                           const std::vector<std::pair<std::string, double>> &values) {
    const float gap = std::numeric_limits<float>::quiet_NaN();
    times_[next_] = unix_time;
    for (auto &[key, ring] : series_) ring[next_] = gap;
    for (const auto &[key, value] : values) {
        auto it = series_.find(key);
        if (it == series_.end()) {
            if (series_.size() >= max_series_) {
                ++dropped_;
                continue;
            }
            it = series_.emplace(key, std::vector<float>(capacity_, gap)).first;
        }
        it->second[next_] = std::isfinite(value) ? static_cast<float>(value) : gap;
    }
    next_ = (next_ + 1) % capacity_;
    count_ = std::min(count_ + 1, capacity_);
}

nlohmann::json SignalHistory::to_json() const {
    nlohmann::json out;
    out["interval_seconds"] = interval_;
    out["span_seconds"] = span_;
    nlohmann::json times = nlohmann::json::array();
    const std::size_t first = (next_ + capacity_ - count_) % capacity_;
    for (std::size_t i = 0; i < count_; ++i) times.push_back(times_[(first + i) % capacity_]);
    out["times"] = std::move(times);
    nlohmann::json series = nlohmann::json::object();
    for (const auto &[key, ring] : series_) {
        nlohmann::json points = nlohmann::json::array();
        for (std::size_t i = 0; i < count_; ++i) {
            const float v = ring[(first + i) % capacity_];
            points.push_back(std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v));
        }
        series[key] = std::move(points);
    }
    out["series"] = std::move(series);
    out["dropped_series"] = dropped_;
    return out;
}

std::size_t SignalHistory::bytes() const {
    return capacity_ * (sizeof(double) + series_.size() * sizeof(float));
}

}  // namespace pulse::sidecar
