#!/usr/bin/env bash
# The agent soak (docs/RELIABILITY.md, "Agent soak"): builds `thanos` and the soak program into
# ./build, then runs `thanos agent` on 127.0.0.1 for --minutes (default 10) under correct, silent,
# slow and hostile clients, sampling its RSS and descriptors. Writes docs/results/agent_soak.json
# (or --out FILE) and prints its table. Exit status 1 when the soak failed (a correct client was
# not served, the agent died, or its descriptors did not come back).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10
out=docs/results/agent_soak.json
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: scripts/agent_soak.sh [--minutes N] [--out FILE]" >&2; exit 2 ;;
  esac
done
case "$minutes" in ''|*[!0-9.]*) echo "--minutes: expected a number, got '$minutes'" >&2; exit 2 ;; esac
bash scripts/build.sh --target thanos_agent_soak
echo "uptime before: $(uptime)"
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
build/tests/thanos_agent_soak --seconds "$seconds" --out "$out" --thanos build/thanos
