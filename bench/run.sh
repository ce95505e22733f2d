#!/usr/bin/env bash
# Builds the benchmarks and runs them all, printing their tables (see bench/README.md).
#
#   bash bench/run.sh                 # everything (about 40 minutes on 2 cores)
#   bash bench/run.sh --quick         # a smoke run: small sizes, one timed epoch, few updates
#   ONLY=train bash bench/run.sh      # one of: train, fitness, learning
#
# Environment: BUILD (build directory, default build-bench), THREADS (thread counts of the small
# sizes, default 1,2), LARGE_THREADS (default: the largest of THREADS), REPEATS (timed epochs,
# default 5), UPDATES (learning budget, default 400), PYTHON (default /usr/bin/python3: Debian's
# python3-torch, the same libtorch as THANOS), LOG (a copy of the output, default
# BUILD/bench/results-DATE.txt), SKIP_BUILD=1 (run the programs already built in BUILD).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
THREADS=${THREADS:-1,2}
LARGE_THREADS=${LARGE_THREADS:-$(echo "$THREADS" | tr ',' '\n' | sort -n | tail -1)}
REPEATS=${REPEATS:-5}
UPDATES=${UPDATES:-400}
PYTHON=${PYTHON:-/usr/bin/python3}
ONLY=${ONLY:-all}
QUICK=0
if [ "${1:-}" = "--quick" ]; then QUICK=1; fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DTHANOS_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD" --target thanos_bench
fi
mkdir -p "$BUILD/bench"
LOG=${LOG:-$BUILD/bench/results-$(date +%Y%m%d-%H%M%S).txt}
B="$BUILD/bench"

{
  echo "# thanos benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
       "($(git -C "$ROOT" status --porcelain 2>/dev/null | grep -c . || true) uncommitted paths)"
  echo "# $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(uptime)"
  echo "# peer: $PYTHON, torch $("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo 'not importable')"
  echo
  if [ "$QUICK" = 1 ]; then
    case "$ONLY" in all|train)
      "$B/thanos_bench_train" --sizes tiny --threads "$THREADS" --warmup 1 --repeats 1 --python "$PYTHON" ;; esac
    case "$ONLY" in all|fitness)
      echo; "$B/thanos_bench_fitness" --threads "$THREADS" --configs 4 --subset 200 --repeats 1 ;; esac
    case "$ONLY" in all|learning)
      echo; "$B/thanos_bench_learning" --threads "$LARGE_THREADS" --updates 20 --eval-every 10 ;; esac
  else
    case "$ONLY" in all|train)
      "$B/thanos_bench_train" --sizes tiny,small --threads "$THREADS" --repeats "$REPEATS" --python "$PYTHON" \
        --json-out "$B/train_small.json"
      echo
      "$B/thanos_bench_train" --sizes base,large --threads "$LARGE_THREADS" --repeats 3 --skip-loop --python "$PYTHON" \
        --json-out "$B/train_large.json" ;; esac
    case "$ONLY" in all|fitness)
      echo; "$B/thanos_bench_fitness" --threads "$THREADS" --repeats 3 --json-out "$B/fitness.json" ;; esac
    case "$ONLY" in all|learning)
      echo; "$B/thanos_bench_learning" --threads "$LARGE_THREADS" --updates "$UPDATES" --eval-every 50 \
        --json-out "$B/learning.json" ;; esac
  fi
  echo
  echo "# done: $(uptime)"
} 2>&1 | tee "$LOG"
echo "(output saved to $LOG)"
