#!/usr/bin/env bash
# make test-e2e: builds kube-apiserver and kube-controller-manager from Debian's source
# (scripts/build-kube.sh; reused once built), then runs tests/e2e inside a private network
# namespace made here (`unshare --net`), where the control plane, the adapter and every pod
# have their addresses on the namespace's own `lo`. Nothing listens outside it; it goes away
# with the tests. Prints the stage's duration.
#
#   scripts/run-e2e.sh BUILD_DIR [pytest args...]
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/run-e2e.sh BUILD_DIR [pytest args]" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
shift
start=$SECONDS

"$repo/scripts/build-kube.sh" "$build"
echo "e2e: control plane binaries ready after $((SECONDS - start)) s"

sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
# Addresses inside the namespace: the API server's and the adapter's (tests/e2e/kube_env.py);
# the pods' are added by the tests as the ReplicaSets create them.
status=0
"${sudo[@]}" unshare --net -- /bin/sh -c '
  set -e
  ip link set lo up
  ip addr add 10.200.0.1/32 dev lo
  build=$1 repo=$2
  shift 2
  exec env PULSE_E2E_NETNS=1 PULSE_BUILD_DIR="$build" /usr/bin/python3 -m pytest -q -s -p no:cacheprovider \
    "$repo/tests/e2e" "$@"
' e2e "$build" "$repo" "$@" || status=$?
echo "e2e: stage took $((SECONDS - start)) s"
exit $status
