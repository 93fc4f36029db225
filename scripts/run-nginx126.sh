#!/usr/bin/env bash
# make test-nginx126: the integration tests that start nginx with the module, run against
# nginx 1.26.3 built from Debian 13's source package (scripts/build-nginx.sh; fetched and
# compiled the first time, reused after) instead of Debian 12's 1.22.1. Prints the stage's
# duration.
#
#   scripts/run-nginx126.sh BUILD_DIR [pytest args...]
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/run-nginx126.sh BUILD_DIR [pytest args]" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
shift
start=$SECONDS

"$repo/scripts/build-nginx.sh" "$build"
nginx=$build/nginx-1.26/sbin/nginx
# The harness would run whatever PULSE_NGINX_BIN names: make sure it is the one meant.
"$nginx" -v 2>&1 | grep -q 'nginx/1\.26\.3$' || { echo "nginx-1.26: $nginx is not nginx 1.26.3" >&2; exit 1; }
echo "nginx-1.26: nginx and the module ready after $((SECONDS - start)) s"

t=$repo/tests/integration
tests=(
  # every test of these files starts nginx with the module (test_sidecar, test_http_front
  # and test_adapter through the sidecars that scrape it)
  "$t/test_module_counters.py" "$t/test_module_lifecycle.py" "$t/test_cache_policy.py"
  "$t/test_hostile_input.py" "$t/test_directives.py" "$t/test_exporter_not_counted.py"
  "$t/test_prometheus_scrape.py" "$t/test_conf_nginx.py" "$t/test_sidecar.py"
  "$t/test_http_front.py" "$t/test_adapter.py"
  # the few that start nginx in files mostly about something else (Prometheus' rules, the
  # workers' signals, the harness itself), named one by one: the rest of those files does
  # not depend on the nginx version, and a renamed test fails this stage loudly
  "$t/test_conf_prometheus.py::test_live_prometheus_discovers_pods_and_evaluates"
  "$t/test_workers_signals.py::test_openmetrics_and_gzip_from_the_module"
  "$t/test_harness_selfcheck.py::test_plain_nginx_lifecycle"
  "$t/test_harness_selfcheck.py::test_nginx_bad_config_is_reported"
  "$t/test_harness_selfcheck.py::test_nginx_foreground"
  "$t/test_harness_selfcheck.py::test_kill_worker_signal_choice"
  "$t/test_reliability_nginx.py::test_reload_storm_loses_no_count_resets_nothing_and_leaks_no_zone"
)
# test_demo is left out: it runs `make demo`, which is Debian's nginx by design.
status=0
PULSE_NGINX_BIN=$nginx PULSE_MODULE=$build/nginx-1.26/ngx_http_pulse_module.so \
PULSE_BUILD_DIR=$build /usr/bin/python3 -m pytest -q -p no:cacheprovider "${tests[@]}" "$@" ||
  status=$?
echo "nginx-1.26: stage took $((SECONDS - start)) s"
exit $status
