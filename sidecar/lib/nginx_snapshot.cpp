// summarize(): the module's families (common/families.h, docs/architecture.md "Family
// names") folded into one snapshot.
#include "nginx_snapshot.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/families.h"
#include "common/labels.h"

namespace pulse::sidecar {

namespace {

using common::Family;
using common::kOverflowLabel;
namespace label = common::label;

// Sample names (not family names: in OpenMetrics the counter family is
// "nginx_http_requests" while its samples are "nginx_http_requests_total"); a histogram's
// samples add "_bucket", "_sum" and "_count".
constexpr std::string_view kRequests = common::info(Family::requests).name;
constexpr std::string_view kInFlight = common::info(Family::requests_in_flight).name;
constexpr std::string_view kWebsockets = common::info(Family::websocket_connections).name;
constexpr std::string_view kDuration = common::info(Family::request_duration).name;
constexpr std::string_view kUpstream = common::info(Family::upstream_response).name;
constexpr std::string_view kConnections = common::nginx_family::connections.name;
constexpr std::string_view kConnectionsLimit = common::nginx_family::connections_limit.name;

// Our own lookup (not Sample::label) keeps this file independent of the parser's .cpp.
std::optional<std::string_view> find_label(const Sample &sample, std::string_view name) {
    for (const auto &[key, value] : sample.labels) {
        if (key == name) return std::string_view(value);
    }
    return std::nullopt;
}

// An `le` value: "0.005", "1e-3", "+Inf", "Inf". Locale-independent. NaN is no bound.
std::optional<double> parse_le(std::string_view text) {
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    if (text.empty()) return std::nullopt;
    double value = 0;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || std::isnan(value)) return std::nullopt;
    return value;
}

// The histogram of one series (one label set without `le`) as it is being read.
struct SeriesHistogram {
    std::map<double, double> buckets;   // le -> cumulative count
    std::optional<double> count;        // _count
    double sum = 0;                     // _sum
    std::optional<std::string> server;  // the server label, unless absent or overflow

    Histogram to_histogram() const {
        Histogram h;
        for (const auto &[le, c] : buckets) {
            h.bounds.push_back(le);
            h.counts.push_back(c);
        }
        // The module always writes +Inf (equal to _count); if a series lacks it, _count is
        // the same number, so the histogram still ends in +Inf.
        constexpr double inf = std::numeric_limits<double>::infinity();
        if (count && (h.bounds.empty() || h.bounds.back() != inf)) {
            h.bounds.push_back(inf);
            h.counts.push_back(*count);
        }
        h.sum = sum;
        return h;
    }
};

using LabelKey = std::vector<std::pair<std::string, std::string>>;

// The series' identity: its labels without `le`, in a canonical order.
LabelKey series_key(const Sample &sample) {
    LabelKey key;
    key.reserve(sample.labels.size());
    for (const auto &l : sample.labels) {
        if (l.first != label::le) key.push_back(l);
    }
    std::sort(key.begin(), key.end());
    return key;
}

// Records a sample of histogram `base` ("x_bucket", "x_sum", "x_count"); false if the sample
// belongs to another family.
bool record_histogram_sample(const Sample &sample, std::string_view base,
                             std::map<LabelKey, SeriesHistogram> &series) {
    std::string_view name = sample.name;
    if (name.size() <= base.size() || name.substr(0, base.size()) != base) return false;
    std::string_view suffix = name.substr(base.size());
    if (suffix != "_bucket" && suffix != "_sum" && suffix != "_count") return false;

    std::optional<double> le;
    if (suffix == "_bucket") {
        auto text = find_label(sample, label::le);
        if (!text) return true;  // a bucket without a bound says nothing usable
        le = parse_le(*text);
        if (!le) return true;
    }
    SeriesHistogram &h = series[series_key(sample)];
    if (!h.server) {
        auto server = find_label(sample, label::server);
        if (server && *server != kOverflowLabel) h.server = std::string(*server);
    }
    if (suffix == "_bucket") {
        h.buckets[*le] += sample.value;
    } else if (suffix == "_sum") {
        h.sum += sample.value;
    } else {
        h.count = h.count.value_or(0) + sample.value;
    }
    return true;
}

// The cumulative count of `h` at bound `b`: the count of its largest bound <= b, 0 below
// its first bound.
double cumulative_at(const Histogram &h, double b) {
    std::size_t n = std::min(h.bounds.size(), h.counts.size());
    auto end = h.bounds.begin() + static_cast<std::ptrdiff_t>(n);
    auto it = std::upper_bound(h.bounds.begin(), end, b);
    if (it == h.bounds.begin()) return 0;
    return h.counts[static_cast<std::size_t>(std::distance(h.bounds.begin(), it)) - 1];
}

}  // namespace

// Histograms with the same bounds add bucket by bucket. With different bounds (locations
// configured with different pulse_buckets, or a reload that changed them) the result has
// the union of the bounds, and a bound that one histogram lacks takes that histogram's
// count at its next LOWER bound (0 below its first). That is the conservative choice for
// latency: the observations we cannot place are counted as slower (in a higher bucket),
// never as faster, so merged quantiles can only be overestimated, never hide slowness,
// and the merged counts stay cumulative and monotonic. The +Inf bucket (the total) is
// always exact.
void Histogram::add(const Histogram &other) {
    sum += other.sum;
    if (other.empty()) return;
    if (empty()) {
        bounds = other.bounds;
        counts = other.counts;
        return;
    }
    if (bounds == other.bounds && counts.size() == other.counts.size()) {
        for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
        return;
    }
    std::vector<double> merged;
    merged.reserve(bounds.size() + other.bounds.size());
    std::set_union(bounds.begin(), bounds.end(), other.bounds.begin(), other.bounds.end(),
                   std::back_inserter(merged));
    merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
    std::vector<double> merged_counts;
    merged_counts.reserve(merged.size());
    for (double b : merged)
        merged_counts.push_back(cumulative_at(*this, b) + cumulative_at(other, b));
    bounds = std::move(merged);
    counts = std::move(merged_counts);
}

NginxSnapshot summarize(const Exposition &exposition, double time) {
    NginxSnapshot snapshot;
    snapshot.time = time;

    std::map<LabelKey, SeriesHistogram> duration_series;
    std::map<LabelKey, SeriesHistogram> upstream_series;

    // The server a series belongs to, or nullptr for the overflow series (pod only) and
    // for series without a server label.
    auto server_of = [&snapshot](const Sample &sample) -> TrafficTotals * {
        auto server = find_label(sample, label::server);
        if (!server || *server == kOverflowLabel) return nullptr;
        return &snapshot.servers[std::string(*server)];
    };

    for (const MetricFamily &family : exposition.families) {
        for (const Sample &sample : family.samples) {
            // A NaN or infinite value would poison every sum (and the JSON that carries
            // it); the module never writes one, so such a sample is skipped.
            if (!std::isfinite(sample.value)) continue;
            const std::string_view name = sample.name;
            const double v = sample.value;

            if (name == kRequests) {
                auto status = find_label(sample, label::status);
                const bool error = status && common::is_server_error_status(*status);
                snapshot.pod.requests += v;
                if (error) snapshot.pod.errors += v;
                if (TrafficTotals *server = server_of(sample)) {
                    server->requests += v;
                    if (error) server->errors += v;
                }
            } else if (name == kInFlight) {
                snapshot.pod.in_flight += v;
                if (TrafficTotals *server = server_of(sample)) server->in_flight += v;
            } else if (name == kWebsockets) {
                snapshot.pod.websockets += v;
                if (TrafficTotals *server = server_of(sample)) server->websockets += v;
            } else if (name == kConnections) {
                auto state = find_label(sample, label::state);
                if (state && *state == common::connection_state::active)
                    snapshot.connections_active += v;
            } else if (name == kConnectionsLimit) {
                snapshot.connections_limit += v;
            } else if (!record_histogram_sample(sample, kDuration, duration_series)) {
                record_histogram_sample(sample, kUpstream, upstream_series);
            }
        }
    }

    for (const auto &[key, series] : duration_series) {
        Histogram h = series.to_histogram();
        snapshot.pod.duration.add(h);
        if (series.server) snapshot.servers[*series.server].duration.add(h);
    }
    for (const auto &[key, series] : upstream_series) {
        snapshot.upstream_response.add(series.to_histogram());
    }
    return snapshot;
}

}  // namespace pulse::sidecar
