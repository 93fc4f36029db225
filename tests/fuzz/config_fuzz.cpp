// libFuzzer target for the sidecar's config file (sidecar/lib/signal_config.cpp: YAML read
// by yaml-cpp, durations, URLs, PromQL expressions) (tests/fuzz/run.sh runs it).
//
// Checks, beyond "no crash and nothing thrown out": an error is one message that names the
// file ("fuzz.yaml: ..." or "fuzz.yaml:LINE: ..."); a config that parses has what
// signal_config.h promises: unique source and signal names, http(s) URLs, positive
// intervals, timeouts within them, and a parsed tree for every signal's expression.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "signal_config.h"

namespace {

using namespace pulse::sidecar;

[[noreturn]] void broken(const char *what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view yaml(reinterpret_cast<const char *>(data), size);
    const ConfigResult r = parse_config(yaml, "fuzz.yaml");
    if (const auto *e = std::get_if<ConfigError>(&r)) {
        if (!e->message.starts_with("fuzz.yaml:")) broken("an error that does not name the file");
        return 0;
    }
    const SidecarConfig &c = std::get<SidecarConfig>(r);
    std::set<std::string> names;
    for (const SourceConfig &s : c.sources) {
        if (s.name.empty() || !names.insert(s.name).second)
            broken("a source without a unique name");
        if (!s.url.starts_with("http://") && !s.url.starts_with("https://"))
            broken("a source URL that is not http(s)");
        if (!(s.interval > 0) || s.timeout < 0 || s.timeout > s.interval)
            broken("an interval or timeout out of range");
    }
    names.clear();
    for (const SignalConfig &s : c.signals) {
        if (s.name.empty() || !names.insert(s.name).second)
            broken("a signal without a unique name");
        if (!s.parsed) broken("a signal without its parsed expression");
    }
    return 0;
}
