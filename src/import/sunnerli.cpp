// SunnerLi/P-Conv (lib/model.py PartialUNet, lib/module.py, lib/layers.py): PConv U-Nets of
// depth 8, saved as bare state dicts of the whole model (its VGG-19 for the loss included, under
// vgg.*, which the conversion ignores).
//
// Layer i is down_i (encoder) or up_j (decoder, pconv's layer 2D+1-j), each with .pconv, a
// PartialConv2d of two nn.Sequential(ZeroPad2d, Conv2d): img_conv (biased) and the all-ones
// mask_conv. Its arithmetic: W·(X⊙M)/sum(M) + b, and b (not 0) where sum(M) = 0. So:
// - weights divided by C_in·k·k (it divides by sum(M) alone), as naoto0804's;
// - PartialDown calls its BatchNorm but discards the result: the encoder is convolution + ReLU.
//   Its bias becomes the shift of an identity BN, which also reproduces b where sum(M) = 0;
// - decoder BN layers: the bias is folded into the running mean (exact at holes too);
// - the last layer keeps b in holes (output_bias_in_holes), and sigmoid(y)·2-1 = tanh(y/2): its
//   weights and bias are halved (exact in float) and output_activation is tanh;
// - it reads BGR images in [-1,1] (cv2 and a Normalize to [-1,1]): the image channels of the
//   first and last layers and the last layer's outputs are reordered, so the model reads RGB,
//   with mean 0.5 and std 0.5.
// The 224×224 models have the same tensors: the source crops or pads in its decoder for sizes
// that are not multiples of 256, where pconv pads the input instead.
#include "pconv/io/error.h"
#include "sources.h"

namespace pconv::import_detail {

namespace {
std::string layer_name(int64_t i, int64_t depth) {
  return i <= depth ? "down" + std::to_string(i) : "up" + std::to_string(2 * depth + 1 - i);
}

// BGR <-> RGB on `dim`, for the channels [first, first + 3).
torch::Tensor swap_colour(const torch::Tensor& t, int64_t dim, int64_t first) {
  torch::Tensor out = t.clone();
  out.narrow(dim, first, 1).copy_(t.narrow(dim, first + 2, 1));
  out.narrow(dim, first + 2, 1).copy_(t.narrow(dim, first, 1));
  return out;
}
}  // namespace

bool is_sunnerli(const SourceState& s) { return s.has("down1.pconv.img_conv.1.weight"); }

Conversion convert_sunnerli(SourceState& s, const ImportOptions& options) {
  if (!is_sunnerli(s)) throw Error("not a SunnerLi P-Conv checkpoint (no down1.pconv.img_conv.1.weight)");
  Conversion c;
  c.project = "SunnerLi/P-Conv";
  c.layout = "lib/model.py PartialUNet";
  const int64_t depth = checked_depth(s.count("down", ".pconv.img_conv.1.weight"), options, "SunnerLi");
  c.architecture.depth(depth)
      .width(width_from_first_layer(s.shape("down1.pconv.img_conv.1.weight")[0], "down1"))
      .output_bias_in_holes(true)
      .output_activation(PConvUNetOptions::Activation::tanh);
  c.architecture.check();
  c.normalization = Normalization{{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};

  for (int64_t i = 1; i <= 2 * depth; ++i) {
    const auto l = c.architecture.layer(i);
    const std::string src = layer_name(i, depth), dst = "pconv" + std::to_string(i);
    const std::vector<int64_t> shape{l.out, l.in, l.kernel, l.kernel};
    torch::Tensor weight =
        s.take(src + ".pconv.img_conv.1.weight", shape) / static_cast<double>(l.in * l.kernel * l.kernel);
    torch::Tensor bias = s.take(src + ".pconv.img_conv.1.bias", {l.out});
    check_ones(s, src + ".pconv.mask_conv.1.weight", shape);
    if (i == 1) weight = swap_colour(weight, 1, 0);
    if (i == 2 * depth) {
      weight = swap_colour(swap_colour(weight, 1, l.in - 3), 0, 0) * 0.5;
      bias = swap_colour(bias, 0, 0) * 0.5;
    }
    c.state[dst + ".weight"] = weight;
    const std::string bn = "bn" + std::to_string(i);
    if (!l.bn) {
      c.state[dst + ".bias"] = bias;
    } else if (i <= depth) {
      // The source computes this BN and throws its output away.
      for (const char* name : {".weight", ".bias", ".running_mean", ".running_var", ".num_batches_tracked"})
        if (s.has(src + ".norm" + name)) s.drop(src + ".norm" + name);
      put_identity_bn(c.state, i, l.out);
      c.state[bn + ".bias"] = bias;
    } else {
      put_bn(s, src + ".norm", c.state, i, l.out);
      c.state[bn + ".running_mean"] -= bias;
    }
  }
  if (s.has("down1.norm.weight")) throw Error("down1 has a BatchNorm, which SunnerLi's PartialUNet does not");
  for (const std::string& name : s.names_with_prefix("vgg.")) s.drop(name);
  c.notes.push_back("depth " + std::to_string(depth) + " (" + std::to_string(depth) + " down layers in the file)");
  c.notes.push_back(
      "weights divided by C_in·k·k: the source divides by sum(M) where the paper multiplies by sum(1)/sum(M)");
  c.notes.push_back("encoder BN dropped (the source discards its result); encoder biases as identity BN shifts");
  c.notes.push_back("decoder biases folded into BN running means; the last layer keeps its bias in holes");
  c.notes.push_back("sigmoid(y)·2-1 as tanh(y/2): last layer halved");
  c.notes.push_back("BGR in [-1,1] -> RGB, mean 0.5, std 0.5: colour channels of the first and last layers reordered");
  c.notes.push_back("its VGG-19 (vgg.*, for the loss) ignored");
  s.finish();
  return c;
}

}  // namespace pconv::import_detail
