#include "signals_json.h"

#include <cmath>

#include "common/rfc3339.h"
#include "common/signals.h"
#include "common/signals_document.h"

namespace pulse::sidecar {

namespace field = common::signals_field;
using nlohmann::json;

namespace {

json number_or_null(double v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}

std::string rfc3339_ms(double unix_seconds) {
    return common::format_rfc3339(unix_seconds, common::Fraction::milliseconds);
}

json signal_set(const SignalSet &set, bool pod) {
    json out = json::object();
    for (const common::SignalInfo &s : common::kSignals) {
        if (!pod && s.scope == common::Scope::pod) continue;
        out[s.name] = number_or_null(set.value(s.signal));
    }
    return out;
}

}  // namespace

json signals_to_json(const Signals &signals, const SignalsMeta &meta) {
    json doc;
    if (meta.last_good_scrape_unix) {
        double age = std::max(0.0, meta.now_unix - *meta.last_good_scrape_unix);
        doc[field::timestamp] = rfc3339_ms(*meta.last_good_scrape_unix);
        doc[field::timestamp_unix] = *meta.last_good_scrape_unix;
        doc[field::age_seconds] = age;
        doc[field::stale] = age > meta.stale_after_seconds;
    } else {
        doc[field::timestamp] = nullptr;
        doc[field::timestamp_unix] = nullptr;
        doc[field::age_seconds] = nullptr;
        doc[field::stale] = true;
    }
    doc[field::stale_after_seconds] = meta.stale_after_seconds;
    doc[field::draining] = meta.draining;
    doc[field::window_seconds] = signals.window_seconds;
    doc[field::samples] = signals.samples;
    doc[field::last_error] = meta.last_error.empty() ? json(nullptr) : json(meta.last_error);
    doc[field::pod] = signal_set(signals.pod, true);
    json servers = json::object();
    for (const auto &[name, set] : signals.servers) servers[name] = signal_set(set, false);
    doc[field::servers] = std::move(servers);
    return doc;
}

void add_config_to_json(json &doc, const SidecarConfig &config, const EngineSnapshot &snapshot,
                        double now_unix) {
    auto nullable = [](const std::string &s) { return s.empty() ? json(nullptr) : json(s); };
    double longest_interval = 0;
    json sources = json::object();
    for (std::size_t i = 0; i < snapshot.sources.size(); ++i) {
        const SourceState &s = snapshot.sources[i];
        longest_interval = std::max(longest_interval, config.sources[i].interval);
        json j;
        j[field::url] = s.url;
        j[field::up] = s.up;
        j[field::last_scrape] = s.scraped ? json(rfc3339_ms(s.last_scrape_unix)) : nullptr;
        j[field::last_scrape_unix] = s.scraped ? json(s.last_scrape_unix) : nullptr;
        j[field::duration_seconds] = s.scraped ? json(s.duration_seconds) : nullptr;
        j[field::samples] = s.samples;
        j[field::last_error] = s.scraped ? nullable(s.last_error) : json("not scraped yet");
        sources[s.name] = std::move(j);
    }
    // An evaluation follows every scrape: one older than three of the longest interval
    // means the scrapes stopped, and its numbers are not to be used.
    bool evaluated = snapshot.evaluated_unix > 0;
    double age = evaluated ? std::max(0.0, now_unix - snapshot.evaluated_unix) : 0;
    double stale_after = 3 * longest_interval;
    bool stale = !evaluated || age > stale_after;
    json signals = json::object();
    for (std::size_t i = 0; i < config.signals.size() && i < snapshot.values.size(); ++i) {
        const SignalValue &v = snapshot.values[i];
        json j;
        j[field::timestamp] = evaluated ? json(rfc3339_ms(snapshot.evaluated_unix)) : nullptr;
        j[field::timestamp_unix] = evaluated ? json(snapshot.evaluated_unix) : nullptr;
        j[field::age_seconds] = evaluated ? json(age) : nullptr;
        j[field::stale] = stale;
        j[field::stale_after_seconds] = stale_after;
        j[field::window_seconds] =
            static_cast<double>(longest_range_ms(*config.signals[i].parsed)) / 1000;
        json series = json::array();
        for (const SignalSeries &s : v.series) {
            json labels = json::object();
            for (const auto &[name, value] : s.labels) labels[name] = value;
            json item = json::object();
            item[field::labels] = std::move(labels);
            item[field::value] = number_or_null(s.value);
            series.push_back(std::move(item));
        }
        j[field::series] = std::move(series);
        j[field::absent_reason] = nullable(v.absent_reason);
        signals[config.signals[i].name] = std::move(j);
    }
    doc[field::sources] = std::move(sources);
    doc[field::config_signals] = std::move(signals);
}

}  // namespace pulse::sidecar
