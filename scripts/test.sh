#!/usr/bin/env bash
# Builds and runs the test suite. `--fast` runs only the fast tier (ctest label "fast").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
label=()
if [ "${1:-}" = "--fast" ]; then label=(-L fast); fi
ctest --test-dir build --output-on-failure -j "$(nproc)" "${label[@]}"
