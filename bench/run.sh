#!/usr/bin/env bash
# make bench: prints pulse's figures. Benchmarks never pass or fail on time: a figure over
# its target is printed as "OVER TARGET", and the exit status stays 0. A non-zero exit
# means the benchmark itself could not run (nginx did not start, requests failed).
#
#   bench/run.sh BUILD_DIR     (BUILD_DIR holds ngx_http_pulse_module.so)
#
# 1. instructions per request (callgrind), stock nginx vs the module, N2-N1 difference, for
#    the file served from `location /` and from `location /static/`, one URL repeated and a
#    new URL each request; what the cache policy costs against nginx's `expires`
# 2. render time of the exposition with ~4,096 series
# 3. wrk throughput, stock vs module, alternating pinned runs
# 4. pulse-sidecar against ~4,096 series   5. the adapter, 20 pods
# 6. HTTP front under idle and slow connections
# 7. config signals: the PromQL corpus's evaluation cost; 20 signals over 10,000 series
# See bench/README.md for what each figure means and how it is measured.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: bench/run.sh BUILD_DIR" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
bench=$repo/bench
module=$build/ngx_http_pulse_module.so
# shellcheck source=../scripts/lib.sh
. "$repo/scripts/lib.sh"

NGINX=/usr/sbin/nginx
PY=/usr/bin/python3
HOST=bench.local                       # fixed Host header: same request bytes every run
URI=/static/app.3f2a9c1b.js            # 1 KiB static file, fingerprinted name, every variant
N1=${BENCH_N1:-2000}
N2=${BENCH_N2:-12000}
RENDER_LOCATIONS=${BENCH_RENDER_LOCATIONS:-512}   # x 8 series each = 4,096 (+1 in-flight)
RENDER_SCRAPES=${BENCH_RENDER_SCRAPES:-50}
WRK_RUNS=${BENCH_WRK_RUNS:-5}
WRK_SECONDS=${BENCH_WRK_SECONDS:-5}
SECTIONS=${BENCH_SECTIONS:-1234567}      # e.g. BENCH_SECTIONS=1 for callgrind only
CG_LOCATIONS=${BENCH_CG_LOCATIONS:-"/ /static/"}   # section 1: the location serving $URI
CG_URLS=${BENCH_CG_URLS:-"repeated unseen"}        # section 1: $URI each time, or a new URL
UNSEEN_PATTERN='/static/app.{:07x}f.js'            # request i of an "unseen" run (a new hash)

[ -f "$module" ] || { echo "bench: $module missing: run make module" >&2; exit 1; }
for tool in "$NGINX" valgrind ab wrk taskset curl "$PY"; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d /tmp/pulse-bench.XXXXXX)
chmod 755 "$work"  # nginx's workers run as nobody when started as root
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -QUIT "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -n "${BENCH_KEEP:-}" ]; then
    echo "bench: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# Every run loads one private copy of the module: the same binary throughout, and a
# rebuild of BUILD_DIR while the benchmark runs (which rewrites the file in place under
# the running nginx) cannot change or crash it.
for _ in 1 2 3 4 5; do
  cp "$build/ngx_http_pulse_module.so" "$work/ngx_http_pulse_module.so"
  cmp -s "$build/ngx_http_pulse_module.so" "$work/ngx_http_pulse_module.so" && break
  sleep 1
done
module=$work/ngx_http_pulse_module.so
chmod 755 "$module"

mkdir -p "$work/site/static"
# 1,024 bytes of JavaScript.
"$PY" -c 'import sys; line = "console.log(\"pulse bench\");\n"; s = (line * 64)[:1023] + "\n"; sys.stdout.write(s)' \
  >"$work/site/static/app.3f2a9c1b.js"
# The "unseen" runs ask for N2 different fingerprinted names of that file (hard links).
if [[ $SECTIONS == *1* && $CG_URLS == *unseen* ]]; then
  "$PY" - "$work/site/static" "$N2" "$UNSEEN_PATTERN" <<'PYEOF'
import os, sys
folder, n, pattern = sys.argv[1], int(sys.argv[2]), sys.argv[3]
source = os.path.join(folder, "app.3f2a9c1b.js")
for i in range(n):
    os.link(source, os.path.join(folder, os.path.basename(pattern.format(i))))
PYEOF
fi
chmod -R a+rX "$work/site"

# write_conf DIR PORT MODE VARIANT [LOCATION]
#   MODE:     single (master_process off, for callgrind) | pinned (master + 1 worker on
#             $NGINX_CPU) | plain (master + 1 worker)
#   VARIANT:  stock | metrics | expires | policy | render
#   LOCATION: the prefix location that serves the files and holds expires or the policy
#             (default /static/)
write_conf() {
  local dir=$1 port=$2 mode=$3 variant=$4 location=${5:-/static/}
  local head="" http="" static="" extra=""
  case $mode in
    single) head="master_process off;
daemon off;" ;;
    pinned) head="daemon off;
worker_cpu_affinity $NGINX_MASK;" ;;
    plain) head="daemon off;" ;;
  esac
  case $variant in
    stock) ;;
    expires) static="expires max;" ;;
    metrics | policy | render)
      head="load_module $module;
$head"
      http="pulse_zone pulse 8m;"
      extra="location = /metrics { pulse_exporter; allow 127.0.0.1; deny all; }"
      ;;
  esac
  [ "$variant" = policy ] && static="pulse_cache_policy auto;"
  if [ "$variant" = render ]; then
    http="pulse_zone pulse 32m;
    pulse_max_series 5000;"
    extra="location = /metrics { pulse_exporter; pulse_metrics off; allow 127.0.0.1; deny all; }"
    local i
    for ((i = 0; i < RENDER_LOCATIONS; i++)); do
      printf -v extra '%s\n        location /s%04d/ { if ($arg_s = 404) { return 404; } return 200 "ok\\n"; }' \
        "$extra" "$i"
    done
  fi
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<CONF
$head
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    types { application/javascript js; text/css css; text/html html; text/plain txt; }
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    $http
    server {
        listen 127.0.0.1:$port;
        server_name $HOST;
        root $work/site;
        location $location { $static }
        $extra
    }
}
CONF
  chmod -R a+rX "$dir"
}

# start DIR [PREFIX COMMAND...]: starts nginx (under PREFIX, e.g. valgrind); sets $started.
start() {
  local dir=$1
  shift
  "$@" "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stdout.log" 2>&1 &
  started=$!
  pids+=("$started")
}

# up PID PORT DIR: waits (up to 60 s, valgrind starts slowly) until nginx accepts.
up() {
  local pid=$1 port=$2 dir=$3 i
  for i in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench: nginx in $dir exited at start:" >&2
      cat "$dir/error.log" "$dir/stdout.log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.1
  done
  echo "bench: nginx in $dir does not answer on port $port" >&2
  exit 1
}

# stop PID DIR: graceful stop (SIGQUIT), wait for the process to exit, and make sure no
# nginx process crashed meanwhile (a crash makes every figure of that run meaningless).
# Under valgrind a signal can arrive between nginx's check of its flags and its next
# epoll_wait, which then sleeps with the flag set: the signal is repeated every 2 s.
stop() {
  local pid=$1 dir=$2 p keep=() i
  kill -QUIT "$pid" 2>/dev/null || true
  for i in $(seq 1 300); do
    [[ $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) =~ ^[RSDT]$ ]] || break  # gone or a zombie
    ((i % 20 == 0)) && { kill -QUIT "$pid" 2>/dev/null || true; }
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  pids=("${keep[@]}")
  crashed "$dir"
}

# crashed DIR: exits when nginx's error log reports a crash (a worker killed by a signal,
# or valgrind's report of a fatal signal).
crashed() {
  local dir=$1
  if grep -qE 'exited on signal|Process terminating with default action' \
      "$dir/error.log" "$dir/valgrind.log" 2>/dev/null; then
    echo "bench: nginx crashed in $dir:" >&2
    grep -hE 'exited on signal|emerg|alert|crit|Process terminating' \
      "$dir/error.log" "$dir/valgrind.log" 2>/dev/null | head -5 >&2
    exit 1
  fi
}

# ab_check FILE N: the run must have answered N keep-alive 2xx responses.
ab_check() {
  local file=$1 n=$2
  local complete failed keepalive non2xx
  complete=$(sed -n 's/^Complete requests: *//p' "$file")
  failed=$(sed -n 's/^Failed requests: *//p' "$file")
  keepalive=$(sed -n 's/^Keep-Alive requests: *//p' "$file")
  non2xx=$(sed -n 's/^Non-2xx responses: *//p' "$file")
  if [ "$complete" != "$n" ] || [ "$failed" != 0 ] || [ "$keepalive" != "$n" ] || [ -n "$non2xx" ]; then
    echo "bench: ab did not get $n keep-alive 2xx answers ($file):" >&2
    cat "$file" >&2
    exit 1
  fi
}

# series_value TEXT_FILE METRIC LABEL_SUBSTRING: the sum of the matching samples.
series_value() {
  awk -v m="$2" -v l="$3" 'index($0, m "{") == 1 && index($0, l) { s += $NF } END { printf "%d", s }' "$1"
}

# ---------------------------------------------------------------------------------------
# 1. Instructions per request
# ---------------------------------------------------------------------------------------
cg_file=""
# cg_run VARIANT N [LOCATION [URLS]]: one fresh nginx under callgrind, N keep-alive
# requests on one connection, SIGQUIT. URLS: repeated ($URI each time, ab -k) or unseen
# (request i asks for UNSEEN_PATTERN with i, keepalive_get.py).
cg_run() {
  local variant=$1 n=$2 location=${3:-/static/} urls=${4:-repeated}
  local tag=${location//\//_}
  local dir=$work/cg-$variant-$tag-$urls-$n port
  port=$(free_port)
  write_conf "$dir" "$port" single "$variant" "$location"
  start "$dir" valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
    --log-file="$dir/valgrind.log"
  local pid=$started
  up "$pid" "$port" "$dir"
  if [ "$urls" = unseen ]; then
    "$PY" "$bench/keepalive_get.py" --port "$port" --host "$HOST" --count "$n" \
      --pattern "$UNSEEN_PATTERN" >"$dir/client.txt" 2>&1 || { cat "$dir/client.txt" >&2; exit 1; }
  else
    ab -k -n "$n" -c 1 -s 120 -H "Host: $HOST" "http://127.0.0.1:$port$URI" >"$dir/ab.txt" 2>&1 ||
      { cat "$dir/ab.txt" >&2; exit 1; }
    ab_check "$dir/ab.txt" "$n"
  fi
  # The same checks after both N1 and N2 runs, so their cost cancels in the difference.
  case $variant in
    metrics | policy)
      curl -s --max-time 30 -H "Host: $HOST" "http://127.0.0.1:$port/metrics" >"$dir/metrics.txt"
      local counted
      counted=$(series_value "$dir/metrics.txt" nginx_http_requests_total "location=\"$location\"")
      if [ "$counted" != "$n" ]; then
        echo "bench: the module counted $counted requests in $location, the client sent $n" >&2
        exit 1
      fi
      ;;
  esac
  curl -s --max-time 30 -o /dev/null -D "$dir/headers.txt" -H "Host: $HOST" "http://127.0.0.1:$port$URI"
  stop "$pid" "$dir"
  [ -s "$dir/callgrind.out" ] || { echo "bench: no callgrind output in $dir" >&2; cat "$dir/valgrind.log" >&2; exit 1; }
  cg_file=$dir/callgrind.out
}

cache_control() {  # VARIANT LOCATION URLS: the Cache-Control it answered, for the notes
  local h tag=${2//\//_}
  h=$(tr -d '\r' <"$work/cg-$1-$tag-$3-$N1/headers.txt" | sed -n 's/^[Cc]ache-[Cc]ontrol: *//p' | paste -sd '|' -)
  echo "${h:-(none)}"
}

echo "pulse benchmarks: nginx $($NGINX -v 2>&1 | sed 's|.*/||'), module $build/ngx_http_pulse_module.so"
echo "module sha256 $(sha256sum "$module" | cut -c1-16)..., file dated $(date -r "$build/ngx_http_pulse_module.so" '+%F %T')"
echo "machine: $(nproc) CPUs, $(uname -r)"
echo

if [[ $SECTIONS == *1* ]]; then
echo "== 1. Instructions per request (callgrind) =="
echo "1 KiB file, keep-alive, Host: $HOST, access_log off, one process (master_process off),"
echo "each variant started fresh for N1=$N1 and for N2=$N2 requests on one connection;"
echo "instructions/request = (I(N2) - I(N1)) / (N2 - N1). For each location that serves the"
echo "file (locations: $CG_LOCATIONS) and each kind of URL ($CG_URLS):"
echo "  repeated: GET $URI every time (ab -k -c 1)"
echo "  unseen:   a new fingerprinted name each time, GET ${UNSEEN_PATTERN/\{:07x\}/NNNNNNN} with"
echo "            NNNNNNN = 0, 1, 2, ... (keepalive_get.py): the policy never saw the URL"
t0=$SECONDS

variants=(stock metrics expires)
policy_dir=$work/policy-check
write_conf "$policy_dir" "$(free_port)" single policy
if "$NGINX" -t -q -p "$policy_dir" -c "$policy_dir/nginx.conf" -e "$policy_dir/error.log" >/dev/null 2>&1; then
  variants+=(policy)
  policy_built=1
else
  policy_built=""
fi

declare -A files_n1 files_n2
policy_cases=()
first_case=1
for location in $CG_LOCATIONS; do
  for urls in $CG_URLS; do
    for v in "${variants[@]}"; do
      cg_run "$v" "$N1" "$location" "$urls"; files_n1[$v]=$cg_file
      cg_run "$v" "$N2" "$location" "$urls"; files_n2[$v]=$cg_file
    done
    echo
    echo "-- location $location, $urls URL --"
    specs=(
      "stock|(a) stock nginx|${files_n1[stock]}|${files_n2[stock]}||"
      "metrics|(b) module, metrics on|${files_n1[metrics]}|${files_n2[metrics]}|2|stock"
      "expires|(c) stock nginx + expires max|${files_n1[expires]}|${files_n2[expires]}||stock"
    )
    compare=()
    if [ -n "$policy_built" ]; then
      # +4% is the target of a repeated URL; an unseen one has the ratio to expires only.
      target=4
      [ "$urls" = unseen ] && target="see the policy table"
      specs+=("policy|(d) module, metrics + pulse_cache_policy auto|${files_n1[policy]}|${files_n2[policy]}|$target|stock")
      compare+=(--compare "policy|expires|(d) against (c), the module's policy against nginx's expires")
      compare+=(--compare "policy|metrics|(d) against (b), what the cache policy adds to metrics")
      limit=1
      [ "$urls" = unseen ] && limit=2
      policy_cases+=("$location|$urls|$limit|${files_n1[stock]}|${files_n2[stock]}|${files_n1[metrics]}|${files_n2[metrics]}|${files_n1[expires]}|${files_n2[expires]}|${files_n1[policy]}|${files_n2[policy]}")
    fi
    "$PY" "$bench/callgrind_per_request.py" table --n1 "$N1" --n2 "$N2" "${compare[@]}" "${specs[@]}"
    echo "  targets: metrics at most +2% over stock; metrics + cache policy at most +4% (repeated URL)."
    echo "  Cache-Control answered: (c) $(cache_control expires "$location" "$urls")"
    if [ -n "$policy_built" ]; then
      echo "                          (d) $(cache_control policy "$location" "$urls")"
      echo
      echo "  where the module's instructions go, variant (d), per request:"
      "$PY" "$bench/callgrind_per_request.py" functions --n1 "$N1" --n2 "$N2" \
        --object ngx_http_pulse_module.so "${files_n1[policy]}" "${files_n2[policy]}"
    else
      echo "  cache policy: not built yet (nginx -t rejects \"pulse_cache_policy auto;\"): no variant (d)"
    fi
    if [ -n "$first_case" ]; then
      first_case=""
      echo
      echo "  where the module's instructions go, variant (b), per request (N2-N1 difference):"
      "$PY" "$bench/callgrind_per_request.py" functions --n1 "$N1" --n2 "$N2" \
        --object ngx_http_pulse_module.so "${files_n1[metrics]}" "${files_n2[metrics]}"
      echo
      echo "  what (b) runs that (a) does not, per function and request, nginx's side included"
      echo "  (A = stock, B = module; tail calls can move cost between neighbours, e.g."
      echo "  ngx_http_send_header and the first header filter: read the sum):"
      "$PY" "$bench/callgrind_per_request.py" compare --n1 "$N1" --n2 "$N2" --min 2 \
        "${files_n1[stock]}" "${files_n2[stock]}" "${files_n1[metrics]}" "${files_n2[metrics]}"
      if [ -n "$policy_built" ]; then
        echo
        echo "  what (d) runs that (c) does not (A = stock + expires max, B = module + policy):"
        "$PY" "$bench/callgrind_per_request.py" compare --n1 "$N1" --n2 "$N2" --min 2 \
          "${files_n1[expires]}" "${files_n2[expires]}" "${files_n1[policy]}" "${files_n2[policy]}"
      fi
    fi
  done
done
if [ ${#policy_cases[@]} -gt 0 ]; then
  echo
  echo "-- the cache policy against nginx's expires --"
  "$PY" "$bench/callgrind_per_request.py" policy --n1 "$N1" --n2 "$N2" "${policy_cases[@]}"
fi
echo "  (section 1 took $((SECONDS - t0)) s)"
echo
fi

# ---------------------------------------------------------------------------------------
# 2. Render time of the exposition
# ---------------------------------------------------------------------------------------
if [[ $SECTIONS == *2* ]]; then
echo "== 2. Exposition render time with ~4,096 series =="
t0=$SECONDS
dir=$work/render
port=$(free_port)
write_conf "$dir" "$port" plain render
start "$dir"
render_pid=$started
up "$render_pid" "$port" "$dir"
echo "  $RENDER_LOCATIONS locations x (GET 2xx, GET 4xx, POST 2xx, HEAD 2xx, PUT 2xx) = 8 series"
echo "  each (5 request counters, 1 duration histogram, 2 byte counters); pulse_max_series 5000;"
echo "  GET /metrics (text format) timed in a Python keep-alive client: nginx renders, sends,"
echo "  the client reads the whole body."
"$PY" "$bench/render_time.py" --port "$port" --host "$HOST" --locations "$RENDER_LOCATIONS" \
  --scrapes "$RENDER_SCRAPES"
stop "$render_pid" "$dir"
echo "  (section 2 took $((SECONDS - t0)) s)"
echo
fi

# ---------------------------------------------------------------------------------------
# 3. wrk throughput
# ---------------------------------------------------------------------------------------
if [[ $SECTIONS == *3* ]]; then
echo "== 3. wrk throughput, stock vs module (metrics on) =="
t0=$SECONDS
ncpu=$(nproc)
wrk_threads=1
if [ "$ncpu" -ge 4 ]; then
  NGINX_MASK="0001 0010"; nginx_cpus=0,1; wrk_cpus=2-$((ncpu - 1)); wrk_threads=2; workers=2
  pinning="nginx: 2 workers on CPUs 0 and 1; wrk on CPUs $wrk_cpus"
elif [ "$ncpu" -ge 2 ]; then
  NGINX_MASK="01"; nginx_cpus=0; wrk_cpus=1; workers=1
  pinning="nginx: 1 worker on CPU 0 (worker_cpu_affinity); wrk on CPU 1 (taskset)"
else
  NGINX_MASK=""; workers=1
  pinning="one CPU: nothing pinned, nginx and wrk share it"
fi
declare -A wrk_port wrk_pid
for v in stock metrics; do
  dir=$work/wrk-$v
  port=$(free_port)
  if [ -n "$NGINX_MASK" ]; then
    write_conf "$dir" "$port" pinned "$v"
    sed -i "s/^worker_processes 1;/worker_processes $workers;/" "$dir/nginx.conf"
    start "$dir" taskset -c "$nginx_cpus"
  else
    write_conf "$dir" "$port" plain "$v"
    start "$dir"
  fi
  wrk_pid[$v]=$started
  wrk_port[$v]=$port
  up "$started" "$port" "$dir"
done
wrk_cmd() {  # PORT SECONDS OUTFILE
  if [ -n "$NGINX_MASK" ]; then
    taskset -c "$wrk_cpus" wrk -t"$wrk_threads" -c16 -d"$2"s -H "Host: $HOST" "http://127.0.0.1:$1$URI" >"$3" 2>&1
  else
    wrk -t"$wrk_threads" -c16 -d"$2"s -H "Host: $HOST" "http://127.0.0.1:$1$URI" >"$3" 2>&1
  fi
}
echo "  $pinning"
echo "  wrk -t$wrk_threads -c16 -d${WRK_SECONDS}s GET $URI; runs alternate stock, module, stock, ..."
# One short warm-up each: first runs pay for cold caches and page faults.
wrk_cmd "${wrk_port[stock]}" 1 "$work/wrk-warm-stock.txt"
wrk_cmd "${wrk_port[metrics]}" 1 "$work/wrk-warm-module.txt"
runs=()
for i in $(seq 1 "$WRK_RUNS"); do
  wrk_cmd "${wrk_port[stock]}" "$WRK_SECONDS" "$work/wrk-$i-stock.txt"
  runs+=("stock:$work/wrk-$i-stock.txt")
  wrk_cmd "${wrk_port[metrics]}" "$WRK_SECONDS" "$work/wrk-$i-module.txt"
  runs+=("module:$work/wrk-$i-module.txt")
done
crashed "$work/wrk-stock"
crashed "$work/wrk-metrics"
"$PY" "$bench/wrk_ratio.py" "${runs[@]}"
curl -s --max-time 30 -H "Host: $HOST" "http://127.0.0.1:${wrk_port[metrics]}/metrics" >"$work/wrk-metrics.txt"
echo "  the module counted $(series_value "$work/wrk-metrics.txt" nginx_http_requests_total 'location="/static/"') requests in /static/ (warm-up included)"
stop "${wrk_pid[stock]}" "$work/wrk-stock"
stop "${wrk_pid[metrics]}" "$work/wrk-metrics"
echo "  (section 3 took $((SECONDS - t0)) s)"
echo
fi
# ---------------------------------------------------------------------------------------
# 4. pulse-sidecar: parse throughput, footprint, reaction to a step in load
# ---------------------------------------------------------------------------------------
if [[ $SECTIONS == *4* ]]; then
echo "== 4. pulse-sidecar against ~4,096 series =="
t0=$SECONDS
dir=$work/sidecar
port=$(free_port)
write_conf "$dir" "$port" plain render
start "$dir"
sidecar_nginx_pid=$started
up "$sidecar_nginx_pid" "$port" "$dir"
"$PY" "$bench/sidecar_footprint.py" --port "$port" --host "$HOST" --locations "$RENDER_LOCATIONS" \
  --sidecar "$build/pulse-sidecar" --parse-bench "$build/cmake/sidecar_parse_bench"
stop "$sidecar_nginx_pid" "$dir"
echo "  (section 4 took $((SECONDS - t0)) s)"
echo
fi
# ---------------------------------------------------------------------------------------
# 5. pulse-sidecar adapter: latency of a pods-metric request for 20 pods, memory
# ---------------------------------------------------------------------------------------
if [[ $SECTIONS == *5* ]]; then
echo "== 5. pulse-sidecar adapter, 20 pods =="
t0=$SECONDS
"$PY" "$bench/adapter_latency.py" "$build"
echo "  (section 5 took $((SECONDS - t0)) s)"
echo
fi
# ---------------------------------------------------------------------------------------
# 6. HTTP front of the sidecar and the adapter: probes and memory under idle, slow clients
# ---------------------------------------------------------------------------------------
if [[ $SECTIONS == *6* ]]; then
echo "== 6. HTTP front under 2,000 idle and 200 slow connections =="
t0=$SECONDS
"$PY" "$bench/http_front.py" "$build"
echo "  (section 6 took $((SECONDS - t0)) s)"
echo
fi
# ---------------------------------------------------------------------------------------
# 7. Config signals (docs/workers.md): PromQL evaluation cost, 20 signals over 10,000 series
# ---------------------------------------------------------------------------------------
if [[ $SECTIONS == *7* ]]; then
echo "== 7. Config signals: PromQL evaluation, 20 signals over 10,000 series =="
t0=$SECONDS
"$PY" "$bench/workers.py" "$build"
echo "  (section 7 took $((SECONDS - t0)) s)"
echo
fi
echo "bench: done in $SECONDS s"
