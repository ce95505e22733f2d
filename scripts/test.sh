#!/usr/bin/env bash
# Builds and runs the test suite. `--fast` skips the slow suites (HAT import through Python,
# multi-process distributed training, real-data checks), for a quick loop; CI runs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
SLOW='^(HatImport|Distributed|DistributedWorker|SharedData)\.'
filter=()
if [ "${1:-}" = "--fast" ]; then filter=(-E "$SLOW"); fi
ctest --test-dir build --output-on-failure -j "$(nproc)" "${filter[@]}"
