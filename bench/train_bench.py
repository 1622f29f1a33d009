"""Training throughput of the same network and loss in PyTorch's Python API, for comparison with
build/release/bench/train_bench (same machine, same LibTorch: Debian's python3-torch 1.13.1).

    /usr/bin/python3 bench/train_bench.py        # apt-get install python3-torch first
    /usr/bin/python3 bench/train_bench.py --bf16 # the forward pass under torch.autocast in bf16,
                                                 # as `pconv train --precision bf16` runs it
    /usr/bin/python3 bench/train_bench.py --channels-last  # weights and batch in NHWC
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from pconv_torch import PConvUNet, VGG16Features, inpainting_loss  # noqa: E402

torch.set_num_threads(os.cpu_count())
torch.manual_seed(0)
batch, size, steps = 4, 256, 4
for full in [f for f in (False, True) if f or "--full-only" not in sys.argv][: 1 if "--pixel-only" in sys.argv else 2]:
    net = PConvUNet(depth=7).train()
    vgg = VGG16Features().eval().requires_grad_(False) if full else None
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    image = torch.rand(batch, 3, size, size)
    mask = (torch.rand(batch, 1, size // 8, size // 8) > 0.25).float()
    mask = torch.nn.functional.interpolate(mask, scale_factor=8)
    channels_last = "--channels-last" in sys.argv
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        image, mask = image.contiguous(memory_format=torch.channels_last), mask.contiguous(memory_format=torch.channels_last)

    bf16 = "--bf16" in sys.argv

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(image * 2 - 1, mask)
        out = out.float() * 0.5 + 0.5
        loss = inpainting_loss(out, image, mask, vgg)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t0) / steps
    print(f"python {'full loss (VGG-16)' if full else 'pixel loss'}{', bf16' if bf16 else ''}{', channels-last' if channels_last else ''}: "
          f"{dt * 1000:.0f} ms/step, {batch / dt:.3f} samples/s")
