#!/usr/bin/env bash
# make demo: nginx with the module serving the sample site on loopback, some traffic, and
# where to look. Runs until Ctrl-C (or for DEMO_SECONDS seconds when that is set).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
. "$repo/scripts/lib.sh"

dir=$build/demo
rm -rf "$dir" && mkdir -p "$dir/tmp" "$dir/site"
cp -r "$repo/demo/site/." "$dir/site/"
chmod -R a+rX "$dir"  # nginx's workers run as nobody

port=${DEMO_PORT:-$(free_port)}
app_port=$(free_port)
sed -e "s|@MODULE@|$build/ngx_http_pulse_module.so|" -e "s|@DIR@|$dir|g" -e "s|@SITE@|$dir/site|" \
    -e "s|@PORT@|$port|" -e "s|@APP_PORT@|$app_port|g" "$repo/demo/nginx.conf.in" >"$dir/nginx.conf"

nginx -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
sidecar_port=$(free_port)
"$build/pulse-sidecar" run --scrape "http://127.0.0.1:$port/metrics" \
    --listen "127.0.0.1:$sidecar_port" >"$dir/sidecar.log" 2>&1 &
sidecar_pid=$!
traffic_pid=
stop() {
  [ -n "$traffic_pid" ] && kill -TERM "$traffic_pid" 2>/dev/null
  kill -TERM "$sidecar_pid" 2>/dev/null
  [ -f "$dir/nginx.pid" ] && kill -QUIT "$(cat "$dir/nginx.pid")" 2>/dev/null
  wait 2>/dev/null  # reap them: nothing of the demo outlives it
  true
}
trap stop EXIT
wait_port "$port"
wait_port "$sidecar_port"

for path in / /assets/app.3f2a9c1b.css /assets/app.5d41402a.js /api/items /robots.txt /missing; do
  curl -s -o /dev/null "http://127.0.0.1:$port$path" || true
done

# Some steady traffic so the sidecar's signals have something to show.
( while :; do
    for path in / /assets/app.3f2a9c1b.css /api/items; do
      curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port$path" || true
    done
    sleep 0.2
  done ) &
traffic_pid=$!
sleep 2.5

cat <<MSG

pulse demo is running (nginx $(nginx -v 2>&1 | sed 's|.*/||') with ngx_http_pulse_module, and pulse-sidecar):
  site:           http://127.0.0.1:$port/
  nginx metrics:  http://127.0.0.1:$port/metrics
  signals:        http://127.0.0.1:$sidecar_port/signals   (JSON: requests per second, p95, error ratio, ...)
  readiness:      http://127.0.0.1:$sidecar_port/readyz
  sidecar metrics: http://127.0.0.1:$sidecar_port/metrics
  drain:          curl -X POST http://127.0.0.1:$sidecar_port/drain
  config, logs:   $dir/

MSG
echo "== nginx: curl -s http://127.0.0.1:$port/metrics | grep nginx_http_requests_total"
curl -s "http://127.0.0.1:$port/metrics" | grep '^nginx_http_requests_total' || true
echo
echo "== cache policy: curl -sI http://127.0.0.1:$port/assets/app.3f2a9c1b.css (fingerprinted) and / (the HTML shell)"
curl -sI "http://127.0.0.1:$port/assets/app.3f2a9c1b.css" | grep -i '^cache-control' || true
curl -sI "http://127.0.0.1:$port/" | grep -i '^cache-control' || true
echo
echo "== sidecar: curl -s http://127.0.0.1:$sidecar_port/signals"
curl -s "http://127.0.0.1:$sidecar_port/signals" | /usr/bin/python3 -m json.tool 2>/dev/null || true
echo
if [ -n "${DEMO_SECONDS:-}" ]; then
  sleep "$DEMO_SECONDS"
else
  echo "Ctrl-C stops it."
  while kill -0 "$(cat "$dir/nginx.pid")" 2>/dev/null; do sleep 1; done
fi
