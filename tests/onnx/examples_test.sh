#!/usr/bin/env bash
# docs/export.md's examples, run on the bundled example with the bundled model exported to ONNX:
# OpenCV dnn in C++ (fill_opencv), OpenCV dnn from Python (fill.py --runtime opencv) and ONNX
# Runtime for Node (fill.mjs) must each give what `pconv inpaint` gives with one pass, no blending,
# one tile, the whole image as one region and no rescaling: the photo's own pixels outside the hole, the same fill inside it
# within a step of 8-bit rounding.
#   examples_test.sh PCONV FILL_OPENCV SOURCE_DIR WORK_DIR
set -euo pipefail
pconv=$1 fill_opencv=$2 src=$3 work=$4
python=${PYTHON:-/usr/bin/python3}  # Debian's, with python3-opencv
rm -rf "$work" && mkdir -p "$work"
photo=$src/examples/ladybird.jpg mask=$src/examples/ladybird_mask.png

conventions=$("$pconv" export --onnx "$work/pconv.onnx" | grep -o -- '--multiple .*')
echo "conventions: $conventions"
"$pconv" inpaint -i "$photo" -m "$mask" -o "$work/pconv.png" --tile 640 --overlap 0 --ensemble 1 --blend none \
  --max-hole-radius 0 --context 0 >/dev/null

# shellcheck disable=SC2086  # the conventions are several arguments
"$fill_opencv" "$work/pconv.onnx" "$photo" "$mask" "$work/opencv.png" $conventions
# shellcheck disable=SC2086
"$python" "$src/examples/onnx/fill.py" --runtime opencv "$work/pconv.onnx" "$photo" "$mask" "$work/python.png" $conventions
# Node resolves packages from the script's folder: run a copy beside tests/onnx's node_modules.
# It reads the photo as PNG: jpeg-js decodes JPEG a few levels apart from libjpeg, which OpenCV
# and pconv use.
cp "$src/examples/onnx/fill.mjs" "$work/fill.mjs"
ln -s "$src/tests/onnx/node_modules" "$work/node_modules"
"$python" -c 'import cv2, sys; cv2.imwrite(sys.argv[2], cv2.imread(sys.argv[1]))' "$photo" "$work/photo.png"
# shellcheck disable=SC2086
node "$work/fill.mjs" "$work/pconv.onnx" "$work/photo.png" "$mask" "$work/node.png" $conventions

"$python" - "$photo" "$mask" "$work" <<'PY'
import sys, cv2, numpy as np
photo, hole, work = cv2.imread(sys.argv[1]), cv2.imread(sys.argv[2], cv2.IMREAD_GRAYSCALE) != 0, sys.argv[3]
ref = cv2.imread(f"{work}/pconv.png").astype(int)
failed = False
for name in ("opencv", "python", "node"):
    out = cv2.imread(f"{work}/{name}.png").astype(int)
    outside = np.abs(out - photo)[~hole].max()
    inside = np.abs(out - ref)[hole]
    ok = outside == 0 and inside.max() <= 1
    failed |= not ok
    print(f"{'ok  ' if ok else 'FAIL'} {name}: outside the hole max |out - photo| = {outside}; inside max "
          f"|out - pconv| = {inside.max()}, {np.count_nonzero(inside)} of {inside.size} values differ")
sys.exit(1 if failed else 0)
PY
