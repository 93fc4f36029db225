#!/usr/bin/env bash
# make test: unit tests (ctest), the same under AddressSanitizer + UBSan, and the
# integration tests against the real nginx (Debian 12's 1.22, and 1.26 built from Debian
# 13's source), Prometheus and promtool. Prints one closing line, "tests: N passed,
# N failed", and exits non-zero when anything failed.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
jobs=$(nproc)
passed=0
failed=0
failures=()

suite() {
  local name=$1
  shift
  echo
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

# Debian's promtool, unpacked into the build folder (never installed as a daemon): the
# unit tests check a rendered exposition with it too.
PULSE_PROMTOOL=$(PULSE_BUILD_DIR=$build /usr/bin/python3 -c \
  "import sys; sys.path.insert(0, '$repo/tests/integration'); import pulse_harness as ph; print(ph.promtool())") ||
  PULSE_PROMTOOL=
export PULSE_PROMTOOL

unit() {
  ctest --test-dir "$build/cmake" --output-on-failure -j "$jobs"
}

sanitized_unit() {
  cmake -S "$repo" -B "$build/cmake-sanitize" -DCMAKE_BUILD_TYPE=Debug -DPULSE_SANITIZE=ON >/dev/null &&
    cmake --build "$build/cmake-sanitize" -j "$jobs" >/dev/null &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir "$build/cmake-sanitize" --output-on-failure -j "$jobs"
}

fuzz() {
  "$repo/tests/fuzz/run.sh" "$build/fuzz" "${PULSE_FUZZ_RUNS:-200000}"
}

integration() {
  PULSE_BUILD_DIR=$build /usr/bin/python3 -m pytest -q -p no:cacheprovider "$repo/tests/integration"
}

# The module and the sidecar built with ASan+UBSan, under the same integration tests (the
# two 4,000-client crowds of test_reliability_peers left out: a minute of holding sockets,
# while test_http_front takes the same paths, the TLS greeting included, under ASan):
# nginx gets the sanitizer runtime preloaded (it is not instrumented itself), and any
# report lands in a log folder that must stay empty.
sanitized_integration() {
  local logs=$build/sanitize-logs
  rm -rf "$logs" && mkdir -p "$logs" && chmod 1777 "$logs"
  "$repo/scripts/build-module.sh" "$build/sanitize" -DPULSE_SANITIZE=address,undefined >/dev/null || return 1
  PULSE_MODULE=$build/sanitize/ngx_http_pulse_module.so \
  PULSE_NGINX_PRELOAD=$(gcc -print-file-name=libasan.so) \
  PULSE_SIDECAR_BIN=$build/cmake-sanitize/pulse-sidecar \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$logs/asan \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan \
  PULSE_BUILD_DIR=$build /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    "$repo/tests/integration/test_module_counters.py" "$repo/tests/integration/test_module_lifecycle.py" \
    "$repo/tests/integration/test_cache_policy.py" "$repo/tests/integration/test_hostile_input.py" \
    "$repo/tests/integration/test_sidecar.py" "$repo/tests/integration/test_http_front.py" \
    "$repo/tests/integration/test_adapter.py" "$repo/tests/integration/test_workers_signals.py" \
    "$repo/tests/integration/test_workers_adapter.py" "$repo/tests/integration/test_reliability_peers.py" \
    "$repo/tests/integration/test_reliability_nginx.py::test_reload_storm_loses_no_count_resets_nothing_and_leaks_no_zone" \
    -k "not 2000_idle_clients_hold_on" ||
    return 1
  if [ -n "$(ls -A "$logs")" ]; then
    echo "sanitizer reports:" && cat "$logs"/*
    return 1
  fi
}

# The same module against a second nginx: 1.26.3 from Debian 13's source (issue 14).
nginx126() {
  "$repo/scripts/run-nginx126.sh" "$build"
}

e2e() {
  "$repo/scripts/run-e2e.sh" "$build"
}

container() {
  "$repo/tests/container/run.sh" "$build"
}

suite "unit tests" unit
suite "unit tests under ASan+UBSan" sanitized_unit
suite "fuzzing: eight libFuzzer targets, bounded runs, then promtool" fuzz
suite "integration tests of the module and sidecar under ASan+UBSan" sanitized_integration
suite "integration tests (real nginx, Prometheus, promtool)" integration
suite "integration tests against nginx 1.26 (Debian 13 source)" nginx126
suite "container images (buildah)" container
suite "end to end on Kubernetes 1.20 (kube-apiserver, kube-controller-manager, the HPA)" e2e

echo
((failed == 0)) || printf 'failed suite: %s\n' "${failures[@]}"
echo "tests: $passed passed, $failed failed"
((failed == 0))
