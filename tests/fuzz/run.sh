#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp, with ASan and UBSan; CMakeLists.txt
# here) and runs each for a bounded number of inputs, seeded with tests/fuzz/corpus/<target>/
# (and the parser with the OpenMetrics test vectors). Then promtool reads what the module's
# exposition writer rendered for every input of its corpus.
#
#   tests/fuzz/run.sh BUILD_DIR [RUNS]     (RUNS defaults to 200000)
#
# RUNS is the parser's count; the other targets run a share of it by their speed, so the
# whole suite stays near a minute and a half on two cores once built. The corpora grow in
# BUILD_DIR/<target>_corpus/ from run to run (never in the repository).
#
# Exits non-zero when the build fails, a fuzzer finds a crash, a sanitizer report, a broken
# invariant or a timeout (the reproducer is left in BUILD_DIR/<target>_artifacts/), or
# promtool rejects a render. PULSE_PROMTOOL: the promtool to use (scripts/run-tests.sh sets
# it); unset, Debian's is fetched as the tests fetch it; one that cannot be had fails.
# PULSE_FUZZ_BUILD_ONLY=1 builds and stops (bench/fuzz.sh).
set -euo pipefail

if (($# < 1)); then
  echo "usage: $0 BUILD_DIR [RUNS]" >&2
  exit 2
fi
build_dir=$1
runs=${2:-200000}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

cxx=${CXX_FUZZ:-}
if [[ -z $cxx ]]; then
  for c in clang++ clang++-14; do
    if command -v "$c" >/dev/null; then cxx=$c; break; fi
  done
fi
if [[ -z $cxx ]]; then
  echo "fuzz: clang++ not found (Debian: clang, libclang-rt-14-dev; scripts/install-deps.sh installs them)" >&2
  exit 1
fi

mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
cmake -S "$here" -B "$build_dir/cmake" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=None >/dev/null
cmake --build "$build_dir/cmake" -j "$(nproc)"
[[ ${PULSE_FUZZ_BUILD_ONLY:-} == 1 ]] && exit 0

# Seeds of the parser: every OpenMetrics test vector.
parser_seeds=$build_dir/parser_fuzz_seeds
mkdir -p "$parser_seeds"
for dir in "$repo"/tests/testdata/openmetrics-parsers/*/; do
  [[ -f $dir/metrics ]] && cp "$dir/metrics" "$parser_seeds/seed_$(basename "$dir")"
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# fuzz TARGET RUNS MAX_LEN: runs TARGET_fuzz from its corpus and seeds.
fuzz() {
  local target=$1 n=$2 max_len=$3
  local corpus=$build_dir/${target}_corpus artifacts=$build_dir/${target}_artifacts/
  local seeds=$here/corpus/$target
  [[ $target == parser ]] && seeds=$parser_seeds
  mkdir -p "$corpus" "$artifacts"
  local dict=()
  [[ -f $here/$target.dict ]] && dict=(-dict="$here/$target.dict")
  echo "fuzz: $target, $n runs, corpus $corpus"
  local log=$build_dir/${target}_fuzz.log rc=0
  "$build_dir/cmake/${target}_fuzz" -runs="$n" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    "${dict[@]}" -artifact_prefix="$artifacts" -print_final_stats=1 "$corpus" "$seeds" \
    >"$log" 2>&1 || rc=$?
  # The report without libFuzzer's progress lines (the whole output stays in the log).
  grep -v -e '^#[0-9]' -e '^INFO: ' -e '^	NEW_FUNC' "$log" || true
  if ((rc != 0)); then
    echo "fuzz: $target FAILED (exit $rc); reproducer in $artifacts" >&2
    return 1
  fi
}

fuzz parser "$runs" 8192
fuzz http_request "$runs" 4096
fuzz http_url $((runs / 2)) 1024
fuzz adapter_request $((runs / 2)) 2048
fuzz cache_classifier $((runs / 2)) 1024
fuzz promql $((runs / 2)) 1024
fuzz config $((runs / 5)) 4096
fuzz exposition_writer $((runs / 20)) 4096

# promtool on the renders of the exposition writer's corpus (text 0.0.4, one file each):
# exit 0 is clean, 3 lint problems (not ours to judge here), anything else a rejection.
if [[ -z ${PULSE_PROMTOOL+set} ]]; then
  # Run by hand: Debian's promtool as the tests get it (unpacked into the build folder).
  PULSE_PROMTOOL=$(PULSE_BUILD_DIR=${PULSE_BUILD_DIR:-$repo/build} /usr/bin/python3 -c \
    "import sys; sys.path.insert(0, '$repo/tests/integration'); import pulse_harness as ph; print(ph.promtool())") ||
    PULSE_PROMTOOL=
fi
if [[ -z $PULSE_PROMTOOL || ! -x $PULSE_PROMTOOL ]]; then
  echo "fuzz: PULSE_PROMTOOL ('$PULSE_PROMTOOL') is not an executable promtool" >&2
  exit 1
fi
renders=$build_dir/exposition_renders
rm -rf "$renders" && mkdir -p "$renders"
find "$build_dir/exposition_writer_corpus" "$here/corpus/exposition_writer" -type f -print0 |
  xargs -0 -r -n 200 "$build_dir/cmake/exposition_replay" "$renders"
count=$(find "$renders" -type f | wc -l)
export PULSE_PROMTOOL
# shellcheck disable=SC2016
if ! find "$renders" -type f -print0 | xargs -0 -r -n 1 -P "$(nproc)" sh -c '
    out=$("$PULSE_PROMTOOL" check metrics <"$1" 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
      echo "promtool rejects $1 (exit $rc): $out" >&2; exit 255
    fi' sh; then
  echo "fuzz: promtool rejected a render of the exposition writer (its input: the file name without .prom)" >&2
  exit 1
fi
echo "fuzz: promtool accepts all $count renders of the exposition writer's corpus"
echo "fuzz: clean after $runs runs"
