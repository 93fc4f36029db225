// What the module's files share: the configuration structs, the per-worker series caches
// hung off them, the one way an exception is stopped before it reaches nginx, and the
// functions one file calls in another.
//
//   ngx_http_pulse_module.cpp        the module, its directives and configuration
//   ngx_http_pulse_count.cpp         the shared zone and counting (POST_READ, LOG handlers)
//   ngx_http_pulse_cache_filter.cpp  the cache-policy header filter
//   ngx_http_pulse_exporter.cpp      the Prometheus exporter's content handler
//
// nginx is C: only the module object has C linkage, everything else lives in pulse::http.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <cstdint>
#include <exception>
#include <span>
#include <string_view>
#include <type_traits>

#include "core/cache_policy.h"
#include "core/labels.h"
#include "core/series_store.h"

extern "C" {
extern ngx_module_t ngx_http_pulse_module;
}

namespace pulse::http {

struct LocationCache;
struct UpstreamCache;
struct pulse_main_conf_t;

// What a pulse_zone's ngx_shm_zone_t carries.
struct pulse_zone_ctx_t {
    pulse::ZoneHeader *header;
    ngx_slab_pool_t *shpool;
    pulse_main_conf_t *pmcf;  // the configuration that declared the zone
    ngx_cycle_t *cycle;       // its cycle: ngx_cycle is still the old one while zones init
};

struct pulse_main_conf_t {
    ngx_shm_zone_t *zone;
    ngx_array_t *bounds;      // double, seconds
    ngx_array_t *thresholds;  // uint64_t, whole milliseconds per bound
    ngx_uint_t max_series;
    ngx_str_t exporter_file;  // where the first pulse_exporter is, for the no-zone error
    ngx_uint_t exporter_line;
    UpstreamCache *upstreams;      // this worker's upstream series, made on first use
    ngx_flag_t cache_policy_used;  // some level says pulse_cache_policy auto
};

struct pulse_srv_conf_t {
    ngx_str_t label;
    std::uint64_t *in_flight;  // this worker's value, resolved on first use
};

struct pulse_loc_conf_t {
    ngx_flag_t metrics;
    ngx_uint_t status_codes;
    ngx_str_t name;
    ngx_flag_t exporter;
    LocationCache *cache;  // this worker's series for this location, made on first use

    ngx_uint_t cache_policy;       // pulse_cache_policy: off or auto
    ngx_flag_t cache_override;     // ... override: replace an upstream's no-store/private/no-cache
    ngx_array_t *cache_rules;      // ngx_str_t pairs: this level's pulse_cache_rule, in order
    ngx_array_t *cache_prefixes;   // ngx_str_t: pulse_cache_versioned_prefix
    ngx_array_t *all_cache_rules;  // inherited rules, then this level's
    pulse::CachePolicy *policy;    // built from all_cache_rules; lives in a pool cleanup
};

enum : ngx_uint_t { PULSE_CACHE_OFF = 0, PULSE_CACHE_AUTO = 1 };
enum : ngx_uint_t { PULSE_STATUS_CLASS = 0, PULSE_STATUS_EXACT = 1 };

// The policy label's values: the classes, and responses whose upstream said no-store,
// private or no-cache, kept as they were.
constexpr std::size_t kPolicyKept = pulse::kAssetClassCount;
constexpr std::size_t kPolicyLabels = pulse::kAssetClassCount + 1;

constexpr unsigned kExactStatuses = 500;  // 100..599

// This worker's values of one location's series, found once and kept (plcf->cache).
struct LocationCache {
    const std::uint64_t *thresholds;  // the histogram bounds in whole milliseconds
    std::size_t threshold_count;
    std::uint64_t *requests[pulse::kMethodCount][pulse::kStatusClassCount];
    std::uint64_t **exact;  // [kMethodCount * kExactStatuses], made on first exact status
    std::uint64_t *duration;
    std::uint64_t *response_bytes;
    std::uint64_t *request_bytes;
    std::uint64_t *websocket;
    std::uint64_t *cache_policy[kPolicyLabels];
};

// nginx allocates the configurations zeroed from its pools and never runs a destructor,
// and a worker's caches are ngx_calloc'd: none of them may need one. (Objects that do,
// like a CachePolicy, live in pool-cleanup storage.) A request keeps no context.
static_assert(std::is_trivially_destructible_v<pulse_main_conf_t> &&
              std::is_trivially_destructible_v<pulse_srv_conf_t> &&
              std::is_trivially_destructible_v<pulse_loc_conf_t> &&
              std::is_trivially_destructible_v<pulse_zone_ctx_t> &&
              std::is_trivially_destructible_v<LocationCache>);

// The worker's slot in every record's values; set by init_process, before any request.
extern std::uint32_t g_slot;
extern bool g_slot_ready;

inline std::string_view view(const ngx_str_t &s) {
    return {reinterpret_cast<const char *>(s.data), s.len};
}

inline pulse_main_conf_t *main_conf(ngx_http_request_t *r) {
    return static_cast<pulse_main_conf_t *>(
        ngx_http_get_module_main_conf(r, ngx_http_pulse_module));
}
inline pulse_srv_conf_t *srv_conf(ngx_http_request_t *r) {
    return static_cast<pulse_srv_conf_t *>(ngx_http_get_module_srv_conf(r, ngx_http_pulse_module));
}
inline pulse_loc_conf_t *loc_conf(ngx_http_request_t *r) {
    return static_cast<pulse_loc_conf_t *>(ngx_http_get_module_loc_conf(r, ngx_http_pulse_module));
}

inline std::span<const double> bounds_of(const pulse_main_conf_t *pmcf) {
    return {static_cast<const double *>(pmcf->bounds->elts), pmcf->bounds->nelts};
}

// ---- exceptions stop here ----------------------------------------------------------------

// Where a caught exception is reported: a request's log, a log at a level (cycle time),
// or the configuration being read (EMERG, with its file and line). Two words, passed in
// registers: a handler that can report costs nothing until it does.
class ErrorSink {
  public:
    ErrorSink(ngx_http_request_t *r) : where_(r), how_(kRequest) {}
    ErrorSink(ngx_log_t *log, ngx_uint_t level = NGX_LOG_ERR) : where_(log), how_(level) {}
    ErrorSink(ngx_conf_t *cf) : where_(cf), how_(kConf) {}

    [[gnu::cold, gnu::noinline]] static void report(ErrorSink sink, const char *what) noexcept {
        if (sink.how_ == kConf) {
            ngx_conf_log_error(NGX_LOG_EMERG, static_cast<ngx_conf_t *>(sink.where_), 0,
                               "pulse: %s", what);
            return;
        }
        ngx_log_t *log = sink.how_ == kRequest
                             ? static_cast<ngx_http_request_t *>(sink.where_)->connection->log
                             : static_cast<ngx_log_t *>(sink.where_);
        ngx_uint_t level = sink.how_ == kRequest ? NGX_LOG_ERR : sink.how_;
        ngx_log_error(level, log, 0, "pulse: %s", what);
    }

  private:
    static constexpr std::uintptr_t kRequest = 0x100, kConf = 0x200;  // else a log level
    void *where_;
    std::uintptr_t how_;
};

// What a function nginx calls answers when it failed: NGX_ERROR (ngx_int_t),
// NGX_CONF_ERROR (a directive or merge: char *), nullptr (any other pointer).
template <typename R>
R failure() {
    if constexpr (std::is_same_v<R, char *>) {
        return static_cast<char *>(NGX_CONF_ERROR);
    } else if constexpr (std::is_pointer_v<R>) {
        return nullptr;
    } else {
        static_assert(std::is_same_v<R, ngx_int_t>, "a handler answers ngx_int_t or a pointer");
        return NGX_ERROR;
    }
}

// Runs `body`; whatever it throws is logged to `sink` and `failed` is returned instead
// (by default failure<R>(): NGX_ERROR for a handler). nginx is C and cannot unwind: every
// function nginx calls (handlers, the filter, directives, configuration and zone
// callbacks) runs its body through here, and so do the cold paths of counting, which
// answer "no counter" instead of failing the request. Free while nothing is thrown. The
// pool cleanups (a gauge's atomic decrement, a destructor) are noexcept instead.
template <typename Body, typename R = std::invoke_result_t<Body &>>
R guarded(ErrorSink sink, Body &&body, std::type_identity_t<R> failed = failure<R>()) noexcept {
    try {
        return body();
    } catch (const std::exception &e) {
        ErrorSink::report(sink, e.what());
    } catch (...) {
        ErrorSink::report(sink, "unknown exception");
    }
    return failed;
}

// ---- across files ------------------------------------------------------------------------

// ngx_http_pulse_count.cpp
ngx_int_t pulse_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_int_t pulse_init_process(ngx_cycle_t *cycle);
ngx_int_t pulse_count_init(ngx_conf_t *cf);  // installs the POST_READ and LOG handlers
LocationCache *location_cache(ngx_http_request_t *r, pulse_loc_conf_t *plcf);
std::uint64_t *resolve(const pulse_main_conf_t *pmcf, pulse::Family family,
                       std::string_view key);  // may throw
void count_websocket(ngx_http_request_t *r, pulse_loc_conf_t *plcf);
void leave_in_flight(ngx_http_request_t *r);
bool process_alive(std::int32_t pid);

// ngx_http_pulse_cache_filter.cpp
ngx_int_t pulse_header_filter_init(ngx_conf_t *cf);
pulse::CachePolicy *build_policy(ngx_conf_t *cf, ngx_array_t *rules, ngx_array_t *prefixes);

// ngx_http_pulse_exporter.cpp
ngx_int_t pulse_exporter_handler(ngx_http_request_t *r);

}  // namespace pulse::http
