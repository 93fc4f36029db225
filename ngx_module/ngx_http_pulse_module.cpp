// ngx_http_pulse_module: counts every request in shared memory, serves the counts in the
// Prometheus text format, and can set Cache-Control by what a URL is. This file is the
// module, its directives and its configuration; ngx_http_pulse_conf.h says where the
// rest is. The logic lives in core/.

#include "ngx_http_pulse_conf.h"

#include <iterator>
#include <string>
#include <vector>

#include "core/buckets.h"

namespace pulse::http {
namespace {

char *pulse_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_buckets(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_max_series(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_location_name(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *pulse_status_codes(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
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
}  // namespace pulse::http

extern "C" {
ngx_module_t ngx_http_pulse_module = {
    NGX_MODULE_V1,
    &pulse::http::pulse_module_ctx,  /* module context */
    pulse::http::pulse_commands,     /* module directives */
    NGX_HTTP_MODULE,                 /* module type */
    nullptr,                         /* init master */
    nullptr,                         /* init module */
    pulse::http::pulse_init_process, /* init process */
    nullptr,                         /* init thread */
    nullptr,                         /* exit thread */
    nullptr,                         /* exit process */
    nullptr,                         /* exit master */
    NGX_MODULE_V1_PADDING,
};
}

namespace pulse::http {
namespace {

char *conf_error() {
    return static_cast<char *>(NGX_CONF_ERROR);
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

// Copies `values` into a new array of T in the configuration pool.
template <typename T>
ngx_array_t *to_ngx_array(ngx_conf_t *cf, std::span<const T> values) {
    ngx_array_t *a = ngx_array_create(cf->pool, values.size() ? values.size() : 1, sizeof(T));
    if (a == nullptr) return nullptr;
    auto p = static_cast<T *>(ngx_array_push_n(a, values.size()));
    if (p == nullptr) return nullptr;
    std::copy(values.begin(), values.end(), p);
    return a;
}

// ---- the zone and the histograms -----------------------------------------------------------

char *pulse_zone(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto pmcf = static_cast<pulse_main_conf_t *>(conf);
    if (pmcf->zone != nullptr) return const_cast<char *>("is duplicate");

    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    ngx_str_t name = value[1];
    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_zone needs a name");
        return conf_error();
    }
    ssize_t size = ngx_parse_size(&value[2]);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid pulse_zone size \"%V\"", &value[2]);
        return conf_error();
    }
    constexpr ssize_t kMinZone = 128 * 1024;
    if (size < kMinZone) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "pulse_zone \"%V\" is too small (%V): at least 128k is needed", &name,
                           &value[2]);
        return conf_error();
    }

    auto ctx = static_cast<pulse_zone_ctx_t *>(ngx_pcalloc(cf->pool, sizeof(pulse_zone_ctx_t)));
    if (ctx == nullptr) return conf_error();
    ctx->pmcf = pmcf;
    ctx->cycle = cf->cycle;

    pmcf->zone =
        ngx_shared_memory_add(cf, &name, static_cast<size_t>(size), &ngx_http_pulse_module);
    if (pmcf->zone == nullptr) return conf_error();
    if (pmcf->zone->data != nullptr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_zone \"%V\" is already used", &name);
        return conf_error();
    }
    pmcf->zone->init = pulse_init_zone;
    pmcf->zone->data = ctx;
    return NGX_CONF_OK;
}

char *pulse_buckets(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto pmcf = static_cast<pulse_main_conf_t *>(conf);
    if (pmcf->bounds != nullptr) return const_cast<char *>("is duplicate");
    return guarded(cf, [&]() -> char * {
        auto value = static_cast<ngx_str_t *>(cf->args->elts);
        std::vector<double> bounds;
        for (ngx_uint_t i = 1; i < cf->args->nelts; ++i) {
            double b = 0;
            if (auto err = pulse::parse_bound(view(value[i]), b)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_buckets: %s", err->c_str());
                return conf_error();
            }
            bounds.push_back(b);
        }
        if (auto err = pulse::validate_bounds(bounds)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_buckets: %s", err->c_str());
            return conf_error();
        }
        pmcf->bounds = to_ngx_array<double>(cf, bounds);
        return pmcf->bounds != nullptr ? NGX_CONF_OK : conf_error();
    });
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
        return conf_error();
    }
    pmcf->max_series = static_cast<ngx_uint_t>(n);
    return NGX_CONF_OK;
}

// ---- what a location counts --------------------------------------------------------------

char *pulse_status_codes(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto plcf = static_cast<pulse_loc_conf_t *>(conf);
    if (plcf->status_codes != NGX_CONF_UNSET_UINT) return const_cast<char *>("is duplicate");
    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    int choice = one_of(cf, value[1], "pulse_status_codes", "class", "exact");
    if (choice < 0) return conf_error();
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
        return conf_error();
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

// ---- the cache policy ----------------------------------------------------------------------

char *pulse_cache_policy(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto plcf = static_cast<pulse_loc_conf_t *>(conf);
    if (plcf->cache_policy != NGX_CONF_UNSET_UINT) return const_cast<char *>("is duplicate");
    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    int choice = one_of(cf, value[1], "pulse_cache_policy", "auto", "off");
    if (choice < 0) return conf_error();
    plcf->cache_policy = choice == 0 ? PULSE_CACHE_AUTO : PULSE_CACHE_OFF;
    plcf->cache_override = 0;
    if (cf->args->nelts == 3) {
        if (view(value[2]) != "override" || plcf->cache_policy == PULSE_CACHE_OFF) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"pulse_cache_policy\" directive, "
                               "only \"auto override\" is allowed",
                               &value[2]);
            return conf_error();
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
    return guarded(cf, [&]() -> char * {
        pulse::CachePolicy scratch;  // says now, with this line, what is wrong with the rule
        if (auto err = scratch.add_rule(view(value[1]), view(value[2]))) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "pulse_cache_rule: %s", err->c_str());
            return conf_error();
        }
        if (plcf->cache_rules == nullptr) {
            plcf->cache_rules = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
            if (plcf->cache_rules == nullptr) return conf_error();
        }
        auto pair = static_cast<ngx_str_t *>(ngx_array_push_n(plcf->cache_rules, 2));
        if (pair == nullptr) return conf_error();
        pair[0] = value[1];
        pair[1] = value[2];
        return NGX_CONF_OK;
    });
}

char *pulse_cache_versioned_prefix(ngx_conf_t *cf, ngx_command_t *, void *conf) {
    auto plcf = static_cast<pulse_loc_conf_t *>(conf);
    if (plcf->cache_prefixes != nullptr) return const_cast<char *>("is duplicate");
    auto value = static_cast<ngx_str_t *>(cf->args->elts);
    std::span<const ngx_str_t> prefixes(value + 1, cf->args->nelts - 1);
    for (const ngx_str_t &p : prefixes) {
        if (p.len == 0 || p.data[0] != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "pulse_cache_versioned_prefix \"%V\" must start with \"/\"", &p);
            return conf_error();
        }
    }
    plcf->cache_prefixes = to_ngx_array(cf, prefixes);
    return plcf->cache_prefixes != nullptr ? NGX_CONF_OK : conf_error();
}

// ---- configuration -------------------------------------------------------------------------

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
        pmcf->bounds = to_ngx_array<double>(cf, pulse::kDefaultBuckets);
        if (pmcf->bounds == nullptr) return conf_error();
    }
    return guarded(cf, [&]() -> char * {
        auto ms = pulse::millisecond_thresholds(bounds_of(pmcf));
        pmcf->thresholds = to_ngx_array<std::uint64_t>(cf, ms);
        return pmcf->thresholds != nullptr ? NGX_CONF_OK : conf_error();
    });
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

// Rules add up from http to location (a later one wins); versioned prefixes are replaced
// by a level that names its own. May throw.
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
        if (conf->all_cache_rules == nullptr) return conf_error();
        for (ngx_array_t *from : {prev->all_cache_rules, conf->cache_rules}) {
            auto v = static_cast<ngx_str_t *>(ngx_array_push_n(conf->all_cache_rules, from->nelts));
            if (v == nullptr) return conf_error();
            ngx_memcpy(v, from->elts, from->nelts * sizeof(ngx_str_t));
        }
    }
    if (!own && prev->policy != nullptr) {
        conf->policy = prev->policy;
    } else if (conf->cache_policy == PULSE_CACHE_AUTO || own) {
        conf->policy = build_policy(cf, conf->all_cache_rules, conf->cache_prefixes);
        if (conf->policy == nullptr) return conf_error();
    }
    return NGX_CONF_OK;
}

// The label is the location as written; `if` and `limit_except` blocks count as the
// location they are in. May throw.
char *merge_location_name(ngx_conf_t *cf, pulse_loc_conf_t *prev, pulse_loc_conf_t *conf) {
    if (conf->name.data != nullptr) return NGX_CONF_OK;
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
    std::string label = pulse::location_label(kind, view(clcf->name));
    auto p = static_cast<u_char *>(ngx_pnalloc(cf->pool, label.size() ? label.size() : 1));
    if (p == nullptr) return conf_error();
    ngx_memcpy(p, label.data(), label.size());
    conf->name = {label.size(), p};
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
    return guarded(cf, [&]() -> char * {
        char *rc = merge_cache_policy(cf, prev, conf);
        return rc == NGX_CONF_OK ? merge_location_name(cf, prev, conf) : rc;
    });
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
        // No zone, no counting; the cache policy may still be wanted. Neither: the module
        // costs nothing.
        return pmcf->cache_policy_used ? pulse_header_filter_init(cf) : NGX_OK;
    }

    auto cmcf = static_cast<ngx_http_core_main_conf_t *>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
    auto cscfp = static_cast<ngx_http_core_srv_conf_t **>(cmcf->servers.elts);
    for (ngx_uint_t i = 0; i < cmcf->servers.nelts; ++i) {
        auto pscf = static_cast<pulse_srv_conf_t *>(
            cscfp[i]->ctx->srv_conf[ngx_http_pulse_module.ctx_index]);
        pscf->label = server_label(cmcf, cscfp[i]);
    }
    if (pulse_count_init(cf) != NGX_OK) return NGX_ERROR;
    return pulse_header_filter_init(cf);
}

}  // namespace
}  // namespace pulse::http
