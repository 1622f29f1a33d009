#!/usr/bin/env bash
# The core issue's inference benchmark: 512×512, paper network, PConv U-Net vs plain U-Net.
# Prints both timings from one run (interleaved repetitions), their ratio, and the peak RSS of a
# process that runs the PConv U-Net alone.
set -euo pipefail
bin=${1:-build/release/bench/inference_bench}
reps=${REPS:-10}
json=$(mktemp)
trap 'rm -f "$json"' EXIT

"$bin" --benchmark_repetitions="$reps" --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true --benchmark_out="$json" --benchmark_out_format=json >&2
alone=$("$bin" --benchmark_filter='partial:1' --benchmark_min_time=1 --benchmark_format=json 2>/dev/null |
  python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)["benchmarks"][0]["peak_rss_MB"])')

python3 - "$json" "$alone" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
med = {r["run_name"]: r["real_time"] for r in runs if r.get("aggregate_name") == "median"}
p = next(v for k, v in med.items() if "partial:1" in k)
c = next(v for k, v in med.items() if "partial:0" in k)
print(f"512x512 inference, depth 8, width 1 (median of repetitions)")
print(f"  (a) PConv U-Net : {p:8.1f} ms")
print(f"  (b) plain U-Net : {c:8.1f} ms")
print(f"  ratio (a)/(b)   : {p / c:8.3f}   (target <= 1.15)")
print(f"  peak RSS of (a) : {sys.argv[2]:>8} MB  (target <= 600)")
PY
