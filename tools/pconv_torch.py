"""The PConv U-Net and its loss in PyTorch's Python API, mirroring pconv's C++ code.

Used by bench/train_bench.py to compare training speed with the C++ implementation on the same
machine and LibTorch version, and by anyone who wants to load a pconv model file in Python:

    net = load_pconv("models/pconv.safetensors")
"""
import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


class PartialConv2d(nn.Conv2d):
    """Partial convolution; the mask arrives as a per-pixel count of valid input channels."""

    def mask_update(self, valid):  # valid: (N,1,H,W) count of valid input channels
        k = self.kernel_size[0]
        with torch.no_grad():
            window = torch.ones(1, 1, k, k, device=valid.device, dtype=valid.dtype)
            count = F.conv2d(valid, window, None, self.stride, self.padding, self.dilation)
            mask = (count > 0.5).to(valid.dtype)
            return mask, mask * (self.in_channels * k * k) / count.clamp(min=1)

    def forward(self, x, valid):  # x already multiplied by its mask
        mask, ratio = self.mask_update(valid)
        out = F.conv2d(x, self.weight, None, self.stride, self.padding, self.dilation) * ratio
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1) * mask
        return out, mask


class PConvUNet(nn.Module):
    """Table 2 of the paper; layer names as in pconv's model files (pconv1.., bn2..)."""

    def __init__(self, depth=8, width=1.0, reweight_output_twice=False, output_bias_in_holes=False,
                 output_head=False, output_activation="none"):
        super().__init__()
        # Format version 2 (docs/model-format.md): what imported models of other projects need.
        self.reweight_output_twice = reweight_output_twice
        self.output_bias_in_holes = output_bias_in_holes
        self.output_activation = output_activation
        if output_head:
            self.head = nn.Conv2d(3, 3, 1)
        c = lambda i: max(1, round(width * ([64, 128, 256] + [512] * 8)[i - 1]))
        self.depth = depth
        for i in range(1, 2 * depth + 1):
            if i <= depth:
                cin, cout, k, s = (3 if i == 1 else c(i - 1)), c(i), ([7, 5, 5] + [3] * 8)[i - 1], 2
            else:
                j = 2 * depth - i
                cout = c(j) if j > 0 else 3
                cin, k, s = c(j + 1) + (cout if j > 0 else 3), 3, 1
            bn = 1 < i < 2 * depth
            self.add_module(f"pconv{i}", PartialConv2d(cin, cout, k, s, k // 2, bias=not bn))
            if bn:
                self.add_module(f"bn{i}", nn.BatchNorm2d(cout))

    def forward(self, image, mask):  # image normalised (N,3,H,W); mask (N,1,H,W), 1 = valid
        D = self.depth
        feats, masks = [image * mask], [mask]
        for i in range(1, D + 1):
            x, m = getattr(self, f"pconv{i}")(feats[-1], masks[-1] * feats[-1].shape[1])
            if i > 1:
                x = getattr(self, f"bn{i}")(x)
            feats.append(F.relu(x) * m)
            masks.append(m)
        x, m = feats[-1], masks[-1]
        for i in range(D + 1, 2 * D + 1):
            j = 2 * D - i
            up_x, up_m = F.interpolate(x, scale_factor=2), F.interpolate(m, scale_factor=2)
            valid = up_m * x.shape[1] + masks[j] * feats[j].shape[1]
            x, m = getattr(self, f"pconv{i}")(torch.cat([up_x, feats[j]], 1), valid)
            if i < 2 * D:
                x = F.leaky_relu(getattr(self, f"bn{i}")(x), 0.2) * m
            elif self.reweight_output_twice:
                x = x * getattr(self, f"pconv{i}").mask_update(valid)[1]
        if self.output_bias_in_holes:
            x = x + getattr(self, f"pconv{2 * D}").bias.view(1, -1, 1, 1) * (1 - m)
        if hasattr(self, "head"):
            x = self.head(F.leaky_relu(x, 0.2))
        return {"tanh": torch.tanh, "sigmoid": torch.sigmoid}.get(self.output_activation, lambda y: y)(x)


class VGG16Features(nn.Module):
    """torchvision's vgg16().features[0:17]; returns pool1, pool2, pool3 of inputs in [0,1]."""

    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x):
        x, pools = (x - self.mean) / self.std, []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in (4, 9, 16):
                pools.append(x)
        return pools


def gram(f):
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f.bmm(f.transpose(1, 2)) / (c * h * w)


def inpainting_loss(out, gt, mask, vgg=None, w=(1.0, 6.0, 0.05, 120.0, 0.1)):
    """The paper's loss on images in [0,1]; vgg=None gives the pixel loss (valid + hole + tv)."""
    hole = 1 - mask
    valid_l = (mask * (out - gt)).abs().mean()
    hole_l = (hole * (out - gt)).abs().mean()
    comp = mask * gt + hole * out
    p = F.max_pool2d(hole, 3, 1, 1)
    dx = ((comp[..., 1:] - comp[..., :-1]).abs() * p[..., 1:] * p[..., :-1]).sum()
    dy = ((comp[..., 1:, :] - comp[..., :-1, :]).abs() * p[..., 1:, :] * p[..., :-1, :]).sum()
    total = w[0] * valid_l + w[1] * hole_l + w[4] * (dx + dy) / comp.numel()
    if vgg is not None:
        f_out, f_comp = vgg(out), vgg(comp)
        with torch.no_grad():
            f_gt = vgg(gt)
        for a, b, g in zip(f_out, f_comp, f_gt):
            total = total + w[2] * ((a - g).abs().mean() + (b - g).abs().mean())
            total = total + w[3] * ((gram(a) - gram(g)).abs().mean() + (gram(b) - gram(g)).abs().mean())
    return total


_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def read_safetensors(path):
    """A small safetensors reader (the `safetensors` package does the same): (tensors, metadata)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:end]), dtype=_DTYPES[e["dtype"]]) if end > b else torch.empty(0)
        tensors[name] = t.reshape(e["shape"])
    return tensors, meta


def load_pconv(path):
    tensors, meta = read_safetensors(path)
    arch = json.loads(meta["pconv"])["architecture"]
    assert arch["type"] == "pconv-unet", "this module mirrors the partial-convolution network"
    net = PConvUNet(arch["depth"], arch["width"], arch.get("reweight_output_twice", False),
                    arch.get("output_bias_in_holes", False), arch.get("output_head", False),
                    arch.get("output_activation", "none"))
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    return net.eval()
