// `pulse-sidecar hpa ...`: a HorizontalPodAutoscaler's decisions computed offline as
// kube-controller-manager 1.20 takes them (sidecar/lib/hpa; docs/hpa.md). `hpa decide`
// reads an HPA object and a STATE.json (or, with --batch, JSON lines on standard input) and
// prints the decision as JSON. Exit codes: 0 done, 2 bad input (one line on standard error
// naming the file and the field), 1 anything else.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>

namespace pulse::sidecar {

class HpaCli {
  public:
    // Adds the `hpa` subcommand and its own subcommands to `app`.
    explicit HpaCli(CLI::App &app);
    ~HpaCli();
    HpaCli(const HpaCli &) = delete;
    HpaCli &operator=(const HpaCli &) = delete;

    // `hpa` was on the command line (after the app's parse).
    bool selected() const;
    // Runs the subcommand given; the process' exit code.
    int run();
    // `hpa` itself, for more subcommands beside decide.
    CLI::App *command() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pulse::sidecar
