#!/usr/bin/env bash
# Builds and runs the test suite. `--fast` skips the slow suites (HAT import through Python,
# multi-process distributed training, real-data checks), for a quick loop; CI runs everything.
# The full run (no arguments) ends with the short fuzz tier: each libFuzzer harness for a few
# seconds on its corpus (scripts/fuzz.sh, docs/RELIABILITY.md), skipped with a line saying so
# where clang-14 is not installed.
# `--sanitize` builds into build-sanitize with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DTHANOS_SANITIZE=ON, -O1) and runs the suite there; extra arguments go to ctest (e.g. -R Agent).
# `--tsan` builds the multi-threaded suites and `thanos` into build-tsan with ThreadSanitizer
# (-DTHANOS_TSAN=ON, -O1) and runs the multi-threaded suites there: the agent and its client, the
# measurement workers, the measuring pool of boards (extra arguments replace that selection).
set -euo pipefail
cd "$(dirname "$0")/.."
SLOW='^(HatImport|Distributed|DistributedWorker|SharedData)\.'
THREADED='^(AgentProtocol|AgentLimits|AgentTokenFile|AgentTest|AgentCli|RemoteBackend|WorkerProcess|WorkerCommand|IsolatedBackend|StopSignalScope|Process|PollDeadline)\.|^LatencyDataset\.Pool|^AgentSoak\.'
dir=build
filter=()
full=1
[ $# -gt 0 ] && full=0
while [ $# -gt 0 ]; do
  case "$1" in
    --fast) filter+=(-E "$SLOW"); shift ;;
    --sanitize) dir=build-sanitize; shift ;;
    --tsan) dir=build-tsan; shift ;;
    *) filter+=("$1"); shift ;;
  esac
done
if [ "$dir" = build-sanitize ]; then
  bash scripts/build.sh --build-dir "$dir" -DTHANOS_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g"
  # libtorch and OpenBLAS are not instrumented: their allocations are not leaks of ours.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
elif [ "$dir" = build-tsan ]; then
  # Only what the threaded suites run: their tests (tests/CMakeLists.txt), `thanos` (agent,
  # workers), the soak.
  for target in thanos_threaded_tests thanos_agent_soak; do
    bash scripts/build.sh --build-dir "$dir" --target "$target" -DTHANOS_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g"
  done
  # (Less the two tests that check the running executable is thanos_unit_tests: here it is
  # thanos_threaded_tests, tests/CMakeLists.txt.)
  [ ${#filter[@]} -gt 0 ] || filter=(-R "$THREADED" -E 'CurrentExecutable|TheRunningExecutableAndItsDirectory')
  # A report fails the test (exit code 66); reports inside libtorch/OpenBLAS/libgomp, which are
  # not instrumented, are suppressed by tests/tsan.supp (it says why, entry by entry). TSan's
  # shadow memory needs the fixed layout that ASLR's 28+ random bits break on recent kernels: run
  # without address randomisation (setarch -R), as TSan's own test suite does.
  # handle_segv=0 & co.: the workers' tests crash a child on purpose and expect it to die by the
  # signal, not by TSan's report of it.
  export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0:exitcode=66:second_deadlock_stack=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0:suppressions=$PWD/tests/tsan.supp}"
  exec setarch "$(uname -m)" -R ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" "${filter[@]}"
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
