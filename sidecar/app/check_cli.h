// `pulse-sidecar check`: a Nagios/Icinga plugin (sidecar/lib/nagios_check.h decides; this
// file fetches). Reads the sidecar's /signals (--sidecar, default) or scrapes the module's
// exporter twice (--nginx) and computes the signals itself; --ready and --drain-state read
// the pod's readiness and drain state. Exit code 0/1/2/3 (OK/WARNING/CRITICAL/UNKNOWN), one
// status line on standard output; a bad command line is UNKNOWN too. docs/monitoring.md.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>

namespace pulse::sidecar {

class CheckCli {
  public:
    explicit CheckCli(CLI::App &app);  // adds `check` to `app`
    ~CheckCli();
    CheckCli(const CheckCli &) = delete;
    CheckCli &operator=(const CheckCli &) = delete;

    bool selected() const;
    int run();
    // A command line that does not parse, as a plugin reports it: UNKNOWN, exit code 3.
    static int usage_error(const CLI::ParseError &e);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pulse::sidecar
