#!/usr/bin/env bash
# Long libFuzzer runs of every target in tests/fuzz (not part of make test, which runs them
# briefly): each target for SECONDS, two at a time, from the corpora tests/fuzz/run.sh grew
# in BUILD_DIR. Prints per target: inputs run, runs per second, coverage (edges and
# features), corpus size and crashes found; a crash's reproducer is in
# BUILD_DIR/<target>_artifacts/. Exits non-zero when a target crashed.
#
#   bench/fuzz.sh BUILD_DIR [SECONDS] [TARGET...]     (SECONDS defaults to 600)
set -euo pipefail

if (($# < 1)); then
  echo "usage: $0 BUILD_DIR [SECONDS] [TARGET...]" >&2
  exit 2
fi
build_dir=$1
seconds=${2:-600}
shift $(($# >= 2 ? 2 : 1))
targets=("$@")
((${#targets[@]})) || targets=(parser http_request http_url adapter_request cache_classifier promql config exposition_writer)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

PULSE_FUZZ_BUILD_ONLY=1 "$repo/tests/fuzz/run.sh" "$build_dir" >/dev/null
build_dir=$(cd "$build_dir" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run() {
  local t=$1
  local corpus=$build_dir/${t}_corpus artifacts=$build_dir/${t}_artifacts/
  local seeds=$repo/tests/fuzz/corpus/$t
  [[ $t == parser ]] && seeds=$build_dir/parser_fuzz_seeds
  mkdir -p "$corpus" "$artifacts" "$seeds"
  local dict=()
  [[ -f $repo/tests/fuzz/$t.dict ]] && dict=(-dict="$repo/tests/fuzz/$t.dict")
  "$build_dir/cmake/${t}_fuzz" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 "${dict[@]}" -artifact_prefix="$artifacts" -print_final_stats=1 \
    "$corpus" "$seeds" >"$build_dir/${t}_bench.log" 2>&1 || true
}

echo "bench/fuzz.sh: ${seconds}s per target, two at a time: ${targets[*]}"
running=0
for t in "${targets[@]}"; do
  run "$t" &
  running=$((running + 1))
  if ((running == 2)); then wait -n; running=$((running - 1)); fi
done
wait

crashed=0
printf '%-18s %12s %9s %7s %8s %8s %8s\n' target execs exec/s cov ft corpus crashes
for t in "${targets[@]}"; do
  log=$build_dir/${t}_bench.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  # The corpus as the fuzzer holds it (files on disk include inputs it since reduced).
  files=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  crashes=$(grep -c '^SUMMARY: ' "$log" || true)
  ((crashes == 0)) || crashed=1
  printf '%-18s %12s %9s %7s %8s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "$files" "$crashes"
done
exit "$crashed"
