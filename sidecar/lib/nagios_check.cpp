#include "nagios_check.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/signals.h"

namespace pulse::sidecar {

namespace {

std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

// Critical first: a value past both thresholds is CRITICAL.
NagiosState judge(double v, const CheckSpec &spec) {
    if (spec.critical && spec.critical->alerts(v)) return NagiosState::critical;
    if (spec.warning && spec.warning->alerts(v)) return NagiosState::warning;
    return NagiosState::ok;
}

const common::SignalInfo *nginx_signal(std::string_view name) {
    return common::find_signal(name);
}

std::string_view unit_of(std::string_view signal) {
    return signal.ends_with("_seconds") ? "s" : "";
}

std::string names_of(const nlohmann::json &object) {
    std::string out;
    if (!object.is_object()) return out;
    for (const auto &[key, value] : object.items()) out += (out.empty() ? "" : ", ") + key;
    return out.empty() ? "none" : out;
}

// The age check every value goes through: an old number is no value (UNKNOWN, with the
// reason), never read as the present one. --ready is the check that turns CRITICAL then.
std::optional<CheckOutcome> too_old(const nlohmann::json &doc, const CheckSpec &spec,
                                    std::string_view what) {
    const auto age = doc.find("age_seconds");
    if (age == doc.end() || !age->is_number()) {
        std::string why = std::string(what) + ": no good scrape yet";
        if (auto err = doc.find("last_error"); err != doc.end() && err->is_string())
            why += " (" + err->get<std::string>() + ")";
        return CheckOutcome{NagiosState::unknown, why, {}};
    }
    const double seconds = age->get<double>();
    if (spec.max_age_seconds && seconds > *spec.max_age_seconds)
        return CheckOutcome{NagiosState::unknown,
                            std::string(what) + ": numbers are " + number(seconds) +
                                "s old (--max-age " + number(*spec.max_age_seconds) + "s)",
                            {}};
    if (auto stale = doc.find("stale"); stale != doc.end() && stale->is_boolean() && *stale) {
        std::string why =
            std::string(what) + ": stale, last good scrape " + number(seconds) + "s ago";
        if (auto err = doc.find("last_error"); err != doc.end() && err->is_string())
            why += " (" + err->get<std::string>() + ")";
        return CheckOutcome{NagiosState::unknown, why, {}};
    }
    return std::nullopt;
}

CheckOutcome check_nginx_signal(const nlohmann::json &doc, const common::SignalInfo &signal,
                                const CheckSpec &spec) {
    if (auto old = too_old(doc, spec, signal.name)) return *old;
    const nlohmann::json *set = nullptr;
    std::string label(signal.name), where;
    if (spec.server) {
        if (signal.scope == common::Scope::pod)
            return unknown(std::string(signal.name) + " is for the pod only, not per server");
        const auto servers = doc.find("servers");
        if (servers == doc.end() || !servers->is_object() || !servers->contains(*spec.server))
            return unknown("no server \"" + *spec.server + "\" (servers: " +
                           names_of(servers == doc.end() ? nlohmann::json() : *servers) + ")");
        set = &(*servers)[*spec.server];
        label += ":" + *spec.server;
        where = " (server " + *spec.server + ")";
    } else {
        const auto pod = doc.find("pod");
        if (pod == doc.end() || !pod->is_object())
            return unknown("no \"pod\" signals in the answer");
        set = &*pod;
    }
    const auto value = set->find(std::string(signal.name));
    if (value == set->end() || !value->is_number())
        return unknown(std::string(signal.name) + where + " has no value");
    const double v = value->get<double>();
    const std::optional<double> max =
        signal.name == "pulse_error_ratio" ? std::optional<double>(1) : std::nullopt;
    return CheckOutcome{
        judge(v, spec),
        std::string(signal.name) + where + " = " + number(v) + std::string(unit_of(signal.name)),
        {perf_item(label, v, unit_of(signal.name), spec, 0.0, max)}};
}

bool has_labels(const nlohmann::json &labels, const CheckSpec &spec) {
    for (const auto &[name, value] : spec.labels) {
        const auto it = labels.find(name);
        if (it == labels.end() || !it->is_string() || it->get<std::string>() != value) return false;
    }
    return true;
}

std::string labels_text(const nlohmann::json &labels) {
    std::string out;
    for (const auto &[name, value] : labels.items()) {
        out += out.empty() ? "{" : ",";
        out += name + "=\"" + (value.is_string() ? value.get<std::string>() : value.dump()) + "\"";
    }
    return out.empty() ? "" : out + "}";
}

CheckOutcome check_config_signal(const nlohmann::json &signal_doc, const CheckSpec &spec) {
    const std::string &name = spec.signal;
    if (auto old = too_old(signal_doc, spec, name)) return *old;
    const auto series = signal_doc.find("series");
    if (series == signal_doc.end() || !series->is_array())
        return unknown(name + ": no series list");
    if (series->empty()) {
        std::string why = name + ": absent";
        if (auto r = signal_doc.find("absent_reason"); r != signal_doc.end() && r->is_string())
            why += ": " + r->get<std::string>();
        return unknown(why);
    }
    CheckOutcome out{NagiosState::ok, "", {}};
    int matched = 0;
    std::string worst_text;
    for (const auto &s : *series) {
        const auto labels = s.find("labels");
        const auto value = s.find("value");
        if (labels == s.end() || !labels->is_object() || value == s.end() || !value->is_number())
            return unknown(name + ": a series without labels or value");
        if (!has_labels(*labels, spec)) continue;
        ++matched;
        const double v = value->get<double>();
        const NagiosState state = judge(v, spec);
        std::string label = name;
        for (const auto &[k, lv] : labels->items())
            label += ":" + k + "/" + (lv.is_string() ? lv.get<std::string>() : lv.dump());
        out.perfdata.push_back(
            perf_item(label, v, unit_of(name), spec, std::nullopt, std::nullopt));
        const std::string text =
            name + labels_text(*labels) + " = " + number(v) + std::string(unit_of(name));
        if (matched == 1 || static_cast<int>(state) > static_cast<int>(out.state)) {
            out.state = state;
            worst_text = text;
        }
    }
    if (matched == 0) {
        std::string want;
        for (const auto &[k, v] : spec.labels) want += (want.empty() ? "" : ",") + k + "=" + v;
        return unknown(name + ": no series has " + want);
    }
    out.text = matched == 1 ? worst_text
                            : std::to_string(matched) + " series, " +
                                  (out.state == NagiosState::ok ? "the first: " : "the worst: ") +
                                  worst_text;
    return out;
}

}  // namespace

std::string_view state_name(NagiosState state) {
    switch (state) {
        case NagiosState::ok:
            return "OK";
        case NagiosState::warning:
            return "WARNING";
        case NagiosState::critical:
            return "CRITICAL";
        case NagiosState::unknown:
            break;
    }
    return "UNKNOWN";
}

std::string CheckOutcome::line() const {
    std::string out = "PULSE ";
    out += state_name(state);
    out += " - ";
    // The status line is one line, and '|' would start the performance data.
    for (char c : text) out += (c == '\n' || c == '\r' || c == '|') ? ' ' : c;
    if (!perfdata.empty()) {
        out += " |";
        for (const std::string &p : perfdata) out += " " + p;
    }
    return out;
}

CheckOutcome unknown(std::string reason) {
    return CheckOutcome{NagiosState::unknown, std::move(reason), {}};
}

std::string perf_item(std::string_view label, double value, std::string_view unit,
                      const CheckSpec &spec, std::optional<double> min, std::optional<double> max) {
    // A label may hold anything but '=' and a quote; a quote is written twice.
    std::string out = "'";
    for (char c : label) {
        if (c == '=') {
            out += '_';
        } else if (c == '\'') {
            out += "''";
        } else if (c == '\n' || c == '\r' || c == '|') {
            out += ' ';
        } else {
            out += c;
        }
    }
    out += "'=" + number(value) + std::string(unit) + ";";
    if (spec.warning) out += spec.warning->text;
    out += ";";
    if (spec.critical) out += spec.critical->text;
    out += ";";
    if (min) out += number(*min);
    out += ";";
    if (max) out += number(*max);
    return out;
}

CheckOutcome check_signal(const nlohmann::json &doc, const CheckSpec &spec) {
    if (!doc.is_object()) return unknown("the answer is not a /signals document");
    if (const common::SignalInfo *s = nginx_signal(spec.signal)) {
        if (!spec.labels.empty())
            return unknown(spec.signal + " is an nginx signal: choose a server with --server");
        return check_nginx_signal(doc, *s, spec);
    }
    const auto config = doc.find("config_signals");
    if (config == doc.end() || !config->is_object() || !config->contains(spec.signal)) {
        std::string known;
        for (const common::SignalInfo &s : common::kSignals)
            known += (known.empty() ? "" : ", ") + std::string(s.name);
        if (config != doc.end() && config->is_object() && !config->empty())
            known += ", " + names_of(*config);
        return unknown("no signal named \"" + spec.signal + "\" (signals: " + known + ")");
    }
    if (spec.server)
        return unknown(spec.signal + " is a config signal: choose series with --label");
    return check_config_signal((*config)[spec.signal], spec);
}

CheckOutcome check_ready(int http_status, std::string_view body) {
    std::string_view first = body.substr(0, body.find('\n'));
    if (http_status == 200) return CheckOutcome{NagiosState::ok, "ready", {}};
    if (http_status == 503)
        return CheckOutcome{NagiosState::critical,
                            first.empty() ? std::string("not ready") : std::string(first),
                            {}};
    return unknown("/readyz answered HTTP " + std::to_string(http_status));
}

CheckOutcome check_drain(const nlohmann::json &doc) {
    if (!doc.is_object()) return unknown("the answer is not a /signals document");
    const auto draining = doc.find("draining");
    if (draining == doc.end() || !draining->is_boolean())
        return unknown("the answer has no \"draining\" state");
    if (draining->get<bool>()) return CheckOutcome{NagiosState::warning, "draining", {}};
    return CheckOutcome{NagiosState::ok, "not draining", {}};
}

}  // namespace pulse::sidecar
