#include "series_window.h"

#include <algorithm>
#include <deque>
#include <limits>
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

struct SeriesWindow::Entry {
    // What each scrape touches first, in the entry's first two cache lines.
    SampleBlocks samples;
    std::uint64_t seen = 0;     // the scrape generation that last contained it
    std::int64_t keep_ms = -1;  // -1: no selector reads it; 0: its last sample; else a range
    std::int64_t last_t = 0;    // when it was last scraped
    PackedLabels labels;
    std::size_t target = 0;
    // The promql::Series select() made of it, valid while view_pass is the window's pass.
    mutable const View *view = nullptr;
    mutable std::uint64_t view_pass = 0;
};

// What the evaluator reads: the entry's labels unpacked; its points stay empty (the samples
// are read through read_points() and newest_point()).
struct SeriesWindow::View : promql::Series {
    const Entry *entry = nullptr;
};

SeriesWindow::SeriesWindow(std::vector<ScrapeTarget> targets,
                           std::vector<promql::VectorSelector> selectors)
    : targets_(std::move(targets)),
      selectors_(std::move(selectors)),
      last_order_(targets_.size()),
      present_(targets_.size()),
      present_generation_(targets_.size(), 0) {}

SeriesWindow::~SeriesWindow() = default;

namespace {

std::uint64_t mix(std::uint64_t h, std::string_view piece) {
    // boost::hash_combine's step over std::hash (murmur on this libstdc++).
    return h ^ (std::hash<std::string_view>{}(piece) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

// The sample as written: its name, then its labels in their order.
std::uint64_t written_hash(const Sample &sample) {
    std::uint64_t h = mix(0, sample.name);
    for (const auto &[name, value] : sample.labels) h = mix(mix(h, name), value);
    return h;
}

}  // namespace

SeriesWindow::Entry *SeriesWindow::entry_for(std::size_t target, const Sample &sample) {
    // The identity is the sorted label set: the same series written with its labels in
    // another order is the same series, as in Prometheus.
    thread_local std::vector<LabelView> sorted;
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
    std::uint64_t key = mix(0, std::to_string(target));
    for (const auto &[n, v] : sorted) key = mix(mix(key, n), v);
    for (auto [it, end] = entries_.equal_range(key); it != end; ++it) {
        const Entry &e = *it->second;
        if (e.target == target && e.labels.equals(sorted)) return it->second.get();
    }

    auto entry = std::make_unique<Entry>();
    entry->target = target;
    entry->labels = PackedLabels(sorted);
    const Labels labels = entry->labels.unpack();
    for (const promql::VectorSelector &s : selectors_) {
        if (promql::labels_match(s.matchers, labels))
            entry->keep_ms = std::max(entry->keep_ms, s.range_ms);
    }
    if (entry->keep_ms == 0) entry->samples = SampleBlocks(2);  // the last sample only
    if (entry->keep_ms > 0) {
        // Blocks of about a third of the range: the oldest goes once it is all out of the
        // range, so at most a third more than the range is held, in 4 or 5 blocks.
        std::int64_t interval = std::max<std::int64_t>(t.interval_ms, 1);
        auto per_range =
            static_cast<std::uint32_t>(std::min<std::int64_t>(entry->keep_ms / interval, 1 << 20));
        entry->samples = SampleBlocks(std::clamp<std::uint32_t>(per_range / 3, 16, 240));
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
    if (e.keep_ms == 0) e.samples.clear();
    // Blocks out of the range go as the next one starts (prune() catches the rest).
    if (e.keep_ms > 0 && e.samples.block_starts_next()) e.samples.drop_before(t_ms - e.keep_ms);
    e.samples.append(t_ms, v);
}

class SeriesWindow::TextSink : public SampleSink {
  public:
    TextSink(SeriesWindow &window, std::size_t target) : w_(window), target_(target) {
        w_.staged_.clear();
        w_.next_order_.clear();
    }

    // Where the last scrape wrote it, written the same: the same series.
    bool known(std::string_view series, double value) override {
        return take_known(series_hash(series), value);
    }

    void sample(std::string_view series, const Sample &sample) override {
        // OpenMetrics gives no written text: the hash of the sample as parsed stands for it.
        const std::uint64_t h = series.empty() ? written_hash(sample) : series_hash(series);
        if (take_known(h, sample.value)) return;
        Entry *e = w_.entry_for(target_, sample);
        w_.next_order_.emplace_back(h, e);
        w_.staged_.emplace_back(e, sample.value);
    }

  private:
    static std::uint64_t series_hash(std::string_view series) {
        return mix(0x70756c7365ull, series);
    }

    bool take_known(std::uint64_t h, double value) {
        const auto &last = w_.last_order_[target_];
        const std::size_t k = w_.next_order_.size();
        if (k >= last.size() || last[k].first != h) return false;
        w_.next_order_.emplace_back(h, last[k].second);
        w_.staged_.emplace_back(last[k].second, value);
        return true;
    }

    SeriesWindow &w_;
    std::size_t target_;
};

std::variant<std::size_t, ParseError> SeriesWindow::ingest_text(std::size_t target,
                                                                std::string_view text,
                                                                TextFormat format,
                                                                std::int64_t t_ms) {
    TextSink sink(*this, target);
    if (auto error = parse_exposition(text, format, sink)) return std::move(*error);
    commit(target, staged_, t_ms);
    std::swap(last_order_[target], next_order_);
    return staged_.size();
}

void SeriesWindow::commit(std::size_t target,
                          const std::vector<std::pair<Entry *, double>> &samples,
                          std::int64_t t_ms) {
    ++generation_;
    std::vector<Entry *> &now_present = present_scratch_;
    now_present.clear();
    // Each entry and the end of its samples are in memory no other series shares: they are
    // asked for ahead, the entry 16 samples before its turn, the samples' end 8 before.
    constexpr std::size_t kEntryAhead = 16, kSamplesAhead = 8;
    const std::size_t n = samples.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (i + kEntryAhead < n) {
            const auto *ahead = reinterpret_cast<const char *>(samples[i + kEntryAhead].first);
            __builtin_prefetch(ahead, 1);
            __builtin_prefetch(ahead + 64, 1);
        }
        if (i + kSamplesAhead < n) samples[i + kSamplesAhead].first->samples.prefetch_for_append();
        const auto &[e, v] = samples[i];
        if (e->seen == generation_) continue;  // a duplicate: the first one counts
        e->seen = generation_;
        now_present.push_back(e);
        append(*e, t_ms, v);
    }
    for (Entry *e : present_[target]) {
        if (e->seen != generation_) append(*e, t_ms, promql::stale_marker());
    }
    std::swap(present_[target], now_present);
    present_generation_[target] = generation_;
}

void SeriesWindow::fail(std::size_t target, std::int64_t t_ms) {
    for (Entry *e : present_[target]) append(*e, t_ms, promql::stale_marker());
    present_[target].clear();
    last_order_[target].clear();
    present_generation_[target] = 0;
}

void SeriesWindow::prune(std::int64_t t_ms) {
    std::int64_t longest = 0;
    for (const auto &s : selectors_) longest = std::max(longest, s.range_ms);
    for (auto it = entries_.begin(); it != entries_.end();) {
        Entry &e = *it->second;
        if (e.keep_ms == 0 && !e.samples.empty() && e.samples.last()->t_ms < t_ms - lookback_ms_) {
            e.samples.clear();
        } else if (e.keep_ms > 0) {
            e.samples.drop_before(t_ms - e.keep_ms);
        }
        // A series gone from its target for longer than anything can look back is forgotten.
        bool gone = e.samples.empty() && e.last_t < t_ms - longest - lookback_ms_ &&
                    e.seen != present_generation_[e.target];
        if (!gone) {
            ++it;
            continue;
        }
        if (e.keep_ms >= 0) {
            const std::string name(e.labels.get("__name__").value_or(""));
            auto &list = by_name_[name];
            list.erase(std::remove(list.begin(), list.end(), &e), list.end());
            if (list.empty()) by_name_.erase(name);
        }
        it = entries_.erase(it);
    }
}

const SeriesWindow::View *SeriesWindow::view_of(const Entry &e) const {
    if (e.view_pass != pass_ || e.view == nullptr) {
        View &v = views_.emplace_back();
        v.labels = e.labels.unpack();
        v.entry = &e;
        e.view = &v;
        e.view_pass = pass_;
    }
    return e.view;
}

void SeriesWindow::release_views() const {
    views_.clear();
    ++pass_;
}

std::vector<const promql::Series *> SeriesWindow::select(
    const std::vector<LabelMatcher> &matchers) const {
    std::vector<const promql::Series *> out;
    promql::MatcherSet set(matchers);
    auto consider = [&](const Entry *e) {
        if (e->samples.empty()) return;
        const View *v = view_of(*e);
        if (set.matches(v->labels)) out.push_back(v);
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

void SeriesWindow::read_points(const promql::Series &series, std::int64_t mint, std::int64_t maxt,
                               std::vector<promql::Point> &out) const {
    static_cast<const View &>(series).entry->samples.read(mint, maxt, out);
}

std::optional<promql::Point> SeriesWindow::newest_point(const promql::Series &series,
                                                        std::int64_t maxt) const {
    const SampleBlocks &samples = static_cast<const View &>(series).entry->samples;
    if (auto last = samples.last(); !last || last->t_ms <= maxt) return last;
    // Asked about a time before the last scrape (not by the signals, which read at it).
    std::vector<promql::Point> older;
    samples.read(std::numeric_limits<std::int64_t>::min(), maxt, older);
    if (older.empty()) return std::nullopt;
    return older.back();
}

void SeriesWindow::prefetch(const promql::Series &series) const {
    static_cast<const View &>(series).entry->samples.prefetch_for_read();
}

std::size_t SeriesWindow::target_of(const promql::Series *series) const {
    return static_cast<const View *>(series)->entry->target;
}

std::size_t SeriesWindow::series_count() const {
    return entries_.size();
}

std::size_t SeriesWindow::sample_count() const {
    std::size_t n = 0;
    for (const auto &[key, e] : entries_) n += e->samples.size();
    return n;
}

}  // namespace pulse::sidecar
