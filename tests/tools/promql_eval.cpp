// promql_eval SAMPLES.json: evaluates PromQL expressions with pulse's parser and evaluator
// (sidecar/lib/promql) over series read from a JSON file, one expression a line, so that
// tests/integration/test_promql_differential.py can compare every answer with a real
// Prometheus 2.42 holding the same samples.
//
// SAMPLES.json: [{"labels": {"__name__": "x", "job": "a"}, "points": [[t_ms, value], ...]}]
// with values numbers or the strings "NaN", "+Inf", "-Inf" and "stale" (Prometheus'
// staleness marker). Labels with an empty value are dropped (Prometheus has no such label).
//
// stdin: lines `TIME_MS<TAB>EXPRESSION`. stdout: one JSON line for each input line:
//   {"resultType":"vector","result":[{"metric":{...},"value":"1.5"}, ...]}
//   {"resultType":"scalar","value":"2"}
//   {"error":"...","pos":N}                     parse (ParseError::describe) or evaluation error
//   {"error":"...","pos":0,"internal":true}     an exception escaped pulse's code (a bug)
// Values are formatted as Prometheus' HTTP API does (Go's strconv.FormatFloat(v, 'f', -1,
// 64)): the shortest decimal that reads back as the same double, never an exponent; "NaN",
// "+Inf", "-Inf". A bad sample file prints {"error": ...} and exits 2; a bad input line
// gets an error line and the next line is read.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "promql/evaluator.h"
#include "promql/parser.h"

namespace {

using nlohmann::json;
namespace pq = pulse::promql;

// Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest round-trip digits (what
// std::to_chars gives without a precision), written out in fixed notation.
std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes
    std::string_view s(buf, static_cast<std::size_t>(end - buf));
    std::string out;
    if (!s.empty() && s.front() == '-') {
        out.push_back('-');
        s.remove_prefix(1);
    }
    // s is "d[.ddd]e[+-]XX"
    std::size_t e = s.find('e');
    if (e == std::string_view::npos) return out.append(s);
    std::string digits;
    for (char c : s.substr(0, e))
        if (c != '.') digits.push_back(c);
    int exponent = 0;
    std::string_view exp_text = s.substr(e + 1);
    if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
    std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
    // the decimal point goes after `point` digits
    long point = static_cast<long>(exponent) + 1;
    long n = static_cast<long>(digits.size());
    if (point <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-point), '0');
        out += digits;
    } else if (point >= n) {
        out += digits;
        out.append(static_cast<std::size_t>(point - n), '0');
    } else {
        out.append(digits, 0, static_cast<std::size_t>(point));
        out.push_back('.');
        out.append(digits, static_cast<std::size_t>(point), std::string::npos);
    }
    return out;
}

std::string dump(const json &j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

struct LoadError {
    std::string message;
};

double parse_sample_value(const json &v, const std::string &where) {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
        const std::string &s = v.get_ref<const std::string &>();
        if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
        if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
        if (s == "-Inf") return -std::numeric_limits<double>::infinity();
        if (s == "stale") return pq::stale_marker();
    }
    throw LoadError{where + ": a value must be a number or \"NaN\", \"+Inf\", \"-Inf\", \"stale\""};
}

std::int64_t parse_sample_time(const json &t, const std::string &where) {
    if (t.is_number_integer()) {
        if (t.is_number_unsigned() &&
            t.get<std::uint64_t>() >
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            throw LoadError{where + ": timestamp out of range"};
        return t.get<std::int64_t>();
    }
    if (t.is_number_float()) {
        double d = t.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15)
            return static_cast<std::int64_t>(d);
    }
    throw LoadError{where + ": a timestamp must be an integer number of milliseconds"};
}

pq::MemoryStorage load_samples(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw LoadError{"cannot open " + path};
    std::stringstream text;
    text << in.rdbuf();
    json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) throw LoadError{path + ": not valid JSON"};
    if (!doc.is_array()) throw LoadError{path + ": expected an array of series"};

    pq::MemoryStorage storage;
    std::set<pq::Labels> seen;
    std::size_t index = 0;
    for (const json &entry : doc) {
        std::string where = path + ": series " + std::to_string(index++);
        if (!entry.is_object()) throw LoadError{where + ": expected an object"};
        auto labels_it = entry.find("labels");
        auto points_it = entry.find("points");
        if (labels_it == entry.end() || !labels_it->is_object())
            throw LoadError{where + ": \"labels\" must be an object"};
        if (points_it == entry.end() || !points_it->is_array())
            throw LoadError{where + ": \"points\" must be an array"};

        pq::Series series;
        for (auto it = labels_it->begin(); it != labels_it->end(); ++it) {  // sorted by name
            if (it.key().empty()) throw LoadError{where + ": empty label name"};
            if (!it.value().is_string())
                throw LoadError{where + ": label " + it.key() + " must be a string"};
            std::string value = it.value().get<std::string>();
            if (!value.empty()) series.labels.emplace_back(it.key(), std::move(value));
        }
        if (!seen.insert(series.labels).second)
            throw LoadError{where + ": the same labels as an earlier series"};

        for (const json &point : *points_it) {
            std::string at = where + ": point " + std::to_string(series.points.size());
            if (!point.is_array() || point.size() != 2)
                throw LoadError{at + ": expected [t_ms, value]"};
            pq::Point p;
            p.t_ms = parse_sample_time(point[0], at);
            p.v = parse_sample_value(point[1], at);
            if (!series.points.empty() && p.t_ms <= series.points.back().t_ms)
                throw LoadError{at + ": timestamps must increase"};
            series.points.push_back(p);
        }
        storage.add(std::move(series));
    }
    return storage;
}

json error_line(const std::string &message, std::size_t pos) {
    return json{{"error", message}, {"pos", pos}};
}

// One evaluation cache per time, shared by every line at that time, as the sidecar shares one
// across its signals: an expression read after another at the same time takes the range
// values the first computed, so the corpus checks those against Prometheus too.
std::map<std::int64_t, std::unique_ptr<pq::EvalCache>> caches;

json answer(const pq::Storage &storage, std::string_view line) {
    std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos)
        return error_line("input line: expected TIME_MS<TAB>EXPRESSION", 0);
    std::string_view time_text = line.substr(0, tab);
    std::string_view expression = line.substr(tab + 1);
    std::int64_t t_ms = 0;
    auto [end, ec] = std::from_chars(time_text.data(), time_text.data() + time_text.size(), t_ms);
    if (ec != std::errc() || end != time_text.data() + time_text.size() || time_text.empty())
        return error_line("input line: bad TIME_MS \"" + std::string(time_text) + "\"", 0);

    try {
        pq::ParseResult parsed = pq::parse(expression);
        if (const auto *err = std::get_if<pq::ParseError>(&parsed))
            return error_line(err->describe(expression), err->pos);
        const pq::NodePtr &root = std::get<pq::NodePtr>(parsed);
        if (!root)
            return json{
                {"error", "internal: parse returned no tree"}, {"pos", 0}, {"internal", true}};

        auto &cache = caches[t_ms];
        if (!cache) cache = std::make_unique<pq::EvalCache>();
        pq::EvalOptions options;
        options.cache = cache.get();
        pq::EvalResult result = pq::evaluate(*root, storage, t_ms, options);
        if (const auto *err = std::get_if<pq::EvalError>(&result))
            return error_line(err->message, err->pos);
        if (const auto *scalar = std::get_if<pq::Scalar>(&result))
            return json{{"resultType", "scalar"}, {"value", format_value(scalar->v)}};
        const auto &vector = std::get<pq::InstantVector>(result);
        json samples = json::array();
        for (const pq::InstantSample &sample : vector) {
            json metric = json::object();
            for (const auto &[name, value] : sample.labels) metric[name] = value;
            samples.push_back(
                json{{"metric", std::move(metric)}, {"value", format_value(sample.v)}});
        }
        return json{{"resultType", "vector"}, {"result", std::move(samples)}};
    } catch (const std::exception &e) {
        return json{{"error", std::string("internal: exception: ") + e.what()},
                    {"pos", 0},
                    {"internal", true}};
    } catch (...) {
        return json{{"error", "internal: unknown exception"}, {"pos", 0}, {"internal", true}};
    }
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::cerr << "usage: promql_eval SAMPLES.json < lines of TIME_MS<TAB>EXPRESSION\n";
        return 2;
    }
    std::ios::sync_with_stdio(false);
    pq::MemoryStorage storage;
    try {
        storage = load_samples(argv[1]);
    } catch (const LoadError &e) {
        std::cout << dump(json{{"error", e.message}}) << std::endl;
        return 2;
    } catch (const std::exception &e) {
        std::cout << dump(json{{"error", std::string("loading samples: ") + e.what()}})
                  << std::endl;
        return 2;
    }

    std::string line;
    while (std::getline(std::cin, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::cout << dump(answer(storage, line)) << std::endl;
    }
    return 0;
}
