#!/usr/bin/env bash
# How models/pconv.safetensors was trained, as one script: five calls of pconv train, each run
# starting from the model of the one before (CPU; about 5 hours of this project's 2-core machine
# in all; docs/model-card.md). The configs each run wrote are in models/training/.
# Runs are resumable: after an interruption, rerun the same line with --resume added.
set -euo pipefail
cd "$(dirname "$0")/.."
pconv=${PCONV:-build/release/pconv}
photos=data/photos
bash scripts/get-photos.sh
# The first two runs predate the lomiri photographs: they saw the 16 training photos of
# mate-backgrounds and plasma-workspace-wallpapers only.
mkdir -p $photos/train16
(cd $photos/train16 && ln -sf ../train/mate-backgrounds__* ../train/plasma-workspace-wallpapers__* .)
net="--pixel-loss --depth 6 --width 0.25 --batch-size 6 --workers 1 --threads 2 --val $photos/val"

# 1. 128x128 crops, 8,000 steps: stage 1 at 5e-4, stage 2 (encoder BN frozen) from 6,500 at 1e-4.
$pconv train --train $photos/train16 $net --image-size 128 --iterations 8000 --lr 5e-4 \
  --finetune-lr 1e-4 --finetune-from 6500 --seed 1 --out runs/bundled-1
# 2. The same run continued to 30,000 steps: stage 1 again until 26,000, then stage 2.
$pconv train --out runs/bundled-1 --resume --iterations 30000 --finetune-from 26000 \
  --checkpoint-every 2000 --validate-every 6000 --log-every 2000
# 3. All 28 training photos, 128x128, 23,081 steps at 3e-4 (stopped there for the next stage).
$pconv train --train $photos/train $net --init runs/bundled-1/model.safetensors --image-size 128 \
  --iterations 23081 --lr 3e-4 --seed 2 --out runs/bundled-2
# 4. Object-sized blobs among the masks (30% of shapes), 36,000 steps, stored as float16.
$pconv train --train $photos/train $net --init runs/bundled-2/model.safetensors --image-size 128 \
  --blobs 0.3 --iterations 36000 --lr 2e-4 --finetune-lr 5e-5 --finetune-from 30000 --seed 4 \
  --export-dtype float16 --out runs/bundled-3
# 5. Fine-tuning on 256x256 crops, batch 4, one thread: 12,000 steps, stage 2 from 8,000.
net256="--pixel-loss --depth 6 --width 0.25 --batch-size 4 --workers 1 --threads 1 --val $photos/val"
$pconv train --train $photos/train $net256 \
  --init runs/bundled-3/model.safetensors --image-size 256 --blobs 0.3 --iterations 12000 \
  --lr 1e-4 --finetune-lr 3e-5 --finetune-from 8000 --seed 5 --checkpoint-every 250 \
  --export-dtype float16 --out runs/bundled-4

cp runs/bundled-4/model.safetensors models/pconv.safetensors
(cd models && sha256sum pconv.safetensors > pconv.safetensors.sha256)
echo "train-bundled-model: models/pconv.safetensors written"
