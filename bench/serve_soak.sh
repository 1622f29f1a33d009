#!/usr/bin/env bash
# Soak figures of pconv serve (README): starts the server on a free loopback port with the bundled
# model (or $MODEL), one pass per tile, and runs bench/serve_soak against it for $MINUTES (default
# 30): good fills, hostile requests and $SLOW slow clients at once, reporting health latency,
# failures and the server's RSS over time; then stops it and checks that it exits 0.
set -euo pipefail
build=${BUILD:-build/release}
model=${MODEL:-models/pconv.safetensors}
log=$(mktemp)
"$build/pconv" serve --model "$model" --port 0 --threads "${THREADS:-1}" --ensemble "${ENSEMBLE:-1}" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
. "$(dirname "$0")/../scripts/serve-ready.sh"
status=0
"$build/bench/serve_soak" --port "$port" --pid $pid --minutes "${MINUTES:-30}" --slow "${SLOW:-24}" \
  --image "${IMAGE:-examples/ladybird.jpg}" || status=$?
kill -TERM $pid
wait $pid || { echo "serve exited $?" >&2; exit 1; }
echo "server log: $(grep -c . "$log") lines, $(grep -c 'internal error' "$log" || true) internal errors"
exit $status
