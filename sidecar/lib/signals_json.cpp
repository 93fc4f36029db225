#include "signals_json.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "signal_names.h"

namespace pulse::sidecar {

std::string rfc3339(double unix_seconds) {
    auto secs = static_cast<std::time_t>(std::floor(unix_seconds));
    int millis = static_cast<int>((unix_seconds - std::floor(unix_seconds)) * 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buf;
}

namespace {

nlohmann::json signal_set(const SignalSet &set, bool pod) {
    nlohmann::json out = nlohmann::json::object();
    for (const SignalName &s : kSignals) {
        if (!pod && !s.per_server) continue;
        double v = set.*s.field;
        out[std::string(s.name)] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
    }
    return out;
}

}  // namespace

nlohmann::json signals_to_json(const Signals &signals, const SignalsMeta &meta) {
    nlohmann::json doc;
    if (meta.last_good_scrape_unix) {
        double age = std::max(0.0, meta.now_unix - *meta.last_good_scrape_unix);
        doc["timestamp"] = rfc3339(*meta.last_good_scrape_unix);
        doc["timestamp_unix"] = *meta.last_good_scrape_unix;
        doc["age_seconds"] = age;
        doc["stale"] = age > meta.stale_after_seconds;
    } else {
        doc["timestamp"] = nullptr;
        doc["timestamp_unix"] = nullptr;
        doc["age_seconds"] = nullptr;
        doc["stale"] = true;
    }
    doc["stale_after_seconds"] = meta.stale_after_seconds;
    doc["draining"] = meta.draining;
    doc["window_seconds"] = signals.window_seconds;
    doc["samples"] = signals.samples;
    doc["last_error"] =
        meta.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(meta.last_error);
    doc["pod"] = signal_set(signals.pod, true);
    nlohmann::json servers = nlohmann::json::object();
    for (const auto &[name, set] : signals.servers) servers[name] = signal_set(set, false);
    doc["servers"] = std::move(servers);
    return doc;
}

void add_config_to_json(nlohmann::json &doc, const SidecarConfig &config,
                        const EngineSnapshot &snapshot, double now_unix) {
    auto nullable = [](const std::string &s) {
        return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
    };
    double longest_interval = 0;
    nlohmann::json sources = nlohmann::json::object();
    for (std::size_t i = 0; i < snapshot.sources.size(); ++i) {
        const SourceState &s = snapshot.sources[i];
        longest_interval = std::max(longest_interval, config.sources[i].interval);
        nlohmann::json j;
        j["url"] = s.url;
        j["up"] = s.up;
        j["last_scrape"] = s.scraped ? nlohmann::json(rfc3339(s.last_scrape_unix)) : nullptr;
        j["last_scrape_unix"] = s.scraped ? nlohmann::json(s.last_scrape_unix) : nullptr;
        j["duration_seconds"] = s.scraped ? nlohmann::json(s.duration_seconds) : nullptr;
        j["samples"] = s.samples;
        j["last_error"] = s.scraped ? nullable(s.last_error) : nlohmann::json("not scraped yet");
        sources[s.name] = std::move(j);
    }
    // An evaluation follows every scrape: one older than three of the longest interval
    // means the scrapes stopped, and its numbers are not to be used.
    bool evaluated = snapshot.evaluated_unix > 0;
    double age = evaluated ? std::max(0.0, now_unix - snapshot.evaluated_unix) : 0;
    bool stale = !evaluated || age > 3 * longest_interval;
    nlohmann::json signals = nlohmann::json::object();
    for (std::size_t i = 0; i < config.signals.size() && i < snapshot.values.size(); ++i) {
        const SignalValue &v = snapshot.values[i];
        nlohmann::json j;
        j["timestamp"] = evaluated ? nlohmann::json(rfc3339(snapshot.evaluated_unix)) : nullptr;
        j["timestamp_unix"] = evaluated ? nlohmann::json(snapshot.evaluated_unix) : nullptr;
        j["age_seconds"] = evaluated ? nlohmann::json(age) : nullptr;
        j["stale"] = stale;
        j["window_seconds"] =
            static_cast<double>(longest_range_ms(*config.signals[i].parsed)) / 1000;
        nlohmann::json series = nlohmann::json::array();
        for (const SignalSeries &s : v.series) {
            nlohmann::json labels = nlohmann::json::object();
            for (const auto &[name, value] : s.labels) labels[name] = value;
            series.push_back({{"labels", std::move(labels)},
                              {"value", std::isfinite(s.value) ? nlohmann::json(s.value)
                                                               : nlohmann::json(nullptr)}});
        }
        j["series"] = std::move(series);
        j["absent_reason"] = nullable(v.absent_reason);
        signals[config.signals[i].name] = std::move(j);
    }
    doc["sources"] = std::move(sources);
    doc["config_signals"] = std::move(signals);
}

}  // namespace pulse::sidecar
