#!/usr/bin/env bash
# The Dockerfile's images, built and run for real without a Docker engine:
#
#  1. a debian:<release>-slim base made with debootstrap from Debian's archive and imported
#     into a buildah store of our own under BUILD_DIR/container (nothing is pulled from an
#     image registry, and the machine's own container store is never touched);
#  2. `buildah bud --isolation chroot --pull=never --layers` of the targets nginx and sidecar;
#  3. each image's configuration (non-root numeric user, ports, stop signal, OCI labels) and
#     contents (no private key, no certificate);
#  4. each image's own ENTRYPOINT + CMD run inside it with `buildah run`, as the image's user:
#     nginx with the image's nginx.conf (only its listen line moved to a free loopback port)
#     serving demo/site, checked through /metrics, a fingerprinted asset's Cache-Control and its
#     stdout/stderr logs; then the sidecar scraping it, checked through /readyz; both stopped
#     with their stop signals, and they must exit cleanly.
#
# The debootstrap tarball, the imported base and buildah's layers are kept, so a second run
# only runs the containers. Prints "SKIP: ..." and exits 0 only where buildah or debootstrap
# cannot run (not root, no chroot or mount namespaces); any other problem fails.
#
# Usage: tests/container/run.sh BUILD_DIR
# Environment: PULSE_CONTAINER_DIR (cache, default BUILD_DIR/container), PULSE_DEBIAN_RELEASE
# (bookworm), PULSE_DEBIAN_MIRROR, PULSE_DEBIAN_SECURITY_MIRROR, PULSE_BUILDAH_DRIVER
# (overlay, or vfs where the cache folder is itself on overlayfs).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(mkdir -p "${1:?usage: run.sh BUILD_DIR}" && cd "$1" && pwd)
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

release=${PULSE_DEBIAN_RELEASE:-bookworm}
mirror=${PULSE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${PULSE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
dir=${PULSE_CONTAINER_DIR:-$build/container}
base=docker.io/library/debian:$release-slim
nginx_image=localhost/pulse-nginx:test
sidecar_image=localhost/pulse-sidecar:test
started=$SECONDS

say() { printf 'container: %s\n' "$*"; }
fail() {
  printf 'container: FAIL: %s\n' "$*" >&2
  exit 1
}
skip() {
  printf 'SKIP: container images (buildah): %s\n' "$*"
  exit 0
}

# ---- can buildah and debootstrap run here? ------------------------------------------------
command -v buildah >/dev/null || skip "buildah is not installed (Debian package buildah; make test installs it)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (Debian package debootstrap)"
[ "$(id -u)" = 0 ] || skip "debootstrap and buildah's chroot isolation need root, and this runs as $(id -un)"
err=$(chroot / /bin/true 2>&1) || skip "chroot is not permitted here: $err"
err=$(unshare --mount --uts --ipc --fork /bin/true 2>&1) || skip "mount namespaces are not permitted here: $err"

mkdir -p "$dir/logs"
# One run at a time per cache folder (debootstrap, the store, the containers' names).
exec 9>"$dir/lock"
flock -n 9 || {
  say "waiting for another run of this test to finish (lock: $dir/lock)"
  flock 9
}
# The store's driver is chosen once: overlay, unless the folder is itself on overlayfs.
if [ -f "$dir/storage-driver" ]; then
  driver=$(cat "$dir/storage-driver")
else
  driver=${PULSE_BUILDAH_DRIVER:-overlay}
  [ -n "${PULSE_BUILDAH_DRIVER:-}" ] || [ "$(stat -f -c %T "$dir")" != overlayfs ] || driver=vfs
  echo "$driver" >"$dir/storage-driver"
fi
# Run state belongs on /run (cleared at boot, as containers/storage expects), under an id
# made with the store, so a store deleted and made anew never meets the old one's state.
[ -s "$dir/store-id" ] || od -An -N6 -tx1 /dev/urandom | tr -d ' \n' >"$dir/store-id"
runroot=/run/pulse-buildah/$(cat "$dir/store-id")
B() { buildah --root "$dir/storage" --runroot "$runroot" --storage-driver "$driver" "$@"; }
err=$(B info 2>&1 >/dev/null) || skip "buildah cannot open a store in $dir/storage with the $driver driver: $err"
say "buildah $(buildah --version | awk '{print $3}'), store $dir/storage ($driver), isolation chroot"

# ---- the base image: debootstrap, slimmed like debian:*-slim, imported under that name -----
umount_under() {
  local m
  awk -v r="$1" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" || true
  done
}

make_rootfs() {
  local root=$1
  umount_under "$root"
  rm -rf --one-file-system "$root"
  say "debootstrap --variant=minbase $release $mirror (log: $dir/logs/debootstrap.log)"
  if ! debootstrap --variant=minbase "$release" "$root" "$mirror" >"$dir/logs/debootstrap.log" 2>&1; then
    umount_under "$root"
    tail -n 20 "$dir/logs/debootstrap.log" >&2
    fail "debootstrap failed (is $mirror reachable?)"
  fi
  umount_under "$root"
  # What debian:*-slim does: deb822 sources with updates and security, no docs, man pages or
  # translations, no package caches, no apt lists.
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $release $release-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $release-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
    "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/var/log/* "$root/etc/resolv.conf"
  : >"$root/etc/hostname"
}

ensure_base() {
  if B inspect --type image "$base" >/dev/null 2>&1; then
    say "base $base: cached"
    return
  fi
  local tarball=$dir/debian-$release-slim.tar t0=$SECONDS
  if [ ! -f "$tarball" ]; then
    make_rootfs "$dir/rootfs"
    tar --numeric-owner -C "$dir/rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf --one-file-system "$dir/rootfs"
  fi
  say "importing $tarball as $base"
  B rm pulse-base-import >/dev/null 2>&1 || true
  local ctr
  ctr=$(B from --name pulse-base-import scratch)
  B add "$ctr" "$tarball" / >/dev/null
  B config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash \
    --label "org.opencontainers.image.description=debootstrap --variant=minbase $release, made by tests/container/run.sh" \
    "$ctr"
  B commit -q "$ctr" "$base" >/dev/null
  B rm "$ctr" >/dev/null
  say "base $base: made in $((SECONDS - t0)) s"
}

# ---- the images -----------------------------------------------------------------------------
# The build context: the repo's files (those git lists, or all but .git), outside the build
# folder, copied with fixed times and modes. buildah does not reuse a cached COPY step whose
# files were touched after it, even unchanged ones, so a checkout or a formatter would
# otherwise rebuild everything; the content, and so what .dockerignore lets in, is the repo's.
ctx=$dir/context
make_context() {
  local rel=${build#"$repo"/}
  [ "$rel" != "$build" ] || rel=
  rm -rf "$ctx"
  mkdir -p "$ctx"
  if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$repo" && git ls-files -z -co --exclude-standard |
      { if [ -n "$rel" ]; then grep -zv "^$rel/"; else cat; fi; } |
      tar --null --ignore-failed-read -cf - -T - 2>/dev/null) | tar -C "$ctx" -xf -
  else
    tar -C "$repo" --exclude=./.git ${rel:+--exclude="./$rel"} -cf - . | tar -C "$ctx" -xf -
  fi
  [ -f "$ctx/Dockerfile" ] || fail "no Dockerfile in the build context $ctx"
  chmod -R u=rwX,go=rX "$ctx"
  find "$ctx" -exec touch -h -d @0 {} +
}

build_target() {
  local target=$1 tag=$2 log=$dir/logs/bud-$1.log t0=$SECONDS
  say "buildah bud --isolation chroot --pull=never --layers --force-rm --target $target -t $tag (context: $repo; log: $log)"
  if ! B bud --isolation chroot --pull=never --layers --force-rm --build-arg "DEBIAN_RELEASE=$release" \
      --target "$target" -t "$tag" -f "$ctx/Dockerfile" "$ctx" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    fail "building the $target image failed (full log: $log)"
  fi
  say "built $tag in $((SECONDS - t0)) s ($(grep -c -- '--> Using cache' "$log" || true) of $(grep -c 'STEP [0-9]' "$log" || true) steps from cache)"
}

# Prints the image's OCI config (User, Entrypoint, Cmd, StopSignal, Labels, ...) as JSON.
image_config() {
  B inspect --type image "$1" | /usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["OCIv1"]["config"]))'
}

check_config() {
  local image=$1 port=$2 stop_signal=$3
  image_config "$image" | /usr/bin/python3 -c '
import json, re, sys
image, port, stop_signal = sys.argv[1:4]
c = json.load(sys.stdin)
problems = []
user = c.get("User", "")
if not re.fullmatch(r"[1-9][0-9]*:[0-9]+", user):
    problems.append("User is %r: want a numeric non-root uid:gid (runAsNonRoot checks it)" % user)
if port + "/tcp" not in (c.get("ExposedPorts") or {}):
    problems.append("port %s/tcp is not exposed: %s" % (port, sorted(c.get("ExposedPorts") or {})))
if stop_signal and c.get("StopSignal") != stop_signal:
    problems.append("StopSignal is %r, want %s" % (c.get("StopSignal"), stop_signal))
if not c.get("Entrypoint"):
    problems.append("no ENTRYPOINT")
labels = c.get("Labels") or {}
for key in ("title", "description", "version", "source", "licenses", "revision"):
    if "org.opencontainers.image." + key not in labels:
        problems.append("label org.opencontainers.image.%s is missing" % key)
for p in problems:
    print("container: FAIL: %s: %s" % (image, p), file=sys.stderr)
if problems:
    sys.exit(1)
print("container: %s: user %s, ports %s, stop signal %s, entrypoint %s, cmd %s, %s %s" % (
    image, user, " ".join(sorted(c["ExposedPorts"])), c.get("StopSignal") or "SIGTERM",
    json.dumps(c["Entrypoint"]), json.dumps(c.get("Cmd") or []),
    labels["org.opencontainers.image.title"], labels["org.opencontainers.image.version"]))
' "$image" "$port" "$stop_signal" || fail "the $image image's configuration is wrong"
}

# No private key anywhere in the image, no certificate outside the system CA folders.
check_no_secrets() {
  local ctr=$1 mnt hits
  mnt=$(B mount "$ctr")
  hits=$(
    grep -rlI -e '-----BEGIN [A-Z ]*PRIVATE KEY-----' "$mnt" 2>/dev/null || true
    find "$mnt" \( -path "$mnt/usr/share/ca-certificates" -o -path "$mnt/etc/ssl/certs" \) -prune -o \
      -type f \( -name '*.pem' -o -name '*.key' -o -name '*.crt' -o -name '*.p12' -o -path '*/ssl/private/*' \) -print
  )
  B umount "$ctr" >/dev/null
  [ -z "$hits" ] || fail "secrets or certificates in the image of $ctr:"$'\n'"${hits//$mnt/}"
}

# ---- running an image's entrypoint ---------------------------------------------------------
containers=()
bpids=()
# On any exit: stops what runs inside the containers this script started (TERM to the
# entrypoint process, so nginx's master takes its workers along), then KILLs whatever is left,
# parents first (an nginx master would respawn a killed worker), buildah last; then removes the
# working containers.
cleanup() {
  local p c
  for p in "${bpids[@]}"; do
    kill -0 "$p" 2>/dev/null || continue
    for c in $(descendants "$p"); do
      case $(cat "/proc/$c/comm" 2>/dev/null) in
        buildah* | memfd:buildah*) ;;
        *) kill -TERM "$c" 2>/dev/null || true; break ;;
      esac
    done
    for _ in $(seq 1 50); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
      for c in $(descendants "$p"); do
        case $(cat "/proc/$c/comm" 2>/dev/null) in buildah* | memfd:buildah*) ;; *) kill -KILL "$c" 2>/dev/null || true ;; esac
      done
      sleep 1
      for c in $(descendants "$p"); do kill -KILL "$c" 2>/dev/null || true; done
    fi
    wait "$p" 2>/dev/null || true
  done
  for c in "${containers[@]}"; do B rm "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# Every process below $1, parents before their children.
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      for (p in parent) {
        d = 0
        for (q = p; q in parent && q != root; q = parent[q]) d++
        if (q == root && p != root) print d, p
      }
    }' | sort -n | awk '{ print $2 }'
}

# The first process named $2 below $1 whose parent has another name: the container's
# entrypoint process (nginx's master, the sidecar).
entry_pid() {
  local p
  for p in $(descendants "$1"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] || continue
    [ "$(cat "/proc/$(awk '/^PPid:/ { print $2 }' "/proc/$p/status")/comm" 2>/dev/null)" != "$2" ] || continue
    echo "$p"
    return 0
  done
  return 1
}

uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }

# start NAME IMAGE OUT ERR [buildah run options...]: runs the image's ENTRYPOINT + CMD in a new
# working container, in the background, as the image's user. runc (Docker, Kubernetes) hands
# the container's stdout/stderr to that user; buildah's chroot isolation passes pipes owned by
# root, so the command starts as root, gives them to the user, and drops to the user with
# setpriv before exec'ing the entrypoint. Sets $bpid (the buildah process).
start() {
  local name=$1 image=$2 out=$3 errf=$4
  shift 4
  local user cmd=()
  B rm "$name" >/dev/null 2>&1 || true
  B from --pull=never --name "$name" "$image" >/dev/null
  containers+=("$name")
  user=$(image_config "$image" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin).get("User", ""))')
  mapfile -d '' -t cmd < <(image_config "$image" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)
sys.stdout.write("".join(a + "\0" for a in (c.get("Entrypoint") or []) + (c.get("Cmd") or [])))')
  say "$name: buildah run $* $name -- ${cmd[*]} (as $user)"
  # shellcheck disable=SC2016 # expanded by the container's shell
  B run --isolation chroot --user 0:0 "$@" "$name" -- /bin/sh -c \
    'chown "$1" /proc/self/fd/1 /proc/self/fd/2 && u=${1%%:*} g=${1#*:} && shift &&
     exec setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@"' sh "$user" "${cmd[@]}" \
    >"$out" 2>"$errf" &
  bpid=$!
  bpids+=("$bpid")
}

# stop BPID PID SIGNAL WHAT: sends the image's stop signal to its entrypoint process and waits
# for a clean exit.
stop() {
  local bpid=$1 pid=$2 sig=$3 what=$4 status=0
  kill -s "$sig" "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$bpid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$bpid" 2>/dev/null && fail "$what did not exit within 10 s of $sig"
  wait "$bpid" || status=$?
  [ "$status" = 0 ] || fail "$what exited with status $status after $sig"
  say "$what: $sig, exited with status 0"
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true; }

# ---- go -------------------------------------------------------------------------------------
ensure_base
make_context
build_target nginx "$nginx_image"
build_target sidecar "$sidecar_image"
check_config "$nginx_image" 8080 SIGQUIT
check_config "$sidecar_image" 9145 ""

work=$dir/run
rm -rf "$work"
mkdir -p "$work"
cp -r "$repo/demo/site" "$work/site"
port=$(free_port)
sidecar_port=$(free_port)

# nginx: the image's own nginx.conf; only its listen line moves to a free loopback port
# (buildah run shares the host's network: nothing may listen beyond loopback).
B rm pulse-test-inspect >/dev/null 2>&1 || true
B from --pull=never --name pulse-test-inspect "$sidecar_image" >/dev/null
containers+=(pulse-test-inspect)
check_no_secrets pulse-test-inspect
B rm pulse-test-inspect >/dev/null
B from --pull=never --name pulse-test-inspect "$nginx_image" >/dev/null
check_no_secrets pulse-test-inspect
say "no private key or certificate in either image"
mnt=$(B mount pulse-test-inspect)
conf=$work/nginx.conf
cp "$mnt/etc/nginx/nginx.conf" "$conf"
[ -f "$mnt/usr/lib/nginx/modules/ngx_http_pulse_module.so" ] || fail "no module in /usr/lib/nginx/modules"
B umount pulse-test-inspect >/dev/null
B rm pulse-test-inspect >/dev/null
if [ "$(grep -Ec '^[[:space:]]*listen[[:space:]]' "$conf")" != 1 ] || ! grep -Eq '^[[:space:]]*listen 8080;' "$conf"; then
  fail "the image's nginx.conf should have exactly one listen line, 'listen 8080;'"
fi
sed -i -E "s/^([[:space:]]*)listen 8080;/\1listen 127.0.0.1:$port;/" "$conf"
chmod -R a+rX "$work"
say "nginx: the image's /etc/nginx/nginx.conf with listen 127.0.0.1:$port, demo/site at /usr/share/nginx/html"

t0=$SECONDS
start pulse-test-nginx "$nginx_image" "$work/nginx.stdout" "$work/nginx.stderr" \
  -v "$conf:/etc/nginx/nginx.conf:ro" -v "$work/site:/usr/share/nginx/html:ro"
nginx_bpid=$bpid
if ! wait_port "$port" 2>/dev/null; then
  cat "$work/nginx.stderr" >&2
  fail "nginx in $nginx_image does not answer on 127.0.0.1:$port"
fi
nginx_pid=$(entry_pid "$nginx_bpid" nginx) || fail "no nginx master process below buildah run"
for p in $nginx_pid $(descendants "$nginx_pid"); do
  [ "$(uid_of "$p")" != 0 ] || fail "nginx process $p runs as root"
done
say "nginx: master $nginx_pid and its workers run as uid $(uid_of "$nginx_pid"), up in $((SECONDS - t0)) s"

asset=/assets/app.3f2a9c1b.css
curl -sS --max-time 5 -D "$work/asset.headers" -o /dev/null "http://127.0.0.1:$port$asset" ||
  fail "GET $asset failed"
tr -d '\r' <"$work/asset.headers" >"$work/asset.h"
head -1 "$work/asset.h" | grep -q ' 200' || fail "GET $asset: $(head -1 "$work/asset.h")"
cc=$(grep -i '^cache-control:' "$work/asset.h" || true)
[ "$cc" = "Cache-Control: public, max-age=31536000, immutable" ] ||
  fail "GET $asset: want one 'Cache-Control: public, max-age=31536000, immutable', got: ${cc:-none}"
say "nginx: GET $asset -> 200, $cc"
cc=$(curl -sS --max-time 5 -D - -o /dev/null "http://127.0.0.1:$port/index.html" | tr -d '\r' | grep -i '^cache-control:' || true)
[ "$cc" = "Cache-Control: no-cache" ] || fail "GET /index.html: want 'Cache-Control: no-cache', got: ${cc:-none}"
say "nginx: GET /index.html -> $cc"
[ "$(http_code "http://127.0.0.1:$port/healthz")" = 200 ] || fail "GET /healthz is not 200"

curl -sS --max-time 5 "http://127.0.0.1:$port/metrics" >"$work/metrics.txt" || fail "GET /metrics failed"
info=$(grep '^nginx_pulse_info{' "$work/metrics.txt") || fail "GET /metrics has no nginx_pulse_info: the module is not loaded?"
grep -q '^nginx_http_cache_policy_responses_total{.*policy="fingerprinted".*} [1-9]' "$work/metrics.txt" ||
  fail "GET /metrics does not count the fingerprinted response"
say "nginx: GET /metrics -> $info"
grep -q "GET $asset HTTP" "$work/nginx.stdout" || fail "the access log is not on nginx's stdout"
grep -q 'start worker process' "$work/nginx.stderr" || fail "the error log is not on nginx's stderr"
say "nginx: access log on stdout, error log on stderr"

# The sidecar: the image's ENTRYPOINT + CMD (run), pointed at nginx by its environment.
t0=$SECONDS
start pulse-test-sidecar "$sidecar_image" "$work/sidecar.stdout" "$work/sidecar.stderr" \
  --env "PULSE_SCRAPE=http://127.0.0.1:$port/metrics" --env "PULSE_LISTEN=127.0.0.1:$sidecar_port"
sidecar_bpid=$bpid
if ! wait_port "$sidecar_port" 2>/dev/null; then
  cat "$work/sidecar.stderr" >&2
  fail "pulse-sidecar in $sidecar_image does not answer on 127.0.0.1:$sidecar_port"
fi
sidecar_pid=$(entry_pid "$sidecar_bpid" pulse-sidecar) || fail "no pulse-sidecar process below buildah run"
[ "$(uid_of "$sidecar_pid")" != 0 ] || fail "pulse-sidecar runs as root"
code=
for _ in $(seq 1 100); do
  code=$(http_code "http://127.0.0.1:$sidecar_port/readyz")
  [ "$code" = 200 ] && break
  sleep 0.1
done
[ "$code" = 200 ] || { cat "$work/sidecar.stderr" >&2; fail "the sidecar's /readyz answers $code, not 200"; }
say "sidecar: pid $sidecar_pid as uid $(uid_of "$sidecar_pid"), /readyz -> 200 after $((SECONDS - t0)) s"
curl -sS --max-time 5 "http://127.0.0.1:$sidecar_port/signals" >"$work/signals.json" || fail "GET /signals failed"
/usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/signals.json" ||
  fail "GET /signals is not JSON: $(head -c 300 "$work/signals.json")"
[ "$(http_code "http://127.0.0.1:$sidecar_port/healthz")" = 200 ] || fail "the sidecar's /healthz is not 200"
say "sidecar: /healthz -> 200, /signals -> JSON"

# The nginx container's preStop hook (conf/kubernetes): `pulse-sidecar drain` run in the nginx
# container, as its user; the sidecar's readiness turns false.
nginx_user=$(image_config "$nginx_image" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["User"])')
out=$(B run --isolation chroot --user "$nginx_user" pulse-test-nginx -- /bin/sh -c \
  "exec pulse-sidecar drain --sidecar http://127.0.0.1:$sidecar_port --timeout 5s" 2>&1) ||
  fail "pulse-sidecar drain in the nginx container failed: $out"
code=$(http_code "http://127.0.0.1:$sidecar_port/readyz")
[ "$code" = 503 ] || fail "after pulse-sidecar drain the sidecar's /readyz answers $code, not 503"
say "nginx container: /bin/sh -c 'pulse-sidecar drain' -> $(printf '%s' "$out" | tr -s '\n ' ' '); the sidecar's /readyz -> 503"

stop "$sidecar_bpid" "$sidecar_pid" TERM "pulse-sidecar"
stop "$nginx_bpid" "$nginx_pid" "$(image_config "$nginx_image" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["StopSignal"].removeprefix("SIG"))')" nginx
grep -q 'gracefully shutting down' "$work/nginx.stderr" || fail "nginx did not shut down gracefully"
for c in "${containers[@]}"; do B rm "$c" >/dev/null 2>&1 || true; done
containers=()
say "both images build and run: $((SECONDS - started)) s in all (cache: $dir)"
