#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager 1.20.2 from Debian 12's `kubernetes`
# source package into BUILD/kube/bin, for the end-to-end tests (tests/e2e). Nothing of the
# source or the binaries is ever committed.
#
#   scripts/build-kube.sh BUILD_DIR
#
# The source comes through apt's own client from a `deb-src` line for the Debian mirror this
# machine already uses, in a private apt configuration under BUILD_DIR/kube/apt (the
# system's apt setup is untouched; apt checks every file against the signed index), and the
# upstream tarball is checked against its known SHA256 as well. The build is the tree's own
# GOPATH build, as Debian's packaging does it, with Debian's Go 1.19. The binaries are
# reused while the source and this script are unchanged: only the first run compiles
# (about 5 minutes on 2 cores). docs/building.md has the figures.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: scripts/build-kube.sh BUILD_DIR" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
build=$(cd "$1" && pwd)
kube=$build/kube

VERSION=1.20.5+really1.20.2-1.1+deb12u1
ORIG=kubernetes_1.20.5+really1.20.2.orig.tar.gz
ORIG_SHA256=b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc
TREE=kubernetes-1.20.5+really1.20.2
GO=/usr/lib/go-1.19/bin
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2

say() { echo "build-kube: $*" >&2; }
die() { say "$*"; exit 1; }

[ -x "$GO/go" ] || die "Debian's Go 1.19 is missing ($GO/go): install golang-1.19-go (make test does)"
[ -d "$REFLECT2" ] || die "Debian's reflect2 is missing ($REFLECT2): install golang-github-modern-go-reflect2-dev"
command -v rsync >/dev/null || die "rsync is missing: install rsync"
command -v dpkg-source >/dev/null || die "dpkg-source is missing: install dpkg-dev"

# ---- the source, through a private apt configuration ------------------------------------
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

fetch_source() {
  local apt=$kube/apt src=$kube/src
  mkdir -p "$src"
  # deb-src lines for the mirrors of this machine's own `deb` entries (lib.sh)
  private_apt "$apt" || die "no private apt configuration in $apt"
  say "fetching the source package kubernetes=$VERSION (private apt configuration in $apt)"
  apt-get "${PRIVATE_APT[@]}" update -qq >&2
  (cd "$src" && apt-get "${PRIVATE_APT[@]}" source --download-only "kubernetes=$VERSION" >&2)
}

src=$kube/src
if [ ! -f "$src/$ORIG" ] || [ ! -f "$src/kubernetes_$VERSION.dsc" ]; then
  fetch_source
fi
echo "$ORIG_SHA256  $src/$ORIG" | sha256sum -c --quiet - ||
  die "$src/$ORIG does not have the expected SHA256 $ORIG_SHA256"

# ---- the build, reused while the source and this script are the same --------------------
stamp=$( (sha256sum "$src/$ORIG" "$src"/kubernetes_"$VERSION".debian.tar.* "$0" \
          "$REFLECT2"/*.go | cut -d' ' -f1; "$GO/go" version) | sha256sum | cut -c1-16)
bin=$kube/bin
if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] &&
   [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
  say "kube-apiserver and kube-controller-manager are up to date in $bin"
  exit 0
fi

work=$kube/work
rm -rf "$work"
mkdir -p "$work"
say "unpacking $TREE (Debian's patches applied)"
(cd "$work" && dpkg-source --no-check -x "$src/kubernetes_$VERSION.dsc" "$TREE" >/dev/null)
# The vendored reflect2 1.0.1 crashes under Go >= 1.18; Debian's 1.0.2 is its fix.
rm -rf "$work/$TREE/vendor/github.com/modern-go/reflect2"
cp -r "$REFLECT2" "$work/$TREE/vendor/github.com/modern-go/reflect2"

say "compiling kube-apiserver and kube-controller-manager with $("$GO/go" version | cut -d' ' -f3) (first time: minutes)"
start=$SECONDS
mkdir -p "$kube/gocache"
(cd "$work/$TREE" &&
  CGO_ENABLED=0 GOCACHE=$kube/gocache GOFLAGS= GO111MODULE= GOPROXY=off PATH="$GO:$PATH" \
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >&2)
out=$work/$TREE/_output/bin
mkdir -p "$bin"
cp "$out/kube-apiserver" "$out/kube-controller-manager" "$bin/"
echo "$stamp" >"$bin/.stamp"
rm -rf "$work"
say "built in $((SECONDS - start)) s: $bin/kube-apiserver, $bin/kube-controller-manager"
