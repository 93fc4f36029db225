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

}  // namespace pulse::sidecar
