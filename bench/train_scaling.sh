#!/usr/bin/env bash
# Data-parallel scaling of `pconv train` on one machine: samples/s with 1 process and with PROCS
# processes (one LibTorch thread and one data thread each, BATCH samples per process and step),
# and the share of rank 0's time blocked in collectives. The ranks are started the way any
# launcher starts them: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
#   PHOTOS=data/photos/train SIZE=128 DEPTH=6 WIDTH=0.25 BATCH=6 STEPS=300 PROCS=2 bash bench/train_scaling.sh
set -euo pipefail
pconv=${PCONV:-build/release/pconv}
photos=${PHOTOS:-data/photos/train}
size=${SIZE:-128} depth=${DEPTH:-6} width=${WIDTH:-0.25} batch=${BATCH:-6} steps=${STEPS:-300} procs=${PROCS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--train "$photos" --pixel-loss --image-size "$size" --depth "$depth" --width "$width" --batch-size "$batch"
  --iterations "$steps" --threads 1 --workers 1 --checkpoint-every 1000000 --log-every 1000000 --quiet)
echo "| processes | batch per step | samples/s | speed-up | rank 0 blocked in collectives |"
echo "|---|---|---|---|---|"
base=""
for n in 1 "$procs"; do
  port=$((29650 + n))
  for ((r = 0; r < n; r++)); do
    RANK=$r LOCAL_RANK=$r WORLD_SIZE=$n MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      "$pconv" train "${common[@]}" --out "$tmp/run$n" >"$tmp/out$n.$r" &
  done
  wait
  read -r rate comm < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["samples_per_s"], j["communication_share"])' "$tmp/out$n.0")
  base=${base:-$rate}
  python3 -c 'import sys; n,b,r,base,c=sys.argv[1:]; print(f"| {n} | {int(n)*int(b)} | {float(r):.1f} | {float(r)/float(base):.2f}x | {100*float(c):.1f}% |")' "$n" "$batch" "$rate" "$base" "$comm"
done
# The machine's ceiling: the same number of single-process runs side by side, sharing nothing.
for ((r = 0; r < procs; r++)); do
  "$pconv" train "${common[@]}" --out "$tmp/alone$r" >"$tmp/alone$r.json" &
done
wait
total=$(python3 -c 'import json,sys; print(sum(json.load(open(f))["samples_per_s"] for f in sys.argv[1:]))' "$tmp"/alone?.json)
python3 -c 'import sys; n,b,t,base=sys.argv[1:]; print(f"| {n} independent runs, no communication (the ceiling) | {b} each | {float(t):.1f} | {float(t)/float(base):.2f}x | |")' "$procs" "$batch" "$total" "$base"
