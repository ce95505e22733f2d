#!/usr/bin/env bash
# The main job on the bundled default: the whole THANOS pipeline in one command,
#   thanos run configs/demo.yml --workdir runs/demo
# on the bundled English->German corpus (built once from Debian's German message catalogs) with
# this machine's CPU as the target: SuperTransformer training, latency/memory measurement,
# predictors, search under budgets set as percentiles of what this machine measured, the chosen,
# largest and baseline models trained identically, BLEU on the test split, ONNX export and the
# report (runs/demo/report.html, report.md, summary.json). About 13 minutes on 2 cores, plus the
# build. Re-running resumes or reuses what is done (docs/PIPELINE.md). WORKDIR changes where.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target thanos
WORK=${WORKDIR:-runs/demo}

echo "== the bundled corpus (data/corpus-en-de)"
bash scripts/build-corpus.sh data/corpus-en-de

echo "== thanos run configs/demo.yml --workdir $WORK"
build/thanos run configs/demo.yml --workdir "$WORK"
echo
cat "$WORK/report.md"
echo
echo "Open $WORK/report.html in a browser for the plots."
