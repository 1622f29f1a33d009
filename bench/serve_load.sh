#!/usr/bin/env bash
# Load figures of pconv serve (README): starts the server on a free loopback port with the
# bundled model (or $MODEL; $ENSEMBLE passes per tile, default 8; $BLEND poisson or none), sends $N requests of a
# 512x512 image, $C at a time, and prints throughput, p50/p95 latency, errors and the server's
# RSS across the run; then stops it.
set -euo pipefail
build=${BUILD:-build/release}
model=${MODEL:-models/pconv.safetensors}
log=$(mktemp)
"$build/pconv" serve --model "$model" --port 0 --queue "${QUEUE:-16}" --threads "${THREADS:-0}" \
  --ensemble "${ENSEMBLE:-8}" --blend "${BLEND:-poisson}" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
. "$(dirname "$0")/../scripts/serve-ready.sh"
"$build/bench/serve_load" --port "$port" --pid $pid --requests "${N:-500}" --concurrency "${C:-8}" \
  --image "${IMAGE:-examples/ladybird.jpg}"
kill -TERM $pid
wait $pid
