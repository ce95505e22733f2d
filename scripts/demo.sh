#!/usr/bin/env bash
# The main job on the bundled default: the bundled English->German corpus (built once from
# Debian's German message catalogs), `thanos prepare`, a short SuperTransformer training on the
# demo space, then one sampled SubTransformer scored with inherited weights, extracted as a
# standalone model (outputs verified against the SuperTransformer's) and its costs, its BLEU/chrF
# on the test split (beam search, sacreBLEU-exact scoring) and a sentence translated.
# Re-running resumes/reuses what is already there. WORKDIR (default runs/demo) and UPDATES
# (default 300) change where and how long.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
THANOS=build/thanos
WORK=${WORKDIR:-runs/demo}
UPDATES=${UPDATES:-300}
SPACE=configs/spaces/demo.yml
CORPUS=data/corpus-en-de
mkdir -p "$WORK"

echo "== 1. the bundled corpus ($CORPUS)"
bash scripts/build-corpus.sh "$CORPUS"

echo "== 2. prepare: joint sentencepiece vocabulary + binarized splits"
if [ -f "$WORK/data/manifest.json" ]; then
  echo "$WORK/data is prepared already"
else
  $THANOS prepare --train "$CORPUS/train" --valid "$CORPUS/valid" --test "$CORPUS/test" \
    --src-lang en --tgt-lang de --vocab-size 8000 --out "$WORK/data"
fi

echo "== 3. the search space"
$THANOS info --space "$SPACE" --vocab 8000

echo "== 4. SuperTransformer training ($UPDATES updates; a new SubTransformer sampled every update)"
$THANOS train --data "$WORK/data" --space "$SPACE" --save-dir "$WORK/super" --resume \
  --max-updates "$UPDATES" --max-tokens 2048 --lr 1e-3 --warmup-updates $((UPDATES / 4 + 1)) --log-every 10

echo "== 5. one sampled SubTransformer: inherited-weight fitness, extraction, costs"
$THANOS sample --space "$SPACE" --seed "${SEED:-1}" --out "$WORK/sub.yml"
$THANOS valid --checkpoint "$WORK/super/checkpoint_last.pt" --data "$WORK/data" --config "$WORK/sub.yml"
$THANOS extract --checkpoint "$WORK/super/checkpoint_last.pt" --config "$WORK/sub.yml" --out "$WORK/sub.pt"
$THANOS info --checkpoint "$WORK/sub.pt"

echo "== 6. translation quality of that SubTransformer (inherited weights, short training: expect a low BLEU)"
$THANOS eval --model "$WORK/sub.pt" --data "$WORK/data" --split test --preset hat-wmt --output "$WORK/test.hyp.de"
echo "Open the file" | $THANOS translate --model "$WORK/sub.pt" --data "$WORK/data" --preset hat-wmt
echo
echo "artifacts in $WORK: data/ (prepared corpus), super/ (SuperTransformer checkpoints, train_log.jsonl),"
echo "sub.yml (HAT-format SubTransformer config), sub.pt (standalone SubTransformer), test.hyp.de (its test translations)"
