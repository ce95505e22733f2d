#!/usr/bin/env bash
# BLEU on real data (Table 7): a SubTransformer trained from scratch on Multi30k En-De (29,000
# pairs) for a fixed number of updates on this CPU, then `thanos eval` on test2016 (1,000 pairs)
# with beam 1 and beam 4. Prints BLEU, chrF, their signatures, the training time and the decoding
# speed. Skips (exit 0, with a message) when ../shared/data/multi30k is absent.
#
#   bash bench/bleu_multi30k.sh            # UPDATES=600 (about 25 min of training on 2 cores)
#
# Environment: THANOS (binary, default build/thanos), CORPUS (default ../shared/data/multi30k),
# WORK (default /tmp/thanos-bleu-multi30k), UPDATES (600), VOCAB (4000), CONFIG_KIND (largest of
# configs/spaces/demo.yml), THREADS (all cores), KEEP=1 to reuse a finished training run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
THANOS=${THANOS:-$ROOT/build/thanos}
CORPUS=${CORPUS:-$ROOT/../shared/data/multi30k}
WORK=${WORK:-/tmp/thanos-bleu-multi30k}
UPDATES=${UPDATES:-600}
VOCAB=${VOCAB:-4000}
CONFIG_KIND=${CONFIG_KIND:-largest}
THREADS=${THREADS:-$(nproc)}
if [ ! -f "$CORPUS/train.en" ] || [ ! -f "$CORPUS/test2016.de" ]; then
  echo "bleu_multi30k: $CORPUS not found (train.en/de, valid.en/de, test2016.en/de); skipped"
  exit 0
fi
[ -x "$THANOS" ] || { echo "bleu_multi30k: $THANOS not built (bash scripts/build.sh)"; exit 1; }
mkdir -p "$WORK"
T="$THANOS --threads $THREADS"

if [ ! -f "$WORK/data/manifest.json" ]; then
  $T prepare --train "$CORPUS/train" --valid "$CORPUS/valid" --test "$CORPUS/test2016" \
    --vocab-size "$VOCAB" --out "$WORK/data" --overwrite
fi
$T sample --space "$ROOT/configs/spaces/demo.yml" --kind "$CONFIG_KIND" --out "$WORK/sub.yml"
if [ "${KEEP:-0}" != 1 ] || [ ! -f "$WORK/train/checkpoint_last.pt" ]; then
  rm -rf "$WORK/train"
  start=$(date +%s)
  # A SubTransformer from scratch; inverse_sqrt with a quarter of the budget as warm-up.
  $T train --data "$WORK/data" --space "$ROOT/configs/spaces/demo.yml" --config "$WORK/sub.yml" \
    --save-dir "$WORK/train" --max-updates "$UPDATES" --max-tokens 4096 --lr 0.001 \
    --warmup-updates $((UPDATES / 4)) --log-every 50
  echo $(( $(date +%s) - start )) > "$WORK/train_seconds"
fi
TRAIN_S=$(cat "$WORK/train_seconds" 2>/dev/null || echo "?")

for beam in 1 4; do
  $T eval --model "$WORK/train/checkpoint_last.pt" --data "$WORK/data" --split test --beam "$beam" \
    --lenpen 0.6 --json --output "$WORK/hyp.beam$beam.de" > "$WORK/eval.beam$beam.json"
done

/usr/bin/python3 - "$WORK" "$UPDATES" "$TRAIN_S" "$THREADS" <<'PY'
import json, sys
work, updates, train_s, threads = sys.argv[1:5]
print(f"\nTable 7. BLEU on Multi30k test2016 (1000 sentences): the largest SubTransformer of demo.yml trained "
      f"from scratch for {updates} updates ({train_s} s of training, {threads} thread(s))")
print(f"{'beam':>4} | {'BLEU':>6} | {'chrF2':>6} | {'sent/s':>7} | {'ms/sent':>8} | BLEU signature")
print("-" * 110)
for beam in (1, 4):
    r = json.load(open(f"{work}/eval.beam{beam}.json"))
    ms = 1000.0 * r["decode_seconds"] / r["sentences"]
    print(f"{beam:>4} | {r['bleu']['score']:6.2f} | {r['chrf']['score']:6.2f} | {r['sentences_per_second']:7.1f} | "
          f"{ms:8.1f} | {r['bleu']['signature']}")
print(f"chrF signature: {r['chrf']['signature']}")
print("For orientation: base-size Transformers reach about 35-38 BLEU on this test set after full GPU training.")
PY
