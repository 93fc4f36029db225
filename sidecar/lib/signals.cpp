// The signal math: Prometheus' histogram_quantile over one histogram
// (promql/bucket_quantile.h), rate()'s reset rule, and the window of snapshots the signals
// are computed over.
#include "signals.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "promql/bucket_quantile.h"

namespace pulse::sidecar {

namespace {

// The count of `h` at exactly bound `b`, if `h` has that bound.
std::optional<double> count_at_bound(const Histogram &h, double b) {
    const std::size_t n = std::min(h.bounds.size(), h.counts.size());
    const auto end = h.bounds.begin() + static_cast<std::ptrdiff_t>(n);
    const auto it = std::lower_bound(h.bounds.begin(), end, b);
    if (it == end || *it != b) return std::nullopt;
    return h.counts[static_cast<std::size_t>(it - h.bounds.begin())];
}

// Accumulates the increase of one counter-like value through the window. `reset` says the
// whole histogram restarted since the previous value was seen; a value that went down is
// a reset of its own (rate()'s rule). Nothing is counted before the first value.
class Increase {
  public:
    void next(double value, bool reset) {
        if (!std::isfinite(value)) return;
        if (last_) {
            if (reset || value < *last_) {
                total_ += std::max(0.0, value);
            } else {
                total_ += value - *last_;
            }
        }
        last_ = value;
    }
    double total() const { return total_; }

  private:
    std::optional<double> last_;
    double total_ = 0;
};

// A quantile the HPA and the JSON can use: 0 instead of NaN/Inf (no observations).
double quantile_or_zero(double q, const Histogram &h) {
    if (!(h.count() > 0)) return 0;
    const double v = histogram_quantile(q, h);
    return std::isfinite(v) ? v : 0;
}

struct TrafficPoint {
    double time;
    const TrafficTotals *totals;
};

// The windowed signals of one traffic source (the pod, or a server over the snapshots it
// is present in): rate, error ratio and duration quantiles.
void fill_traffic_signals(SignalSet &out, const std::vector<TrafficPoint> &points) {
    if (points.size() < 2) return;
    std::deque<double> requests, errors;
    std::deque<const Histogram *> durations;
    for (const TrafficPoint &p : points) {
        requests.push_back(p.totals->requests);
        errors.push_back(p.totals->errors);
        durations.push_back(&p.totals->duration);
    }
    const double span = points.back().time - points.front().time;
    const double requests_increase = counter_increase(requests);
    const double errors_increase = counter_increase(errors);
    if (span > 0) out.requests_per_second = requests_increase / span;
    if (requests_increase > 0) {
        // Each counter detects its own resets; should they disagree (a restart that only
        // one of them could see) the ratio still stays a ratio.
        out.error_ratio = std::min(1.0, errors_increase / requests_increase);
    }
    const Histogram increase = histogram_increase(durations);
    out.request_duration_p50_seconds = quantile_or_zero(0.50, increase);
    out.request_duration_p95_seconds = quantile_or_zero(0.95, increase);
    out.request_duration_p99_seconds = quantile_or_zero(0.99, increase);
}

}  // namespace

namespace {

using common::Signal;

// Where each signal is kept, in common::kSignals' order.
constexpr std::pair<Signal, double SignalSet::*> kFields[] = {
    {Signal::requests_per_second, &SignalSet::requests_per_second},
    {Signal::requests_in_flight, &SignalSet::requests_in_flight},
    {Signal::request_duration_p50_seconds, &SignalSet::request_duration_p50_seconds},
    {Signal::request_duration_p95_seconds, &SignalSet::request_duration_p95_seconds},
    {Signal::request_duration_p99_seconds, &SignalSet::request_duration_p99_seconds},
    {Signal::upstream_duration_p95_seconds, &SignalSet::upstream_duration_p95_seconds},
    {Signal::error_ratio, &SignalSet::error_ratio},
    {Signal::connection_saturation, &SignalSet::connection_saturation},
    {Signal::websocket_connections, &SignalSet::websocket_connections},
};
static_assert(std::size(kFields) == common::kSignalCount);
static_assert(std::ranges::all_of(kFields, [](const auto &f) {
    return &f == &kFields[static_cast<std::size_t>(f.first)];
}));

}  // namespace

double SignalSet::value(Signal signal) const {
    return this->*kFields[static_cast<std::size_t>(signal)].second;
}

double histogram_quantile(double q, const Histogram &h) {
    const std::size_t n = std::min(h.bounds.size(), h.counts.size());
    std::vector<promql::Bucket> buckets;
    buckets.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        // Prometheus never sees a NaN bound (the le label would not parse); here it would
        // break the sort's ordering, so there is no answer, as for no buckets at all.
        if (std::isnan(h.bounds[i])) {
            buckets.clear();
            break;
        }
        buckets.push_back({h.bounds[i], h.counts[i]});
    }
    std::stable_sort(buckets.begin(), buckets.end(),
                     [](const promql::Bucket &a, const promql::Bucket &b) {
                         return a.upper_bound < b.upper_bound;
                     });
    // The windowed increases are sums of float differences: their noise is flattened.
    return promql::bucket_quantile(q, buckets, 1e-12);
}

double counter_increase(const std::deque<double> &values) {
    Increase increase;
    for (double v : values) increase.next(v, false);
    return std::max(0.0, increase.total());
}

// Each bucket of the newest histogram is followed through the window like a counter of
// its own (the le series Prometheus would see). Where the histogram's count went down the
// whole histogram restarted: every bucket's value there is new observations, even a
// bucket whose own count happens not to have gone down. A bucket that a histogram lacks
// (buckets changed by a reload) simply has no sample there.
Histogram histogram_increase(const std::deque<const Histogram *> &window) {
    std::vector<const Histogram *> valid;
    for (const Histogram *h : window) {
        if (h != nullptr && !h->empty() && !h->counts.empty()) valid.push_back(h);
    }
    Histogram out;
    if (valid.empty()) return out;

    std::vector<bool> reset_before(valid.size(), false);
    for (std::size_t i = 1; i < valid.size(); ++i) {
        reset_before[i] = valid[i]->count() < valid[i - 1]->count();
    }

    const Histogram &newest = *valid.back();
    const std::size_t n = std::min(newest.bounds.size(), newest.counts.size());
    out.bounds.assign(newest.bounds.begin(),
                      newest.bounds.begin() + static_cast<std::ptrdiff_t>(n));
    out.counts.assign(n, 0);
    for (std::size_t j = 0; j < n; ++j) {
        Increase increase;
        bool reset = false;
        for (std::size_t i = 0; i < valid.size(); ++i) {
            reset = reset || reset_before[i];
            if (auto v = count_at_bound(*valid[i], out.bounds[j])) {
                increase.next(*v, reset);
                reset = false;
            }
        }
        out.counts[j] = increase.total();
    }
    Increase sum;
    for (std::size_t i = 0; i < valid.size(); ++i) sum.next(valid[i]->sum, reset_before[i]);
    out.sum = sum.total();
    return out;
}

Signals compute_signals(const std::deque<NginxSnapshot> &window) {
    Signals signals;
    signals.samples = window.size();
    if (window.empty()) return signals;
    const NginxSnapshot &oldest = window.front();
    const NginxSnapshot &newest = window.back();
    const double span = newest.time - oldest.time;
    if (window.size() >= 2) signals.window_seconds = span;

    // The pod.
    std::vector<TrafficPoint> pod_points;
    std::deque<const Histogram *> upstream;
    for (const NginxSnapshot &s : window) {
        pod_points.push_back({s.time, &s.pod});
        upstream.push_back(&s.upstream_response);
    }
    SignalSet &pod = signals.pod;
    fill_traffic_signals(pod, pod_points);
    if (window.size() >= 2) {
        pod.upstream_duration_p95_seconds = quantile_or_zero(0.95, histogram_increase(upstream));
    }
    pod.requests_in_flight = newest.pod.in_flight;
    pod.websocket_connections = newest.pod.websockets;
    if (newest.connections_limit > 0) {
        pod.connection_saturation = newest.connections_active / newest.connections_limit;
    }

    // Each server seen in the window, over the snapshots it is present in (a server that
    // appears mid-window has its rate over its own span). Gauges are the newest snapshot's:
    // a server missing from it (gone with a reload) has nothing in flight.
    std::map<std::string, std::vector<TrafficPoint>> server_points;
    for (const NginxSnapshot &s : window) {
        for (const auto &[name, totals] : s.servers)
            server_points[name].push_back({s.time, &totals});
    }
    for (const auto &[name, points] : server_points) {
        SignalSet &server = signals.servers[name];
        fill_traffic_signals(server, points);
        if (auto it = newest.servers.find(name); it != newest.servers.end()) {
            server.requests_in_flight = it->second.in_flight;
            server.websocket_connections = it->second.websockets;
        }
    }
    return signals;
}

void SnapshotWindow::add(NginxSnapshot snapshot) {
    // Snapshots come in time order (a monotonic clock); one from before the newest kept
    // would make every span wrong, so it starts the window afresh.
    if (!snapshots_.empty() && snapshot.time < snapshots_.back().time) snapshots_.clear();
    snapshots_.push_back(std::move(snapshot));
    // Keep the newest snapshot at or before (newest - window), so the rate covers the
    // whole window, and nothing older than it.
    const double cutoff = snapshots_.back().time - window_;
    while (snapshots_.size() >= 2 && snapshots_[1].time <= cutoff) snapshots_.pop_front();
}

}  // namespace pulse::sidecar
