#!/usr/bin/env bash
# Builds ngx_http_pulse_module.so into BUILD_DIR against an nginx's source and configure
# flags, with that nginx's compiler options, so the module loads into that binary.
#
#   build-module.sh [--nginx BIN --nginx-src DIR] BUILD_DIR [extra cmake options, e.g. sanitizers]
#
# By default, Debian's nginx-dev (1.22): /usr/share/nginx/src and the stock nginx.
# --nginx-src names another source tree laid out as nginx-dev's is (nginx's configure, auto/
# and src/, plus a conf_flags file setting NGX_CONF_FLAGS), --nginx the binary built from it:
# scripts/build-nginx.sh makes both for nginx 1.26.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
src=/usr/share/nginx/src
nginx=nginx
while [ $# -gt 0 ]; do
  case $1 in
    --nginx) nginx=$2; shift 2 ;;
    --nginx-src) src=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: build-module.sh [--nginx BIN --nginx-src DIR] BUILD_DIR [cmake options]" >&2; exit 2; }
build=$(mkdir -p "$1" && cd "$1" && pwd)
shift
tree=$build/nginx-src

[ -f "$src/conf_flags" ] || { echo "build-module: $src/conf_flags missing: install nginx-dev (or run build-nginx.sh)" >&2; exit 1; }
# shellcheck source=/dev/null
. "$src/conf_flags"

# The nginx was built with these; the module must match them (nginx -V prints them).
version=$("$nginx" -V 2>&1)
cc_opt=$(sed -n "s/.*--with-cc-opt='\([^']*\)'.*/\1/p" <<<"$version")
ld_opt=$(sed -n "s/.*--with-ld-opt='\([^']*\)'.*/\1/p" <<<"$version")

stamp="$tree/.pulse-configured"
# nginx -V's whole text (version, flags, compiler), so another nginx in the same place
# (a rebuilt build-nginx.sh tree) gets a fresh copy of its source, not the old one.
want="$(cat "$repo/config" "$repo/config.make" "$repo/ngx_module/CMakeLists.txt" "$src/conf_flags"; echo "$version|$*")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf "$tree"
  cp -r "$src" "$tree"
  chmod -R u+w "$tree"
  (cd "$tree" && PULSE_CMAKE_OPTS="$*" ./configure "${NGX_CONF_FLAGS[@]}" \
      --with-cc-opt="$cc_opt" --with-ld-opt="$ld_opt" \
      --add-dynamic-module="$repo" >"$build/nginx-configure.log" 2>&1) ||
    { tail -30 "$build/nginx-configure.log" >&2; exit 1; }
  printf '%s' "$want" >"$stamp"
fi
make -s -C "$tree" -f objs/Makefile modules
# Replace, never overwrite in place: a running nginx has the old file mapped.
cp "$tree/objs/pulse/ngx_http_pulse_module.so" "$build/.ngx_http_pulse_module.so.new"
mv -f "$build/.ngx_http_pulse_module.so.new" "$build/ngx_http_pulse_module.so"
