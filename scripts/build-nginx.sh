#!/usr/bin/env bash
# Builds nginx 1.26.3 from Debian 13's `nginx` source package, and the pulse module for it,
# into BUILD_DIR/nginx-1.26: the second nginx the integration tests run against (the first
# is Debian 12's 1.22.1). Nothing of the source or the binaries is ever committed.
#
#   scripts/build-nginx.sh BUILD_DIR
#
# Leaves BUILD_DIR/nginx-1.26/sbin/nginx and BUILD_DIR/nginx-1.26/ngx_http_pulse_module.so
# (for PULSE_NGINX_BIN and PULSE_MODULE).
#
# The upstream tarball comes through apt's own client from a `deb-src` line for trixie on
# the Debian mirror this machine already uses, in a private apt configuration under
# nginx-1.26/apt (the system's apt setup is untouched; apt checks every file against the
# signed index), and is checked against its known SHA256 before anything uses it. Debian's
# packaging (patches, flags) is not needed: nginx is built as upstream ships it, with
# --with-compat and the few modules the tests use. Only the first run fetches and compiles
# (about a minute on 2 cores); after that nginx is reused while the tarball, this script
# and the compiler are the same, and the module is rebuilt only where its sources changed.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: scripts/build-nginx.sh BUILD_DIR" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
build=$(cd "$1" && pwd)
out=$build/nginx-1.26
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

SUITE=trixie
ORIG=nginx_1.26.3.orig.tar.gz
ORIG_SHA256=69ee2b237744036e61d24b836668aad3040dda461fe6f570f1787eab570c75aa
TREE="nginx-1.26.3"
# What the integration tests use beyond nginx's defaults (a subset of Debian's list):
# TLS and HTTP/2 (conf/nginx/ingress.conf, test_http_front), stub_status's counters (the
# module's connection gauges need NGX_STAT_STUB), PCRE's JIT as Debian has it. With
# --with-compat, as Debian's, a dynamic module's signature does not depend on which other
# modules either side was built with.
CONF_FLAGS=(--prefix="$out" --with-compat --with-pcre-jit
            --with-http_ssl_module --with-http_v2_module --with-http_stub_status_module)
CC_OPT="-g -O2"

say() { echo "build-nginx: $*" >&2; }
die() { say "$*"; exit 1; }

verified() { echo "$ORIG_SHA256  $1" | sha256sum -c --quiet - >/dev/null 2>&1; }

# ---- the upstream tarball, through a private apt configuration ---------------------------
dl=$out/dl
fetch_orig() {
  local apt=$out/apt
  mkdir -p "$dl"
  private_apt "$apt" "$SUITE" || die "no private apt configuration in $apt"
  say "fetching the source package nginx/$SUITE (private apt configuration in $apt)"
  apt-get "${PRIVATE_APT[@]}" update -qq >&2
  # The whole source package first. The mirror may lack the newest Debian packaging
  # (nginx_1.26.3-*.debian.tar.xz) while it has the upstream tarball, which is all this
  # build needs: then fetch that one file alone, at the address and size apt's own index
  # gives, with apt's own downloader.
  (cd "$dl" && apt-get "${PRIVATE_APT[@]}" source --download-only "nginx/$SUITE" >&2) && return 0
  if verified "$dl/$ORIG"; then
    say "the mirror lacks part of the Debian packaging (the errors above); $ORIG, all this build needs, is here"
    return 0
  fi
  say "apt-get source failed; fetching $ORIG alone"
  local line uri
  line=$(cd "$dl" && apt-get "${PRIVATE_APT[@]}" source --print-uris -qq "nginx/$SUITE" |
         grep -F " $ORIG ") || die "the mirror's nginx/$SUITE has no $ORIG"
  uri=$(sed -n "s/^'\([^']*\)'.*/\1/p" <<<"$line")
  rm -f "$dl/$ORIG"
  /usr/lib/apt/apt-helper download-file "$uri" "$dl/$ORIG" "SHA256:$ORIG_SHA256" >&2 ||
    die "could not download $uri"
}

# A file that fails the check (an interrupted download) is fetched again, not trusted.
verified "$dl/$ORIG" || { rm -f "$dl/$ORIG"; fetch_orig; }
# Always checked here, whatever fetched it: nothing unverified is unpacked or built.
if ! verified "$dl/$ORIG"; then
  got=$(sha256sum "$dl/$ORIG" 2>/dev/null | cut -d' ' -f1)
  die "refusing $dl/$ORIG: its SHA256 is ${got:-missing}, expected $ORIG_SHA256"
fi

# ---- nginx, reused while the tarball, this script and the toolchain are the same ---------
# The libraries nginx links are part of it too (a new libssl-dev means a rebuild).
stamp=$( (echo "$ORIG_SHA256"; sha256sum "$0" | cut -d' ' -f1; gcc --version | head -1
          dpkg-query -W libpcre2-dev libssl-dev zlib1g-dev 2>/dev/null) | sha256sum | cut -c1-16)
nginx=$out/sbin/nginx
if [ -x "$nginx" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
  say "nginx $("$nginx" -v 2>&1 | sed 's|.*/||') is up to date in $nginx"
else
  start=$SECONDS
  # src/ stays as nginx-dev's /usr/share/nginx/src is laid out (pristine source and a
  # conf_flags file), so build-module.sh builds the module against it the same way.
  rm -rf "$out/src" "$out/work" "$out/.stamp"
  mkdir -p "$out/work"
  tar -xzf "$dl/$ORIG" -C "$out/work"
  mv "$out/work/$TREE" "$out/src"
  printf 'NGX_CONF_FLAGS=(%s)\n' "$(printf ' %q' "${CONF_FLAGS[@]}")" >"$out/src/conf_flags"
  cp -r "$out/src/." "$out/work/$TREE"
  say "configuring and compiling $TREE (first time: about a minute)"
  (cd "$out/work/$TREE" && ./configure "${CONF_FLAGS[@]}" --with-cc-opt="$CC_OPT" \
      >"$out/configure.log" 2>&1) || { tail -30 "$out/configure.log" >&2; exit 1; }
  make -s -C "$out/work/$TREE" -j "$(nproc)" >&2
  # The install stays under BUILD_DIR: nginx's prefix is nginx-1.26 itself.
  make -s -C "$out/work/$TREE" install >&2
  rm -rf "$out/work"
  echo "$stamp" >"$out/.stamp"
  say "built in $((SECONDS - start)) s: $nginx"
fi

# ---- the module, against that tree (incremental: only what changed is compiled) ----------
"$repo/scripts/build-module.sh" --nginx "$nginx" --nginx-src "$out/src" "$out"
say "module: $out/ngx_http_pulse_module.so"
