#include "trace.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/trim.h"

namespace pulse::hpa {

namespace {

// White space around a line or a field, a CR of a CRLF line end included.
std::string_view trim(std::string_view s) {
    return common::trim(s, " \t\r");
}

bool parse_double(std::string_view s, double &out) {
    s = trim(s);
    if (s.empty()) return false;
    if (s == "NaN" || s == "+Inf" || s == "-Inf" || s == "Inf") return false;  // not a load
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

std::vector<std::string_view> split_csv(std::string_view line) {
    std::vector<std::string_view> out;
    while (true) {
        auto comma = line.find(',');
        out.push_back(trim(line.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        line.remove_prefix(comma + 1);
    }
    return out;
}

std::variant<Trace, std::string> parse_csv(std::string_view text, std::string_view file) {
    Trace trace;
    std::size_t lineno = 0;
    bool header_seen = false;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++lineno;
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;
        auto fields = split_csv(line);
        std::string where = std::string(file) + ":" + std::to_string(lineno) + ": ";
        if (!header_seen && fields.size() == 3 && fields[0] == "time") {
            header_seen = true;
            continue;
        }
        header_seen = true;
        if (fields.size() != 3) return where + "expected time,metric,value";
        TracePoint p;
        if (!parse_double(fields[0], p.time))
            return where + "time \"" + std::string(fields[0]) + "\" is not a number of seconds";
        if (fields[1].empty()) return where + "the metric name is empty";
        if (!parse_double(fields[2], p.value))
            return where + "value \"" + std::string(fields[2]) + "\" is not a finite number";
        trace.metrics[std::string(fields[1])].push_back(p);
    }
    return trace;
}

std::variant<Trace, std::string> parse_query_range(const nlohmann::json &doc, std::string_view file,
                                                   const std::string &default_metric) {
    std::string where = std::string(file) + ": ";
    if (doc.value("status", "") != "success") return where + "\"status\" is not \"success\"";
    const auto data = doc.find("data");
    if (data == doc.end() || !data->is_object()) return where + "no \"data\" object";
    if (data->value("resultType", "") != "matrix")
        return where + "data.resultType is not \"matrix\" (use a query_range answer)";
    const auto result = data->find("result");
    if (result == data->end() || !result->is_array()) return where + "no data.result list";
    Trace trace;
    for (std::size_t i = 0; i < result->size(); ++i) {
        const auto &series = (*result)[i];
        std::string at = where + "data.result[" + std::to_string(i) + "]";
        std::string name = default_metric;
        if (series.contains("metric") && series["metric"].is_object()) {
            const auto &m = series["metric"];
            if (m.contains("__name__") && m["__name__"].is_string()) name = m["__name__"];
        }
        if (name.empty())
            return at + ": the series has no __name__; name the metric (--metric NAME)";
        if (trace.metrics.count(name))
            return at + ": a second series for " + name + " (sum the trace per metric)";
        if (!series.contains("values") || !series["values"].is_array())
            return at + ": no \"values\" list";
        auto &points = trace.metrics[name];
        for (std::size_t j = 0; j < series["values"].size(); ++j) {
            const auto &v = series["values"][j];
            std::string vat = at + ".values[" + std::to_string(j) + "]";
            if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_string())
                return vat + ": expected [time, \"value\"]";
            TracePoint p;
            p.time = v[0].get<double>();
            if (!parse_double(v[1].get<std::string>(), p.value))
                return vat + ": \"" + v[1].get<std::string>() + "\" is not a finite number";
            points.push_back(p);
        }
    }
    return trace;
}

}  // namespace

double Trace::start() const {
    double t = std::numeric_limits<double>::infinity();
    for (const auto &[name, points] : metrics) {
        if (!points.empty()) t = std::min(t, points.front().time);
    }
    return t;
}

double Trace::end() const {
    double t = -std::numeric_limits<double>::infinity();
    for (const auto &[name, points] : metrics) {
        if (!points.empty()) t = std::max(t, points.back().time);
    }
    return t;
}

double Trace::at(const std::string &metric, double t) const {
    auto it = metrics.find(metric);
    if (it == metrics.end() || it->second.empty()) return std::nan("");
    const auto &points = it->second;
    auto after = std::upper_bound(points.begin(), points.end(), t,
                                  [](double time, const TracePoint &p) { return time < p.time; });
    if (after == points.begin()) return points.front().value;
    return std::prev(after)->value;
}

std::variant<Trace, std::string> parse_trace(std::string_view text, std::string_view file,
                                             const std::string &default_metric) {
    std::string_view body = trim(text);
    std::variant<Trace, std::string> parsed;
    if (!body.empty() && body.front() == '{') {
        auto doc = nlohmann::json::parse(body, nullptr, false);
        if (doc.is_discarded()) return std::string(file) + ": not valid JSON";
        parsed = parse_query_range(doc, file, default_metric);
    } else {
        parsed = parse_csv(text, file);
    }
    if (auto *e = std::get_if<std::string>(&parsed)) return *e;
    Trace &trace = std::get<Trace>(parsed);
    std::size_t points = 0;
    for (auto &[name, list] : trace.metrics) {
        std::stable_sort(list.begin(), list.end(),
                         [](const TracePoint &a, const TracePoint &b) { return a.time < b.time; });
        points += list.size();
    }
    if (points == 0) return std::string(file) + ": the trace has no points";
    return trace;
}

}  // namespace pulse::hpa
