#!/usr/bin/env bash
# The paper's central claim at small scale (docs/model-card.md, "Partial against ordinary
# convolutions"): the PConv U-Net and the same U-Net with ordinary convolutions, trained with the
# same photos, masks, seed, loss and schedule, then scored on the same masks. About 1½ hours on
# 2 cores with both runs side by side, one thread each.
set -euo pipefail
cd "$(dirname "$0")/.."
pconv=${PCONV:-build/release/pconv}
photos=data/photos
bash scripts/get-photos.sh
pids=()
for partial in true false; do
  name=$([ $partial = true ] && echo pconv || echo unet)
  $pconv train --train $photos/train --val $photos/val --pixel-loss --depth 6 --width 0.25 \
    --batch-size 6 --workers 1 --threads 1 --image-size 128 --blobs 0.3 --iterations 28000 \
    --lr 5e-4 --finetune-lr 1e-4 --finetune-from 24000 --seed 7 --partial $partial \
    --checkpoint-every 1000 --validate-every 10000 --log-every 500 --out runs/compare-$name &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done  # each run's failure stops the script
cp runs/compare-pconv/model.safetensors runs/compare-pconv.safetensors
cp runs/compare-unet/model.safetensors runs/compare-unet.safetensors
# One pass, pasted as the paper does: this compares the networks, not what inpaint adds to them.
$pconv evaluate --images $photos/test --size 256 --per-category 40 --ensemble 1 --blend none --out runs/eval256-compare \
  --method runs/compare-pconv.safetensors --method runs/compare-unet.safetensors --method telea --method ns
