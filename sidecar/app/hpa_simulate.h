// `pulse-sidecar hpa simulate --hpa HPA.yaml --trace TRACE`: a recorded trace replayed
// through the HPA with the controller's loop (sidecar/lib/hpa/simulate.h), printing a
// summary as JSON and writing the timeline (--csv) and a chart (--svg). docs/hpa.md.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>

namespace pulse::sidecar {

class HpaSimulateCli {
  public:
    // Adds `simulate` under `hpa` (HpaCli::command()).
    explicit HpaSimulateCli(CLI::App &hpa);
    ~HpaSimulateCli();
    HpaSimulateCli(const HpaSimulateCli &) = delete;
    HpaSimulateCli &operator=(const HpaSimulateCli &) = delete;

    bool selected() const;
    int run();  // the exit code: 0 done, 2 bad input (one line naming the file and field)

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pulse::sidecar
