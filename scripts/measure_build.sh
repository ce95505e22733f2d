#!/usr/bin/env bash
# Measures how long THANOS takes to build on this machine, each from a fresh clone of a commit:
#   configure  cmake configure (Release, Ninja)
#   thanos     clean build of the `thanos` program after configure (what scripts/demo.sh builds)
#   all        the rest of the default target (the test executables), after `thanos`
#   edit       one torch-free source (src/common/text.cc) touched, `thanos` rebuilt and relinked
#   ci         with --ci: `CI=true bash .ci/run` in a second fresh clone (set-up check, build, all tests)
# It appends one row per figure to docs/results/build_times.tsv (commit, date, cores, load average
# before, what, seconds) and rewrites the table of docs/DEVELOPING.md from that file. Measure on
# an idle machine: it refuses to start above a load average of 0.5 unless --busy-ok is given.
#
#   bash scripts/measure_build.sh [COMMIT] [--ci] [--busy-ok]
#   bash scripts/measure_build.sh --table      (only rewrite the table)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/docs/results/build_times.tsv"
DOC="$ROOT/docs/DEVELOPING.md"

# The table between the markers of docs/DEVELOPING.md: one row per commit, the latest figure of each kind.
write_table() {
  local table
  table="$(awk -F'\t' 'NR > 1 {
      key = $1; if (!(key in seen)) { seen[key] = 1; order[++n] = key; date[key] = substr($2, 1, 10); load[key] = $4 }
      v[key, $5] = $6
    }
    function cell(k, w) { return ((k, w) in v) ? sprintf("%d:%02d", int(v[k, w] / 60), int(v[k, w] % 60 + 0.5)) : "—" }
    END {
      print "| commit | date | load before | configure | clean build of `thanos` | rest of `all` (tests) | edit of one torch-free file | `.ci/run` (build + all tests) |"
      print "|---|---|---|---|---|---|---|---|"
      for (i = 1; i <= n; ++i) { k = order[i]
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", k, date[k], load[k], cell(k, "configure"), cell(k, "thanos"), cell(k, "all"), cell(k, "edit"), cell(k, "ci") }
    }' "$OUT")"
  awk -v table="$table" '
    /<!-- build-times:begin -->/ { print; print table; skip = 1; next }
    /<!-- build-times:end -->/ { skip = 0 }
    !skip { print }' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
}

commit=HEAD
ci=0
busy_ok=0
for a in "$@"; do
  case "$a" in
    --ci) ci=1 ;;
    --busy-ok) busy_ok=1 ;;
    --table) write_table; exit 0 ;;
    -*) echo "measure_build.sh: unknown option $a" >&2; exit 2 ;;
    *) commit="$a" ;;
  esac
done
sha="$(git -C "$ROOT" rev-parse --short=7 "$commit")"
load="$(cut -d' ' -f1 /proc/loadavg)"
if [ "$busy_ok" = 0 ] && awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
  echo "measure_build.sh: load average $load > 0.5; wait for an idle machine (or --busy-ok)" >&2
  exit 1
fi
work="$(mktemp -d /tmp/thanos-build-XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$OUT")"
[ -f "$OUT" ] || printf 'commit\tdate\tcores\tload\twhat\tseconds\n' >"$OUT"
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sha" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$load" "$1" "$2" | tee -a "$OUT"
}
timed() {  # timed WHAT COMMAND...: runs it, records its wall time
  local what="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$@" >"$work/$what.log" 2>&1; then
    echo "measure_build.sh: $what failed:" >&2
    tail -30 "$work/$what.log" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  record "$what" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
}
clone() {
  git clone -q "$ROOT" "$work/$1"
  git -C "$work/$1" checkout -q "$sha"
}

clone build
(
  cd "$work/build"
  timed configure cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
  timed thanos cmake --build build --parallel "$(nproc)" --target thanos
  timed all cmake --build build --parallel "$(nproc)"
  touch src/common/text.cc
  timed edit cmake --build build --parallel "$(nproc)" --target thanos
)
rm -rf "$work/build"
if [ "$ci" = 1 ]; then
  clone ci
  (cd "$work/ci" && CI=true timed ci bash .ci/run)
fi
write_table
