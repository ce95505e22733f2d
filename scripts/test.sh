#!/usr/bin/env bash
# Builds and runs the test suite. `--fast` skips the slow suites (HAT import through Python,
# multi-process distributed training, real-data checks), for a quick loop; CI runs everything.
# The full run (no arguments) ends with the short fuzz tier: each libFuzzer harness for a few
# seconds on its corpus (scripts/fuzz.sh, docs/RELIABILITY.md), skipped with a line saying so
# where clang-14 is not installed.
# `--sanitize` builds into build-sanitize with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DTHANOS_SANITIZE=ON, -O1) and runs the suite there; extra arguments go to ctest (e.g. -R Agent).
set -euo pipefail
cd "$(dirname "$0")/.."
SLOW='^(HatImport|Distributed|DistributedWorker|SharedData)\.'
dir=build
filter=()
full=1
[ $# -gt 0 ] && full=0
while [ $# -gt 0 ]; do
  case "$1" in
    --fast) filter+=(-E "$SLOW"); shift ;;
    --sanitize) dir=build-sanitize; shift ;;
    *) filter+=("$1"); shift ;;
  esac
done
if [ "$dir" = build-sanitize ]; then
  bash scripts/build.sh --build-dir "$dir" -DTHANOS_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g"
  # libtorch and OpenBLAS are not instrumented: their allocations are not leaks of ours.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
else
  bash scripts/build.sh
fi
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" "${filter[@]}"
if [ "$full" = 1 ]; then
  if bash scripts/fuzz.sh --check 2>/dev/null; then
    bash scripts/fuzz.sh --seconds "${THANOS_FUZZ_SECONDS:-4}" --jobs "$(nproc)" --out build-fuzz/fuzz-short.tsv
  else
    echo "test.sh: clang-14/libFuzzer not installed: the short fuzz tier is skipped (apt-get install clang-14 libfuzzer-14-dev)"
  fi
fi
