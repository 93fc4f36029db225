// libFuzzer target for the module's exposition writer (ngx_module/core: exposition.cpp,
// render.cpp, labels.cpp) fed label values of any bytes (tests/fuzz/run.sh runs it).
//
// exposition.h promises that a written label value always parses: backslash, quote and
// newline escaped, invalid UTF-8 replaced by U+FFFD. So for every input, in both formats,
// the rendered text must parse under the sidecar's parser (the scraper's reading) and every
// series must come back with exactly its label values after that replacement, computed
// here by a decoder of its own (one U+FFFD per byte that starts no valid sequence, as the
// writer does), and with its count. promtool reads the same renders after the run
// (exposition_replay.cpp).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exposition_input.h"
#include "exposition_parser.h"

namespace {

using namespace pulse;
using Labels = std::vector<std::pair<std::string, std::string>>;

[[noreturn]] void broken(const char *what, const std::string &text) {
    std::fprintf(stderr, "invariant broken: %s\n--- rendered ---\n%s\n", what, text.c_str());
    std::abort();
}

// The length of the well-formed UTF-8 sequence at `i` (Unicode 15, table 3-7), or 0:
// decoded to its code point, then checked against the shortest form, the surrogates and
// U+10FFFF, rather than by byte ranges as common/utf8.h does.
std::size_t sequence_at(std::string_view s, std::size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) return 1;
    std::size_t n = (b0 & 0xe0) == 0xc0 ? 2 : (b0 & 0xf0) == 0xe0 ? 3 : (b0 & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    std::uint32_t cp = b0 & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (b & 0x3f);
    }
    static constexpr std::uint32_t kShortest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kShortest[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
    return n;
}

std::string sanitised(std::string_view raw) {
    std::string out;
    for (std::size_t i = 0; i < raw.size();) {
        std::size_t n = sequence_at(raw, i);
        if (n == 0) {
            out += "\xef\xbf\xbd";
            n = 1;
        } else {
            out.append(raw.substr(i, n));
        }
        i += n;
    }
    return out;
}

// The sample that carries a series' count: the family's own, a histogram's "_count".
std::string count_sample(const common::FamilyInfo &fi) {
    std::string name(fi.name);
    if (fi.type == common::MetricType::histogram) name += "_count";
    return name;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const fuzz::ExpositionInput in = fuzz::read_input({reinterpret_cast<const char *>(data), size});

    // What each series must read back as: labels after the replacement, and its count
    // (values that read back the same count into one series).
    std::map<std::pair<std::string, Labels>, std::uint64_t> want;
    std::map<std::pair<common::Family, std::vector<std::string>>, bool> seen;
    for (const fuzz::SeriesSpec &s : in.series) {
        const common::FamilyInfo &fi = common::info(s.family);
        Labels labels;
        for (std::size_t i = 0; i < s.values.size(); ++i)
            labels.emplace_back(std::string(fi.labels[i]), sanitised(s.values[i]));
        want[{count_sample(fi), std::move(labels)}] += s.count;
    }
    const common::FamilyInfo &info_family = common::nginx_family::info;
    want[{std::string(info_family.name),
          {{std::string(info_family.labels[0]), sanitised(in.module_version)},
           {std::string(info_family.labels[1]), sanitised(in.server_version)}}}] += 1;

    const std::string text = fuzz::render_input(in);
    const auto format = in.openmetrics ? sidecar::TextFormat::openmetrics_1_0
                                       : sidecar::TextFormat::prometheus_0_0_4;
    const sidecar::ParseResult r = sidecar::parse_exposition(text, format);
    if (const auto *e = std::get_if<sidecar::ParseError>(&r)) {
        std::fprintf(stderr, "line %zu: %s\n", e->line, e->message.c_str());
        broken("the rendered exposition does not parse", text);
    }
    std::map<std::pair<std::string, Labels>, std::uint64_t> got;
    for (const sidecar::MetricFamily &f : std::get<sidecar::Exposition>(r).families) {
        for (const sidecar::Sample &s : f.samples) {
            auto it = want.find({s.name, s.labels});
            if (it == want.end()) continue;  // buckets, sums, the module's own gauges
            // Raw values that differ only where the writer replaces bytes are one series:
            // written once, with their counts together (render.cpp's shown_key).
            if (got.count(it->first)) broken("a series appears twice", text);
            got[it->first] = static_cast<std::uint64_t>(s.value);
        }
    }
    if (got.size() != want.size()) broken("a series is missing or has other labels", text);
    for (const auto &[series, count] : want) {
        if (got[series] != count) broken("a series' count differs", text);
    }
    return 0;
}
