#!/usr/bin/env bash
# Issue 20's GPU run, in one call on a GPU machine (device tool; carry .gpu-debs, made here by
# scripts/gpu-debs.sh): builds pconv against the machine's LibTorch (scripts/gpu-build.sh), runs the
# tests labelled gpu, then times on the GPU, each beside the same network in the machine's PyTorch
# (bench/torch_bench.py, tools/pconv_torch.py):
#   - the 512×512 forward pass of the paper's network in fp32, bf16 and fp16, NCHW and NHWC;
#   - a training step at 256×256, batch 16, pixel and full loss, fp32 and bf16 (autocast).
# Writes build.log, ctest.log, timings.txt (one line per run) and summary.txt to $OUT (or
# build/gpu-check), and prints the summary.
#   SKIP_BUILD=1   use the build already in BUILD_DIR (a warm machine's second call)
#   DEVICE=cpu BUILD_DIR=build/release SKIP_BUILD=1 REPS=2 TRAIN_BATCH=2   a dry run here
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$PWD/build/gpu-check}
build=${BUILD_DIR:-build/gpu}
device=${DEVICE:-cuda}
reps=${REPS:-20} train_reps=${TRAIN_REPS:-10} batch=${TRAIN_BATCH:-16}
python=${PYTHON:-python3}
mkdir -p "$out"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "gpu-check: building (log in $out/build.log)"
  # What this script runs, no more: the whole build takes minutes a lent machine may not have.
  PCONV_BUILD_TARGETS=${PCONV_BUILD_TARGETS:-pconv peer_bench cuda_test} bash scripts/gpu-build.sh > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; echo "gpu-check: build failed" >&2; exit 1; }
fi
[ -f "$build/env.sh" ] && source "$build/env.sh"
command -v nvidia-smi > /dev/null && nvidia-smi -L | tee "$out/device.txt"
"$python" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)' | tee -a "$out/device.txt"

if [ "$device" = cuda ]; then
  echo "gpu-check: ctest -L gpu (log in $out/ctest.log)"
  ctest --test-dir "$build" -L gpu --output-on-failure > "$out/ctest.log" 2>&1
  tail -3 "$out/ctest.log"
fi

bench=$build/bench/peer_bench
"$bench" mask "$out/mask.f32" || exit 1
: > "$out/timings.txt"
# record SIDE WHAT CONFIG COMMAND...: one line "SIDE WHAT CONFIG {json}", or the error.
record() {
  local side=$1 what=$2 config=$3 result
  shift 3
  result=$("$@" 2> "$out/last.err" | tail -1) || result="{\"error\": \"$(tail -1 "$out/last.err" | tr -d '"\\')\"}"
  echo "$side $what $config $result" | tee -a "$out/timings.txt"
}
for precision in fp32 bf16 fp16; do
  [ "$device" = cpu ] && [ "$precision" = fp16 ] && continue  # no half-precision convolution on the CPU
  for layout in nchw nhwc; do
    record pconv forward "$precision/$layout" "$bench" time "$reps" 0 "$precision" "$device" "$layout"
    record torch forward "$precision/$layout" "$python" bench/torch_bench.py time "$out/mask.f32" "$reps" "$precision" "$device" "$layout"
  done
done
for loss in pixel full; do
  for precision in fp32 bf16; do
    record pconv train "$loss/$precision" "$bench" train "$train_reps" "$batch" 256 "$loss" "$precision" "$device"
    record torch train "$loss/$precision" "$python" bench/torch_bench.py train "$train_reps" "$batch" 256 "$loss" "$precision" "$device"
  done
done

"$python" - "$out/timings.txt" "$batch" <<'PY' | tee "$out/summary.txt"
import json, sys
rows = {}
for line in open(sys.argv[1]):
    side, what, config, result = line.split(" ", 3)
    rows[(what, config, side)] = json.loads(result)
print(f"{'':28} {'pconv ms':>10} {'PyTorch ms':>11} {'ratio':>7}   (median; ratio = PyTorch / pconv)")
for what, config in sorted({(w, c) for w, c, _ in rows}, key=lambda k: (k[0] != "forward", k[1])):
    p, t = rows.get((what, config, "pconv"), {}), rows.get((what, config, "torch"), {})
    label = f"{'forward 512x512' if what == 'forward' else 'train 256x256 b' + sys.argv[2]} {config}"
    if "median_ms" in p and "median_ms" in t:
        print(f"{label:28} {p['median_ms']:10.2f} {t['median_ms']:11.2f} {t['median_ms'] / p['median_ms']:7.2f}")
    else:
        print(f"{label:28} {p.get('median_ms', p.get('error', '-'))!s:>10} {t.get('median_ms', t.get('error', '-'))!s:>11}")
PY
