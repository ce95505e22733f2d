#!/usr/bin/env bash
# The main job on the bundled default. Until training lands (issue 4) it shows the foundation:
# the bundled search spaces, a SuperTransformer for the demo space, a sampled SubTransformer
# extracted from it (with its outputs verified against the SuperTransformer's), and its costs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
THANOS=build/thanos
WORK=${WORKDIR:-runs/demo}
SPACE=configs/spaces/demo.yml
mkdir -p "$WORK"

echo "== HAT's WMT'14 En-De space with THANOS' elastic QKV"
$THANOS info --space configs/spaces/thanos-wmt-qkv.yml
echo
echo "== the demo space"
$THANOS info --space "$SPACE" --vocab 8000
echo
echo "== a SuperTransformer for it, one sampled SubTransformer, extracted and verified"
$THANOS init --space "$SPACE" --vocab 8000 --seed 1 --out "$WORK/super.pt"
$THANOS sample --space "$SPACE" --seed "${SEED:-1}" --out "$WORK/sub.yml"
$THANOS extract --checkpoint "$WORK/super.pt" --config "$WORK/sub.yml" --out "$WORK/sub.pt"
$THANOS info --checkpoint "$WORK/sub.pt"
echo
echo "artifacts in $WORK: super.pt (SuperTransformer), sub.yml (HAT-format config), sub.pt (standalone SubTransformer)"
