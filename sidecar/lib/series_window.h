// The sidecar's window of scrapes of its configured sources, held as Prometheus' TSDB would
// hold them for the signals' expressions (docs/workers.md, "How pulse scrapes a source"):
//
// - every sample carries its target's labels, `job` (the source's name) and `instance`
//   (host:port of its URL); labels of the same names in the exposition become
//   `exported_job` / `exported_instance`, as with Prometheus' `honor_labels: false`;
// - a series that leaves its target's scrape, and every series of a target whose scrape
//   failed, gets a staleness marker, so instant selectors stop returning it at once;
// - samples get the scrape's time (timestamps in the exposition are not honoured: the
//   window is about now, and a target's clock is not the sidecar's);
// - only what some selector can read is kept: a series no selector matches holds no
//   samples, one read by instant selectors only holds its last sample, and one read by a
//   range selector holds that range (compressed: sample_blocks.h). Memory is bounded by the
//   expressions, not the targets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "exposition_parser.h"
#include "packed_labels.h"
#include "promql/evaluator.h"
#include "sample_blocks.h"

namespace pulse::sidecar {

struct ScrapeTarget {
    std::string job;                  // the source's name
    std::string instance;             // host:port
    std::int64_t interval_ms = 1000;  // how often it is scraped: sizes the kept ranges
};

// "host:port" of an http(s) URL, with the scheme's default port when none is written.
std::string instance_of(std::string_view url);

class SeriesWindow : public promql::Storage {
  public:
    // `selectors`: every vector selector of every expression evaluated over the window.
    SeriesWindow(std::vector<ScrapeTarget> targets, std::vector<promql::VectorSelector> selectors);
    ~SeriesWindow() override;

    // A scrape's text of target `target` at `t_ms`, parsed straight into the window: the
    // samples of a good text are ingested and their count returned; a text that does not
    // parse changes nothing (the caller calls fail()). A series found where the last scrape
    // wrote it, with the same hash of its written name and labels, costs no lookup, no
    // allocation and no label comparison.
    std::variant<std::size_t, ParseError> ingest_text(std::size_t target, std::string_view text,
                                                      TextFormat format, std::int64_t t_ms);
    // A failed scrape: every series of the target's last good scrape goes stale.
    void fail(std::size_t target, std::int64_t t_ms);
    // Drops samples no selector can read at `t_ms` or later, and series with none left.
    void prune(std::int64_t t_ms);

    // In label order. The series are views of the window's, made for the evaluator: valid
    // until release_views(), which the caller calls once the evaluation is over.
    std::vector<const promql::Series *> select(
        const std::vector<promql::LabelMatcher> &matchers) const override;
    void release_views() const;
    bool selects_in_label_order() const override { return true; }
    void read_points(const promql::Series &series, std::int64_t mint, std::int64_t maxt,
                     std::vector<promql::Point> &out) const override;
    std::optional<promql::Point> newest_point(const promql::Series &series,
                                              std::int64_t maxt) const override;
    void prefetch(const promql::Series &series) const override;

    // The target a series returned by select() comes from.
    std::size_t target_of(const promql::Series *series) const;

    std::size_t series_count() const;  // every series known, with samples or not
    std::size_t sample_count() const;  // samples held

  private:
    struct Entry;
    struct View;
    class TextSink;
    const View *view_of(const Entry &e) const;
    // The entry of the series, found by its sorted labels, made when new.
    Entry *entry_for(std::size_t target, const Sample &sample);
    // The samples of one good scrape, in the order written (duplicates included).
    void commit(std::size_t target, const std::vector<std::pair<Entry *, double>> &samples,
                std::int64_t t_ms);
    void append(Entry &entry, std::int64_t t_ms, double v);

    std::vector<ScrapeTarget> targets_;
    std::vector<promql::VectorSelector> selectors_;
    std::int64_t lookback_ms_ = 5 * 60 * 1000;
    // By a hash of the series' identity (target and sorted labels).
    std::unordered_multimap<std::uint64_t, std::unique_ptr<Entry>> entries_;
    // Per target: the series of its last good text scrape in their order, with the hash of
    // how each was written. Cleared when a scrape fails, since its entries may then go.
    std::vector<std::vector<std::pair<std::uint64_t, Entry *>>> last_order_;
    // Reused by each ingest: no allocation a scrape once grown.
    std::vector<std::pair<Entry *, double>> staged_;
    std::vector<std::pair<std::uint64_t, Entry *>> next_order_;
    std::vector<Entry *> present_scratch_;
    // The views select() handed out in this pass.
    mutable std::deque<View> views_;
    mutable std::uint64_t pass_ = 1;
    // Series with samples, by metric name, for selectors that name one.
    std::unordered_map<std::string, std::vector<Entry *>> by_name_;
    // Per target: the series of its last good scrape.
    std::vector<std::vector<Entry *>> present_;
    // Per target: the generation of its last good scrape (0 after a failed one), so that
    // an entry is present when its `seen` equals it, without searching present_.
    std::vector<std::uint64_t> present_generation_;
    std::uint64_t generation_ = 0;
};

}  // namespace pulse::sidecar
