#!/usr/bin/env bash
# Runs HPA scenarios through kube-controller-manager 1.20.2's own HPA code, for the
# differential test of `pulse-sidecar hpa decide` (tests/integration/test_hpa_differential.py).
#
#   scripts/hpa-diff.sh BUILD_DIR SCENARIOS.jsonl
#
# Writes one answer per scenario to SCENARIOS.controller.jsonl (SCENARIOS' name with
# .controller before .jsonl): {"desiredReplicas", "conditions", ...} or {"error"}.
#
# The source is Debian's `kubernetes` source package that scripts/build-kube.sh fetches
# into BUILD/kube/src (run for it when absent; it also builds the e2e binaries, which the
# e2e stage then reuses). It is unpacked once into BUILD/hpa-diff (reused while the
# source, Debian's reflect2, Go and this script are the same), tests/hpa_diff's harness is
# copied in as pkg/controller/podautoscaler/zz_pulse_diff_test.go, and the package's test
# binary is built GOPATH-style with Debian's Go 1.19 and the `faketime` tag (the harness
# needs time.Now() frozen), with GOCACHE in BUILD/kube/gocache. The binary is reused while
# the tree and the harness are the same. Nothing of it is ever committed.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: scripts/hpa-diff.sh BUILD_DIR SCENARIOS.jsonl" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
build=$(cd "$1" && pwd)
scenarios=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
answers=${scenarios%.jsonl}.controller.jsonl

say() { echo "hpa-diff: $*" >&2; }
die() { say "$*"; exit 1; }

# The source package's names, from build-kube.sh (one place for them).
conf() { sed -n "s/^$1=//p" "$repo/scripts/build-kube.sh"; }
VERSION=$(conf VERSION)
ORIG=$(conf ORIG)
ORIG_SHA256=$(conf ORIG_SHA256)
TREE=$(conf TREE)
GO=/usr/lib/go-1.19/bin
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -n "$VERSION" ] && [ -n "$ORIG" ] && [ -n "$TREE" ] || die "cannot read the source's names from scripts/build-kube.sh"
[ -x "$GO/go" ] || die "Debian's Go 1.19 is missing ($GO/go): install golang-1.19-go (make test does)"
[ -d "$REFLECT2" ] || die "Debian's reflect2 is missing ($REFLECT2): install golang-github-modern-go-reflect2-dev"
command -v dpkg-source >/dev/null || die "dpkg-source is missing: install dpkg-dev"
[ -f "$scenarios" ] || die "no scenarios at $scenarios"

src=$build/kube/src
if [ ! -f "$src/$ORIG" ] || [ ! -f "$src/kubernetes_$VERSION.dsc" ]; then
  say "the Kubernetes source is not in $src yet: scripts/build-kube.sh fetches it (and builds the e2e binaries)"
  "$repo/scripts/build-kube.sh" "$build" >&2
fi
echo "$ORIG_SHA256  $src/$ORIG" | sha256sum -c --quiet - ||
  die "$src/$ORIG does not have the expected SHA256 $ORIG_SHA256"

# ---- the unpacked tree, reused while its inputs are the same ------------------------------
work=$build/hpa-diff
stamp=$( (sha256sum "$src/$ORIG" "$src"/kubernetes_"$VERSION".debian.tar.* "$0" \
          "$REFLECT2"/*.go | cut -d' ' -f1; "$GO/go" version) | sha256sum | cut -c1-16)
tree=$work/$TREE
start=$SECONDS
if [ "$(cat "$work/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -d "$tree/pkg/controller/podautoscaler" ]; then
  say "unpacking $TREE into $work (Debian's patches applied)"
  rm -rf "$work/.stamp" "$tree" "$work/gopath" "$work/podautoscaler.test" "$work/.test-stamp"
  mkdir -p "$work"
  (cd "$work" && dpkg-source --no-check -x "$src/kubernetes_$VERSION.dsc" "$TREE" >/dev/null)
  rm -f "$work/$ORIG"  # dpkg-source's copy of the upstream tarball
  # The vendored reflect2 1.0.1 crashes under Go >= 1.18; Debian's 1.0.2 is its fix.
  rm -rf "$tree/vendor/github.com/modern-go/reflect2"
  cp -r "$REFLECT2" "$tree/vendor/github.com/modern-go/reflect2"
  # The tree's own GOPATH layout (as hack/lib/golang.sh makes it): k8s.io/kubernetes.
  mkdir -p "$work/gopath/src/k8s.io"
  ln -sfn "$tree" "$work/gopath/src/k8s.io/kubernetes"
  echo "$stamp" >"$work/.stamp"
  say "unpacked in $((SECONDS - start)) s"
fi

# ---- the package's test binary with the harness, reused while both are the same ----------
harness=$repo/tests/hpa_diff/pulse_diff_test.go.in
pkgdir=$work/gopath/src/k8s.io/kubernetes/pkg/controller/podautoscaler
testbin=$work/podautoscaler.test
test_stamp=$( (echo "$stamp"; sha256sum "$harness" | cut -d' ' -f1) | sha256sum | cut -c1-16)
if [ ! -x "$testbin" ] || [ "$(cat "$work/.test-stamp" 2>/dev/null)" != "$test_stamp" ]; then
  cp "$harness" "$pkgdir/zz_pulse_diff_test.go"
  rm -f "$work/.test-stamp"
  say "compiling pkg/controller/podautoscaler's tests with the harness ($("$GO/go" version | cut -d' ' -f3), -tags faketime; GOCACHE $build/kube/gocache; the first time takes minutes)"
  start=$SECONDS
  mkdir -p "$build/kube/gocache"
  (cd "$work/gopath/src/k8s.io/kubernetes" &&
    GOPATH=$work/gopath GOCACHE=$build/kube/gocache GO111MODULE=off GOFLAGS= GOPROXY=off \
      CGO_ENABLED=0 PATH="$GO:$PATH" \
      go test -c -vet=off -tags faketime -o "$testbin" k8s.io/kubernetes/pkg/controller/podautoscaler >&2)
  echo "$test_stamp" >"$work/.test-stamp"
  say "compiled in $((SECONDS - start)) s"
else
  say "the harness' test binary is up to date ($testbin)"
fi

# ---- the run ----------------------------------------------------------------------------
# Under faketime the binary frames what it writes to fd 1 and 2 for the Go playground; the
# answers go to their own file and the log is shown (unframed) only when the run fails.
# GOMAXPROCS=1, as the playground runs faketime: with the clock frozen the runtime never
# re-sends a preemption signal (it waits for nanotime() to move), so with several Ps a
# garbage collection can wait forever for the running goroutine to stop.
log=$work/run.log
start=$SECONDS
rm -f "$answers"
if ! (cd "$pkgdir" && GOMAXPROCS=1 PULSE_HPA_DIFF_SCENARIOS=$scenarios PULSE_HPA_DIFF_ANSWERS=$answers \
        "$testbin" -test.run '^TestPulseDiff$' -test.v -test.count=1 -test.timeout=0 >"$log" 2>&1); then
  /usr/bin/python3 -c 'import re, sys; sys.stdout.write(re.sub(rb"\0\0PB.{12}", b"", open(sys.argv[1], "rb").read(), flags=re.S).decode(errors="replace")[-20000:])' "$log" >&2
  die "the harness failed (log: $log)"
fi
[ -f "$answers" ] || die "the harness wrote no answers (log: $log)"
say "$(wc -l <"$answers") scenarios through the controller's reconcileAutoscaler in $((SECONDS - start)) s: $answers"
