// The autoscaling signals, computed over a window of snapshots the way Prometheus'
// rate() and histogram_quantile() would compute them over the same samples.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>

#include "common/signals.h"
#include "nginx_snapshot.h"

namespace pulse::sidecar {

struct SignalSet {
    double requests_per_second = 0;
    double requests_in_flight = 0;
    double request_duration_p50_seconds = 0;
    double request_duration_p95_seconds = 0;
    double request_duration_p99_seconds = 0;
    double upstream_duration_p95_seconds = 0;  // pod only
    double error_ratio = 0;                    // 5xx / all over the window; 0 without requests
    double connection_saturation = 0;          // pod only: active / limit
    double websocket_connections = 0;

    // The field that holds `signal` (common/signals.h names them).
    double value(common::Signal signal) const;
};

struct Signals {
    SignalSet pod;
    std::map<std::string, SignalSet> servers;
    double window_seconds = 0;  // the span the rates were computed over (newest - oldest)
    std::size_t samples = 0;    // snapshots in the window
};

// Prometheus' histogram_quantile over one cumulative histogram (bounds ascending, last
// +Inf): linear interpolation inside the bucket, the lower bound of the first bucket
// taken as 0, the +Inf bucket answered with the highest finite bound. NaN when there
// are no observations or fewer than two buckets.
double histogram_quantile(double q, const Histogram &h);

// The increase of a counter between samples, counting a decrease as a reset to 0 in
// between, as Prometheus' rate() does. Never negative.
double counter_increase(const std::deque<double> &values);

// Increase of each bucket over the window (reset-aware: a histogram whose count went
// down restarts there).
Histogram histogram_increase(const std::deque<const Histogram *> &window);

// Signals from the snapshots of the window, oldest first. Rates need two snapshots; with
// fewer they are 0. Quantiles without requests in the window are 0.
Signals compute_signals(const std::deque<NginxSnapshot> &window);

// Keeps the snapshots of the last `window_seconds` (plus the one just before, so the
// rate covers the whole window).
class SnapshotWindow {
  public:
    explicit SnapshotWindow(double window_seconds) : window_(window_seconds) {}
    void add(NginxSnapshot snapshot);
    const std::deque<NginxSnapshot> &snapshots() const { return snapshots_; }
    void clear() { snapshots_.clear(); }

  private:
    double window_;
    std::deque<NginxSnapshot> snapshots_;
};

}  // namespace pulse::sidecar
