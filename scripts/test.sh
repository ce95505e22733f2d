#!/usr/bin/env bash
# Builds and runs the test suite. `--fast` skips the slow suites (HAT import through Python,
# multi-process distributed training, real-data checks), for a quick loop; CI runs everything.
# `--sanitize` builds into build-sanitize with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DTHANOS_SANITIZE=ON, -O1) and runs the suite there; extra arguments go to ctest (e.g. -R Agent).
set -euo pipefail
cd "$(dirname "$0")/.."
SLOW='^(HatImport|Distributed|DistributedWorker|SharedData)\.'
dir=build
filter=()
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
