"""The same network in PyTorch's Python API (tools/pconv_torch.py), timed as build/*/bench/peer_bench
times pconv: the other side of scripts/gpu-check.sh's comparison, on whatever PyTorch the machine has.

    torch_bench.py time MASK_F32 REPS PRECISION DEVICE LAYOUT
        512x512 forward passes of the paper's network (depth 8) in eval mode, random weights and BN
        statistics; PRECISION fp32, bf16 or fp16 (the network and its input in that type, as
        pconv --precision runs inference), LAYOUT nchw or nhwc (channels-last)
    torch_bench.py train REPS BATCH SIZE LOSS PRECISION DEVICE
        training steps of the depth-7 network on one batch in memory, LOSS pixel or full (VGG-16
        perceptual and style terms, random VGG weights), the forward pass under torch.autocast for
        bf16/fp16 as pconv train --precision runs it

Each prints one JSON line: median_ms, min_ms (after one warm-up call), peak_rss_mb, torch.
"""
import contextlib
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from pconv_torch import PConvUNet, VGG16Features, inpainting_loss  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def time_calls(reps, device, run):
    def idle():
        if device.type == "cuda":
            torch.cuda.synchronize()

    run()  # warm-up: first-call allocations, cuDNN's algorithm choice
    ms = []
    for _ in range(reps):
        idle()
        start = time.perf_counter()
        run()
        idle()
        ms.append((time.perf_counter() - start) * 1000)
    ms.sort()
    return {"median_ms": ms[len(ms) // 2], "min_ms": ms[0],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch": torch.__version__}


def time_forward(mask_file, reps, precision, device, layout):
    torch.manual_seed(0)
    net = PConvUNet(depth=8).eval()
    with torch.no_grad():
        for name, buf in net.named_buffers():
            if "running_mean" in name:
                buf.normal_(0.0, 0.1)
            elif "running_var" in name:
                buf.uniform_(0.5, 2.0)
    fmt = torch.channels_last if layout == "nhwc" else torch.contiguous_format
    net = net.to(device=device, dtype=DTYPES[precision], memory_format=fmt)
    mask = torch.from_numpy(np.fromfile(mask_file, dtype=np.float32).reshape(1, 1, 512, 512))
    image = torch.randn(1, 3, 512, 512)
    image, mask = (t.to(device=device, dtype=DTYPES[precision]).contiguous(memory_format=fmt) for t in (image, mask))
    with torch.inference_mode():
        return time_calls(reps, device, lambda: net(image, mask))


def time_training(reps, batch, size, loss, precision, device, channels_last=False):
    torch.manual_seed(0)
    net = PConvUNet(depth=7).to(device).train()
    vgg = VGG16Features().to(device).eval().requires_grad_(False) if loss == "full" else None
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    image = torch.rand(batch, 3, size, size, device=device)
    mask = (torch.rand(batch, 1, size // 8, size // 8, device=device) > 0.25).float()
    mask = torch.nn.functional.interpolate(mask, scale_factor=8)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        image, mask = (t.contiguous(memory_format=torch.channels_last) for t in (image, mask))
    # No autocast object at all for fp32: PyTorch 1.13 refuses a disabled one of dtype float32 on the CPU.
    def autocast():
        return torch.autocast(device.type, dtype=DTYPES[precision]) if precision != "fp32" else contextlib.nullcontext()

    def step():
        with autocast():
            out = net(image * 2 - 1, mask)
        out = out.float() * 0.5 + 0.5
        total = inpainting_loss(out, image, mask, vgg)
        opt.zero_grad()
        total.backward()
        opt.step()

    result = time_calls(reps, device, step)
    result["samples_per_s"] = batch * 1000 / result["median_ms"]
    return result


def main(argv):
    torch.set_num_threads(os.cpu_count())  # as peer_bench: every core
    if len(argv) == 7 and argv[1] == "time":
        _, _, mask_file, reps, precision, device, layout = argv
        result = time_forward(mask_file, int(reps), precision, torch.device(device), layout)
    elif len(argv) == 8 and argv[1] == "train":
        _, _, reps, batch, size, loss, precision, device = argv
        result = time_training(int(reps), int(batch), int(size), loss, precision, torch.device(device))
    else:
        sys.exit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
