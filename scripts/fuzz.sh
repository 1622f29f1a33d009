#!/usr/bin/env bash
# Builds the libFuzzer targets (cmake --preset debug: clang, AddressSanitizer, UBSan) and runs each
# for SECONDS (default 60) from its seed corpus in tests/fuzz/corpus/<target>; what a run
# discovers is kept in build/debug/corpus/<target>, a crashing input in build/debug/<target>-crash-*.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_model_file fuzz_decode_image fuzz_http_request fuzz_torch_checkpoint)

cmake --preset debug >/dev/null
cmake --build --preset fuzz

# LibTorch and OpenCV keep caches for the life of the process: not leaks of ours.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:handle_abort=1
export UBSAN_OPTIONS=print_stacktrace=1
for t in "${targets[@]}"; do
  mkdir -p "build/debug/corpus/$t"
  echo "fuzz: $t for ${seconds} s"
  status=0
  "build/debug/tests/fuzz/$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="build/debug/$t-" "build/debug/corpus/$t" "tests/fuzz/corpus/$t" >"build/debug/$t.log" 2>&1 ||
    status=$?
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)|^Done [0-9]+ runs" \
    "build/debug/$t.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "build/debug/$t.log"
    echo "fuzz: $t failed (exit $status); the input is in build/debug/$t-*"
    exit 1
  fi
done
