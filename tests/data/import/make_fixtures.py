#!/usr/bin/python3
"""Writes the checkpoints that tests/import_test.cpp imports, in each source project's on-disk
layout, and beside each the source's own forward pass on a fixed image and mask.

Run with Debian's python3-torch (1.13): /usr/bin/python3 tests/data/import/make_fixtures.py
The outputs are committed; run again only when a fixture changes.

Each network below re-states one project's published model code (names, concatenation order,
arithmetic and quirks) with fewer channels, so that the files stay small: every channel count is
the source's divided by 16. The reference outputs come from these modules, not from pconv.
"""
import os
import shutil
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DIV = 16  # channel divisor against the sources' 64/128/256/512


def ch(n):
    return n // DIV if n > 3 else n


def known_tensors():
    """Tensors whose values the reader's test states by hand: strides, offsets, shared storage, dtypes."""
    base = torch.arange(12, dtype=torch.float32).view(3, 4)
    return {
        "arange": base,
        "transposed": base.t(),  # strides (1, 4)
        "row": base[1],  # offset 4 into the same storage
        "half": torch.tensor([1.5, -2.0], dtype=torch.float16),
        "long": torch.tensor([1, -5, 2**40]),
        "scalar": torch.tensor(3.25, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
        "flag": torch.tensor([True, False]),
    }


def randomise(module, seed, gain=1.0, per_window_sum=False):
    """Weights and BN statistics away from their defaults, so that every term shows. Weights are
    He-scaled times `gain`, and times the window size for layers that divide by sum(M) alone (as a
    trained model of such a source has them), so that activations stay near unit size."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.state_dict().items():
            if name.endswith("num_batches_tracked"):
                p.fill_(1234)
            elif "mask_conv" in name or "mask2d" in name:
                continue  # fixed all-ones kernels in the sources
            elif name.endswith("running_var"):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            elif name.endswith("running_mean") or name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif name.endswith("bn.weight"):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:
                fan_in = p[0].numel()
                scale = gain * (2.0 / fan_in) ** 0.5 * (fan_in if per_window_sum else 1)
                p.copy_(torch.randn(p.shape, generator=g) * scale)


# --- naoto0804/pytorch-inpainting-with-partial-conv, net.py (2019 on: input_conv/mask_conv) ---

class NaotoPartialConv(nn.Module):
    def __init__(self, cin, cout, k, s, p, bias):
        super().__init__()
        self.input_conv = nn.Conv2d(cin, cout, k, s, p, bias=bias)
        self.mask_conv = nn.Conv2d(cin, cout, k, s, p, bias=False)
        nn.init.constant_(self.mask_conv.weight, 1.0)
        for param in self.mask_conv.parameters():
            param.requires_grad = False

    def forward(self, x, mask):
        output = self.input_conv(x * mask)
        if self.input_conv.bias is not None:
            output_bias = self.input_conv.bias.view(1, -1, 1, 1).expand_as(output)
        else:
            output_bias = torch.zeros_like(output)
        output_mask = self.mask_conv(mask)
        no_update_holes = output_mask == 0
        mask_sum = output_mask.masked_fill(no_update_holes, 1.0)
        output = ((output - output_bias) / mask_sum + output_bias).masked_fill(no_update_holes, 0.0)
        new_mask = torch.ones_like(output).masked_fill(no_update_holes, 0.0)
        return output, new_mask


# The 2018 layer: conv2d and mask2d, both with a bias (mask2d's is zero), bias on every layer.
class Naoto2018PartialConv(nn.Module):
    def __init__(self, cin, cout, k, s, p, bias):
        super().__init__()
        self.conv2d = nn.Conv2d(cin, cout, k, s, p)
        self.mask2d = nn.Conv2d(cin, cout, k, s, p)
        self.mask2d.weight.data.fill_(1.0)
        self.mask2d.bias.data.fill_(0.0)
        for param in self.mask2d.parameters():
            param.requires_grad = False

    def forward(self, x, mask):
        output = F.conv2d(x * mask, self.conv2d.weight, self.conv2d.bias, self.conv2d.stride, self.conv2d.padding)
        output_0 = F.conv2d(torch.zeros_like(x), self.conv2d.weight, self.conv2d.bias, self.conv2d.stride,
                            self.conv2d.padding)
        output_mask = F.conv2d(mask, self.mask2d.weight, self.mask2d.bias, self.mask2d.stride, self.mask2d.padding)
        n_z = output_mask != 0.0
        z = output_mask == 0.0
        output[n_z] = (output[n_z] - output_0[n_z]) / output_mask[n_z] + output_0[n_z]
        output[z] = 0.0
        output_mask[n_z] = 1.0
        output_mask[z] = 0.0
        return output, output_mask


class NaotoPCBActiv(nn.Module):
    def __init__(self, layer, cin, cout, bn=True, sample="none-3", activ="relu", conv_bias=False):
        super().__init__()
        k, s = {"down-7": (7, 2), "down-5": (5, 2), "down-3": (3, 2)}.get(sample, (3, 1))
        self.conv = layer(cin, cout, k, s, k // 2, conv_bias)
        if bn:
            self.bn = nn.BatchNorm2d(cout)
        if activ == "relu":
            self.activation = nn.ReLU()
        elif activ == "leaky":
            self.activation = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, x, mask):
        h, h_mask = self.conv(x, mask)
        if hasattr(self, "bn"):
            h = self.bn(h)
        if hasattr(self, "activation"):
            h = self.activation(h)
        return h, h_mask


class NaotoPConvUNet(nn.Module):
    def __init__(self, layer=NaotoPartialConv, layer_size=7):
        super().__init__()
        self.layer_size = layer_size
        A = lambda *a, **k: NaotoPCBActiv(layer, *a, **k)
        self.enc_1 = A(3, ch(64), bn=False, sample="down-7")
        self.enc_2 = A(ch(64), ch(128), sample="down-5")
        self.enc_3 = A(ch(128), ch(256), sample="down-5")
        self.enc_4 = A(ch(256), ch(512), sample="down-3")
        for i in range(4, layer_size):
            setattr(self, "enc_%d" % (i + 1), A(ch(512), ch(512), sample="down-3"))
        for i in range(4, layer_size):
            setattr(self, "dec_%d" % (i + 1), A(ch(512) + ch(512), ch(512), activ="leaky"))
        self.dec_4 = A(ch(512) + ch(256), ch(256), activ="leaky")
        self.dec_3 = A(ch(256) + ch(128), ch(128), activ="leaky")
        self.dec_2 = A(ch(128) + ch(64), ch(64), activ="leaky")
        self.dec_1 = A(ch(64) + 3, 3, bn=False, activ=None, conv_bias=True)

    def forward(self, x, mask):
        hs, ms = [x], [mask]
        for i in range(1, self.layer_size + 1):
            h, m = getattr(self, "enc_%d" % i)(hs[-1], ms[-1])
            hs.append(h)
            ms.append(m)
        h, m = hs[-1], ms[-1]
        for i in range(self.layer_size, 0, -1):
            h = F.interpolate(h, scale_factor=2)
            m = F.interpolate(m, scale_factor=2)
            h = torch.cat([h, hs[i - 1]], dim=1)
            m = torch.cat([m, ms[i - 1]], dim=1)
            h, m = getattr(self, "dec_%d" % i)(h, m)
        return h


# --- yashk2000/SneakySketchers, inpainting/model.py ---

class SneakyPartialConvolution(nn.Conv2d):
    def __init__(self, cin, cout, k, stride, padding, bias):
        super().__init__(cin, cout, k, stride=stride, padding=padding, bias=bias)
        self.mask_kernel = torch.ones(cout, cin, k, k)  # a plain attribute: not in the state dict
        self.sum1 = cin * k * k

    def forward(self, img, mask):
        update_mask = F.conv2d(mask, self.mask_kernel, None, self.stride, self.padding)
        mask_ratio = self.sum1 / (update_mask + 1e-8)
        update_mask = torch.clamp(update_mask, 0, 1)
        mask_ratio = mask_ratio * update_mask
        conved = F.conv2d(img * mask, self.weight, self.bias, self.stride, self.padding)
        if self.bias is not None:
            bias_view = self.bias.view(1, self.out_channels, 1, 1)
            output = (conved - bias_view) * mask_ratio + bias_view
            output = output * mask_ratio  # the source's quirk: the ratio a second time, bias included
        else:
            output = conved * mask_ratio
        return output, update_mask


class SneakyPConvLayer(nn.Module):
    def __init__(self, cin, cout, sample="none-3", dec=False, bn=True, active="relu", conv_bias=False):
        super().__init__()
        k, s = {"down-7": (7, 2), "down-5": (5, 2), "down-3": (3, 2)}.get(sample, (3, 1))
        self.conv = SneakyPartialConvolution(cin, cout, k, s, k // 2, conv_bias)
        self.dec = dec
        if bn:
            bn = nn.BatchNorm2d(cout)  # the source's quirk: a local variable, so no BN is ever run
        if active == "relu":
            self.activation = nn.ReLU()
        elif active == "leaky":
            self.activation = nn.LeakyReLU(negative_slope=0.2)

    def forward(self, img, mask, enc_img=None, enc_mask=None):
        if self.dec:
            img = torch.cat([F.interpolate(img, scale_factor=2), enc_img], dim=1)
            mask = torch.cat([F.interpolate(mask, scale_factor=2), enc_mask], dim=1)
        out, update_mask = self.conv(img, mask)
        if hasattr(self, "activation"):
            out = self.activation(out)
        return out, update_mask


class SneakyPConvUNet(nn.Module):
    def __init__(self, layer_size=7):
        super().__init__()
        self.layer_size = layer_size
        L = SneakyPConvLayer
        self.enc_1 = L(3, ch(64), "down-7", bn=False)
        self.enc_2 = L(ch(64), ch(128), "down-5")
        self.enc_3 = L(ch(128), ch(256), "down-5")
        for i in range(4, 9):
            setattr(self, "enc_%d" % i, L(ch(256) if i == 4 else ch(512), ch(512), "down-3"))
        for i in range(5, 9):
            setattr(self, "dec_%d" % i, L(ch(512) + ch(512), ch(512), dec=True, active="leaky"))
        self.dec_4 = L(ch(512) + ch(256), ch(256), dec=True, active="leaky")
        self.dec_3 = L(ch(256) + ch(128), ch(128), dec=True, active="leaky")
        self.dec_2 = L(ch(128) + ch(64), ch(64), dec=True, active="leaky")
        self.dec_1 = L(ch(64) + 3, 3, dec=True, bn=False, active=None, conv_bias=True)

    def forward(self, img, mask):
        enc_f, enc_m = [img], [mask]
        feature, update_mask = self.enc_1(img, mask)
        for n in range(2, self.layer_size + 1):
            enc_f.append(feature)
            enc_m.append(update_mask)
            feature, update_mask = getattr(self, "enc_%d" % n)(feature, update_mask)
        for n in reversed(range(1, self.layer_size + 1)):
            feature, update_mask = getattr(self, "dec_%d" % n)(feature, update_mask, enc_f.pop(), enc_m.pop())
        return feature


# --- SunnerLi/P-Conv, lib/layers.py, lib/module.py, lib/model.py (PartialUNet) ---

class SunnerPartialConv2d(nn.Module):
    def __init__(self, cin, cout, k, stride, padding):
        super().__init__()
        self.mask_conv = nn.Sequential(nn.ZeroPad2d(padding), nn.Conv2d(cin, cout, k, stride=stride, bias=False))
        self.img_conv = nn.Sequential(nn.ZeroPad2d(padding), nn.Conv2d(cin, cout, k, stride=stride, bias=True))
        self.mask_conv[1].weight.data.fill_(1)
        for v in self.mask_conv.parameters():
            v.requires_grad = False

    def forward(self, image, mask):
        bias = self.img_conv(torch.zeros_like(image))
        sum_mask = self.mask_conv(mask)
        out = self.img_conv(image * mask)
        zero_masked_img = (1 - (sum_mask == 0).float()) * (out - bias)
        out = zero_masked_img / (sum_mask + 1e-20) + bias  # the bias, not 0, where sum(M) = 0
        return out, torch.clamp(sum_mask, 0, 1)


class SunnerPartialDown(nn.Module):
    def __init__(self, cin, cout, k, stride, padding, use_batch_norm=True):
        super().__init__()
        self.use_batch_norm = use_batch_norm
        if use_batch_norm:
            self.norm = nn.BatchNorm2d(cout)
        self.pconv = SunnerPartialConv2d(cin, cout, k, stride, padding)

    def forward(self, x, m):
        x_, m_ = self.pconv(x, m)
        if self.use_batch_norm:
            self.norm(x_)  # the source's quirk: the result is discarded
        return F.relu(x_), m_


class SunnerPartialUp(nn.Module):
    def __init__(self, cin, ccat, cout, use_batch_norm=True, use_lr=True):
        super().__init__()
        self.use_batch_norm, self.use_lr = use_batch_norm, use_lr
        self.pconv = SunnerPartialConv2d(cin + ccat, cout, 3, 1, 1)
        if use_batch_norm:
            self.norm = nn.BatchNorm2d(cout)

    @staticmethod
    def check_and_padding(v1, v2):
        if v1.size(2) > v2.size(2) or v1.size(3) > v2.size(3):
            return v1[:, :, : v2.size(2), : v2.size(3)]
        return F.pad(v1, [0, 0, int(v2.size(2) - v1.size(2)), int(v2.size(3) - v1.size(3))])

    def forward(self, x, cat_x, m, cat_m):
        x = self.check_and_padding(F.interpolate(x, scale_factor=2), cat_x)
        m = self.check_and_padding(F.interpolate(m.float(), scale_factor=2), cat_m)
        x_, m_ = self.pconv(torch.cat([x, cat_x], 1), torch.cat([m, cat_m], 1))
        if self.use_batch_norm:
            x_ = self.norm(x_)
        if self.use_lr:
            x_ = F.leaky_relu(x_, 0.2)
        return x_, m_


class SunnerPartialUNet(nn.Module):
    def __init__(self):
        super().__init__()
        b = ch(64)
        # Stands in for the CustomVGG the source's Model base class holds (ignored by pconv).
        self.vgg = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
        self.down1 = SunnerPartialDown(3, b, 7, 2, 3, use_batch_norm=False)
        self.down2 = SunnerPartialDown(b, b * 2, 5, 2, 2)
        self.down3 = SunnerPartialDown(b * 2, b * 4, 5, 2, 2)
        for i in range(4, 9):
            setattr(self, "down%d" % i, SunnerPartialDown(b * 4 if i == 4 else b * 8, b * 8, 3, 2, 1))
        for i in range(5, 9):
            setattr(self, "up%d" % i, SunnerPartialUp(b * 8, b * 8, b * 8))
        self.up4 = SunnerPartialUp(b * 8, b * 4, b * 4)
        self.up3 = SunnerPartialUp(b * 4, b * 2, b * 2)
        self.up2 = SunnerPartialUp(b * 2, b, b)
        self.up1 = SunnerPartialUp(b, 3, 3, use_batch_norm=False, use_lr=False)
        self.layer_size = 8

    def forward(self, img, mask):
        xs, ms = [img], [mask]
        for i in range(1, 9):
            x, m = getattr(self, "down%d" % i)(xs[-1], ms[-1])
            xs.append(x)
            ms.append(m)
        x, m = xs[8], ms[8]
        for i in range(8, 0, -1):
            x, m = getattr(self, "up%d" % i)(x, xs[i - 1], m, ms[i - 1])
        return torch.sigmoid(x) * 2 - 1


# --- MathiasGruber/PConv-Keras, libs/pconv_layer.py (PConv2D) and libs/pconv_model.py (PConvUnet) ---
# Keras is not in Debian: the network is re-stated with torch's functional ops on NCHW tensors, from
# weights in Keras's layout (kernels H, W, in, out), and written to HDF5 the way Keras 2's
# save_weights and save lay them out (h5py).

KERAS_EPS = 1e-3  # BatchNormalization's default epsilon


def keras_pconv(x, m, kernel, bias, stride):
    """PConv2D.call: explicit zero padding, mask conv with ones, ratio window_size / (sum + 1e-8)
    with window_size = k*k, clip, bias added after the ratio (everywhere)."""
    k = kernel.shape[0]
    w = kernel.permute(3, 2, 0, 1)
    pad = (k - 1) // 2
    xp, mp = F.pad(x, [pad] * 4), F.pad(m, [pad] * 4)
    mask_output = F.conv2d(mp, torch.ones_like(w), stride=stride)
    img_output = F.conv2d(xp * mp, w, stride=stride)
    mask_ratio = (k * k) / (mask_output + 1e-8)
    mask_output = torch.clamp(mask_output, 0, 1)
    mask_ratio = mask_ratio * mask_output
    return img_output * mask_ratio + bias.view(1, -1, 1, 1), mask_output


def keras_bn(x, bn):
    gamma, beta, mean, var = bn
    return (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + KERAS_EPS) * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1)


def keras_forward(layers, img, mask):
    """PConvUnet.build_pconv_unet with train_bn=False; `layers` as make_keras_layers returns them."""
    pconv = [l for l in layers if l[1] == "pconv"]
    bns = {l[3]: l[2] for l in layers if l[1] == "bn"}
    es, ms = [img], [mask]
    x, m = img, mask
    for i in range(1, 9):
        kernel, bias = pconv[i - 1][2]
        x, m = keras_pconv(x, m, kernel, bias, 2)
        if i in bns:
            x = keras_bn(x, bns[i])
        x = F.relu(x)
        es.append(x)
        ms.append(m)
    for i in range(9, 17):
        skip = 16 - i
        up_x, up_m = F.interpolate(x, scale_factor=2), F.interpolate(m, scale_factor=2)
        cx = torch.cat([es[skip], up_x], 1)  # Concatenate(axis=3)([e_conv, up_img]): the skip first
        cm = torch.cat([ms[skip], up_m], 1)
        kernel, bias = pconv[i - 1][2]
        x, m = keras_pconv(cx, cm, kernel, bias, 1)
        if i in bns:
            x = keras_bn(x, bns[i])
        x = F.leaky_relu(x, 0.2)
    kernel, bias = [l for l in layers if l[1] == "conv"][0][2]
    return torch.sigmoid(F.conv2d(x, kernel.permute(3, 2, 0, 1), bias))


def make_keras_layers(seed):
    """[(layer name, kind, weights, pconv index)] in the order of Keras's model.layers, with the
    auto-generated names of a fresh Keras 2.2 session; weightless layers included."""
    g = torch.Generator().manual_seed(seed)
    c = lambda i: ch(([64, 128, 256] + [512] * 5)[i - 1])
    layers = [("inputs_img", "input", None, 0), ("inputs_mask", "input", None, 0)]
    enc_bn = 0
    for i in range(1, 17):
        if i <= 8:
            cin, cout, k = (3 if i == 1 else c(i - 1)), c(i), ([7, 5, 5] + [3] * 5)[i - 1]
        else:
            skip = 16 - i
            cout = c(skip) if skip > 0 else 3
            cin, k = c(skip + 1) + (cout if skip > 0 else 3), 3
            layers.append(("up_sampling2d_%d" % (2 * (i - 8) - 1), "other", None, 0))
            layers.append(("up_sampling2d_%d" % (2 * (i - 8)), "other", None, 0))
            layers.append(("concatenate_%d" % (2 * (i - 8) - 1), "other", None, 0))
            layers.append(("concatenate_%d" % (2 * (i - 8)), "other", None, 0))
        kernel = torch.randn(k, k, cin, cout, generator=g) * 0.5 * (2.0 / (k * k * cin)) ** 0.5 * cin
        bias = torch.randn(cout, generator=g) * 0.1
        layers.append(("p_conv2d_%d" % i, "pconv", (kernel, bias), i))
        if 1 < i < 16:
            bn = (torch.rand(cout, generator=g) + 0.5, torch.randn(cout, generator=g) * 0.1,
                  torch.randn(cout, generator=g) * 0.1, torch.rand(cout, generator=g) + 0.5)
            if i <= 8:
                layers.append(("EncBN%d" % enc_bn, "bn", bn, i))
                enc_bn += 1
            else:
                layers.append(("batch_normalization_%d" % (i - 8), "bn", bn, i))
        layers.append(("activation_%d" % i if i <= 8 else "leaky_re_lu_%d" % (i - 8), "other", None, 0))
    layers.append(("outputs_img", "conv", (torch.randn(1, 1, 3, 3, generator=g), torch.randn(3, generator=g) * 0.1), 0))
    return layers


def write_keras_h5(path, layers, full_model=False):
    import h5py
    import numpy as np

    weight_names = {"pconv": ["img_kernel:0", "bias:0"], "bn": ["gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"],
                    "conv": ["kernel:0", "bias:0"]}
    with h5py.File(path, "w") as f:
        if full_model:
            f.attrs["keras_version"] = b"2.2.4"
            f.attrs["backend"] = b"tensorflow"
            f.attrs["model_config"] = b'{"class_name": "Model", "config": {}}'
            root = f.create_group("model_weights")
        else:
            root = f
        root.attrs["layer_names"] = np.array([name.encode() for name, _, _, _ in layers])
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = b"2.2.4"
        for name, kind, weights, _ in layers:
            g = root.create_group(name)
            names = ["%s/%s" % (name, w) for w in weight_names.get(kind, [])] if weights is not None else []
            g.attrs["weight_names"] = np.array([n.encode() for n in names])
            for n, w in zip(names, weights or []):
                g.create_dataset(n, data=w.numpy())


def image_and_mask(size, seed):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, size, size, generator=g)
    mask = torch.ones(1, 1, size, size)
    mask[:, :, : size // 2, : size // 2] = 0  # a hole wider than the deepest layers see, at the border
    mask[:, :, size - 9 : size - 3, 5:40] = 0  # a stroke
    mask[(torch.rand(1, 1, size, size, generator=g) < 0.05)] = 0  # speckle
    return image, mask


def checkpoint(net, n_iter=1000, step=False):
    """What the sources' save_ckpt writes; with `step`, after one Adam step, so that the optimizer's
    state holds tensors too."""
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=1e-6)
    if step:
        for p in params:
            p.grad = torch.ones_like(p)
        optimizer.step()
    return {"n_iter": n_iter, "model": net.state_dict(), "optimizer": optimizer.state_dict()}


def net_size(net):
    return 2 ** net.layer_size


def reference(name, net, image, mask, net_input):
    net.eval()
    with torch.no_grad():
        output = net(net_input, mask.expand(-1, 3, -1, -1).contiguous())
    torch.save({"image": net_input, "mask": mask, "output": output}, os.path.join(HERE, name + ".reference.pt"))


def save(name, obj, legacy=False):
    torch.save(obj, os.path.join(HERE, name), _use_new_zipfile_serialization=not legacy)


class RunsCode:
    """What a malicious checkpoint holds: unpickling it with Python's pickle runs a shell command."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/pconv-import-test-pwned",))


def main():
    torch.manual_seed(0)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    naoto = NaotoPConvUNet(layer_size=5)
    randomise(naoto, 1, gain=0.5, per_window_sum=True)
    image, mask = image_and_mask(64, 2)
    ckpt = checkpoint(naoto, step=True)
    save("naoto.pth", ckpt)
    save("naoto-legacy.pth", ckpt, legacy=True)
    reference("naoto", naoto, image, mask, (image - mean) / std * mask)

    naoto2018 = NaotoPConvUNet(layer=Naoto2018PartialConv, layer_size=5)
    randomise(naoto2018, 3, gain=0.5, per_window_sum=True)
    save("naoto-2018.pth", checkpoint(naoto2018), legacy=True)
    reference("naoto-2018", naoto2018, image, mask, (image - mean) / std * mask)

    sneaky = SneakyPConvUNet(layer_size=7)
    randomise(sneaky, 4, gain=0.8)
    image, mask = image_and_mask(128, 5)
    save("sneakysketchers.pth", checkpoint(sneaky))
    reference("sneakysketchers", sneaky, image, mask, image * mask)

    # SunnerLi: a bare state dict, legacy format (its PyTorch 0.4); BGR uint8 in, BGR out.
    global DIV
    DIV = 32
    sunner = SunnerPartialUNet()
    randomise(sunner, 6, gain=0.8, per_window_sum=True)
    save("sunnerli.pth", sunner.state_dict(), legacy=True)
    image, mask = image_and_mask(256, 7)
    bgr = (image * 255).round().to(torch.uint8)  # stands for cv2.imread's pixels
    sunner.eval()
    with torch.no_grad():
        net_input = (bgr.float() / 127.5 - 1) * mask
        output = sunner(net_input, mask.expand(-1, 3, -1, -1).contiguous())
        # No valid pixel at all: every layer outputs its bias, which pconv must reproduce too.
        no_valid = sunner(net_input * 0, torch.zeros(1, 3, 256, 256))
    print("sunnerli output: mean |y| %.3f, fraction beyond 0.99: %.3f" % (output.abs().mean(),
          (output.abs() > 0.99).float().mean()), file=sys.stderr)
    # Every second pixel keeps the file small; the full image and mask go in as bytes.
    torch.save({"image_bgr": bgr, "mask": mask.to(torch.uint8), "output_bgr_every_2nd": output[:, :, ::2, ::2].clone(),
                "output_bgr_no_valid_pixel": no_valid[:, :, ::8, ::8].clone()},
               os.path.join(HERE, "sunnerli.reference.pt"))

    # PConv-Keras: HDF5 in both of Keras's layouts; RGB in [0,1] in, sigmoid out.
    DIV = 32
    layers = make_keras_layers(8)
    write_keras_h5(os.path.join(HERE, "keras.h5"), layers)
    write_keras_h5(os.path.join(HERE, "keras-model.h5"), layers, full_model=True)
    image, mask = image_and_mask(256, 9)
    rgb = (image * 255).round().to(torch.uint8)
    with torch.no_grad():
        output = keras_forward(layers, (rgb.float() / 255) * mask, mask.expand(-1, 3, -1, -1))
    print("keras output: mean %.3f, std %.3f" % (output.mean(), output.std()), file=sys.stderr)
    torch.save({"image_rgb": rgb, "mask": mask.to(torch.uint8), "output_every_2nd": output[:, :, ::2, ::2].clone()},
               os.path.join(HERE, "keras.reference.pt"))
    broken = [l for l in layers if l[0] != "EncBN3"]  # a layer missing
    write_keras_h5(os.path.join(HERE, "keras-missing-bn.h5"), broken)

    save("tensors.pth", known_tensors())
    save("tensors-legacy.pth", known_tensors(), legacy=True)

    # Tiny naoto0804 checkpoints with one thing wrong each (channels 1, 2, 4, 8).
    DIV = 64
    tiny = NaotoPConvUNet(layer_size=4)
    state = tiny.state_dict()
    save("naoto-tiny.pth", {"model": state})
    save("naoto-tiny-missing.pth", {"model": {k: v for k, v in state.items() if k != "dec_2.bn.running_var"}})
    save("naoto-tiny-extra.pth", {"model": dict(state, **{"dec_0.conv.input_conv.weight": torch.zeros(3, 3, 3, 3)})})
    save("naoto-tiny-shape.pth", {"model": dict(state, **{"enc_3.conv.input_conv.weight": torch.zeros(4, 2, 3, 3)})})
    save("naoto-tiny-text.pth", {"model": dict(state, **{"enc_2.bn.weight": "not a tensor"})})

    save("runs-code.pth", {"model": RunsCode()})
    save("runs-code-legacy.pth", {"model": RunsCode()}, legacy=True)
    # The seed corpus of tests/fuzz/fuzz_torch_checkpoint.cpp: each format, plain and hostile.
    corpus = os.path.join(HERE, "..", "..", "fuzz", "corpus", "fuzz_torch_checkpoint")
    os.makedirs(corpus, exist_ok=True)
    for name in ("tensors.pth", "tensors-legacy.pth", "runs-code.pth", "runs-code-legacy.pth"):
        shutil.copyfile(os.path.join(HERE, name), os.path.join(corpus, name))
    for name in sorted(os.listdir(HERE)):
        if name.endswith(".pt") or name.endswith(".pth"):
            print("%8d  %s" % (os.path.getsize(os.path.join(HERE, name)), name), file=sys.stderr)


def check_pconv_torch(model, reference):
    """tools/pconv_torch.py on an imported model against the source's reference output:
    make_fixtures.py --check naoto.safetensors naoto"""
    sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools"))
    from pconv_torch import load_pconv

    ref = torch.load(os.path.join(HERE, reference + ".reference.pt"))
    net = load_pconv(model)
    with torch.no_grad():
        if "image" in ref:  # already in the network's input space
            out, expected = net(ref["image"], ref["mask"]), ref["output"]
        elif "image_bgr" in ref:  # SunnerLi: BGR bytes in, BGR out; the imported model reads RGB in [-1,1]
            mask = ref["mask"].float()
            out = net((ref["image_bgr"].flip(1).float() / 255 - 0.5) / 0.5 * mask, mask).flip(1)[:, :, ::2, ::2]
            expected = ref["output_bgr_every_2nd"]
        else:  # PConv-Keras: RGB bytes in [0,1]
            mask = ref["mask"].float()
            out = net(ref["image_rgb"].float() / 255 * mask, mask)[:, :, ::2, ::2]
            expected = ref["output_every_2nd"]
    diff = (out - expected).abs().max().item()
    print("%s: max |pconv_torch - %s| = %.3g" % (model, reference, diff))
    return diff <= 1e-4


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check":
        sys.exit(0 if check_pconv_torch(sys.argv[2], sys.argv[3]) else 1)
    main()
