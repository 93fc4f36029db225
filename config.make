cat << END >> $NGX_MAKEFILE

modules: ngx_http_pulse_module

ngx_http_pulse_module:
	\$(MAKE) -C $NGX_OBJS/pulse

.PHONY: ngx_http_pulse_module

END
