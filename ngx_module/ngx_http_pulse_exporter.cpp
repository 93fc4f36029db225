// The exporter (pulse_exporter): a content handler that answers GET and HEAD with
// everything the zone holds, nginx's connection counters (as stub_status reads them) and
// pulse's own health, in the Prometheus text format or OpenMetrics as Accept asks.

#include "ngx_http_pulse_conf.h"

extern "C" {
#include <nginx.h>
}

#include <algorithm>
#include <string>

#include "core/exposition.h"
#include "core/render.h"

#define PULSE_VERSION "0.1.0"

namespace pulse::http {
namespace {

// The format the scraper's Accept asks for (the last Accept line, as before).
pulse::Format requested_format(ngx_http_request_t *r) {
    pulse::Format format = pulse::Format::prometheus_text;
    for (ngx_list_part_t *part = &r->headers_in.headers.part; part; part = part->next) {
        auto h = static_cast<ngx_table_elt_t *>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; ++i) {
            if (h[i].key.len == 6 && ngx_strncasecmp(h[i].key.data, (u_char *)"accept", 6) == 0) {
                format = pulse::negotiate_format(view(h[i].value));
            }
        }
    }
    return format;
}

// The exposition, rendered without the zone's lock. May throw.
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

// Sends `text` (copied into the request's pool) as the whole answer.
ngx_int_t send_exposition(ngx_http_request_t *r, pulse::Format format, const std::string &text) {
    std::string_view type = pulse::content_type(format);
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = static_cast<off_t>(text.size());
    r->headers_out.content_type.len = type.size();
    r->headers_out.content_type.data = (u_char *)type.data();
    // The MIME type without its parameters, as gzip_types and the charset filter match it.
    r->headers_out.content_type_len = std::min(type.find(';'), type.size());
    r->headers_out.content_type_lowcase = nullptr;

    if (r->method == NGX_HTTP_HEAD) return ngx_http_send_header(r);

    ngx_buf_t *b = ngx_create_temp_buf(r->pool, text.size() ? text.size() : 1);
    if (b == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    b->last = ngx_cpymem(b->last, text.data(), text.size());
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    ngx_chain_t out{b, nullptr};

    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) return rc;
    return ngx_http_output_filter(r, &out);
}

}  // namespace

ngx_int_t pulse_exporter_handler(ngx_http_request_t *r) {
    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) return NGX_HTTP_NOT_ALLOWED;
    ngx_int_t rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) return rc;

    // The scrape is not one of the requests it reports as in flight.
    leave_in_flight(r);

    return guarded(
        r,
        [&] {
            pulse::Format format = requested_format(r);
            return send_exposition(r, format, render_exposition(r, format));
        },
        NGX_HTTP_INTERNAL_SERVER_ERROR);
}

}  // namespace pulse::http
