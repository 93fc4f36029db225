#include "series_window.h"

#include <algorithm>
#include <string_view>

namespace pulse::sidecar {

using promql::LabelMatcher;
using promql::Labels;

std::string instance_of(std::string_view url) {
    bool https = url.rfind("https://", 0) == 0;
    if (auto scheme = url.find("://"); scheme != std::string_view::npos)
        url.remove_prefix(scheme + 3);
    url = url.substr(0, url.find_first_of("/?#"));
    if (auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
    bool has_port = url.empty()          ? false
                    : url.front() == '[' ? url.find("]:") != std::string_view::npos
                                         : url.find(':') != std::string_view::npos;
    std::string out(url);
    if (!has_port) out += https ? ":443" : ":80";
    return out;
}

struct SeriesWindow::Entry : promql::Series {
    std::size_t target = 0;
    std::int64_t keep_ms = -1;  // -1: no selector reads it; 0: its last sample; else a range
    std::uint64_t seen = 0;     // the scrape generation that last contained it
    std::int64_t last_t = 0;    // when it was last scraped
};

SeriesWindow::SeriesWindow(std::vector<ScrapeTarget> targets,
                           std::vector<promql::VectorSelector> selectors)
    : targets_(std::move(targets)),
      selectors_(std::move(selectors)),
      present_(targets_.size()),
      present_generation_(targets_.size(), 0) {}

SeriesWindow::~SeriesWindow() = default;

SeriesWindow::Entry *SeriesWindow::entry_for(std::size_t target, const Sample &sample) {
    // The identity is the sorted label set: the same series written with its labels in
    // another order is the same series, as in Prometheus.
    thread_local std::vector<std::pair<std::string_view, std::string_view>> sorted;
    thread_local std::string key;
    sorted.clear();
    const ScrapeTarget &t = targets_[target];
    // Exposed labels named like the target's are kept under "exported_" + name, with more
    // "exported_" while that name is taken (Prometheus' resolveConflictingExposedLabels):
    // job first, then instance, the shorter name first as Prometheus sorts them.
    thread_local std::vector<std::string> renamed;
    renamed.clear();
    renamed.reserve(2);  // at most job and instance: `sorted` keeps views of these
    auto exposed = [&](std::string_view n) {
        for (const auto &[name, value] : sample.labels) {
            if (name == n && !value.empty()) return true;
        }
        return false;
    };
    for (const auto &[name, value] : sample.labels) {
        if (value.empty()) continue;  // a label written empty is no label, as in Prometheus
        if (name != "job" && name != "instance") sorted.emplace_back(name, value);
    }
    for (std::string_view conflict : {"job", "instance"}) {
        for (const auto &[name, value] : sample.labels) {
            if (name != conflict || value.empty()) continue;
            std::string n(name);
            do {
                n = "exported_" + n;
            } while (exposed(n) || n == "job" || n == "instance" ||
                     std::find(renamed.begin(), renamed.end(), n) != renamed.end());
            renamed.push_back(n);
            sorted.emplace_back(renamed.back(), value);
        }
    }
    sorted.emplace_back("__name__", sample.name);
    sorted.emplace_back("job", t.job);
    sorted.emplace_back("instance", t.instance);
    std::sort(sorted.begin(), sorted.end());
    key.assign(std::to_string(target));
    for (const auto &[n, v] : sorted) {
        key.push_back('\xff');
        key.append(n);
        key.push_back('\xfe');
        key.append(v);
    }
    if (auto it = entries_.find(key); it != entries_.end()) return it->second.get();

    auto entry = std::make_unique<Entry>();
    entry->target = target;
    entry->labels.reserve(sorted.size());
    for (const auto &[n, v] : sorted) entry->labels.emplace_back(std::string(n), std::string(v));
    for (const promql::VectorSelector &s : selectors_) {
        if (promql::labels_match(s.matchers, entry->labels))
            entry->keep_ms = std::max(entry->keep_ms, s.range_ms);
    }
    Entry *raw = entry.get();
    if (raw->keep_ms >= 0) {
        // Kept in label order, so that a selector's answer needs no sort.
        auto &list = by_name_[std::string(sample.name)];
        auto at =
            std::upper_bound(list.begin(), list.end(), raw,
                             [](const Entry *a, const Entry *b) { return a->labels < b->labels; });
        list.insert(at, raw);
    }
    entries_.emplace(key, std::move(entry));
    return raw;
}

void SeriesWindow::append(Entry &e, std::int64_t t_ms, double v) {
    e.last_t = t_ms;
    if (e.keep_ms < 0) return;
    if (e.keep_ms == 0) e.points.clear();
    if (e.keep_ms > 0 && e.points.capacity() == 0) {
        // The range's samples at the target's interval, and a quarter more for the trim
        // below: the vector never grows by doubling past what it needs.
        std::int64_t interval = std::max<std::int64_t>(targets_[e.target].interval_ms, 1);
        e.points.reserve(static_cast<std::size_t>(e.keep_ms / interval) * 5 / 4 + 4);
    }
    e.points.push_back({t_ms, v});
    if (e.keep_ms > 0) {
        std::int64_t cutoff = t_ms - e.keep_ms;
        if (e.points.front().t_ms < cutoff) {
            auto first =
                std::lower_bound(e.points.begin(), e.points.end(), cutoff,
                                 [](const promql::Point &p, std::int64_t t) { return p.t_ms < t; });
            // Trimmed once a fifth is out of the range: amortized constant time, within
            // the reserved capacity.
            auto out = static_cast<std::size_t>(first - e.points.begin());
            if (out * 5 >= e.points.size()) e.points.erase(e.points.begin(), first);
        }
    }
}

void SeriesWindow::ingest(std::size_t target, const Exposition &exposition, std::int64_t t_ms) {
    ++generation_;
    std::vector<Entry *> now_present;
    now_present.reserve(present_[target].size());
    for (const MetricFamily &family : exposition.families) {
        for (const Sample &sample : family.samples) {
            Entry *e = entry_for(target, sample);
            if (e->seen == generation_) continue;  // a duplicate: the first one counts
            e->seen = generation_;
            now_present.push_back(e);
            append(*e, t_ms, sample.value);
        }
    }
    for (Entry *e : present_[target]) {
        if (e->seen != generation_) append(*e, t_ms, promql::stale_marker());
    }
    present_[target] = std::move(now_present);
    present_generation_[target] = generation_;
}

void SeriesWindow::fail(std::size_t target, std::int64_t t_ms) {
    for (Entry *e : present_[target]) append(*e, t_ms, promql::stale_marker());
    present_[target].clear();
    present_generation_[target] = 0;
}

void SeriesWindow::prune(std::int64_t t_ms) {
    std::int64_t longest = 0;
    for (const auto &s : selectors_) longest = std::max(longest, s.range_ms);
    for (auto it = entries_.begin(); it != entries_.end();) {
        Entry &e = *it->second;
        if (e.keep_ms == 0 && !e.points.empty() && e.points.back().t_ms < t_ms - lookback_ms_) {
            e.points.clear();
        } else if (e.keep_ms > 0) {
            std::int64_t cutoff = t_ms - e.keep_ms;
            auto first = std::find_if(e.points.begin(), e.points.end(),
                                      [&](const promql::Point &p) { return p.t_ms >= cutoff; });
            e.points.erase(e.points.begin(), first);
        }
        // A series gone from its target for longer than anything can look back is forgotten.
        bool gone = e.points.empty() && e.last_t < t_ms - longest - lookback_ms_ &&
                    e.seen != present_generation_[e.target];
        if (!gone) {
            ++it;
            continue;
        }
        if (e.keep_ms >= 0) {
            std::string name;
            for (const auto &[n, v] : e.labels) {
                if (n == "__name__") name = v;
            }
            auto &list = by_name_[name];
            list.erase(std::remove(list.begin(), list.end(), &e), list.end());
            if (list.empty()) by_name_.erase(name);
        }
        it = entries_.erase(it);
    }
}

std::vector<const promql::Series *> SeriesWindow::select(
    const std::vector<LabelMatcher> &matchers) const {
    std::vector<const promql::Series *> out;
    promql::MatcherSet set(matchers);
    auto consider = [&](const Entry *e) {
        if (!e->points.empty() && set.matches(e->labels)) out.push_back(e);
    };
    const LabelMatcher *by_name = nullptr;
    for (const LabelMatcher &m : matchers) {
        if (m.name == "__name__" && m.op == LabelMatcher::Op::equal) by_name = &m;
    }
    if (by_name) {
        if (auto it = by_name_.find(by_name->value); it != by_name_.end()) {
            for (const Entry *e : it->second) consider(e);
        }
    } else {
        // Each name's list is in label order, but not their union.
        for (const auto &[name, list] : by_name_) {
            for (const Entry *e : list) consider(e);
        }
        std::sort(out.begin(), out.end(), [](const promql::Series *a, const promql::Series *b) {
            return a->labels < b->labels;
        });
    }
    return out;
}

std::size_t SeriesWindow::target_of(const promql::Series *series) const {
    return static_cast<const Entry *>(series)->target;
}

std::size_t SeriesWindow::series_count() const {
    return entries_.size();
}

std::size_t SeriesWindow::sample_count() const {
    std::size_t n = 0;
    for (const auto &[key, e] : entries_) n += e->points.size();
    return n;
}

}  // namespace pulse::sidecar
