#!/usr/bin/env bash
# Builds build/ngx_http_pulse_module.so against Debian's nginx-dev, with Debian's own
# configure flags and compiler options, so the module loads into the stock /usr/sbin/nginx.
# Usage: build-module.sh BUILD_DIR [extra cmake options for the module, e.g. sanitizers]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(mkdir -p "$1" && cd "$1" && pwd)
shift
src=/usr/share/nginx/src
tree=$build/nginx-src

[ -f "$src/conf_flags" ] || { echo "build-module: $src/conf_flags missing: install nginx-dev" >&2; exit 1; }
# shellcheck source=/dev/null
. "$src/conf_flags"

# Debian's nginx was built with these; the module must match them (nginx -V prints them).
cc_opt=$(nginx -V 2>&1 | sed -n "s/.*--with-cc-opt='\([^']*\)'.*/\1/p")
ld_opt=$(nginx -V 2>&1 | sed -n "s/.*--with-ld-opt='\([^']*\)'.*/\1/p")

stamp="$tree/.pulse-configured"
want="$(cat "$repo/config" "$repo/config.make" "$repo/ngx_module/CMakeLists.txt" "$src/conf_flags"; echo "$cc_opt|$ld_opt|$*")"
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
