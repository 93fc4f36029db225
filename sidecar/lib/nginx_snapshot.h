// What the sidecar keeps of one scrape of the module: the totals its signals are made
// from, for the pod (all servers) and per server.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "exposition_parser.h"

namespace pulse::sidecar {

// A cumulative histogram: bounds ascending, the last +Inf; counts cumulative.
struct Histogram {
    std::vector<double> bounds;
    std::vector<double> counts;
    double sum = 0;

    double count() const { return counts.empty() ? 0 : counts.back(); }
    bool empty() const { return bounds.empty(); }
    // Adds another histogram bucket by bucket (same bounds; other bounds are merged by value).
    void add(const Histogram &other);
};

struct TrafficTotals {
    double requests = 0;    // nginx_http_requests_total
    double errors = 0;      // the same with status 5xx (class or exact 5NN)
    double in_flight = 0;   // nginx_http_requests_in_flight
    double websockets = 0;  // nginx_http_websocket_connections
    Histogram duration;     // nginx_http_request_duration_seconds, all locations
};

struct NginxSnapshot {
    double time = 0;  // seconds (a monotonic clock), when the scrape finished
    TrafficTotals pod;
    std::map<std::string, TrafficTotals> servers;
    Histogram upstream_response;  // nginx_http_upstream_response_seconds, all upstreams
    double connections_active = 0;
    double connections_limit = 0;
};

// Sums the module's families into a snapshot. Overflow series count for the pod but are
// not a server. Families that are absent leave zeros.
NginxSnapshot summarize(const Exposition &exposition, double time);

}  // namespace pulse::sidecar
