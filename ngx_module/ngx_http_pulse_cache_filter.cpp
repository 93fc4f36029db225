// The cache-policy header filter (pulse_cache_policy auto): one Cache-Control line and a
// matching Expires for each response the policy classifies, counted by class in
// nginx_http_cache_policy_responses_total. It also sees a websocket's 101 for counting.
//
// The module is ordered before nginx's headers filter, and filters initialised earlier
// run later: the policy sees what `expires` and `add_header` already set, and replaces
// it as nginx's own `expires` does.

#include "ngx_http_pulse_conf.h"

#include <new>
#include <optional>

#include "core/classify_memo.h"

namespace pulse::http {
namespace {

ngx_http_output_header_filter_pt next_header_filter;

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
    return guarded(r, [&]() -> std::uint64_t * {
        LocationCache *c = location_cache(r, plcf);
        if (c == nullptr) return nullptr;
        std::string_view policy =
            label == kPolicyKept ? std::string_view("upstream")
                                 : pulse::asset_class_label(static_cast<pulse::AssetClass>(label));
        return c->cache_policy[label] =
                   resolve(main_conf(r), pulse::Family::cache_policy_responses,
                           pulse::encode_key({view(srv_conf(r)->label), view(plcf->name), policy}));
    });
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
    if (r == r->main) {
        pulse_loc_conf_t *plcf = loc_conf(r);
        if (r->headers_out.status == NGX_HTTP_SWITCHING_PROTOCOLS && g_slot_ready &&
            plcf->metrics) {
            count_websocket(r, plcf);
        }
        if (plcf->cache_policy == PULSE_CACHE_AUTO &&
            guarded(r, [&] { return apply_cache_policy(r, plcf); }) != NGX_OK) {
            return NGX_ERROR;
        }
    }
    return next_header_filter(r);
}

void destroy_policy(void *data) noexcept {
    static_cast<pulse::CachePolicy *>(data)->~CachePolicy();
}

}  // namespace

// Builds a policy from rule pairs in the configuration pool; the pool's cleanup runs its
// destructor. May throw.
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

ngx_int_t pulse_header_filter_init(ngx_conf_t *) {
    next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = pulse_header_filter;
    return NGX_OK;
}

}  // namespace pulse::http
