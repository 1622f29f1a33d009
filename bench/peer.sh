#!/usr/bin/env bash
# pconv's forward pass against the same network as naoto0804's PyTorch port computes it
# (bench/peer_naoto.py, PyTorch's Python API on Debian's python3-torch), 512×512, the paper's
# network, the same threads, in alternating rounds of fresh processes. Prints both medians, the
# speed ratio and the peak-RSS ratio (issue targets: speed >= 3, RSS <= 0.4).
#   bench/peer.sh [BUILD_DIR]       (ROUNDS, REPS, THREADS from the environment; LITERAL=1 adds the
#                                    port's code as written: boolean indexing and a zeros convolution;
#                                    BF16=1 adds pconv with --precision bf16)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
rounds=${ROUNDS:-3} reps=${REPS:-5} threads=${THREADS:-$(nproc)}
python=${PCONV_SYSTEM_PYTHON:-/usr/bin/python3}
if ! "$python" -c "import torch, numpy" 2>/dev/null; then
  echo "peer.sh: $python lacks torch or numpy (apt-get install python3-torch)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/bench/peer_bench" mask "$work/mask.f32"
for round in $(seq "$rounds"); do
  "$build/bench/peer_bench" time "$reps" "$threads" | sed 's/^/pconv /'
  if [ "${BF16:-0}" = 1 ]; then
    "$build/bench/peer_bench" time "$reps" "$threads" bf16 | sed 's/^/bf16 /'
  fi
  "$python" "$root/bench/peer_naoto.py" "$work/mask.f32" "$reps" "$threads" | sed 's/^/naoto /'
  if [ "${LITERAL:-0}" = 1 ]; then
    "$python" "$root/bench/peer_naoto.py" "$work/mask.f32" "$reps" "$threads" --literal | sed 's/^/literal /'
  fi
done > "$work/results"

"$python" - "$work/results" "$threads" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, doc = line.split(" ", 1)
    runs.setdefault(side, []).append(json.loads(doc))
med = {k: statistics.median(r["median_ms"] for r in v) for k, v in runs.items()}
rss = {k: max(r["peak_rss_mb"] for r in v) for k, v in runs.items()}
torch = runs["naoto"][0]["torch"]
print(f"512x512, depth 8, width 1, {sys.argv[2]} threads, {len(runs['pconv'])} rounds (median of medians)")
print(f"  pconv                        : {med['pconv']:8.1f} ms   peak RSS {rss['pconv']:6.0f} MB")
print(f"  naoto0804 port, torch {torch:<7}: {med['naoto']:8.1f} ms   peak RSS {rss['naoto']:6.0f} MB")
if "bf16" in med:
    print(f"  pconv --precision bf16       : {med['bf16']:8.1f} ms   peak RSS {rss['bf16']:6.0f} MB"
          f"   (port / pconv bf16: {med['naoto'] / med['bf16']:.2f})")
if "literal" in med:
    print(f"  ... as net.py writes it      : {med['literal']:8.1f} ms   peak RSS {rss['literal']:6.0f} MB")
print(f"  speed ratio port / pconv     : {med['naoto'] / med['pconv']:8.2f}   (target >= 3)")
print(f"  RSS ratio pconv / port       : {rss['pconv'] / rss['naoto']:8.2f}   (target <= 0.4)")
PY
