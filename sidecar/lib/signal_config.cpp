#include "signal_config.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <stdexcept>
#include <string>

#include "common/signals.h"
#include "durations.h"
#include "promql/parser.h"

namespace pulse::sidecar {

namespace {

// Thrown inside the parser, caught once in parse_config: the message is complete.
struct Invalid : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Reader {
  public:
    explicit Reader(std::string_view file) : file_(file) {}

    [[noreturn]] void fail(const YAML::Node &at, const std::string &what) const {
        std::string where(file_);
        if (at.Mark().line >= 0) where += ":" + std::to_string(at.Mark().line + 1);
        throw Invalid(where + ": " + what);
    }

    // The keys a mapping may have; anything else is a mistake worth stopping for.
    void only_keys(const YAML::Node &map, std::initializer_list<std::string_view> allowed,
                   const std::string &context) const {
        if (!map.IsMap()) fail(map, context + ": expected a mapping");
        for (const auto &kv : map) {
            auto key = kv.first.as<std::string>();
            bool known = false;
            for (auto a : allowed) known = known || key == a;
            if (!known) {
                std::string list;
                for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
                fail(kv.first, context + ": unknown setting \"" + key + "\" (known: " + list + ")");
            }
        }
    }

    std::string string(const YAML::Node &map, const char *key, const std::string &context,
                       bool required) const {
        const YAML::Node node = map[key];
        if (!node || node.IsNull()) {
            if (required) fail(map, context + ": \"" + key + "\" is required");
            return {};
        }
        if (!node.IsScalar()) fail(node, context + "." + key + ": expected a string");
        return node.as<std::string>();
    }

    double duration(const YAML::Node &map, const char *key, const std::string &context,
                    double fallback) const {
        std::string text = string(map, key, context, false);
        if (text.empty()) return fallback;
        std::string error;
        auto v = parse_duration(text, &error);
        if (!v || *v <= 0) {
            fail(map[key],
                 context + "." + key + ": " + (error.empty() ? "must be above 0" : error));
        }
        return *v;
    }

  private:
    std::string_view file_;
};

bool is_metric_name(std::string_view s) {
    if (s.empty()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

bool is_label_name(std::string_view s) {
    return is_metric_name(s) && s.find(':') == std::string_view::npos;
}

// Source names become label values and log words: keep them plain.
bool is_source_name(std::string_view s) {
    if (s.empty() || s.size() > 63) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// A Kubernetes name (RFC 1123 subdomain) or namespace/resource (RFC 1123 label).
bool is_dns_name(std::string_view s, bool dots) {
    if (s.empty() || s.size() > 253 || s.front() == '-' || s.back() == '-') return false;
    for (char c : s) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (dots && c == '.');
        if (!ok) return false;
    }
    return true;
}

SourceConfig read_source(const Reader &r, const YAML::Node &node, std::size_t index) {
    std::string context = "sources[" + std::to_string(index) + "]";
    r.only_keys(node, {"name", "url", "interval", "timeout", "bearer_token_file", "tls_ca"},
                context);
    SourceConfig s;
    s.line = node.Mark().line + 1;
    s.name = r.string(node, "name", context, true);
    if (!is_source_name(s.name)) {
        r.fail(node["name"],
               context + ".name: \"" + s.name + "\" must be 1-63 letters, digits, \"_\" or \"-\"");
    }
    context += " (" + s.name + ")";
    s.url = r.string(node, "url", context, true);
    if (s.url.rfind("http://", 0) != 0 && s.url.rfind("https://", 0) != 0) {
        r.fail(node["url"], context + ".url: \"" + s.url + "\" is not an http:// or https:// URL");
    }
    s.interval = r.duration(node, "interval", context, 1);
    s.timeout = r.duration(node, "timeout", context, s.interval);
    if (s.timeout > s.interval) {
        r.fail(node["timeout"], context + ".timeout: longer than the interval");
    }
    s.bearer_token_file = r.string(node, "bearer_token_file", context, false);
    s.tls_ca = r.string(node, "tls_ca", context, false);
    if (!s.tls_ca.empty() && s.url.rfind("https://", 0) != 0) {
        r.fail(node["tls_ca"], context + ".tls_ca: given for a URL that is not https://");
    }
    return s;
}

ObjectAttachment read_object(const Reader &r, const YAML::Node &node, const std::string &context) {
    r.only_keys(node, {"namespace", "resource", "name", "match"}, context);
    ObjectAttachment o;
    o.ns = r.string(node, "namespace", context, true);
    o.resource = r.string(node, "resource", context, true);
    o.name = r.string(node, "name", context, true);
    if (!is_dns_name(o.ns, false))
        r.fail(node["namespace"], context + ".namespace: not a namespace name");
    if (!is_dns_name(o.resource, false) || o.resource.back() != 's') {
        r.fail(node["resource"],
               context + ".resource: \"" + o.resource +
                   "\" must be a resource's plural, lowercase name (deployments)");
    }
    if (!is_dns_name(o.name, true)) r.fail(node["name"], context + ".name: not an object name");
    if (const YAML::Node match = node["match"]) {
        if (!match.IsMap()) r.fail(match, context + ".match: expected a mapping of label: value");
        for (const auto &kv : match) {
            auto label = kv.first.as<std::string>();
            if (!is_label_name(label))
                r.fail(kv.first, context + ".match: \"" + label + "\" is not a label name");
            if (!kv.second.IsScalar())
                r.fail(kv.second, context + ".match." + label + ": expected a string");
            o.match.emplace_back(label, kv.second.as<std::string>());
        }
    }
    return o;
}

SignalConfig read_signal(const Reader &r, const YAML::Node &node, std::size_t index) {
    std::string context = "signals[" + std::to_string(index) + "]";
    r.only_keys(node, {"name", "help", "expr", "objects"}, context);
    SignalConfig s;
    s.line = node.Mark().line + 1;
    s.name = r.string(node, "name", context, true);
    if (!is_metric_name(s.name))
        r.fail(node["name"], context + ".name: \"" + s.name + "\" is not a metric name");
    if (common::find_signal(s.name) != nullptr) {
        r.fail(node["name"],
               context + ".name: \"" + s.name + "\" is one of the built-in nginx signals");
    }
    // The sidecar's and the adapter's own families live on the same /metrics.
    for (std::string_view prefix : {"pulse_source_", "pulse_scrape_", "pulse_adapter_"}) {
        if (s.name.rfind(prefix, 0) == 0) {
            r.fail(node["name"], context + ".name: \"" + s.name +
                                     "\" is reserved: names starting " + std::string(prefix) +
                                     " are pulse's own metrics");
        }
    }
    if (s.name == "pulse_draining" || s.name == "pulse_signals_evaluation_seconds") {
        r.fail(node["name"], context + ".name: \"" + s.name + "\" is one of pulse's own metrics");
    }
    context += " (" + s.name + ")";
    s.help = r.string(node, "help", context, false);
    s.expr = r.string(node, "expr", context, true);
    auto parsed = promql::parse(s.expr);
    if (auto *e = std::get_if<promql::ParseError>(&parsed)) {
        r.fail(node["expr"], context + ".expr: " + e->describe(s.expr));
    }
    s.parsed = std::get<promql::NodePtr>(parsed);
    if (const YAML::Node objects = node["objects"]) {
        if (!objects.IsSequence()) r.fail(objects, context + ".objects: expected a list");
        for (std::size_t i = 0; i < objects.size(); ++i) {
            s.objects.push_back(
                read_object(r, objects[i], context + ".objects[" + std::to_string(i) + "]"));
        }
    }
    return s;
}

}  // namespace

ConfigResult parse_config(std::string_view yaml, std::string_view file) {
    Reader r(file);
    try {
        YAML::Node root;
        try {
            root = YAML::Load(std::string(yaml));
        } catch (const YAML::ParserException &e) {
            return ConfigError{std::string(file) + ":" + std::to_string(e.mark.line + 1) + ": " +
                               e.msg};
        }
        SidecarConfig config;
        if (!root || root.IsNull()) return config;  // an empty file: nothing added
        r.only_keys(root, {"sources", "signals"}, "the file");
        std::set<std::string> names;
        if (const YAML::Node sources = root["sources"]) {
            if (!sources.IsSequence()) r.fail(sources, "sources: expected a list");
            for (std::size_t i = 0; i < sources.size(); ++i) {
                SourceConfig s = read_source(r, sources[i], i);
                if (!names.insert(s.name).second) {
                    r.fail(sources[i]["name"], "sources[" + std::to_string(i) + "].name: \"" +
                                                   s.name + "\" is defined twice");
                }
                config.sources.push_back(std::move(s));
            }
        }
        names.clear();
        if (const YAML::Node signals = root["signals"]) {
            if (!signals.IsSequence()) r.fail(signals, "signals: expected a list");
            for (std::size_t i = 0; i < signals.size(); ++i) {
                SignalConfig s = read_signal(r, signals[i], i);
                if (!names.insert(s.name).second) {
                    r.fail(signals[i]["name"], "signals[" + std::to_string(i) + "].name: \"" +
                                                   s.name + "\" is defined twice");
                }
                config.signals.push_back(std::move(s));
            }
        }
        return config;
    } catch (const Invalid &e) {
        return ConfigError{e.what()};
    } catch (const YAML::Exception &e) {
        return ConfigError{std::string(file) + ":" + std::to_string(e.mark.line + 1) + ": " +
                           e.msg};
    }
}

}  // namespace pulse::sidecar
