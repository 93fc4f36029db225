// Counting: the shared zone every worker counts into, the POST_READ handler that raises
// the in-flight gauge, and the LOG handler that counts a finished request (with its
// upstreams). After the first request of each kind a request costs a few loads and
// atomic adds: no lock, no allocation, no search.
//
// A request needs no context of its own: a gauge it raised is a pool cleanup whose data
// is the gauge's value, lowered when the request's pool goes, whatever ended the request,
// and found again in the pool's cleanups (internal redirects clear module contexts).

#include "ngx_http_pulse_conf.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <string>

#include "core/buckets.h"

namespace pulse::http {

std::uint32_t g_slot;
bool g_slot_ready;

using pulse::Family;

// This worker's series of one upstream (pmcf->upstreams).
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

namespace {

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

std::span<const std::uint64_t> thresholds_of(const pulse_main_conf_t *pmcf) {
    return {static_cast<const std::uint64_t *>(pmcf->thresholds->elts), pmcf->thresholds->nelts};
}

}  // namespace

// ---- the zone ------------------------------------------------------------------------------

ngx_int_t pulse_init_zone(ngx_shm_zone_t *shm_zone, void *data) {
    return guarded({shm_zone->shm.log, NGX_LOG_EMERG}, [&]() -> ngx_int_t {
        auto ctx = static_cast<pulse_zone_ctx_t *>(shm_zone->data);
        auto old = static_cast<pulse_zone_ctx_t *>(data);
        auto shpool = reinterpret_cast<ngx_slab_pool_t *>(shm_zone->shm.addr);
        ctx->shpool = shpool;
        SlabArena arena(shpool);
        auto bounds = bounds_of(ctx->pmcf);

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
    });
}

bool process_alive(std::int32_t pid) {
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

// A worker takes its slot in the zone before it handles a request.
ngx_int_t pulse_init_process(ngx_cycle_t *cycle) {
    g_slot_ready = false;
    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) return NGX_OK;
    auto pmcf = static_cast<pulse_main_conf_t *>(
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_pulse_module));
    if (pmcf == nullptr || pmcf->zone == nullptr) return NGX_OK;
    return guarded(cycle->log, [&]() -> ngx_int_t {
        auto zone = static_cast<pulse_zone_ctx_t *>(pmcf->zone->data);
        ZoneLock lock(zone->shpool);
        g_slot = pulse::SeriesStore(zone->header)
                     .claim_slot(static_cast<std::int32_t>(ngx_pid), process_alive);
        g_slot_ready = true;
        return NGX_OK;
    });
}

// The slow path, once per series and worker: find or make the record under the zone lock
// and return this worker's values in it.
std::uint64_t *resolve(const pulse_main_conf_t *pmcf, Family family, std::string_view key) {
    auto zone = static_cast<pulse_zone_ctx_t *>(pmcf->zone->data);
    ZoneLock lock(zone->shpool);
    SlabArena arena(zone->shpool);
    pulse::SeriesStore store(zone->header);
    pulse::Record *r = store.resolve(arena, family, key, bounds_of(pmcf), pmcf->max_series);
    return r->slot_values(g_slot);
}

namespace {

// ---- the series of a request -------------------------------------------------------------

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
// a fixed table, exact codes in a table made the first time one is needed. Its key is
// `prefix`'s label values and the status label. May throw.
std::uint64_t *status_counter(std::uint64_t *(&classes)[pulse::kStatusClassCount],
                              std::uint64_t **&exact, bool exact_mode, unsigned status,
                              const pulse_main_conf_t *pmcf, Family family,
                              std::span<const std::string_view> prefix, ngx_log_t *log) {
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
        std::array<std::string_view, 4> values;
        if (prefix.size() >= values.size()) return nullptr;
        std::copy(prefix.begin(), prefix.end(), values.begin());
        std::string label = pulse::status_label(status, exact_mode);
        values[prefix.size()] = label;
        *slot = resolve(pmcf, family, pulse::encode_key({values.data(), prefix.size() + 1}));
    }
    return *slot;
}

[[gnu::noinline, gnu::cold]] LocationCache *make_location_cache(ngx_http_request_t *r,
                                                                pulse_loc_conf_t *plcf) {
    if (!g_slot_ready) return nullptr;
    return guarded(r, [&]() -> LocationCache * {
        pulse_main_conf_t *pmcf = main_conf(r);
        std::string key = pulse::encode_key({view(srv_conf(r)->label), view(plcf->name)});
        LocationCache found{};  // what may throw comes first: then nothing can leak
        found.duration = resolve(pmcf, Family::request_duration, key);
        found.response_bytes = resolve(pmcf, Family::response_bytes, key);
        found.request_bytes = resolve(pmcf, Family::request_bytes, key);
        found.thresholds = static_cast<const std::uint64_t *>(pmcf->thresholds->elts);
        found.threshold_count = pmcf->thresholds->nelts;
        auto c = static_cast<LocationCache *>(ngx_alloc(sizeof(LocationCache), r->connection->log));
        if (c != nullptr) *c = found;
        return plcf->cache = c;
    });
}

// ---- gauges held by a request --------------------------------------------------------------

// The one pool cleanup of a gauge raised for a request (in flight, websocket): its data is
// the gauge's value in this worker's slot, lowered when the request's pool is freed.
void lower_gauge(void *value) noexcept {
    pulse::SeriesStore::sub(*static_cast<std::uint64_t *>(value), 1);
}

// The cleanup that holds `gauge` raised for this request, or null. Gauges are told apart
// by their value's address: every gauge is a different record.
ngx_pool_cleanup_t *gauge_held(ngx_http_request_t *r, const std::uint64_t *gauge) {
    for (ngx_pool_cleanup_t *cln = r->pool->cleanup; cln != nullptr; cln = cln->next) {
        if (cln->handler == lower_gauge && cln->data == gauge) return cln;
    }
    return nullptr;
}

// Raises `gauge` until the request's pool is freed.
void hold_gauge(ngx_http_request_t *r, std::uint64_t *gauge) {
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == nullptr) return;
    cln->handler = lower_gauge;
    cln->data = gauge;
    pulse::SeriesStore::add(*gauge, 1);
}

}  // namespace

LocationCache *location_cache(ngx_http_request_t *r, pulse_loc_conf_t *plcf) {
    return plcf->cache != nullptr ? plcf->cache : make_location_cache(r, plcf);
}

// Takes the request out of the in-flight gauge early (the scrape itself, an upgrade).
void leave_in_flight(ngx_http_request_t *r) {
    std::uint64_t *in_flight = srv_conf(r)->in_flight;
    if (in_flight == nullptr) return;  // never raised in this worker
    if (ngx_pool_cleanup_t *cln = gauge_held(r, in_flight)) {
        lower_gauge(cln->data);
        cln->handler = nullptr;  // ngx_destroy_pool skips it
    }
}

// An upgraded (websocket) connection is open from its 101 until the request's pool is
// freed; it leaves the in-flight gauge for the websocket gauge.
[[gnu::noinline, gnu::cold]] void count_websocket(ngx_http_request_t *r, pulse_loc_conf_t *plcf) {
    guarded(r, [&]() -> ngx_int_t {
        LocationCache *c = location_cache(r, plcf);
        if (c == nullptr) return NGX_DECLINED;
        if (c->websocket == nullptr) {
            c->websocket = resolve(main_conf(r), Family::websocket_connections,
                                   pulse::encode_key({view(srv_conf(r)->label), view(plcf->name)}));
        } else if (gauge_held(r, c->websocket) != nullptr) {
            return NGX_OK;  // counted already
        }
        hold_gauge(r, c->websocket);
        leave_in_flight(r);
        return NGX_OK;
    });
}

namespace {

// ---- POST_READ -----------------------------------------------------------------------------

[[gnu::noinline, gnu::cold]] std::uint64_t *resolve_in_flight(ngx_http_request_t *r,
                                                              pulse_srv_conf_t *pscf) {
    return guarded(r, [&] {
        return pscf->in_flight = resolve(main_conf(r), Family::requests_in_flight,
                                         pulse::encode_key({view(pscf->label)}));
    });
}

// The request is read; it is in flight until its pool is freed.
ngx_int_t pulse_post_read_handler(ngx_http_request_t *r) {
    return guarded(
        r,
        [&]() -> ngx_int_t {
            if (!g_slot_ready || !loc_conf(r)->metrics) return NGX_DECLINED;
            pulse_srv_conf_t *pscf = srv_conf(r);
            std::uint64_t *in_flight = pscf->in_flight;
            if (in_flight == nullptr && (in_flight = resolve_in_flight(r, pscf)) == nullptr)
                return NGX_DECLINED;
            hold_gauge(r, in_flight);
            return NGX_DECLINED;
        },
        NGX_DECLINED);  // counting never fails a request
}

// ---- LOG -----------------------------------------------------------------------------------

std::string upstream_label(const ngx_http_upstream_srv_conf_t *uscf) {
    // Upstreams resolved at run time (proxy_pass with variables) could carry a
    // client-chosen host: they share one label.
    if (uscf == nullptr) return "(dynamic)";
    std::string name(view(uscf->host));
    if (uscf->port != 0) name += ":" + std::to_string(uscf->port);
    return name;
}

// This worker's series of the request's upstream, made on its first request. May throw.
UpstreamEntry *upstream_entry(ngx_http_request_t *r, pulse_main_conf_t *pmcf,
                              const ngx_http_upstream_srv_conf_t *uscf) {
    UpstreamCache *cache = pmcf->upstreams;
    if (cache == nullptr) {
        cache = static_cast<UpstreamCache *>(ngx_calloc(sizeof(UpstreamCache), r->connection->log));
        if (cache == nullptr) return nullptr;
        pmcf->upstreams = cache;
    }
    for (ngx_uint_t i = 0; i < cache->count; ++i) {
        if (cache->entries[i].key == uscf) return &cache->entries[i];
    }
    if (cache->count == cache->capacity) {
        ngx_uint_t capacity = cache->capacity ? cache->capacity * 2 : 8;
        auto entries = static_cast<UpstreamEntry *>(
            ngx_calloc(sizeof(UpstreamEntry) * capacity, r->connection->log));
        if (entries == nullptr) return nullptr;
        if (cache->count) ngx_memcpy(entries, cache->entries, sizeof(UpstreamEntry) * cache->count);
        ngx_free(cache->entries);
        cache->entries = entries;
        cache->capacity = capacity;
    }
    UpstreamEntry *entry = &cache->entries[cache->count];
    std::string key = pulse::encode_key({upstream_label(uscf)});
    entry->key = uscf;
    entry->connect = resolve(pmcf, Family::upstream_connect, key);
    entry->header = resolve(pmcf, Family::upstream_header, key);
    entry->response = resolve(pmcf, Family::upstream_response, key);
    cache->count++;
    return entry;
}

// Each upstream try of the request: its status, and its connect, header and response
// times. May throw.
void count_upstreams(ngx_http_request_t *r, pulse_main_conf_t *pmcf, bool exact) {
    const ngx_http_upstream_srv_conf_t *uscf = r->upstream ? r->upstream->upstream : nullptr;
    UpstreamEntry *entry = upstream_entry(r, pmcf, uscf);
    if (entry == nullptr) return;

    std::string name;  // only built when a status series is new
    auto thresholds = thresholds_of(pmcf);
    auto states = static_cast<ngx_http_upstream_state_t *>(r->upstream_states->elts);
    for (ngx_uint_t i = 0; i < r->upstream_states->nelts; ++i) {
        const ngx_http_upstream_state_t &s = states[i];
        if (s.peer == nullptr) continue;  // a separator between upstream groups
        auto status = static_cast<unsigned>(s.status);
        bool known = exact && status >= 100 && status <= 599
                         ? entry->exact != nullptr && entry->exact[status - 100] != nullptr
                         : entry->requests[pulse::status_class_index(status)] != nullptr;
        if (!known && name.empty()) name = upstream_label(uscf);
        const std::string_view prefix[] = {name};
        std::uint64_t *counter =
            status_counter(entry->requests, entry->exact, exact, status, pmcf,
                           Family::upstream_requests, prefix, r->connection->log);
        if (counter != nullptr) pulse::SeriesStore::add(*counter, 1);
        if (s.connect_time != static_cast<ngx_msec_t>(-1))
            observe(entry->connect, thresholds, s.connect_time);
        if (s.header_time != static_cast<ngx_msec_t>(-1))
            observe(entry->header, thresholds, s.header_time);
        if (s.response_time != static_cast<ngx_msec_t>(-1))
            observe(entry->response, thresholds, s.response_time);
    }
}

[[gnu::noinline]] void count_upstreams_safely(ngx_http_request_t *r, pulse_loc_conf_t *plcf) {
    guarded(r, [&]() -> ngx_int_t {
        count_upstreams(r, main_conf(r), plcf->status_codes == PULSE_STATUS_EXACT);
        return NGX_OK;
    });
}

// The first request of a location, or of a (method, status), in this worker: find or
// make the series and keep them in the location's cache.
[[gnu::noinline, gnu::cold]] std::uint64_t *request_counter_slow(ngx_http_request_t *r,
                                                                 pulse_loc_conf_t *plcf,
                                                                 pulse::Method method,
                                                                 unsigned status) {
    return guarded(r, [&]() -> std::uint64_t * {
        LocationCache *c = location_cache(r, plcf);
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
        const std::string_view prefix[] = {view(srv_conf(r)->label), view(plcf->name),
                                           pulse::method_label(method)};
        return status_counter(c->requests[m], table, exact, status, main_conf(r), Family::requests,
                              prefix, r->connection->log);
    });
}

// The request is done; count it.
inline ngx_int_t count_request(ngx_http_request_t *r) {
    pulse_loc_conf_t *plcf = loc_conf(r);
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

ngx_int_t pulse_log_handler(ngx_http_request_t *r) {
    return guarded(r, [&] { return count_request(r); });
}

}  // namespace

ngx_int_t pulse_count_init(ngx_conf_t *cf) {
    auto cmcf = static_cast<ngx_http_core_main_conf_t *>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
    auto h = static_cast<ngx_http_handler_pt *>(
        ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers));
    if (h == nullptr) return NGX_ERROR;
    *h = pulse_post_read_handler;
    h = static_cast<ngx_http_handler_pt *>(
        ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers));
    if (h == nullptr) return NGX_ERROR;
    *h = pulse_log_handler;
    return NGX_OK;
}

}  // namespace pulse::http
