#include "core/exposition.h"

#include "common/ascii_case.h"
#include "common/trim.h"
#include "common/utf8.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace pulse {

std::string_view content_type(Format f) {
    return f == Format::openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                    : "text/plain; version=0.0.4; charset=utf-8";
}

namespace {

using common::iequals;
using common::trim;

double parse_q(std::string_view v) {
    double q = 1;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), q);
    if (ec != std::errc() || end != v.data() + v.size() || !(q >= 0) || q > 1) return 0;
    return q;
}

}  // namespace

Format negotiate_format(std::string_view accept) {
    double best_om = -1, best_text = -1;
    while (!accept.empty()) {
        std::size_t comma = accept.find(',');
        std::string_view item = accept.substr(0, comma);
        accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);

        std::size_t semi = item.find(';');
        std::string_view type = trim(item.substr(0, semi));
        double q = 1;
        std::string_view version;
        while (semi != std::string_view::npos) {
            item = item.substr(semi + 1);
            semi = item.find(';');
            std::string_view param = trim(item.substr(0, semi));
            std::size_t eq = param.find('=');
            if (eq == std::string_view::npos) continue;
            std::string_view key = trim(param.substr(0, eq)), value = trim(param.substr(eq + 1));
            if (iequals(key, "q")) q = parse_q(value);
            if (iequals(key, "version")) version = value;
        }
        if (iequals(type, "application/openmetrics-text")) {
            // We speak OpenMetrics 1.0.0; an explicit request for another version is not us.
            if (version.empty() || version == "1.0.0") best_om = std::max(best_om, q);
        } else if (iequals(type, "text/plain") || iequals(type, "*/*") || iequals(type, "text/*")) {
            best_text = std::max(best_text, q);
        }
    }
    return best_om > 0 && best_om >= best_text ? Format::openmetrics : Format::prometheus_text;
}

void append_escaped_label_value(std::string &out, std::string_view value) {
    while (!value.empty()) {
        char c = value.front();
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            std::size_t n = common::utf8_sequence_length(value);
            if (n == 0) {
                out += "\xef\xbf\xbd";
                n = 1;
            } else {
                out.append(value.substr(0, n));
            }
            value.remove_prefix(n);
            continue;
        }
        value.remove_prefix(1);
    }
}

void append_number(std::string &out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
    } else if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
        out.append(buf, ec == std::errc() ? end : buf);
    }
}

void append_number(std::string &out, std::uint64_t value) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, ec == std::errc() ? end : buf);
}

void ExpositionWriter::family(std::string_view name, std::string_view help, MetricType type) {
    name_.assign(name);
    type_ = type;
    std::string_view family = name;
    if (format_ == Format::openmetrics && type == MetricType::counter &&
        family.ends_with("_total")) {
        family.remove_suffix(6);
    }
    out_ += "# HELP ";
    out_ += family;
    out_ += ' ';
    out_ += help;  // our own constant text: nothing to escape
    out_ += "\n# TYPE ";
    out_ += family;
    out_ += type == MetricType::counter ? " counter\n"
            : type == MetricType::gauge ? " gauge\n"
                                        : " histogram\n";
}

void ExpositionWriter::begin_sample(std::string_view suffix) {
    out_ += name_;
    out_ += suffix;
}

void ExpositionWriter::write_label(bool &first, std::string_view name, std::string_view value) {
    out_ += first ? '{' : ',';
    first = false;
    out_ += name;
    out_ += "=\"";
    append_escaped_label_value(out_, value);
    out_ += '"';
}

void ExpositionWriter::end_sample(bool first, double value) {
    if (!first) out_ += '}';
    out_ += ' ';
    if (value >= 0 && value < 1.8e19 && value == std::floor(value)) {
        append_number(out_, static_cast<std::uint64_t>(value));
    } else {
        append_number(out_, value);
    }
    out_ += '\n';
}

std::string ExpositionWriter::finish() {
    if (format_ == Format::openmetrics) out_ += "# EOF\n";
    return std::move(out_);
}

}  // namespace pulse
