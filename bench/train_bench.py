"""Training throughput of the same network and loss in PyTorch's Python API, for comparison with
build/release/bench/train_bench (same machine, same LibTorch: Debian's python3-torch 1.13.1):
batch 4, 256x256, the pixel loss and the full loss, each step on one batch in memory
(bench/torch_bench.py's training step).

    /usr/bin/python3 bench/train_bench.py        # apt-get install python3-torch first
    /usr/bin/python3 bench/train_bench.py --bf16 # the forward pass under torch.autocast in bf16,
                                                 # as `pconv train --precision bf16` runs it
    /usr/bin/python3 bench/train_bench.py --channels-last  # weights and batch in NHWC
    (--pixel-only, --full-only: one of the two losses)
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from torch_bench import time_training  # noqa: E402

torch.set_num_threads(os.cpu_count())
batch, size, steps = 4, 256, 4
bf16, channels_last = "--bf16" in sys.argv, "--channels-last" in sys.argv
losses = ["pixel"] if "--pixel-only" in sys.argv else ["full"] if "--full-only" in sys.argv else ["pixel", "full"]
for loss in losses:
    result = time_training(steps, batch, size, loss, "bf16" if bf16 else "fp32", torch.device("cpu"), channels_last)
    print(f"python {'full loss (VGG-16)' if loss == 'full' else 'pixel loss'}{', bf16' if bf16 else ''}"
          f"{', channels-last' if channels_last else ''}: {result['median_ms']:.0f} ms/step, "
          f"{result['samples_per_s']:.3f} samples/s")
