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
ngx_int_t set_cache_control(ngx_http_request_t *r, const std::string &value) {
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
    ngx_array_t *lines = &r->headers_out.cache_control;
    auto ccp = static_cast<ngx_table_elt_t **>(lines->elts);
    if (ccp == nullptr) {
        // What ngx_array_init for one line and ngx_array_push do, without the calls.
        ccp = static_cast<ngx_table_elt_t **>(ngx_palloc(r->pool, sizeof(ngx_table_elt_t *)));
        if (ccp == nullptr) return NGX_ERROR;
        cc = static_cast<ngx_table_elt_t *>(ngx_list_push(&r->headers_out.headers));
        if (cc == nullptr) return NGX_ERROR;
        ngx_str_set(&cc->key, "Cache-Control");
        *ccp = cc;
        lines->elts = ccp;
        lines->nelts = 1;
        lines->size = sizeof(ngx_table_elt_t *);
        lines->nalloc = 1;
        lines->pool = r->pool;
    } else {
        for (ngx_uint_t i = 1; i < lines->nelts; ++i) ccp[i]->hash = 0;
        lines->nelts = 1;
        cc = ccp[0];
    }
#endif
    cc->hash = 1;
    cc->value.len = value.size();
    cc->value.data = reinterpret_cast<u_char *>(const_cast<char *>(value.data()));
    return NGX_OK;
}

// Formatting a date is the dear part of Expires, so each worker keeps the last few it
// wrote: one per lifetime and second, the last one used looked at first.
struct FormattedDate {
    time_t at;
    std::int64_t max_age;
    u_char text[sizeof("Mon, 28 Sep 1970 06:00:00 GMT")];
};
FormattedDate g_dates[4];
unsigned g_last_date;

[[gnu::noinline]] const FormattedDate *format_date(time_t now, std::int64_t max_age) {
    for (unsigned i = 0; i < std::size(g_dates); ++i) {
        if (g_dates[i].at == now && g_dates[i].max_age == max_age) {
            g_last_date = i;
            return &g_dates[i];
        }
    }
    g_last_date = (g_last_date + 1) % std::size(g_dates);
    FormattedDate *f = &g_dates[g_last_date];
    f->at = now;
    f->max_age = max_age;
    ngx_http_time(f->text, now + static_cast<time_t>(max_age));
    return f;
}

// Expires `max_age` seconds ahead, or in the past for no-cache.
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
    time_t now = ngx_time();
    const FormattedDate *f = &g_dates[g_last_date];
    if (f->at != now || f->max_age != *max_age) f = format_date(now, *max_age);
    // The header may point into the worker's table: header filters run one request at a
    // time and nginx writes the header out before this filter chain returns, while a
    // slot is only rewritten for another lifetime or another second.
    e->value.data = const_cast<u_char *>(f->text);
    e->value.len = sizeof(FormattedDate::text) - 1;
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

// Counts the decision in the location's cache_policy_responses series.
inline ngx_int_t count_policy(ngx_http_request_t *r, pulse_loc_conf_t *plcf, std::size_t label) {
    if (!plcf->metrics || !g_slot_ready) return NGX_OK;
    std::uint64_t *counter = plcf->cache != nullptr ? plcf->cache->cache_policy[label] : nullptr;
    if (counter == nullptr && (counter = resolve_policy_counter(r, plcf, label)) == nullptr)
        return NGX_OK;
    pulse::SeriesStore::add(*counter, 1);
    return NGX_OK;
}

// Worker-private (workers are single-threaded): 100 KiB, made on the first miss.
pulse::ClassifyMemo *g_memo;

// A URL the worker does not remember (at `slot` of its memory): classified, answered by
// the policy, remembered. The request's URI and arguments, and `type`, are the key.
[[gnu::noinline]] pulse::CachePolicy::Decision classify_url(ngx_http_request_t *r,
                                                            const pulse::CachePolicy *policy,
                                                            std::size_t slot,
                                                            std::string_view type) {
    std::string_view uri = view(r->uri), args = view(r->args);
    if (g_memo == nullptr) g_memo = new (std::nothrow) pulse::ClassifyMemo();
    pulse::StaticKind type_kind =
        g_memo != nullptr ? g_memo->content_type_kind(type) : pulse::kind_from_content_type(type);
    pulse::CachePolicy::Decision d = policy->decide(uri, args, type_kind);
    if (g_memo != nullptr) g_memo->store(slot, policy, uri, args, type, d);
    return d;
}

// Sets Cache-Control and Expires as the location's policy says for this response, and
// counts the decision. A repeated URL costs a lookup in the worker's memory, a compare
// of its bytes, two header lines pushed and an atomic add.
ngx_int_t apply_cache_policy(ngx_http_request_t *r, pulse_loc_conf_t *plcf) {
    ngx_uint_t status = r->headers_out.status;
    constexpr auto kUntouched = static_cast<std::size_t>(pulse::AssetClass::untouched);
    if (!cacheable_status(status)) return count_policy(r, plcf, kUntouched);  // errors: never
    if (!plcf->cache_override && response_forbids_caching(r))
        return count_policy(r, plcf, kPolicyKept);

    const pulse::CachePolicy *policy = plcf->policy;
    std::string_view uri = view(r->uri);
    std::string_view args = view(r->args);
    // A 304 has no content type of its own, and a redirect's is that of its little page
    // about the redirect: their URL decides.
    bool by_url = status == NGX_HTTP_NOT_MODIFIED || (status >= 301 && status <= 308);
    std::string_view type = by_url ? std::string_view{} : view(r->headers_out.content_type);
    std::size_t slot = pulse::ClassifyMemo::slot(uri, args, type);
    const pulse::CachePolicy::Decision *known =
        g_memo != nullptr ? g_memo->find(slot, policy, uri, args, type) : nullptr;
    pulse::CachePolicy::Decision d =
        known != nullptr ? *known : classify_url(r, policy, slot, type);

    const pulse::CacheHeader *h = d.header;
    // A temporary redirect may point elsewhere tomorrow: revalidate it, however its URL looks.
    if (d.cls != pulse::AssetClass::untouched &&
        (status == NGX_HTTP_MOVED_TEMPORARILY || status == NGX_HTTP_SEE_OTHER ||
         status == NGX_HTTP_TEMPORARY_REDIRECT)) {
        d.cls = pulse::AssetClass::document;
        h = policy->header_for(d.cls, d.kind, uri.substr(uri.size() - d.ext_size));
    }
    if (h == nullptr) return count_policy(r, plcf, kUntouched);
    if (set_cache_control(r, h->cache_control) != NGX_OK || set_expires(r, h->max_age) != NGX_OK)
        return NGX_ERROR;
    // An extension rule can give a lifetime to a file of no class ("pdf 1d"): it is then
    // counted with the static files it is treated as.
    if (d.cls == pulse::AssetClass::untouched) d.cls = pulse::AssetClass::static_asset;
    return count_policy(r, plcf, static_cast<std::size_t>(d.cls));
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

// The configuration's pool is freed (a reload, or the end): the policy goes, and with
// it what the worker remembers of its answers.
void destroy_policy(void *data) noexcept {
    if (g_memo != nullptr) g_memo->forget(data);
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
