// `pulse-sidecar run --config FILE` (and the adapter's): extra scrape sources and signals
// defined as PromQL expressions over the sidecar's window of their scrapes. Parsed and
// checked whole before anything starts: every error names the file, the line and the
// setting, and for an expression the position in it. docs/workers.md is the reference.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "promql/ast.h"

namespace pulse::sidecar {

struct SourceConfig {
    std::string name;               // unique; the `source` label of its health metrics
    std::string url;                // http:// or https://
    double interval = 1;            // seconds
    double timeout = 0;             // seconds; at most the interval (0: the interval)
    std::string bearer_token_file;  // optional; read again for every scrape
    std::string tls_ca;             // optional; the CA of an HTTPS target
    int line = 0;                   // where it is defined, for later messages
};

// A Kubernetes object a signal's series is served for, as an Object metric by the adapter:
// the series whose labels include every `match` pair.
struct ObjectAttachment {
    std::string ns;
    std::string resource;  // plural, lowercase: "deployments", "statefulsets", ...
    std::string name;
    std::vector<std::pair<std::string, std::string>> match;
};

struct SignalConfig {
    std::string name;  // a metric name; unique, and none of the built-in nginx signals
    std::string help;
    std::string expr;
    promql::NodePtr parsed;
    std::vector<ObjectAttachment> objects;
    int line = 0;
};

struct SidecarConfig {
    std::vector<SourceConfig> sources;
    std::vector<SignalConfig> signals;
};

struct ConfigError {
    std::string message;  // "workers.yaml:12: signals[1] (pulse_jobs_waiting): expr: 1:7: ..."
};

using ConfigResult = std::variant<SidecarConfig, ConfigError>;

// `file` names the file in the messages.
ConfigResult parse_config(std::string_view yaml, std::string_view file);

}  // namespace pulse::sidecar
