// The sidecar's status page (GET /): one self-contained HTML document, its style and script
// inline, nothing loaded from anywhere else. It shows the pod's signals now (pod and per
// server, with the HPA's targets when given), sparklines of the last hour (GET /history),
// readiness and drain state, scrape health and the last errors, and refreshes itself from
// /signals and /readyz every 2 s. Values are written with textContent only: a server name
// or a label value is never read as markup. docs/monitoring.md describes it.
#pragma once

#include <string>

namespace pulse::sidecar {

struct StatusPage {
    std::string html;    // the whole document
    std::string style;   // the exact text of its <style> element
    std::string script;  // the exact text of its <script> element
};

const StatusPage &status_page();

}  // namespace pulse::sidecar
