// ngx_http_pulse_module: counts every request in shared memory and serves the counts in
// the Prometheus text format. nginx glue only; the logic lives in core/.

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>
}

#include <array>
#include <cerrno>
#include <csignal>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "core/buckets.h"
#include "core/cache_policy.h"
#include "core/classify_memo.h"
#include "core/exposition.h"
#include "core/labels.h"
#include "core/render.h"
#include "core/series_store.h"

#define PULSE_VERSION "0.1.0"

namespace {

using pulse::Family;

struct LocationCache;
struct UpstreamCache;

struct pulse_main_conf_t;

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

// The policy label's values: the classes, and responses whose upstream said no-store,
// private or no-cache, kept as they were.
constexpr std::size_t kPolicyKept = pulse::kAssetClassCount;
constexpr std::size_t kPolicyLabels = pulse::kAssetClassCount + 1;

// A request needs no context of its own: a gauge it raised is a pool cleanup whose data
// is the gauge's value, lowered when the request's pool goes, whatever ended the request,
// and found again in the pool's cleanups (internal redirects clear module contexts).

enum : ngx_uint_t { PULSE_STATUS_CLASS = 0, PULSE_STATUS_EXACT = 1 };

constexpr unsigned kExactStatuses = 500;  // 100..599

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

struct UpstreamEntry {
    const ngx_http_upstream_srv_conf_t *key;  // nullptr: an upstream resolved at run time
    std::uint64_t *requests[pulse::kStatusClassCount];
    std::uint64_t **exact;
    std::uint64_t *connect, *header, *response;
};

struct UpstreamCache {
    ngx_uint_t count;
    ngx_uint_t capacity;
    UpstreamEntry *entries;
};

// Set in each worker by init_process; requests are only handled after it.
std::uint32_t g_slot;
bool g_slot_ready;

char *pulse_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_buckets(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_max_series(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_location_name(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_exporter(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_cache_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_cache_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_cache_versioned_prefix(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void *pulse_create_main_conf(ngx_conf_t *cf);
char *pulse_init_main_conf(ngx_conf_t *cf, void *conf);
void *pulse_create_srv_conf(ngx_conf_t *cf);
void *pulse_create_loc_conf(ngx_conf_t *cf);
char *pulse_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
ngx_int_t pulse_postconfiguration(ngx_conf_t *cf);
ngx_int_t pulse_init_process(ngx_cycle_t *cycle);

char *pulse_status_codes(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

ngx_command_t pulse_commands[] = {
    {ngx_string("pulse_zone"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2, pulse_zone,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("pulse_buckets"), NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE, pulse_buckets,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("pulse_max_series"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, pulse_max_series,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("pulse_metrics"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(pulse_loc_conf_t, metrics),
     nullptr},
    {ngx_string("pulse_location_name"), NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, pulse_location_name,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("pulse_status_codes"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     pulse_status_codes, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("pulse_exporter"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, pulse_exporter,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("pulse_cache_policy"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE12,
     pulse_cache_policy, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("pulse_cache_rule"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE2, pulse_cache_rule,
     NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("pulse_cache_versioned_prefix"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_1MORE,
     pulse_cache_versioned_prefix, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    ngx_null_command,
};

ngx_http_module_t pulse_module_ctx = {
    nullptr,                 /* preconfiguration */
    pulse_postconfiguration, /* postconfiguration */
    pulse_create_main_conf,  /* create main configuration */
    pulse_init_main_conf,    /* init main configuration */
    pulse_create_srv_conf,   /* create server configuration */
    nullptr,                 /* merge server configuration */
    pulse_create_loc_conf,   /* create location configuration */
    pulse_merge_loc_conf,    /* merge location configuration */
};

}  // namespace

extern "C" {
ngx_module_t ngx_http_pulse_module = {
    NGX_MODULE_V1,
    &pulse_module_ctx,  /* module context */
    pulse_commands,     /* module directives */
    NGX_HTTP_MODULE,    /* module type */
    nullptr,            /* init master */
    nullptr,            /* init module */
    pulse_init_process, /* init process */
    nullptr,            /* init thread */
    nullptr,            /* exit thread */
    nullptr,            /* exit process */
    nullptr,            /* exit master */
    NGX_MODULE_V1_PADDING,
};
}

namespace {

ngx_http_output_header_filter_pt next_header_filter;

std::string_view view(const ngx_str_t &s) {
    return {reinterpret_cast<const char *>(s.data), s.len};
}

ngx_str_t to_ngx_str(ngx_pool_t *pool, std::string_view s) {
    ngx_str_t out{0, nullptr};
    auto p = static_cast<u_char *>(ngx_pnalloc(pool, s.size() ? s.size() : 1));
    if (p != nullptr) {
        ngx_memcpy(p, s.data(), s.size());
        out.data = p;
        out.len = s.size();
    }
    return out;
}

pulse_main_conf_t *main_conf(ngx_http_request_t *r) {
    return static_cast<pulse_main_conf_t *>(
        ngx_http_get_module_main_conf(r, ngx_http_pulse_module));
}

std::span<const double> bounds_of(const pulse_main_conf_t *pmcf) {
    return {static_cast<const double *>(pmcf->bounds->elts), pmcf->bounds->nelts};
}

std::span<const std::uint64_t> thresholds_of(const pulse_main_conf_t *pmcf) {
    return {static_cast<const std::uint64_t *>(pmcf->thresholds->elts), pmcf->thresholds->nelts};
}

// nginx's slab allocator as the store's arena; the zone lock is held by the caller.
class SlabArena final : public pulse::Arena {
  public:
    explicit SlabArena(ngx_slab_pool_t *pool) : pool_(pool) {}
    void *allocate(std::size_t size) override { return ngx_slab_alloc_locked(pool_, size); }

  private:
    ngx_slab_pool_t *pool_;
};

class ZoneLock {
  public:
    explicit ZoneLock(ngx_slab_pool_t *pool) : pool_(pool) { ngx_shmtx_lock(&pool_->mutex); }
    ~ZoneLock() { ngx_shmtx_unlock(&pool_->mutex); }
    ZoneLock(const ZoneLock &) = delete;
    ZoneLock &operator=(const ZoneLock &) = delete;

  private:
    ngx_slab_pool_t *pool_;
};

// The slow path, once per series and worker: find or make the record under the zone lock
// and return this worker's values in it.
std::uint64_t *resolve(const pulse_main_conf_t *pmcf, Family family, const std::string &key) {
    auto zone = static_cast<pulse_zone_ctx_t *>(pmcf->zone->data);
    ZoneLock lock(zone->shpool);
    SlabArena arena(zone->shpool);
    pulse::SeriesStore store(zone->header);
    pulse::Record *r = store.resolve(arena, family, key, bounds_of(pmcf), pmcf->max_series);
    return r->slot_values(g_slot);
}

inline void observe(std::uint64_t *histogram, std::span<const std::uint64_t> thresholds,
                    std::uint64_t ms) {
    pulse::SeriesStore::add(histogram[pulse::bucket_index(thresholds, ms)], 1);
    pulse::SeriesStore::add(histogram[thresholds.size() + 1], ms);
}

// nginx's methods are bits; the label is found by the bit's position.
constexpr std::array<pulse::Method, 32> kMethodByBit = [] {
    std::array<pulse::Method, 32> table{};
    table.fill(pulse::Method::other);
    auto set = [&](unsigned bit, pulse::Method m) {
        table[static_cast<std::size_t>(__builtin_ctz(bit))] = m;
    };
    set(NGX_HTTP_GET, pulse::Method::get);
    set(NGX_HTTP_HEAD, pulse::Method::head);
    set(NGX_HTTP_POST, pulse::Method::post);
    set(NGX_HTTP_PUT, pulse::Method::put);
    set(NGX_HTTP_DELETE, pulse::Method::del);
    set(NGX_HTTP_PATCH, pulse::Method::patch);
    set(NGX_HTTP_OPTIONS, pulse::Method::options);
#ifdef NGX_HTTP_CONNECT
    set(NGX_HTTP_CONNECT, pulse::Method::connect);
#endif
    set(NGX_HTTP_TRACE, pulse::Method::trace);
    return table;
}();

inline pulse::Method method_of(ngx_http_request_t *r) {
    return r->method ? kMethodByBit[static_cast<std::size_t>(
                           __builtin_ctz(static_cast<unsigned>(r->method)))]
                     : pulse::Method::other;
}

ngx_uint_t status_of(ngx_http_request_t *r) {
    return r->err_status ? r->err_status : r->headers_out.status;
}

// The counter for one (method, status) under a location or an upstream: classes live in
// a fixed table, exact codes in a table made the first time one is needed.
std::uint64_t *status_counter(std::uint64_t *(&classes)[pulse::kStatusClassCount],
                              std::uint64_t **&exact, bool exact_mode, unsigned status,
                              const pulse_main_conf_t *pmcf, Family family,
                              std::initializer_list<std::string_view> prefix, ngx_log_t *log) {
    std::uint64_t **slot;
    if (exact_mode && status >= 100 && status <= 599) {
        if (exact == nullptr) {
            exact = static_cast<std::uint64_t **>(
                ngx_calloc(sizeof(std::uint64_t *) * kExactStatuses, log));
            if (exact == nullptr) return nullptr;
        }
        slot = &exact[status - 100];
    } else {
        slot = &classes[pulse::status_class_index(status)];
    }
    if (*slot == nullptr) {
        std::vector<std::string_view> values(prefix);
        std::string label = pulse::status_label(status, exact_mode);
        values.push_back(label);
        std::string key;
        switch (values.size()) {
            case 2:
                key = pulse::encode_key({values[0], values[1]});
                break;
            default:
                key = pulse::encode_key({values[0], values[1], values[2], values[3]});
                break;
        }
        *slot = resolve(pmcf, family, key);
    }
    return *slot;
}

[[gnu::noinline, gnu::cold]] LocationCache *make_location_cache(ngx_http_request_t *r,
                                                                pulse_loc_conf_t *plcf,
                                                                const pulse_main_conf_t *pmcf,
                                                                const pulse_srv_conf_t *pscf) {
    if (!g_slot_ready) return nullptr;
    auto c = static_cast<LocationCache *>(ngx_calloc(sizeof(LocationCache), r->connection->log));
    if (c == nullptr) return nullptr;
    c->thresholds = static_cast<const std::uint64_t *>(pmcf->thresholds->elts);
    c->threshold_count = pmcf->thresholds->nelts;
    std::string key = pulse::encode_key({view(pscf->label), view(plcf->name)});
    c->duration = resolve(pmcf, Family::request_duration, key);
    c->response_bytes = resolve(pmcf, Family::response_bytes, key);
    c->request_bytes = resolve(pmcf, Family::request_bytes, key);
    plcf->cache = c;
    return c;
}

inline LocationCache *location_cache(ngx_http_request_t *r, pulse_loc_conf_t *plcf,
                                     const pulse_main_conf_t *pmcf, const pulse_srv_conf_t *pscf) {
    return plcf->cache != nullptr ? plcf->cache : make_location_cache(r, plcf, pmcf, pscf);
}

void pulse_in_flight_done(void *data) {
    pulse::SeriesStore::sub(*static_cast<std::uint64_t *>(data), 1);
}

void pulse_websocket_done(void *data) {
    pulse::SeriesStore::sub(*static_cast<std::uint64_t *>(data), 1);
}

ngx_pool_cleanup_t *find_cleanup(ngx_http_request_t *r, ngx_pool_cleanup_pt handler) {
    for (ngx_pool_cleanup_t *cln = r->pool->cleanup; cln != nullptr; cln = cln->next) {
        if (cln->handler == handler) return cln;
    }
    return nullptr;
}

// Takes the request out of the in-flight gauge early (the scrape itself, an upgrade).
void leave_in_flight(ngx_http_request_t *r) {
    if (ngx_pool_cleanup_t *cln = find_cleanup(r, pulse_in_flight_done)) {
        pulse_in_flight_done(cln->data);
        cln->handler = nullptr;  // ngx_destroy_pool skips it
    }
}

[[gnu::noinline, gnu::cold]] std::uint64_t *resolve_in_flight(ngx_http_request_t *r,
                                                              pulse_srv_conf_t *pscf) {
    try {
        pscf->in_flight = resolve(main_conf(r), Family::requests_in_flight,
                                  pulse::encode_key({view(pscf->label)}));
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "pulse: %s", e.what());
    }
    return pscf->in_flight;
}

// POST_READ: the request is read; it is in flight until its pool is freed.
ngx_int_t pulse_post_read_handler(ngx_http_request_t *r) {
    if (!g_slot_ready) return NGX_DECLINED;
    auto plcf =
        static_cast<pulse_loc_conf_t *>(ngx_http_get_module_loc_conf(r, ngx_http_pulse_module));
    if (!plcf->metrics) return NGX_DECLINED;
    auto pscf =
        static_cast<pulse_srv_conf_t *>(ngx_http_get_module_srv_conf(r, ngx_http_pulse_module));
    std::uint64_t *in_flight = pscf->in_flight;
    if (in_flight == nullptr && (in_flight = resolve_in_flight(r, pscf)) == nullptr)
        return NGX_DECLINED;
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == nullptr) return NGX_DECLINED;
    cln->handler = pulse_in_flight_done;
    cln->data = in_flight;
    pulse::SeriesStore::add(*in_flight, 1);
    return NGX_DECLINED;
}

void count_upstreams(ngx_http_request_t *r, pulse_main_conf_t *pmcf, bool exact) {
    if (r->upstream_states == nullptr || r->upstream_states->nelts == 0) return;
    const ngx_http_upstream_srv_conf_t *uscf = r->upstream ? r->upstream->upstream : nullptr;

    UpstreamCache *cache = pmcf->upstreams;
    if (cache == nullptr) {
        cache = static_cast<UpstreamCache *>(ngx_calloc(sizeof(UpstreamCache), r->connection->log));
        if (cache == nullptr) return;
        pmcf->upstreams = cache;
    }
    UpstreamEntry *entry = nullptr;
    for (ngx_uint_t i = 0; i < cache->count; ++i) {
        if (cache->entries[i].key == uscf) {
            entry = &cache->entries[i];
            break;
        }
    }
    if (entry == nullptr) {
        if (cache->count == cache->capacity) {
            ngx_uint_t capacity = cache->capacity ? cache->capacity * 2 : 8;
            auto entries = static_cast<UpstreamEntry *>(
                ngx_calloc(sizeof(UpstreamEntry) * capacity, r->connection->log));
            if (entries == nullptr) return;
            if (cache->count)
                ngx_memcpy(entries, cache->entries, sizeof(UpstreamEntry) * cache->count);
            ngx_free(cache->entries);
            cache->entries = entries;
            cache->capacity = capacity;
        }
        entry = &cache->entries[cache->count];
        // Upstreams resolved at run time (proxy_pass with variables) could carry a
        // client-chosen host: they share one label.
        std::string name = "(dynamic)";
        if (uscf != nullptr) {
            name.assign(view(uscf->host));
            if (uscf->port != 0) name += ":" + std::to_string(uscf->port);
        }
        std::string key = pulse::encode_key({name});
        entry->key = uscf;
        entry->connect = resolve(pmcf, Family::upstream_connect, key);
        entry->header = resolve(pmcf, Family::upstream_header, key);
        entry->response = resolve(pmcf, Family::upstream_response, key);
        cache->count++;
    }

    std::string name;  // only built when a status series is new
    auto thresholds = thresholds_of(pmcf);
    auto states = static_cast<ngx_http_upstream_state_t *>(r->upstream_states->elts);
    for (ngx_uint_t i = 0; i < r->upstream_states->nelts; ++i) {
        const ngx_http_upstream_state_t &s = states[i];
        if (s.peer == nullptr) continue;  // a separator between upstream groups
        auto status = static_cast<unsigned>(s.status);
        std::uint64_t **slot_exact = entry->exact;
        bool known = exact && status >= 100 && status <= 599
                         ? slot_exact != nullptr && slot_exact[status - 100] != nullptr
                         : entry->requests[pulse::status_class_index(status)] != nullptr;
        if (!known && name.empty()) {
            name = "(dynamic)";
            if (uscf != nullptr) {
                name.assign(view(uscf->host));
                if (uscf->port != 0) name += ":" + std::to_string(uscf->port);
            }
        }
        std::uint64_t *counter =
            status_counter(entry->requests, entry->exact, exact, status, pmcf,
                           Family::upstream_requests, {name}, r->connection->log);
        if (counter != nullptr) pulse::SeriesStore::add(*counter, 1);
        if (s.connect_time != static_cast<ngx_msec_t>(-1))
            observe(entry->connect, thresholds, s.connect_time);
        if (s.header_time != static_cast<ngx_msec_t>(-1))
            observe(entry->header, thresholds, s.header_time);
        if (s.response_time != static_cast<ngx_msec_t>(-1))
            observe(entry->response, thresholds, s.response_time);
    }
}

// The first request of a location, or of a (method, status), in this worker: find or
// make the series and keep them in the location's cache.
[[gnu::noinline, gnu::cold]] std::uint64_t *request_counter_slow(ngx_http_request_t *r,
                                                                 pulse_loc_conf_t *plcf,
                                                                 pulse::Method method,
                                                                 unsigned status) {
    try {
        pulse_main_conf_t *pmcf = main_conf(r);
        auto pscf =
            static_cast<pulse_srv_conf_t *>(ngx_http_get_module_srv_conf(r, ngx_http_pulse_module));
        LocationCache *c = location_cache(r, plcf, pmcf, pscf);
        if (c == nullptr) return nullptr;
        bool exact = plcf->status_codes == PULSE_STATUS_EXACT;
        auto m = static_cast<std::size_t>(method);
        if (exact && c->exact == nullptr) {
            c->exact = static_cast<std::uint64_t **>(
                ngx_calloc(sizeof(std::uint64_t *) * kExactStatuses * pulse::kMethodCount,
                           r->connection->log));
            if (c->exact == nullptr) return nullptr;
        }
        std::uint64_t **table = exact ? c->exact + m * kExactStatuses : nullptr;
        return status_counter(c->requests[m], table, exact, status, pmcf, Family::requests,
                              {view(pscf->label), view(plcf->name), pulse::method_label(method)},
                              r->connection->log);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "pulse: %s", e.what());
        return nullptr;
    }
}

[[gnu::noinline]] void count_upstreams_safely(ngx_http_request_t *r, pulse_loc_conf_t *plcf) {
    try {
        count_upstreams(r, main_conf(r), plcf->status_codes == PULSE_STATUS_EXACT);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "pulse: %s", e.what());
    }
}

// LOG: the request is done; count it. After the first request of each kind this is a
// few loads and atomic adds: no lock, no allocation, no search.
ngx_int_t pulse_log_handler(ngx_http_request_t *r) {
    auto plcf =
        static_cast<pulse_loc_conf_t *>(ngx_http_get_module_loc_conf(r, ngx_http_pulse_module));
    if (!plcf->metrics) return NGX_OK;

    auto status = static_cast<unsigned>(status_of(r));
    pulse::Method method = method_of(r);
    auto m = static_cast<std::size_t>(method);
    LocationCache *c = plcf->cache;
    std::uint64_t *counter = nullptr;
    if (c != nullptr) {
        if (plcf->status_codes != PULSE_STATUS_EXACT || status - 100u >= kExactStatuses) {
            counter = c->requests[m][pulse::status_class_index(status)];
        } else if (c->exact != nullptr) {
            counter = c->exact[m * kExactStatuses + (status - 100u)];
        }
    }
    if (counter == nullptr) {
        counter = request_counter_slow(r, plcf, method, status);
        if (counter == nullptr) return NGX_OK;
        c = plcf->cache;
    }
    pulse::SeriesStore::add(*counter, 1);

    // A websocket's "duration" is its whole session: it would swamp every latency
    // quantile, so upgraded requests stay out of the histogram.
    if (status != NGX_HTTP_SWITCHING_PROTOCOLS) {
        ngx_time_t *tp = ngx_timeofday();
        ngx_msec_int_t ms = (tp->sec - r->start_sec) * 1000 + (tp->msec - r->start_msec);
        observe(c->duration, {c->thresholds, c->threshold_count},
                static_cast<std::uint64_t>(ngx_max(ms, 0)));
    }
    pulse::SeriesStore::add(*c->response_bytes, static_cast<std::uint64_t>(r->connection->sent));
    pulse::SeriesStore::add(*c->request_bytes, static_cast<std::uint64_t>(r->request_length));

    if (r->upstream_states != nullptr && r->upstream_states->nelts != 0)
        count_upstreams_safely(r, plcf);
    return NGX_OK;
}

// An upgraded (websocket) connection is open from its 101 until the request's pool is
// freed; it leaves the in-flight gauge for the websocket gauge.
[[gnu::noinline, gnu::cold]] void count_websocket(ngx_http_request_t *r, pulse_loc_conf_t *plcf) {
    try {
        auto pscf =
            static_cast<pulse_srv_conf_t *>(ngx_http_get_module_srv_conf(r, ngx_http_pulse_module));
        LocationCache *c = location_cache(r, plcf, main_conf(r), pscf);
        if (c == nullptr || find_cleanup(r, pulse_websocket_done) != nullptr) return;
        if (c->websocket == nullptr) {
            c->websocket = resolve(main_conf(r), Family::websocket_connections,
                                   pulse::encode_key({view(pscf->label), view(plcf->name)}));
        }
        ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == nullptr) return;
        cln->handler = pulse_websocket_done;
        cln->data = c->websocket;
        pulse::SeriesStore::add(*c->websocket, 1);
        leave_in_flight(r);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "pulse: %s", e.what());
    }
}

// ---- cache policy ----------------------------------------------------------------------

// The statuses nginx's `expires` applies to.
bool cacheable_status(ngx_uint_t status) {
    switch (status) {
        case NGX_HTTP_OK:
        case NGX_HTTP_CREATED:
        case NGX_HTTP_NO_CONTENT:
        case NGX_HTTP_PARTIAL_CONTENT:
        case NGX_HTTP_MOVED_PERMANENTLY:
        case NGX_HTTP_MOVED_TEMPORARILY:
        case NGX_HTTP_SEE_OTHER:
        case NGX_HTTP_NOT_MODIFIED:
        case NGX_HTTP_TEMPORARY_REDIRECT:
        case NGX_HTTP_PERMANENT_REDIRECT:
            return true;
        default:
            return false;
    }
}

// A Cache-Control already on the response (the upstream's, or add_header's) that
// forbids caching. nginx 1.23 turned headers_out.cache_control from an array of
// pointers into a linked list of header entries.
bool response_forbids_caching(ngx_http_request_t *r) {
#if (nginx_version >= 1023000)
    for (ngx_table_elt_t *h = r->headers_out.cache_control; h != nullptr; h = h->next) {
        if (h->hash != 0 && pulse::cache_control_forbids_caching(view(h->value))) return true;
    }
#else
    auto ccp = static_cast<ngx_table_elt_t **>(r->headers_out.cache_control.elts);
    for (ngx_uint_t i = 0; ccp != nullptr && i < r->headers_out.cache_control.nelts; ++i) {
        if (ccp[i]->hash != 0 && pulse::cache_control_forbids_caching(view(ccp[i]->value)))
            return true;
    }
#endif
    return false;
}

// Leaves exactly one Cache-Control line, with `value`, whatever expires, add_header or
// the upstream put there before, as nginx's own expires does.
ngx_int_t set_cache_control(ngx_http_request_t *r, const ngx_str_t &value) {
    ngx_table_elt_t *cc;
#if (nginx_version >= 1023000)
    cc = r->headers_out.cache_control;
    if (cc == nullptr) {
        cc = static_cast<ngx_table_elt_t *>(ngx_list_push(&r->headers_out.headers));
        if (cc == nullptr) return NGX_ERROR;
        ngx_str_set(&cc->key, "Cache-Control");
        r->headers_out.cache_control = cc;
    } else {
        for (ngx_table_elt_t *h = cc->next; h != nullptr; h = h->next) h->hash = 0;
    }
    cc->next = nullptr;
#else
    auto ccp = static_cast<ngx_table_elt_t **>(r->headers_out.cache_control.elts);
    if (ccp == nullptr) {
        if (ngx_array_init(&r->headers_out.cache_control, r->pool, 1, sizeof(ngx_table_elt_t *)) !=
            NGX_OK) {
            return NGX_ERROR;
        }
        cc = static_cast<ngx_table_elt_t *>(ngx_list_push(&r->headers_out.headers));
        if (cc == nullptr) return NGX_ERROR;
        ngx_str_set(&cc->key, "Cache-Control");
        ccp = static_cast<ngx_table_elt_t **>(ngx_array_push(&r->headers_out.cache_control));
        if (ccp == nullptr) return NGX_ERROR;
        *ccp = cc;
    } else {
        for (ngx_uint_t i = 1; i < r->headers_out.cache_control.nelts; ++i) ccp[i]->hash = 0;
        r->headers_out.cache_control.nelts = 1;
        cc = ccp[0];
    }
#endif
    cc->hash = 1;
    cc->value = value;
    return NGX_OK;
}

// Expires `max_age` seconds ahead, or in the past for no-cache. Formatting a date is the
// dear part, so each worker keeps the last few it wrote: one per lifetime and second.
ngx_int_t set_expires(ngx_http_request_t *r, const std::optional<std::int64_t> &max_age) {
    ngx_table_elt_t *e = r->headers_out.expires;
    if (e == nullptr) {
        e = static_cast<ngx_table_elt_t *>(ngx_list_push(&r->headers_out.headers));
        if (e == nullptr) return NGX_ERROR;
        ngx_str_set(&e->key, "Expires");
#if (nginx_version >= 1023000)
        e->next = nullptr;
#endif
        r->headers_out.expires = e;
    }
    e->hash = 1;
    if (!max_age) {
        ngx_str_set(&e->value, "Thu, 01 Jan 1970 00:00:01 GMT");
        return NGX_OK;
    }
    struct Formatted {
        time_t at;
        std::int64_t max_age;
        u_char text[sizeof("Mon, 28 Sep 1970 06:00:00 GMT")];
    };
    static Formatted recent[4];
    static unsigned next_slot;
    time_t now = ngx_time();
    Formatted *f = nullptr;
    for (Formatted &c : recent) {
        if (c.at == now && c.max_age == *max_age) f = &c;
    }
    if (f == nullptr) {
        f = &recent[next_slot++ % std::size(recent)];
        f->at = now;
        f->max_age = *max_age;
        ngx_http_time(f->text, now + static_cast<time_t>(*max_age));
    }
    // The header may point into the worker's table: header filters run one request at a
    // time and nginx writes the header out before this filter chain returns, while a
    // slot is only rewritten for another lifetime or another second.
    e->value.data = f->text;
    e->value.len = sizeof(Formatted::text) - 1;
    return NGX_OK;
}

[[gnu::noinline, gnu::cold]] std::uint64_t *resolve_policy_counter(ngx_http_request_t *r,
                                                                   pulse_loc_conf_t *plcf,
                                                                   std::size_t label) {
    try {
        pulse_main_conf_t *pmcf = main_conf(r);
        auto pscf =
            static_cast<pulse_srv_conf_t *>(ngx_http_get_module_srv_conf(r, ngx_http_pulse_module));
        LocationCache *c = location_cache(r, plcf, pmcf, pscf);
        if (c == nullptr) return nullptr;
        std::string_view policy =
            label == kPolicyKept ? std::string_view("upstream")
                                 : pulse::asset_class_label(static_cast<pulse::AssetClass>(label));
        c->cache_policy[label] =
            resolve(pmcf, Family::cache_policy_responses,
                    pulse::encode_key({view(pscf->label), view(plcf->name), policy}));
        return c->cache_policy[label];
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "pulse: %s", e.what());
        return nullptr;
    }
}

void count_policy(ngx_http_request_t *r, pulse_loc_conf_t *plcf, std::size_t label) {
    if (!plcf->metrics || !g_slot_ready) return;
    std::uint64_t *counter = plcf->cache != nullptr ? plcf->cache->cache_policy[label] : nullptr;
    if (counter == nullptr && (counter = resolve_policy_counter(r, plcf, label)) == nullptr) return;
    pulse::SeriesStore::add(*counter, 1);
}

ngx_int_t apply_cache_policy(ngx_http_request_t *r, pulse_loc_conf_t *plcf) {
    ngx_uint_t status = r->headers_out.status;
    auto untouched = static_cast<std::size_t>(pulse::AssetClass::untouched);
    if (!cacheable_status(status)) {
        count_policy(r, plcf, untouched);  // errors never get a lifetime
        return NGX_OK;
    }
    if (!plcf->cache_override && response_forbids_caching(r)) {
        count_policy(r, plcf, kPolicyKept);
        return NGX_OK;
    }
    std::string_view uri = view(r->uri);
    // A 304 has no content type of its own, and a redirect's is that of its little page
    // about the redirect: their URL decides.
    bool by_url = status == NGX_HTTP_NOT_MODIFIED || (status >= 301 && status <= 308);
    std::string_view type = by_url ? std::string_view{} : view(r->headers_out.content_type);
    std::string_view args = view(r->args);
    pulse::StaticKind kind = pulse::StaticKind::none;
    std::string_view ext;
    pulse::AssetClass cls;
    // Worker-private (workers are single-threaded); 100 KiB, made on first use.
    static pulse::ClassifyMemo *memo = new (std::nothrow) pulse::ClassifyMemo();
    if (const pulse::ClassifyMemo::Result *known =
            memo ? memo->find(plcf->policy, uri, args, type) : nullptr) {
        cls = known->cls;
        kind = known->kind;
        ext = uri.substr(uri.size() - known->ext_size);
    } else {
        cls = pulse::classify(uri, args, type, plcf->policy->versioned_prefixes, &kind, &ext);
        if (memo != nullptr) {
            memo->store(plcf->policy, uri, args, type,
                        {cls, kind, static_cast<std::uint16_t>(ext.size())});
        }
    }
    // A temporary redirect may point elsewhere tomorrow: revalidate it, however its URL looks.
    if (cls != pulse::AssetClass::untouched &&
        (status == NGX_HTTP_MOVED_TEMPORARILY || status == NGX_HTTP_SEE_OTHER ||
         status == NGX_HTTP_TEMPORARY_REDIRECT)) {
        cls = pulse::AssetClass::document;
    }
    const pulse::CacheHeader *h = plcf->policy->header_for(cls, kind, ext);
    if (h == nullptr) {
        count_policy(r, plcf, untouched);
        return NGX_OK;
    }
    ngx_str_t value{h->cache_control.size(), (u_char *)h->cache_control.data()};
    if (set_cache_control(r, value) != NGX_OK || set_expires(r, h->max_age) != NGX_OK)
        return NGX_ERROR;
    // An extension rule can give a lifetime to a file of no class ("pdf 1d"): it is then
    // counted with the static files it is treated as.
    if (cls == pulse::AssetClass::untouched) cls = pulse::AssetClass::static_asset;
    count_policy(r, plcf, static_cast<std::size_t>(cls));
    return NGX_OK;
}

ngx_int_t pulse_header_filter(ngx_http_request_t *r) {
    auto plcf =
        static_cast<pulse_loc_conf_t *>(ngx_http_get_module_loc_conf(r, ngx_http_pulse_module));
    if (r == r->main) {
        if (r->headers_out.status == NGX_HTTP_SWITCHING_PROTOCOLS && g_slot_ready &&
            plcf->metrics) {
            count_websocket(r, plcf);
        }
        if (plcf->cache_policy == PULSE_CACHE_AUTO && apply_cache_policy(r, plcf) != NGX_OK) {
            return NGX_ERROR;
        }
    }
    return next_header_filter(r);
}

bool process_alive(std::int32_t pid) {
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

std::string render_exposition(ngx_http_request_t *r, pulse::Format format) {
    pulse_main_conf_t *pmcf = main_conf(r);
    auto zone = static_cast<pulse_zone_ctx_t *>(pmcf->zone->data);
    pulse::SeriesStore store(zone->header);

    pulse::RenderInputs in;
    in.format = format;
    in.bounds = bounds_of(pmcf);
    in.live_slots.resize(store.slot_count());
    for (std::uint32_t s = 0; s < store.slot_count(); ++s) {
        in.live_slots[s] = process_alive(store.slot_owner(s));
    }
#if (NGX_STAT_STUB)
    in.connections =
        pulse::ConnectionStats{*ngx_stat_accepted, *ngx_stat_handled, *ngx_stat_active,
                               *ngx_stat_reading,  *ngx_stat_writing, *ngx_stat_waiting};
#endif
    auto ccf =
        reinterpret_cast<ngx_core_conf_t *>(ngx_get_conf(ngx_cycle->conf_ctx, ngx_core_module));
    auto ecf = static_cast<ngx_event_conf_t *>(
        ngx_event_get_conf(ngx_cycle->conf_ctx, ngx_event_core_module));
    in.connection_limit = static_cast<std::uint64_t>(ecf->connections) *
                          static_cast<std::uint64_t>(ccf->worker_processes);
    in.series_limit = pmcf->max_series;
    std::uint64_t free_bytes = static_cast<std::uint64_t>(zone->shpool->pfree) * ngx_pagesize;
    in.shm_free_bytes = free_bytes;
    in.shm_used_bytes = pmcf->zone->shm.size > free_bytes ? pmcf->zone->shm.size - free_bytes : 0;
    in.module_version = PULSE_VERSION;
    in.server_version = NGINX_VERSION;
    return pulse::render(store, in);
}

ngx_int_t pulse_exporter_handler(ngx_http_request_t *r) {
    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) return NGX_HTTP_NOT_ALLOWED;
    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) return rc;

    // The scrape is not one of the requests it reports as in flight.
    leave_in_flight(r);

    std::string text;
    pulse::Format format = pulse::Format::prometheus_text;
    try {
        if (r->headers_in.headers.part.nelts) {
            for (ngx_list_part_t *part = &r->headers_in.headers.part; part; part = part->next) {
                auto h = static_cast<ngx_table_elt_t *>(part->elts);
                for (ngx_uint_t i = 0; i < part->nelts; ++i) {
                    if (h[i].key.len == 6 &&
                        ngx_strncasecmp(h[i].key.data, (u_char *)"accept", 6) == 0) {
                        format = pulse::negotiate_format(view(h[i].value));
                    }
                }
            }
        }
        text = render_exposition(r, format);
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "pulse: rendering failed: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    std::string_view type = pulse::content_type(format);
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = static_cast<off_t>(text.size());
    r->headers_out.content_type.len = type.size();
    r->headers_out.content_type.data = (u_char *)type.data();
    // The MIME type without its parameters, as gzip_types and the charset filter match it.
    r->headers_out.content_type_len = std::min(type.find(';'), type.size());
    r->headers_out.content_type_lowcase = nullptr;

    if (r->method == NGX_HTTP_HEAD) {
        rc = ngx_http_send_header(r);
        return rc;
    }
    ngx_buf_t *b = ngx_create_temp_buf(r->pool, text.size() ? text.size() : 1);
    if (b == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    b->last = ngx_cpymem(b->last, text.data(), text.size());
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    ngx_chain_t out{b, nullptr};

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) return rc;
    return ngx_http_output_filter(r, &out);
}

// ---- configuration -------------------------------------------------------------------

void *pulse_create_main_conf(ngx_conf_t *cf) {
    auto pmcf = static_cast<pulse_main_conf_t *>(ngx_pcalloc(cf->pool, sizeof(pulse_main_conf_t)));
    if (pmcf == nullptr) return nullptr;
    pmcf->max_series = NGX_CONF_UNSET_UINT;
    return pmcf;
}

char *pulse_init_main_conf(ngx_conf_t *cf, void *conf) {
    auto pmcf = static_cast<pulse_main_conf_t *>(conf);
    ngx_conf_init_uint_value(pmcf->max_series, 4096);
    if (pmcf->bounds == nullptr) {
        pmcf->bounds =
            ngx_array_create(cf->pool, std::size(pulse::kDefaultBuckets), sizeof(double));
        if (pmcf->bounds == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
        for (double b : pulse::kDefaultBuckets) {
            auto p = static_cast<double *>(ngx_array_push(pmcf->bounds));
            if (p == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
            *p = b;
        }
    }
    try {
        auto ms = pulse::millisecond_thresholds(bounds_of(pmcf));
        pmcf->thresholds = ngx_array_create(cf->pool, ms.size(), sizeof(std::uint64_t));
        if (pmcf->thresholds == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
        for (auto v : ms) {
            auto p = static_cast<std::uint64_t *>(ngx_array_push(pmcf->thresholds));
            if (p == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
            *p = v;
        }
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse: %s", e.what());
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

void *pulse_create_srv_conf(ngx_conf_t *cf) {
    return ngx_pcalloc(cf->pool, sizeof(pulse_srv_conf_t));
}

void *pulse_create_loc_conf(ngx_conf_t *cf) {
    auto plcf = static_cast<pulse_loc_conf_t *>(ngx_pcalloc(cf->pool, sizeof(pulse_loc_conf_t)));
    if (plcf == nullptr) return nullptr;
    plcf->metrics = NGX_CONF_UNSET;
    plcf->status_codes = NGX_CONF_UNSET_UINT;
    plcf->exporter = NGX_CONF_UNSET;
    plcf->cache_policy = NGX_CONF_UNSET_UINT;
    plcf->cache_override = NGX_CONF_UNSET;
    return plcf;
}

void destroy_policy(void *data) {
    static_cast<pulse::CachePolicy *>(data)->~CachePolicy();
}

// Builds a policy from rule pairs in the configuration pool; the pool's cleanup runs its
// destructor.
pulse::CachePolicy *build_policy(ngx_conf_t *cf, ngx_array_t *rules, ngx_array_t *prefixes) {
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(cf->pool, sizeof(pulse::CachePolicy));
    if (cln == nullptr) return nullptr;
    auto policy = new (cln->data) pulse::CachePolicy();
    cln->handler = destroy_policy;
    if (rules != nullptr) {
        auto pairs = static_cast<ngx_str_t *>(rules->elts);
        for (ngx_uint_t i = 0; i + 1 < rules->nelts; i += 2) {
            if (auto err = policy->add_rule(view(pairs[i]), view(pairs[i + 1]))) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_cache_rule: %s", err->c_str());
                return nullptr;
            }
        }
    }
    if (prefixes != nullptr) {
        policy->versioned_prefixes.clear();
        auto p = static_cast<ngx_str_t *>(prefixes->elts);
        for (ngx_uint_t i = 0; i < prefixes->nelts; ++i)
            policy->versioned_prefixes.emplace_back(view(p[i]));
    }
    return policy;
}

// Rules add up from http to location (a later one wins); versioned prefixes are replaced
// by a level that names its own.
char *merge_cache_policy(ngx_conf_t *cf, pulse_loc_conf_t *prev, pulse_loc_conf_t *conf) {
    ngx_conf_merge_uint_value(conf->cache_policy, prev->cache_policy, PULSE_CACHE_OFF);
    ngx_conf_merge_value(conf->cache_override, prev->cache_override, 0);
    if (prev->all_cache_rules == nullptr) prev->all_cache_rules = prev->cache_rules;

    bool own = conf->cache_rules != nullptr || conf->cache_prefixes != nullptr;
    if (conf->cache_prefixes == nullptr) conf->cache_prefixes = prev->cache_prefixes;
    if (conf->cache_rules == nullptr) {
        conf->all_cache_rules = prev->all_cache_rules;
    } else if (prev->all_cache_rules == nullptr) {
        conf->all_cache_rules = conf->cache_rules;
    } else {
        conf->all_cache_rules = ngx_array_create(
            cf->pool, prev->all_cache_rules->nelts + conf->cache_rules->nelts, sizeof(ngx_str_t));
        if (conf->all_cache_rules == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
        for (ngx_array_t *from : {prev->all_cache_rules, conf->cache_rules}) {
            auto v = static_cast<ngx_str_t *>(ngx_array_push_n(conf->all_cache_rules, from->nelts));
            if (v == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
            ngx_memcpy(v, from->elts, from->nelts * sizeof(ngx_str_t));
        }
    }
    if (!own && prev->policy != nullptr) {
        conf->policy = prev->policy;
    } else if (conf->cache_policy == PULSE_CACHE_AUTO || own) {
        try {
            conf->policy = build_policy(cf, conf->all_cache_rules, conf->cache_prefixes);
        } catch (const std::exception &e) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_cache_policy: %s", e.what());
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        if (conf->policy == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

char *pulse_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child) {
    auto prev = static_cast<pulse_loc_conf_t *>(parent);
    auto conf = static_cast<pulse_loc_conf_t *>(child);
    // Scrapes are not traffic: in a location that says pulse_exporter, pulse_metrics is off
    // unless that location itself says on (one at the server or http level does not reach
    // it). Its `if` and `limit_except` blocks and nested locations inherit it from here.
    // `exporter` is still this location's own setting: it is merged below.
    if (conf->exporter == 1 && conf->metrics == NGX_CONF_UNSET) conf->metrics = 0;
    ngx_conf_merge_value(conf->metrics, prev->metrics, 1);
    ngx_conf_merge_uint_value(conf->status_codes, prev->status_codes, PULSE_STATUS_CLASS);
    ngx_conf_merge_value(conf->exporter, prev->exporter, 0);
    if (merge_cache_policy(cf, prev, conf) != NGX_CONF_OK)
        return static_cast<char *>(NGX_CONF_ERROR);

    if (conf->name.data != nullptr) return NGX_CONF_OK;

    // The label is the location as written; `if` and `limit_except` blocks count as the
    // location they are in.
    auto clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    if (clcf->noname || clcf->name.len == 0) {
        static ngx_str_t no_location = ngx_string("-");
        conf->name = prev->name.data ? prev->name : no_location;
        return NGX_CONF_OK;
    }
    pulse::LocationKind kind = pulse::LocationKind::prefix;
    if (clcf->named) {
        kind = pulse::LocationKind::named;
    } else if (clcf->exact_match) {
        kind = pulse::LocationKind::exact;
    } else if (clcf->noregex) {
        kind = pulse::LocationKind::no_regex;
#if (NGX_PCRE)
    } else if (clcf->regex) {
        // nginx keeps the pattern but not whether it was "~" or "~*".
        kind = pulse::LocationKind::regex;
#endif
    }
    try {
        conf->name = to_ngx_str(cf->pool, pulse::location_label(kind, view(clcf->name)));
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse: %s", e.what());
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return conf->name.data ? NGX_CONF_OK : static_cast<char *>(NGX_CONF_ERROR);
}

ngx_int_t pulse_init_zone(ngx_shm_zone_t *shm_zone, void *data) {
    auto ctx = static_cast<pulse_zone_ctx_t *>(shm_zone->data);
    auto old = static_cast<pulse_zone_ctx_t *>(data);
    auto shpool = reinterpret_cast<ngx_slab_pool_t *>(shm_zone->shm.addr);
    ctx->shpool = shpool;
    SlabArena arena(shpool);
    auto bounds = bounds_of(ctx->pmcf);

    try {
        if (old != nullptr) {
            // A reload keeps the zone, its series and their counters. Series are found
            // again by their labels, so new buckets or locations just add records.
            ctx->header = old->header;
            ZoneLock lock(shpool);
            pulse::SeriesStore(ctx->header).prepare_overflow(arena, bounds);
            return NGX_OK;
        }
        if (shm_zone->shm.exists) {
            ctx->header = static_cast<pulse::ZoneHeader *>(shpool->data);
            return pulse::SeriesStore::compatible(ctx->header) ? NGX_OK : NGX_ERROR;
        }

        // One slot per worker, and as many again for the old workers that still finish
        // requests during a reload, so neither shares a slot in the usual case.
        auto ccf = reinterpret_cast<ngx_core_conf_t *>(
            ngx_get_conf(ctx->cycle->conf_ctx, ngx_core_module));
        ngx_int_t workers = ccf->worker_processes > 0 ? ccf->worker_processes : 1;
        auto slots =
            static_cast<std::uint32_t>(ngx_min(2 * workers + 2, (ngx_int_t)pulse::kMaxSlots));
        // Lookup table: a bucket per budgeted series, but never more than 1/16 of the zone.
        size_t table_cap = shm_zone->shm.size / 16 / sizeof(void *);
        auto table = static_cast<std::uint32_t>(
            ngx_max(ngx_min(ctx->pmcf->max_series, table_cap), (size_t)64));

        size_t len = sizeof(" in pulse_zone \"\"") + shm_zone->shm.name.len;
        shpool->log_ctx = static_cast<u_char *>(ngx_slab_alloc(shpool, len));
        if (shpool->log_ctx == nullptr) return NGX_ERROR;
        ngx_sprintf(shpool->log_ctx, " in pulse_zone \"%V\"%Z", &shm_zone->shm.name);

        ZoneLock lock(shpool);
        ctx->header = pulse::SeriesStore::create(arena, slots, table, bounds);
        if (ctx->header == nullptr) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "pulse_zone \"%V\" is too small for %ui worker slots: make it larger",
                          &shm_zone->shm.name, (ngx_uint_t)slots);
            return NGX_ERROR;
        }
        shpool->data = ctx->header;
        return NGX_OK;
    } catch (const std::exception &e) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0, "pulse: %s", e.what());
        return NGX_ERROR;
    }
}

char *pulse_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) {
    auto pmcf = static_cast<pulse_main_conf_t *>(conf);
    if (pmcf->zone != nullptr) return const_cast<char *>("is duplicate");

    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    ngx_str_t name = value[1];
    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_zone needs a name");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    ssize_t size = ngx_parse_size(&value[2]);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid pulse_zone size \"%V\"", &value[2]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    constexpr ssize_t kMinZone = 128 * 1024;
    if (size < kMinZone) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "pulse_zone \"%V\" is too small (%V): at least 128k is needed", &name,
                           &value[2]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    auto ctx = static_cast<pulse_zone_ctx_t *>(ngx_pcalloc(cf->pool, sizeof(pulse_zone_ctx_t)));
    if (ctx == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
    ctx->pmcf = pmcf;
    ctx->cycle = cf->cycle;

    pmcf->zone =
        ngx_shared_memory_add(cf, &name, static_cast<size_t>(size), &ngx_http_pulse_module);
    if (pmcf->zone == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
    if (pmcf->zone->data != nullptr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_zone \"%V\" is already used", &name);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    pmcf->zone->init = pulse_init_zone;
    pmcf->zone->data = ctx;
    (void)cmd;
    return NGX_CONF_OK;
}

char *pulse_buckets(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto pmcf = static_cast<pulse_main_conf_t *>(conf);
    if (pmcf->bounds != nullptr) return const_cast<char *>("is duplicate");
    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    try {
        std::vector<double> bounds;
        for (ngx_uint_t i = 1; i < cf->args->nelts; ++i) {
            double b = 0;
            if (auto err = pulse::parse_bound(view(value[i]), b)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_buckets: %s", err->c_str());
                return static_cast<char *>(NGX_CONF_ERROR);
            }
            bounds.push_back(b);
        }
        if (auto err = pulse::validate_bounds(bounds)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_buckets: %s", err->c_str());
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        pmcf->bounds = ngx_array_create(cf->pool, bounds.size(), sizeof(double));
        if (pmcf->bounds == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
        for (double b : bounds) {
            auto p = static_cast<double *>(ngx_array_push(pmcf->bounds));
            if (p == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
            *p = b;
        }
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_buckets: %s", e.what());
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    return NGX_CONF_OK;
}

char *pulse_max_series(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto pmcf = static_cast<pulse_main_conf_t *>(conf);
    if (pmcf->max_series != NGX_CONF_UNSET_UINT) return const_cast<char *>("is duplicate");
    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    ngx_int_t n = ngx_atoi(value[1].data, value[1].len);
    if (n == NGX_ERROR || n < 1 || n > 1000000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid pulse_max_series \"%V\": a number of series from 1 to 1000000",
                           &value[1]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    pmcf->max_series = static_cast<ngx_uint_t>(n);
    return NGX_CONF_OK;
}

// Which of two words `value` is (0 or 1), or -1 after an error that names the directive
// and both words (nginx's enum slot would not name the directive).
int one_of(ngx_conf_t *cf, const ngx_str_t &value, const char *directive, const char *first,
           const char *second) {
    if (view(value) == first) return 0;
    if (view(value) == second) return 1;
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%s\" directive, it must be \"%s\" or \"%s\"",
                       &value, directive, first, second);
    return -1;
}

char *pulse_status_codes(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto plcf = static_cast<pulse_loc_conf_t *>(conf);
    if (plcf->status_codes != NGX_CONF_UNSET_UINT) return const_cast<char *>("is duplicate");
    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    int choice = one_of(cf, value[1], "pulse_status_codes", "class", "exact");
    if (choice < 0) return static_cast<char *>(NGX_CONF_ERROR);
    plcf->status_codes = choice == 0 ? PULSE_STATUS_CLASS : PULSE_STATUS_EXACT;
    return NGX_CONF_OK;
}

char *pulse_location_name(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto plcf = static_cast<pulse_loc_conf_t *>(conf);
    if (plcf->name.data != nullptr) return const_cast<char *>("is duplicate");
    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    if (value[1].len == 0 || value[1].len > 256) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "pulse_location_name must be 1 to 256 characters, not \"%V\"",
                           &value[1]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    plcf->name = value[1];
    return NGX_CONF_OK;
}

char *pulse_exporter(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto plcf = static_cast<pulse_loc_conf_t *>(conf);
    if (plcf->exporter != NGX_CONF_UNSET) return const_cast<char *>("is duplicate");
    plcf->exporter = 1;
    auto clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = pulse_exporter_handler;

    auto pmcf = static_cast<pulse_main_conf_t *>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_pulse_module));
    if (pmcf->exporter_file.data == nullptr) {
        pmcf->exporter_file = cf->conf_file->file.name;
        pmcf->exporter_line = cf->conf_file->line;
    }
    return NGX_CONF_OK;
}

char *pulse_cache_policy(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto plcf = static_cast<pulse_loc_conf_t *>(conf);
    if (plcf->cache_policy != NGX_CONF_UNSET_UINT) return const_cast<char *>("is duplicate");
    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    int choice = one_of(cf, value[1], "pulse_cache_policy", "auto", "off");
    if (choice < 0) return static_cast<char *>(NGX_CONF_ERROR);
    plcf->cache_policy = choice == 0 ? PULSE_CACHE_AUTO : PULSE_CACHE_OFF;
    plcf->cache_override = 0;
    if (cf->args->nelts == 3) {
        if (view(value[2]) != "override" || plcf->cache_policy == PULSE_CACHE_OFF) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"pulse_cache_policy\" directive, "
                               "only \"auto override\" is allowed",
                               &value[2]);
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        plcf->cache_override = 1;
    }
    if (plcf->cache_policy == PULSE_CACHE_AUTO) {
        auto pmcf = static_cast<pulse_main_conf_t *>(
            ngx_http_conf_get_module_main_conf(cf, ngx_http_pulse_module));
        pmcf->cache_policy_used = 1;
    }
    return NGX_CONF_OK;
}

char *pulse_cache_rule(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto plcf = static_cast<pulse_loc_conf_t *>(conf);
    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    try {
        pulse::CachePolicy scratch;  // says now, with this line, what is wrong with the rule
        if (auto err = scratch.add_rule(view(value[1]), view(value[2]))) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_cache_rule: %s", err->c_str());
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_cache_rule: %s", e.what());
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    if (plcf->cache_rules == nullptr) {
        plcf->cache_rules = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (plcf->cache_rules == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
    }
    auto pair = static_cast<ngx_str_t *>(ngx_array_push_n(plcf->cache_rules, 2));
    if (pair == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
    pair[0] = value[1];
    pair[1] = value[2];
    return NGX_CONF_OK;
}

char *pulse_cache_versioned_prefix(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto plcf = static_cast<pulse_loc_conf_t *>(conf);
    if (plcf->cache_prefixes != nullptr) return const_cast<char *>("is duplicate");
    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    plcf->cache_prefixes = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(ngx_str_t));
    if (plcf->cache_prefixes == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
    for (ngx_uint_t i = 1; i < cf->args->nelts; ++i) {
        if (value[i].len == 0 || value[i].data[0] != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "pulse_cache_versioned_prefix \"%V\" must start with \"/\"",
                               &value[i]);
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        auto p = static_cast<ngx_str_t *>(ngx_array_push(plcf->cache_prefixes));
        if (p == nullptr) return static_cast<char *>(NGX_CONF_ERROR);
        *p = value[i];
    }
    return NGX_CONF_OK;
}

// The server label: the first server_name, or the first listen address of a server
// without one.
ngx_str_t server_label(ngx_http_core_main_conf_t *cmcf, ngx_http_core_srv_conf_t *cscf) {
    if (cscf->server_name.len > 0) return cscf->server_name;
    if (cmcf->ports != nullptr) {
        auto ports = static_cast<ngx_http_conf_port_t *>(cmcf->ports->elts);
        for (ngx_uint_t p = 0; p < cmcf->ports->nelts; ++p) {
            auto addrs = static_cast<ngx_http_conf_addr_t *>(ports[p].addrs.elts);
            for (ngx_uint_t a = 0; a < ports[p].addrs.nelts; ++a) {
                auto servers = static_cast<ngx_http_core_srv_conf_t **>(addrs[a].servers.elts);
                for (ngx_uint_t s = 0; s < addrs[a].servers.nelts; ++s) {
                    if (servers[s] == cscf) return addrs[a].opt.addr_text;
                }
            }
        }
    }
    static ngx_str_t unnamed = ngx_string("-");
    return unnamed;
}

ngx_int_t pulse_postconfiguration(ngx_conf_t *cf) {
    auto pmcf = static_cast<pulse_main_conf_t *>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_pulse_module));
    if (pmcf->zone == nullptr) {
        if (pmcf->exporter_file.data != nullptr) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"pulse_exporter\" needs a \"pulse_zone\" in the http block in %V:%ui",
                          &pmcf->exporter_file, pmcf->exporter_line);
            return NGX_ERROR;
        }
        // No zone, no counting; the cache policy may still be wanted.
        if (pmcf->cache_policy_used) {
            next_header_filter = ngx_http_top_header_filter;
            ngx_http_top_header_filter = pulse_header_filter;
        }
        return NGX_OK;  // neither: the module costs nothing
    }

    auto cmcf = static_cast<ngx_http_core_main_conf_t *>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
    auto cscfp = static_cast<ngx_http_core_srv_conf_t **>(cmcf->servers.elts);
    for (ngx_uint_t i = 0; i < cmcf->servers.nelts; ++i) {
        auto pscf = static_cast<pulse_srv_conf_t *>(
            cscfp[i]->ctx->srv_conf[ngx_http_pulse_module.ctx_index]);
        pscf->label = server_label(cmcf, cscfp[i]);
    }

    auto h = static_cast<ngx_http_handler_pt *>(
        ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers));
    if (h == nullptr) return NGX_ERROR;
    *h = pulse_post_read_handler;
    h = static_cast<ngx_http_handler_pt *>(
        ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers));
    if (h == nullptr) return NGX_ERROR;
    *h = pulse_log_handler;

    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = pulse_header_filter;
    return NGX_OK;
}

ngx_int_t pulse_init_process(ngx_cycle_t *cycle) {
    g_slot_ready = false;
    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) return NGX_OK;
    auto pmcf = static_cast<pulse_main_conf_t *>(
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_pulse_module));
    if (pmcf == nullptr || pmcf->zone == nullptr) return NGX_OK;
    auto zone = static_cast<pulse_zone_ctx_t *>(pmcf->zone->data);
    {
        ZoneLock lock(zone->shpool);
        g_slot = pulse::SeriesStore(zone->header)
                     .claim_slot(static_cast<std::int32_t>(ngx_pid), process_alive);
    }
    g_slot_ready = true;
    return NGX_OK;
}

}  // namespace
