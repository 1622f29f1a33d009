#!/usr/bin/env bash
# `pconv inpaint` from start to exit, as a user runs it: wall time and peak RSS of the process
# (GNU time), the median of ROUNDS runs, and the --timings breakdown of the last run.
#   - 512×512 photo, irregular strokes, a paper-size model (depth 8, 130 MB of float32 weights):
#     one pass without blending, the defaults (--quality fast), bf16, and --quality best;
#   - the README's example (640×400) with the bundled model, defaults;
#   - a 4000×3000 JPEG with the bundled model, defaults: two 40-pixel spots, 1% and 10% in holes.
#   bench/end_to_end.sh [BUILD_DIR]     (ROUNDS, THREADS, CASES="small large" from the environment)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
rounds=${ROUNDS:-3} threads=${THREADS:-0} cases=${CASES:-small large}
python=${PCONV_SYSTEM_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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

if [[ $cases == *small* ]]; then
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

run "512x512, paper-size model, 1 pass, no blend" -i "$work/photo512.png" -m "$work/mask512.png" \
  -o "$work/out.png" --model "$work/paper.safetensors" --ensemble 1 --blend none
run "512x512, paper-size model, defaults" -i "$work/photo512.png" -m "$work/mask512.png" \
  -o "$work/out.png" --model "$work/paper.safetensors"
run "512x512, paper-size model, defaults, bf16" -i "$work/photo512.png" -m "$work/mask512.png" \
  -o "$work/out.png" --model "$work/paper.safetensors" --precision bf16
run "512x512, paper-size model, --quality best" -i "$work/photo512.png" -m "$work/mask512.png" \
  -o "$work/out.png" --model "$work/paper.safetensors" --quality best
run "640x400 README example, bundled model, defaults" -i "$root/examples/ladybird.jpg" \
  -m "$root/examples/ladybird_mask.png" -o "$work/out.jpg"
fi

[[ $cases == *large* ]] || exit 0
# A 12-megapixel photo: the cost should follow the hole area, not the photo.
"$python" - "$root/examples/ladybird.jpg" "$work" <<'PY'
import sys, cv2, numpy as np
photo = cv2.resize(cv2.imread(sys.argv[1]), (4000, 3000), interpolation=cv2.INTER_CUBIC)
rng = np.random.default_rng(4000)
grain = rng.normal(0, 6, photo.shape)  # a photo's noise, so the JPEG is as large as a camera's
cv2.imwrite(f"{sys.argv[2]}/photo12mp.jpg", np.clip(photo + grain, 0, 255).astype(np.uint8),
            [cv2.IMWRITE_JPEG_QUALITY, 92])
spots = np.zeros((3000, 4000), np.uint8)
cv2.circle(spots, (1200, 900), 20, 255, -1)
cv2.circle(spots, (2900, 2100), 20, 255, -1)
cv2.imwrite(f"{sys.argv[2]}/spots.png", spots)
for share, name in ((0.01, "strokes1"), (0.10, "strokes10")):
    hole = np.zeros((3000, 4000), np.uint8)
    while np.count_nonzero(hole) < share * hole.size:
        p, q = rng.integers(0, 4000, 2), rng.integers(0, 3000, 2)
        cv2.line(hole, (int(p[0]), int(q[0])), (int(p[1]), int(q[1])), 255, int(rng.integers(10, 40)))
    cv2.imwrite(f"{sys.argv[2]}/{name}.png", hole)
PY
for mask in spots strokes1 strokes10; do
  run "4000x3000 JPEG, $mask, bundled model, defaults" -i "$work/photo12mp.jpg" -m "$work/$mask.png" \
    -o "$work/out12mp.jpg"
done
