#!/usr/bin/env bash
# `pconv inpaint` from start to exit, as a user runs it: wall time and peak RSS of the process
# (GNU time), the median of ROUNDS runs, and the --timings breakdown of the last run.
#   - 512×512 photo, irregular strokes, a paper-size model (depth 8, 130 MB of float32 weights):
#     one pass without blending, --quality fast and the defaults;
#   - the README's example (640×400) with the bundled model, defaults.
#   bench/end_to_end.sh [BUILD_DIR]     (ROUNDS, THREADS from the environment)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
rounds=${ROUNDS:-3} threads=${THREADS:-0}
python=${PCONV_SYSTEM_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/bench/peer_bench" model "$work/paper.safetensors"
"$python" - "$root/examples/ladybird.jpg" "$work" <<'PY'
import sys, cv2, numpy as np
photo = cv2.imread(sys.argv[1])
cv2.imwrite(f"{sys.argv[2]}/photo512.png", cv2.resize(photo[:, 120:520], (512, 512), interpolation=cv2.INTER_AREA))
hole = np.zeros((512, 512), np.uint8)
rng = np.random.default_rng(12345)
for _ in range(12):
    p, q = rng.integers(0, 512, 2), rng.integers(0, 512, 2)
    cv2.line(hole, tuple(int(v) for v in p), tuple(int(v) for v in q), 255, int(rng.integers(10, 40)))
cv2.imwrite(f"{sys.argv[2]}/mask512.png", hole)
PY

# run NAME ARGS...: ROUNDS runs; prints the median seconds, the largest peak RSS and the breakdown.
run() {
  local name=$1; shift
  : > "$work/times"
  for _ in $(seq "$rounds"); do
    /usr/bin/time -f "%e %M" -o "$work/time" "$build/pconv" inpaint -q --timings --threads "$threads" "$@" \
      2> "$work/timings"
    cat "$work/time" >> "$work/times"
  done
  "$python" - "$work/times" "$name" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
print(f"{sys.argv[2]:<44} {statistics.median(float(r[0]) for r in rows):6.2f} s   "
      f"peak RSS {max(int(r[1]) for r in rows) / 1024:6.0f} MB")
PY
  sed 's/^/      /' "$work/timings"
}

echo "pconv inpaint end to end, $rounds runs each (median wall time, largest peak RSS), threads=$threads"
run "512x512, paper-size model, 1 pass, no blend" -i "$work/photo512.png" -m "$work/mask512.png" \
  -o "$work/out.png" --model "$work/paper.safetensors" --ensemble 1 --blend none
run "512x512, paper-size model, defaults" -i "$work/photo512.png" -m "$work/mask512.png" \
  -o "$work/out.png" --model "$work/paper.safetensors"
run "640x400 README example, bundled model, defaults" -i "$root/examples/ladybird.jpg" \
  -m "$root/examples/ladybird_mask.png" -o "$work/out.jpg"
