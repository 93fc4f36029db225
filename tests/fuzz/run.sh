#!/usr/bin/env bash
# Builds the exposition parser's libFuzzer target with ASan and UBSan and runs it for a
# bounded number of inputs, seeded with the OpenMetrics test vectors.
#
#   tests/fuzz/run.sh BUILD_DIR [RUNS]     (RUNS defaults to 200000)
#
# Exits non-zero when the build fails or the fuzzer finds a crash, a sanitizer report, a
# broken invariant or a timeout; the reproducer is left in BUILD_DIR/parser_fuzz_artifacts/.
set -euo pipefail

if (($# < 1)); then
  echo "usage: $0 BUILD_DIR [RUNS]" >&2
  exit 2
fi
build_dir=$1
runs=${2:-200000}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

cxx=${CXX_FUZZ:-}
if [[ -z $cxx ]]; then
  for c in clang++ clang++-14; do
    if command -v "$c" >/dev/null; then cxx=$c; break; fi
  done
fi
if [[ -z $cxx ]]; then
  echo "parser fuzz: clang++ not found (Debian: clang, libclang-rt-14-dev; scripts/install-deps.sh installs them)" >&2
  exit 1
fi

mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
binary=$build_dir/parser_fuzz
corpus=$build_dir/parser_fuzz_corpus
artifacts=$build_dir/parser_fuzz_artifacts/
mkdir -p "$corpus" "$artifacts"

"$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra -Werror -I"$repo/sidecar/lib" -I"$repo" \
  "$repo/tests/fuzz/parser_fuzz.cpp" "$repo/sidecar/lib/exposition_parser.cpp" -o "$binary"

# Seeds: every OpenMetrics test vector (kept from run to run: the corpus grows).
for dir in "$repo"/tests/testdata/openmetrics-parsers/*/; do
  [[ -f $dir/metrics ]] && cp "$dir/metrics" "$corpus/seed_$(basename "$dir")"
done

# Tokens of both formats help the mutator past the lexer.
dict=$build_dir/parser_fuzz.dict
cat >"$dict" <<'EOF'
"# HELP "
"# TYPE "
"# UNIT "
"# EOF"
"# EOF\x0a"
" counter\x0a"
" gauge\x0a"
" histogram\x0a"
" gaugehistogram\x0a"
" summary\x0a"
" info\x0a"
" stateset\x0a"
" untyped\x0a"
" unknown\x0a"
"_total"
"_created"
"_bucket"
"_count"
"_sum"
"_gcount"
"_gsum"
"_info"
"le=\"+Inf\""
"quantile=\"0.5\""
"{a=\"b\"}"
" # {a=\"b\"} 1 1"
"\\\""
"\\\\"
"\\n"
"+Inf"
"-Inf"
"NaN"
"1e308"
"1.5e-3"
EOF

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "parser fuzz: $runs runs, corpus $corpus"
"$binary" -runs="$runs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -dict="$dict" \
  -artifact_prefix="$artifacts" -print_final_stats=1 "$corpus"
echo "parser fuzz: clean after $runs runs"
