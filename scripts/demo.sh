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
stop() {
  [ -f "$dir/nginx.pid" ] && kill -QUIT "$(cat "$dir/nginx.pid")" 2>/dev/null || true
}
trap stop EXIT
wait_port "$port"

for path in / /assets/app.3f2a9c1b.css /assets/app.5d41402a.js /api/items /robots.txt /missing; do
  curl -s -o /dev/null "http://127.0.0.1:$port$path" || true
done

cat <<MSG

pulse demo is running (nginx $(nginx -v 2>&1 | sed 's|.*/||') with ngx_http_pulse_module):
  site:     http://127.0.0.1:$port/
  metrics:  http://127.0.0.1:$port/metrics     (curl -s http://127.0.0.1:$port/metrics | grep nginx_http_requests_total)
  config:   $dir/nginx.conf
  logs:     $dir/error.log

MSG
curl -s "http://127.0.0.1:$port/metrics" | grep '^nginx_http_requests_total' || true
echo
if [ -n "${DEMO_SECONDS:-}" ]; then
  sleep "$DEMO_SECONDS"
else
  echo "Ctrl-C stops it."
  while kill -0 "$(cat "$dir/nginx.pid")" 2>/dev/null; do sleep 1; done
fi
