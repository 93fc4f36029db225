#include "hpa_cli.h"

#include "hpa_flags.h"

#include <cmath>
#include <charconv>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>

#include "hpa/decide.h"
#include "hpa/decision_json.h"
#include "hpa/spec_yaml.h"
#include "hpa/state_json.h"

namespace pulse::sidecar {
namespace {

using pulse::hpa::ControllerOptions;

bool read_input(const std::string &path, std::string &text) {
    if (path == "-") {
        std::stringstream s;
        s << std::cin.rdbuf();
        text = s.str();
        return true;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) return false;
    std::stringstream s;
    s << in.rdbuf();
    if (in.bad()) return false;
    text = s.str();
    return true;
}

// A --batch line's "options": numbers of seconds or duration strings, over the flags' values.
std::optional<std::string> apply_options(const nlohmann::json &o, ControllerOptions &options) {
    if (!o.is_object()) return std::string("options: must be an object");
    for (auto it = o.begin(); it != o.end(); ++it) {
        const std::string &k = it.key();
        double *field = nullptr;
        if (k == "tolerance") {
            field = &options.tolerance;
        } else if (k == "cpuInitializationPeriod") {
            field = &options.cpu_initialization_period;
        } else if (k == "initialReadinessDelay") {
            field = &options.initial_readiness_delay;
        } else if (k == "downscaleStabilization") {
            field = &options.downscale_stabilization_window;
        } else {
            return "options." + k +
                   ": unknown option (tolerance, cpuInitializationPeriod, initialReadinessDelay, "
                   "downscaleStabilization)";
        }
        const auto &v = it.value();
        if (v.is_number()) {
            double d = v.get<double>();
            if (!std::isfinite(d) || d < 0) return "options." + k + ": must be at least 0";
            *field = d;
        } else if (v.is_string() && k != "tolerance") {
            auto d = controller_duration(v.get<std::string>());
            if (!d)
                return "options." + k + ": \"" + v.get<std::string>() +
                       "\" is not a duration (\"5m0s\", \"30s\", \"300\")";
            *field = *d;
        } else {
            return "options." + k + ": must be a number" +
                   (k == "tolerance" ? "" : " of seconds or a duration");
        }
    }
    return std::nullopt;
}

}  // namespace

struct HpaCli::Impl {
    CLI::App *hpa = nullptr;
    CLI::App *decide = nullptr;
    std::string hpa_file, hpa_name, state_file;
    bool batch = false;
    ControllerOptions options;

    int run_decide();
    int run_batch();
};

HpaCli::HpaCli(CLI::App &app) : impl_(std::make_unique<Impl>()) {
    Impl &s = *impl_;
    s.hpa = app.add_subcommand(
        "hpa",
        "A HorizontalPodAutoscaler's decisions, computed as kube-controller-manager 1.20 "
        "takes them (docs/hpa.md)");
    s.hpa->require_subcommand(1);
    s.decide = s.hpa->add_subcommand(
        "decide",
        "One sync of an HPA: its decision, as JSON, from the HPA object and the state "
        "the controller reads (STATE.json)");
    auto *d = s.decide;
    d->add_option("--hpa", s.hpa_file,
                  "HorizontalPodAutoscaler object, YAML or JSON (autoscaling/v1, v2beta1, v2beta2, "
                  "v2); - for standard input");
    d->add_option("--hpa-name", s.hpa_name,
                  "The HPA's metadata.name, when the --hpa file holds several");
    d->add_option("--state", s.state_file,
                  "STATE.json: time, replicas, pods, metrics, the controller's history; - for "
                  "standard input");
    d->add_flag("--batch", s.batch,
                "Read JSON lines {\"hpa\": ..., \"state\": ..., \"options\": ...} on standard "
                "input and print one decision (or {\"error\": ...}) per line");
    // A bad value is bad input: exit code 2, as for the files.
    add_controller_flags(*d, s.options);
}

HpaCli::~HpaCli() = default;

bool HpaCli::selected() const {
    return impl_->hpa->parsed();
}

CLI::App *HpaCli::command() const {
    return impl_->hpa;
}

int HpaCli::run() {
    try {
        if (impl_->decide->parsed()) return impl_->batch ? impl_->run_batch() : impl_->run_decide();
    } catch (const std::exception &e) {
        std::cerr << "pulse-sidecar hpa: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

int HpaCli::Impl::run_decide() {
    const char *me = "pulse-sidecar hpa decide: ";
    if (hpa_file.empty() || state_file.empty()) {
        std::cerr << me << (hpa_file.empty() ? "--hpa" : "--state")
                  << " is required (or --batch)\n";
        return 2;
    }
    if (hpa_file == "-" && state_file == "-") {
        std::cerr << me << "--hpa and --state cannot both be standard input\n";
        return 2;
    }
    std::string hpa_text, state_text;
    if (!read_input(hpa_file, hpa_text)) {
        std::cerr << me << "--hpa " << hpa_file << ": cannot be read\n";
        return 2;
    }
    if (!read_input(state_file, state_text)) {
        std::cerr << me << "--state " << state_file << ": cannot be read\n";
        return 2;
    }
    auto spec = hpa::parse_hpa(hpa_text, hpa_name);
    if (auto *e = std::get_if<std::string>(&spec)) {
        bool several = e->size() >= 16 && e->compare(e->size() - 16, 16, "pick one by name") == 0;
        std::cerr << me << hpa_file << ": " << *e << (several ? " (--hpa-name)" : "") << "\n";
        return 2;
    }
    auto state = hpa::parse_state(state_text);
    if (auto *e = std::get_if<std::string>(&state)) {
        std::cerr << me << state_file << ": " << *e << "\n";
        return 2;
    }
    auto decision =
        hpa::decide(std::get<hpa::HpaSpec>(spec), std::get<hpa::ClusterState>(state), options);
    std::cout << hpa::decision_json(decision).dump(2) << "\n";
    return 0;
}

int HpaCli::Impl::run_batch() {
    if (!hpa_file.empty() || !state_file.empty() || !hpa_name.empty()) {
        std::cerr << "pulse-sidecar hpa decide: --batch reads the HPAs and states from standard "
                     "input: no --hpa, --hpa-name or --state\n";
        return 2;
    }
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::ordered_json out;
        auto input = nlohmann::json::parse(line, nullptr, false);
        if (input.is_object() && input.contains("id")) out["id"] = input["id"];
        auto error = [&](const std::string &message) {
            out["error"] = message;
            std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n"
                      << std::flush;
        };
        if (input.is_discarded()) {
            error("not a JSON line");
            continue;
        }
        if (!input.is_object()) {
            error("must be an object {\"hpa\": ..., \"state\": ..., \"options\": ...}");
            continue;
        }
        std::optional<std::string> unknown;
        for (auto it = input.begin(); it != input.end(); ++it)
            if (it.key() != "id" && it.key() != "hpa" && it.key() != "state" &&
                it.key() != "options")
                unknown = it.key() + ": unknown field (hpa, state, options, id)";
        if (unknown) {
            error(*unknown);
            continue;
        }
        if (!input.contains("hpa") || !input.contains("state")) {
            error(input.contains("hpa") ? "state: required" : "hpa: required");
            continue;
        }
        ControllerOptions line_options = options;
        if (input.contains("options")) {
            if (auto e = apply_options(input["options"], line_options)) {
                error(*e);
                continue;
            }
        }
        auto spec = hpa::parse_hpa_json(input["hpa"]);
        if (auto *e = std::get_if<std::string>(&spec)) {
            error("hpa: " + *e);
            continue;
        }
        auto state = hpa::parse_state_json(input["state"]);
        if (auto *e = std::get_if<std::string>(&state)) {
            error("state: " + *e);
            continue;
        }
        try {
            auto decision = hpa::decide(std::get<hpa::HpaSpec>(spec),
                                        std::get<hpa::ClusterState>(state), line_options);
            auto decided = hpa::decision_json(decision);
            for (auto it = decided.begin(); it != decided.end(); ++it) out[it.key()] = *it;
        } catch (const std::exception &e) {
            error(std::string("internal error: ") + e.what());
            continue;
        }
        std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n"
                  << std::flush;
    }
    return 0;
}

}  // namespace pulse::sidecar
