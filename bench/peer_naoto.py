"""The paper's network (depth 8, full width) as naoto0804's PyTorch port computes it, timed at 512x512.

Written from the facts of that port's net.py (github.com/naoto0804/pytorch-inpainting-with-partial-conv):
each PConv2d convolves the features times the mask (with bias) and the mask, expanded to the input's
channels, through an all-ones C_out x C_in kernel; then [C(M.X) - C(0)] / sum(M) + C(0) where
sum(M) != 0 and 0 elsewhere, with C(0) the bias; the new mask is 1 where sum(M) != 0, one channel
per output channel. The decoder concatenates the upsampled masks with the encoder's, so masks keep
one channel per feature channel all the way. BN in eval mode, ReLU in the encoder, leaky ReLU (0.2)
in the decoder, nothing on the last layer. Weights are random: speed does not depend on them.

By default the per-element part is computed with whole-tensor operations (masked_fill), which is
what the port's formula costs at best. --literal runs it as net.py writes it: a third convolution
of a tensor of zeros for C(0), and boolean indexing, whose nonzero() calls dominate its time.

    peer_naoto.py MASK_F32 REPS THREADS [--literal]   prints one JSON line: median_ms, peak_rss_mb, torch
"""
import json
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LITERAL = False


class PConv2d(nn.Module):
    def __init__(self, cin, cout, k, stride=1, padding=0):
        super().__init__()
        self.conv2d = nn.Conv2d(cin, cout, k, stride, padding)
        self.mask2d = nn.Conv2d(cin, cout, k, stride, padding)
        self.mask2d.weight.data.fill_(1.0)
        self.mask2d.bias.data.fill_(0.0)

    def forward(self, x, mask):
        c = self.conv2d
        out = F.conv2d(x * mask, c.weight, c.bias, c.stride, c.padding)
        out_mask = F.conv2d(mask, self.mask2d.weight, self.mask2d.bias, c.stride, c.padding)
        if LITERAL:
            out_0 = F.conv2d(x.new_zeros(x.size()), c.weight, c.bias, c.stride, c.padding)
            valid, hole = out_mask != 0.0, out_mask == 0.0
            out[valid] = (out[valid] - out_0[valid]) / out_mask[valid] + out_0[valid]
            out[hole] = 0.0
            out_mask[valid] = 1.0
            out_mask[hole] = 0.0
            return out, out_mask
        hole = out_mask == 0.0
        bias = c.bias.view(1, -1, 1, 1)
        out = ((out - bias) / out_mask.masked_fill(hole, 1.0) + bias).masked_fill_(hole, 0.0)
        return out, (~hole).to(out.dtype)


class Block(nn.Module):
    def __init__(self, cin, cout, k, stride, bn=True, activ="relu"):
        super().__init__()
        self.conv = PConv2d(cin, cout, k, stride, k // 2)
        self.bn = nn.BatchNorm2d(cout) if bn else None
        self.activ = activ

    def forward(self, x, m):
        h, hm = self.conv(x, m)
        if self.bn is not None:
            h = self.bn(h)
        if self.activ == "relu":
            h = F.relu(h)
        elif self.activ == "leaky":
            h = F.leaky_relu(h, 0.2)
        return h, hm


class PConvUNet(nn.Module):
    def __init__(self, layers=8):
        super().__init__()
        self.layers = layers
        ch = [3, 64, 128, 256] + [512] * (layers - 3)
        ks = [7, 5, 5] + [3] * (layers - 3)
        self.enc = nn.ModuleList(Block(ch[i], ch[i + 1], ks[i], 2, bn=i > 0) for i in range(layers))
        dec = {}
        for i in range(layers, 0, -1):  # dec_i joins dec_{i+1}'s output (or enc_L) with enc_{i-1}
            cin = ch[i] + ch[i - 1]
            dec[i] = Block(cin, ch[i - 1], 3, 1, bn=i > 1, activ="leaky" if i > 1 else None)
        self.dec = nn.ModuleList(dec[i] for i in range(1, layers + 1))

    def forward(self, x, m):
        hs, ms = [x], [m]
        for block in self.enc:
            x, m = block(x, m)
            hs.append(x)
            ms.append(m)
        for i in range(self.layers, 0, -1):
            x = torch.cat([F.interpolate(x, scale_factor=2), hs[i - 1]], 1)
            m = torch.cat([F.interpolate(m, scale_factor=2), ms[i - 1]], 1)
            x, m = self.dec[i - 1](x, m)
        return x, m


def main():
    global LITERAL
    mask_file, reps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    LITERAL = "--literal" in sys.argv[4:]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = PConvUNet(8)
    with torch.no_grad():
        for name, buf in net.named_buffers():
            if name.endswith("running_mean"):
                buf.normal_(0.0, 0.1)
            elif name.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
    net.eval()
    mask = torch.from_numpy(np.fromfile(mask_file, dtype=np.float32)).view(1, 1, 512, 512)
    mask = mask.expand(1, 3, 512, 512).contiguous()
    image = torch.randn(1, 3, 512, 512)
    times = []
    with torch.no_grad():
        net(image, mask)  # warm-up, as pconv's side has
        for _ in range(reps):
            start = time.perf_counter()
            net(image, mask)
            times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2],
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "torch": torch.__version__, "literal": LITERAL}))


if __name__ == "__main__":
    main()
