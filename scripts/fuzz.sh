#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, docs/RELIABILITY.md "Fuzzing") into build-fuzz with
# clang-14, ASan and UBSan, and runs each on a scratch copy of its corpus (fuzz/corpus/<name>/ and
# fuzz/regressions/<name>/; the committed corpus is never modified).
#
#   scripts/fuzz.sh [--seconds N] [--runs N] [--jobs J] [--out FILE] [--build-only | --check] [HARNESS...]
#
# Default: each harness until 10^6 executions (capped at 30 minutes); --seconds N runs each for N
# seconds, --runs N for N executions (both: whichever comes first). --jobs J runs J harnesses at
# a time (default 1). Every harness runs with
# -rss_limit_mb=2048 -timeout=10: a crash, a sanitizer report, an undocumented exception (the
# harness aborts), a leak, an input running over 10 s or a process above 2 GiB is a finding; its
# input is kept under build-fuzz/findings/<name>/ (add it to fuzz/regressions/<name>/ with the
# fix). Writes one row per harness to FILE (default docs/results/fuzz.tsv, whose table
# docs/RELIABILITY.md shows and this script rewrites; rows of harnesses not run are kept) and
# prints the table. Exits 1 when there was a finding, 3 without clang-14
# (--check: only that test).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=""
seconds=""
jobs=1
out=docs/results/fuzz.tsv
build_only=0
check_only=0
harnesses=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --check) check_only=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done

# Neither given: 10^6 executions, at most 30 minutes. Both given: whichever comes first.
if [ -z "$runs" ] && [ -z "$seconds" ]; then
  runs=1000000
  seconds=1800
fi

# clang-14 and its libFuzzer runtime (Debian: clang-14, libfuzzer-14-dev). scripts/test.sh asks
# with --check before running the short tier.
have_toolchain() {
  command -v clang++-14 >/dev/null 2>&1 && compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' >/dev/null
}
if ! have_toolchain; then
  echo "fuzz.sh: clang++-14 with libFuzzer not found; install them with: apt-get install clang-14 libfuzzer-14-dev (scripts/setup.sh does)" >&2
  exit 3
fi
[ "$check_only" = 1 ] && exit 0

dir=build-fuzz
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  # -O1: libFuzzer's usual level (line tables come from fuzz/CMakeLists.txt): quick to compile and to run.
  cmake -S . -B "$dir" "${generator[@]}" -DTHANOS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1" >/dev/null
fi
mapfile -t all < "$dir/fuzz_harnesses.txt" 2>/dev/null || true
# Whether $1 is one of the other arguments (no pipe into grep -q: with pipefail, its early exit
# fails the pipe).
is_in() {
  local x="$1" y
  shift
  for y in "$@"; do [ "$x" = "$y" ] && return 0; done
  return 1
}
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")
targets=()
for h in "${harnesses[@]}"; do
  if ! is_in "$h" "${all[@]}"; then
    echo "fuzz.sh: no harness '$h' (harnesses: ${all[*]})" >&2
    exit 2
  fi
  targets+=("fuzz_$h")
done
cmake --build "$dir" --parallel "$(nproc)" --target "${targets[@]}"
[ "$build_only" = 1 ] && exit 0

commit="$(git rev-parse --short HEAD)"
git diff --quiet HEAD -- src include fuzz 2>/dev/null || commit="$commit+changes"
load_start="$(cut -d' ' -f1 /proc/loadavg)"
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

# One harness: a scratch corpus, one libFuzzer run, one result row in $results/<name>.tsv.
run_one() {
  local h="$1"
  local work="$results/$h"
  local findings_dir="$dir/findings/$h"
  rm -rf "$findings_dir"
  mkdir -p "$work/corpus" "$findings_dir"
  for src in fuzz/corpus/"$h" fuzz/regressions/"$h"; do
    [ -d "$src" ] && find "$src" -maxdepth 1 -type f -exec cp {} "$work/corpus/" \;
  done
  local limit=()
  [ -n "$runs" ] && limit+=(-runs="$runs")
  [ -n "$seconds" ] && limit+=(-max_total_time="$seconds")
  local start=$SECONDS rc=0
  ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
    LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp}" \
    "$dir/fuzz/fuzz_$h" "${limit[@]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$findings_dir/" "$work/corpus" >"$work/log" 2>&1 || rc=$?
  local took=$((SECONDS - start))
  local execs rate files found
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)"
  files="$(find "$work/corpus" -maxdepth 1 -type f | wc -l)"
  found=0
  if [ "$rc" -ne 0 ]; then
    found=1
    cp "$work/log" "$findings_dir/log.txt"
    echo "fuzz.sh: $h: FINDING (exit $rc); input and log in $findings_dir/:" >&2
    grep -m 5 -E 'FUZZ FINDING|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|Test unit written' "$work/log" >&2 || tail -n 20 "$work/log" >&2
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$h" "$took" "${execs:-0}" "${rate:-0}" "$files" "$found" >"$results/$h.tsv"
}

running=0
for h in "${harnesses[@]}"; do
  run_one "$h" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true
load_end="$(cut -d' ' -f1 /proc/loadavg)"
date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

header=$'harness\tseconds\texecutions\texec_per_s\tcorpus_files\tfindings\tcommit\tdate\tload_start/end'
mkdir -p "$(dirname "$out")"
{
  echo "$header"
  if [ -f "$out" ]; then
    # Rows of harnesses not run now stay as they were.
    tail -n +2 "$out" | while IFS= read -r line; do
      is_in "${line%%$'\t'*}" "${harnesses[@]}" || printf '%s\n' "$line"
    done
  fi
  for h in "${harnesses[@]}"; do
    printf '%s\t%s\t%s\t%s\n' "$(cat "$results/$h.tsv")" "$commit" "$date" "$load_start/$load_end"
  done
} >"$out.tmp"
# Rows in the harnesses' order (the build's list), whatever order they were run in.
{
  head -n 1 "$out.tmp"
  for h in "${all[@]}"; do grep -P "^$h\t" "$out.tmp" || true; done
} >"$out.sorted" && rm -f "$out.tmp" && mv "$out.sorted" "$out"
column -t -s $'\t' "$out"
# The committed result file also rewrites docs/RELIABILITY.md's table (between its markers).
if [ "$out" = docs/results/fuzz.tsv ] && [ -f docs/RELIABILITY.md ]; then
  table="$(awk -F'\t' 'NR == 1 {
      print "| harness | seconds | executions | exec/s | corpus files (end) | findings | commit | date | load (start/end) |"
      print "|---|---|---|---|---|---|---|---|---|"; next }
    { printf "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$out")"
  awk -v table="$table" '
    /<!-- fuzz-table:begin -->/ { print; print table; skip = 1; next }
    /<!-- fuzz-table:end -->/ { skip = 0 }
    !skip { print }' docs/RELIABILITY.md >docs/RELIABILITY.md.tmp && mv docs/RELIABILITY.md.tmp docs/RELIABILITY.md
fi
total_found="$(cat "$results"/*.tsv | awk -F'\t' '{s += $6} END {print s + 0}')"
if [ "$total_found" -gt 0 ]; then
  echo "fuzz.sh: $total_found harness(es) with findings (see build-fuzz/findings/)" >&2
  exit 1
fi
echo "fuzz.sh: no finding; results in $out"
