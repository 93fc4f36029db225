// `pulse-sidecar munin [autoconf|suggest|config]`, or the same binary linked as a munin
// wildcard plugin `pulse_` / `pulse_HOST_PORT` (munin-node runs it with the argument, or
// none to fetch). Reads the module's exporter (env `nginx`, default
// http://127.0.0.1:8080/metrics) and the sidecar's /signals (the plugin name's HOST_PORT, or
// env `sidecar`, default http://127.0.0.1:9145); sidecar/lib/munin_graphs.h makes the graphs.
// docs/monitoring.md shows the installation.
#pragma once

#include <string>
#include <vector>

namespace pulse::sidecar {

// True when the program was started under a munin plugin's name (its basename starts with
// "pulse_").
bool started_as_munin_plugin(const char *argv0);

// Runs the plugin: `plugin_name` is the name it was started under ("pulse_" when called as
// `pulse-sidecar munin`), `args` what munin-node passed. Writes munin's protocol on standard
// output; the exit code.
int run_munin_plugin(const std::string &plugin_name, const std::vector<std::string> &args);

}  // namespace pulse::sidecar
