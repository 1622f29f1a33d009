#!/usr/bin/env bash
# The training issue's throughput benchmark: 256×256, batch 4, paper network at depth 7, Adam.
# C++ with the full and the pixel loss, with its data pipeline and with one batch in memory, then
# the same network and loss in PyTorch's Python API (Debian's python3-torch, the same LibTorch).
set -euo pipefail
bin=${1:-build/release/bench/train_bench}
"$bin" 2>/dev/null | grep BM_ | sed -E 's/ +/ /g'
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  /usr/bin/python3 "$(dirname "$0")/train_bench.py"
else
  echo "python3-torch is not installed (apt-get install python3-torch): no Python comparison"
fi
