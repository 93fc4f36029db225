/* What nginx's configure would generate for a dynamic module (objs/*_modules.c): the
 * module list and its order. The order puts the module before nginx's headers filter
 * in the module list; filters initialised earlier run later, so the cache policy sees
 * what `expires` and `add_header` already set. */

#include <ngx_config.h>
#include <ngx_core.h>

extern ngx_module_t ngx_http_pulse_module;

__attribute__((visibility("default"))) ngx_module_t *ngx_modules[] = {&ngx_http_pulse_module, NULL};

__attribute__((visibility("default"))) char *ngx_module_names[] = {"ngx_http_pulse_module", NULL};

__attribute__((visibility("default"))) char *ngx_module_order[] = {
    "ngx_http_pulse_module", "ngx_http_headers_filter_module", NULL};
