#include "core/render.h"

#include <algorithm>
#include <array>
#include <deque>
#include <map>

#include "common/utf8.h"
#include "core/labels.h"

namespace pulse {

void fold_histogram(std::span<const double> from, std::span<const std::uint64_t> counts,
                    std::span<const double> to, std::span<std::uint64_t> cumulative) {
    // cumulative has to.size() + 1 entries, the last one +Inf.
    std::size_t j = 0;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < to.size(); ++i) {
        while (j < from.size() && from[j] <= to[i]) running += counts[j++];
        cumulative[i] += running;
    }
    std::uint64_t total = 0;
    for (std::uint64_t c : counts) total += c;
    cumulative[to.size()] += total;
}

namespace {

struct Series {
    std::vector<std::uint64_t> values;  // counters/gauges: one; histograms: cumulative + sum
};

// Sums one record's values over the slots that count for it.
void accumulate(const Record &r, const std::vector<bool> &live, std::uint32_t slots,
                std::vector<std::uint64_t> &sum) {
    sum.assign(r.value_count, 0);
    bool gauge = info(r.family).type == MetricType::gauge;
    for (std::uint32_t s = 0; s < slots; ++s) {
        if (gauge && (s >= live.size() || !live[s])) continue;
        const std::uint64_t *v = r.slot_values(s);
        for (std::uint32_t i = 0; i < r.value_count; ++i) sum[i] += SeriesStore::load(v[i]);
    }
    // A gauge is raised and lowered in one slot, but a slot can be shared once processes
    // outnumber slots, and zeroed when its recorded owner dies: never show the wrap-around.
    if (gauge) {
        for (auto &v : sum) v = static_cast<std::int64_t>(v) < 0 ? 0 : v;
    }
}

using Labels = std::array<Label, kMaxLabels>;

std::span<const Label> labels_of(const FamilyInfo &fi, std::string_view key, Labels &out,
                                 std::vector<std::string_view> &scratch) {
    scratch = decode_key(key);
    std::size_t n = std::min<std::size_t>(fi.label_count, scratch.size());
    for (std::size_t i = 0; i < n; ++i) out[i] = {fi.labels[i], scratch[i]};
    return {out.data(), n};
}

// The key as the exposition shows it: each value with invalid UTF-8 replaced by U+FFFD, as
// append_escaped_label_value writes it. Keys that differ only there are one series to a
// scraper, and written twice they would not parse (a histogram's buckets repeat), so the
// renderer groups by this key. A valid key (all but hostile configurations) is returned as
// it is; a rewritten one is kept in `storage`, and `raw` maps it to the first stored key it
// came from, whose values the writer shows the same.
std::string_view shown_key(std::string_view key, std::deque<std::string> &storage,
                           std::map<std::string_view, std::string_view> &raw) {
    std::vector<std::string_view> values = decode_key(key);
    if (std::all_of(values.begin(), values.end(), common::valid_utf8)) return key;
    std::vector<std::string> shown;
    for (std::string_view v : values) {
        std::string &out = shown.emplace_back();
        while (!v.empty()) {
            std::size_t n = common::utf8_sequence_length(v);
            out.append(n == 0 ? std::string_view("\xef\xbf\xbd") : v.substr(0, n));
            v.remove_prefix(n == 0 ? 1 : n);
        }
    }
    std::vector<std::string_view> views(shown.begin(), shown.end());
    std::string_view k = storage.emplace_back(encode_key(views));
    raw.emplace(k, key);
    return k;
}

// A family of one series without labels.
void write_unlabelled(ExpositionWriter &w, const FamilyInfo &family, std::uint64_t value) {
    w.family(family.name, family.help, family.type);
    w.sample("", static_cast<double>(value));
}

}  // namespace

std::string render(const SeriesStore &store, const RenderInputs &in) {
    // Group by family and labels; a histogram can have several records (bounds changed
    // by a reload) that show as one series.
    std::array<std::map<std::string_view, std::vector<std::uint64_t>>, kFamilyCount> groups;
    std::vector<std::uint64_t> sum;
    std::deque<std::string> shown_keys;
    std::map<std::string_view, std::string_view> raw_keys;  // of rewritten shown keys
    const std::size_t nb = in.bounds.size();

    for (const Record *r = store.newest(); r != nullptr; r = r->next) {
        const FamilyInfo &fi = info(r->family);
        accumulate(*r, in.live_slots, store.slot_count(), sum);
        // Overflow series exist from the start; they show once something fell into them.
        if (r->overflow && std::all_of(sum.begin(), sum.end(), [](auto v) { return v == 0; })) {
            continue;
        }
        auto &series =
            groups[static_cast<std::size_t>(r->family)][shown_key(r->key(), shown_keys, raw_keys)];
        if (fi.type != MetricType::histogram) {
            if (series.empty()) series.assign(1, 0);
            series[0] += sum[0];
            continue;
        }
        if (series.empty()) series.assign(nb + 2, 0);  // cumulative buckets, +Inf, sum
        std::span<const std::uint64_t> counts(sum.data(), r->bound_count + 1u);
        fold_histogram(r->bounds(), counts, in.bounds, std::span(series.data(), nb + 1));
        series[nb + 1] += sum[r->bound_count + 1u];
    }

    ExpositionWriter w(in.format);
    w.buffer().reserve(4096);
    Labels labels{};
    std::vector<std::string_view> scratch;
    std::vector<std::string> le;
    for (double b : in.bounds) {
        std::string s;
        append_number(s, b);
        le.push_back(std::move(s));
    }

    for (std::size_t f = 0; f < kFamilyCount; ++f) {
        if (groups[f].empty()) continue;
        const FamilyInfo &fi = kFamilies[f];
        w.family(fi.name, fi.help, fi.type);
        for (const auto &[key, v] : groups[f]) {
            auto raw = raw_keys.find(key);
            auto ls = labels_of(fi, raw == raw_keys.end() ? key : raw->second, labels, scratch);
            if (fi.type != MetricType::histogram) {
                w.sample("", ls, static_cast<double>(v[0]));
                continue;
            }
            for (std::size_t i = 0; i < nb; ++i) {
                w.sample("_bucket", ls, static_cast<double>(v[i]), common::label::le, le[i]);
            }
            w.sample("_bucket", ls, static_cast<double>(v[nb]), common::label::le, "+Inf");
            w.sample("_sum", ls, static_cast<double>(v[nb + 1]) / kTicksPerSecond);
            w.sample("_count", ls, static_cast<double>(v[nb]));
        }
    }

    namespace nf = common::nginx_family;
    namespace state = common::connection_state;
    if (in.connections) {
        const ConnectionStats &c = *in.connections;
        write_unlabelled(w, nf::connections_accepted, c.accepted);
        write_unlabelled(w, nf::connections_handled, c.handled);
        w.family(nf::connections.name, nf::connections.help, nf::connections.type);
        const std::pair<std::string_view, std::uint64_t> states[] = {{state::active, c.active},
                                                                     {state::reading, c.reading},
                                                                     {state::writing, c.writing},
                                                                     {state::waiting, c.waiting}};
        for (const auto &[name, value] : states) {
            std::array<Label, 1> l{{{nf::connections.labels[0], name}}};
            w.sample("", l, static_cast<double>(value));
        }
    }
    write_unlabelled(w, nf::connections_limit, in.connection_limit);
    write_unlabelled(w, nf::series, store.series());
    write_unlabelled(w, nf::series_limit, in.series_limit);
    write_unlabelled(w, nf::series_dropped, store.dropped());
    w.family(nf::shm_bytes.name, nf::shm_bytes.help, nf::shm_bytes.type);
    {
        const std::string_view by = nf::shm_bytes.labels[0];
        std::array<Label, 1> used{{{by, common::shm_state::used}}},
            free{{{by, common::shm_state::free}}};
        w.sample("", used, static_cast<double>(in.shm_used_bytes));
        w.sample("", free, static_cast<double>(in.shm_free_bytes));
    }
    w.family(nf::info.name, nf::info.help, nf::info.type);
    std::array<Label, 2> versions{
        {{nf::info.labels[0], in.module_version}, {nf::info.labels[1], in.server_version}}};
    w.sample("", versions, 1.0);
    return w.finish();
}

}  // namespace pulse
