#!/usr/bin/env bash
# pconv's network against its ONNX export in ONNX Runtime (CPU), 512×512, the paper's network,
# the same threads, in alternating rounds of fresh processes; prints both medians, their ratio
# and each process's peak RSS.
#   bench/onnx.sh [BUILD_DIR]       (ROUNDS, REPS, THREADS from the environment)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
rounds=${ROUNDS:-3} reps=${REPS:-5} threads=${THREADS:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/bench/onnx_bench" prepare "$work"
# Node resolves onnxruntime-node from the script's folder: run a copy beside tests/onnx's packages.
cp "$root/bench/onnx_bench.mjs" "$work/" && ln -s "$root/tests/onnx/node_modules" "$work/node_modules"
for round in $(seq "$rounds"); do
  "$build/bench/peer_bench" time "$reps" "$threads" | sed 's/^/pconv /'
  node "$work/onnx_bench.mjs" "$work" "$reps" "$threads" | sed 's/^/ort /'
done > "$work/results"

python3 - "$work/results" "$threads" "$(du -m "$work/paper.onnx" | cut -f1)" <<'PY'
import json, statistics, sys
runs = {"pconv": [], "ort": []}
for line in open(sys.argv[1]):
    side, doc = line.split(" ", 1)
    runs[side].append(json.loads(doc))
med = {k: statistics.median(r["median_ms"] for r in v) for k, v in runs.items()}
rss = {k: max(r["peak_rss_mb"] for r in v) for k, v in runs.items()}
print(f"512x512, depth 8, width 1, {sys.argv[2]} threads, {len(runs['pconv'])} rounds (median of medians)")
print(f"  pconv (LibTorch)          : {med['pconv']:8.1f} ms   peak RSS {rss['pconv']:6.0f} MB")
print(f"  ONNX Runtime {runs['ort'][0]['ort']:<12} : {med['ort']:8.1f} ms   peak RSS {rss['ort']:6.0f} MB"
      f"   (paper.onnx {sys.argv[3]} MB)")
print(f"  ratio ORT / pconv         : {med['ort'] / med['pconv']:8.3f}")
print(f"  max |ORT - pconv| output  : {max(r['max_diff'] for r in runs['ort']):.2e}")
PY
