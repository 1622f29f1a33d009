// MathiasGruber/PConv-Keras (libs/pconv_layer.py, libs/pconv_model.py): Keras 2 HDF5 weights of its
// PConvUnet, 8 encoder and 8 decoder PConv2D layers, then a 1×1 Conv2D with a sigmoid.
//
// Weighted layers in the file's order: PConv2D (img_kernel, bias), each of layers 2..15 followed
// by a BatchNormalization (gamma, beta, moving_mean, moving_variance; Keras's eps 1e-3), and the
// final Conv2D (kernel, bias). Its arithmetic and what the conversion does about it:
// - kernels are (k, k, C_in, C_out): transposed to (C_out, C_in, k, k);
// - the ratio is k·k/sum(M) (its window_size leaves out the channels, while its mask sums over
//   them): weights divided by C_in;
// - the bias is added after the ratio everywhere, holes included: before BN it goes into the
//   running mean (exact everywhere), on the last PConv2D it stays in holes (output_bias_in_holes);
// - BN's eps 1e-3 against pconv's 1e-5: the difference is added to the running variance;
// - the decoder concatenates the skip connection before the upsampled features: those two
//   blocks of input channels are swapped;
// - the last PConv2D is followed by LeakyReLU(0.2), then the 1×1 Conv2D and a sigmoid (output_head,
//   output_activation sigmoid). Input RGB in [0,1] (mean 0, std 1), output in [0,1].
// Encoder BN runs with training=train_bn in the source; a model is used for inference with
// train_bn=False (the moving statistics), which is what pconv computes.
#include "pconv/io/error.h"
#include "pconv/io/keras_weights.h"
#include "sources.h"

namespace pconv::import_detail {

namespace {
constexpr double kKerasEps = 1e-3, kTorchEps = 1e-5;

enum class Kind { pconv, bn, conv, other };

Kind kind_of(const KerasLayer& l) {
  if (l.find("img_kernel")) return Kind::pconv;
  if (l.find("moving_variance")) return Kind::bn;
  if (l.find("kernel")) return Kind::conv;
  return Kind::other;
}

const torch::Tensor& weight(const KerasLayer& l, const std::string& name, const std::vector<int64_t>& shape) {
  const torch::Tensor* t = l.find(name);
  if (!t) throw Error("layer " + l.name + " has no weight '" + name + "'");
  if (t->sizes() != torch::IntArrayRef(shape)) {
    std::ostringstream msg;
    msg << "layer " << l.name << " weight '" << name << "' has shape " << t->sizes() << ", expected "
        << torch::IntArrayRef(shape);
    throw Error(msg.str());
  }
  return *t;
}

torch::Tensor oihw(const torch::Tensor& hwio) { return hwio.permute({3, 2, 0, 1}).contiguous(); }
}  // namespace

Conversion convert_keras(const std::vector<KerasLayer>& layers, const ImportOptions& options) {
  std::vector<const KerasLayer*> weighted;
  for (const KerasLayer& l : layers)
    if (!l.weights.empty()) weighted.push_back(&l);
  std::vector<const KerasLayer*> pconvs;
  for (const KerasLayer* l : weighted)
    if (kind_of(*l) == Kind::pconv) pconvs.push_back(l);
  if (pconvs.empty()) throw Error("no PConv2D layer (img_kernel) in the file: not a PConv-Keras model");
  if (pconvs.size() % 2 != 0) throw Error(std::to_string(pconvs.size()) + " PConv2D layers, expected an even number");
  const int64_t depth = checked_depth(static_cast<int64_t>(pconvs.size() / 2), options, "PConv-Keras");

  Conversion c;
  c.project = "MathiasGruber/PConv-Keras";
  c.layout = "libs/pconv_model.py PConvUnet (Keras HDF5)";
  const torch::Tensor* first = pconvs[0]->find("img_kernel");
  if (first->dim() != 4) throw Error("layer " + pconvs[0]->name + " has a kernel that is not 4-D");
  c.architecture.depth(depth)
      .width(width_from_first_layer(first->size(3), pconvs[0]->name))
      .output_bias_in_holes(true)
      .output_head(true)
      .output_activation(PConvUNetOptions::Activation::sigmoid);
  c.architecture.check();
  c.normalization = Normalization{{0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}};

  // The expected order of weighted layers: PConv2D i, then its BN where pconv's layer i has one,
  // and the head last.
  size_t at = 0;
  auto next = [&](Kind kind, const char* what) -> const KerasLayer& {
    if (at >= weighted.size()) throw Error(std::string("the file ends where a ") + what + " layer should follow");
    const KerasLayer& l = *weighted[at++];
    if (kind_of(l) != kind) throw Error("layer " + l.name + " is not the " + what + " expected at this place");
    return l;
  };
  for (int64_t i = 1; i <= 2 * depth; ++i) {
    const auto l = c.architecture.layer(i);
    const KerasLayer& pconv = next(Kind::pconv, "PConv2D");
    torch::Tensor w = oihw(weight(pconv, "img_kernel", {l.kernel, l.kernel, l.in, l.out})) / static_cast<double>(l.in);
    const torch::Tensor bias = weight(pconv, "bias", {l.out});
    if (i > depth) {
      // Keras: [skip, upsampled]; pconv: [upsampled, skip].
      const int64_t skip = 2 * depth - i, skip_channels = skip > 0 ? c.architecture.encoder_channels(skip) : 3;
      w = torch::cat({w.narrow(1, skip_channels, l.in - skip_channels), w.narrow(1, 0, skip_channels)}, 1);
    }
    const std::string dst = "pconv" + std::to_string(i), bn = "bn" + std::to_string(i);
    c.state[dst + ".weight"] = w;
    if (!l.bn) {
      c.state[dst + ".bias"] = bias;
      continue;
    }
    const KerasLayer& norm = next(Kind::bn, "BatchNormalization");
    c.state[bn + ".weight"] = weight(norm, "gamma", {l.out});
    c.state[bn + ".bias"] = weight(norm, "beta", {l.out});
    c.state[bn + ".running_mean"] = weight(norm, "moving_mean", {l.out}) - bias;
    const torch::Tensor var = weight(norm, "moving_variance", {l.out});
    if (!(var >= 0).all().item<bool>()) throw Error("layer " + norm.name + " has a negative moving_variance");
    c.state[bn + ".running_var"] = var + (kKerasEps - kTorchEps);
    c.state[bn + ".num_batches_tracked"] = torch::zeros({}, torch::kInt64);
  }
  const KerasLayer& head = next(Kind::conv, "final 1×1 Conv2D");
  c.state["head.weight"] = oihw(weight(head, "kernel", {1, 1, 3, 3}));
  c.state["head.bias"] = weight(head, "bias", {3});
  if (at != weighted.size()) throw Error("unexpected layer " + weighted[at]->name + " after the output layer");

  c.notes.push_back("depth " + std::to_string(depth) + " (" + std::to_string(2 * depth) +
                    " PConv2D layers in the file)");
  c.notes.push_back("kernels (k,k,in,out) transposed; divided by C_in: the source's ratio is k·k/sum(M)");
  c.notes.push_back("decoder input channels reordered: the source concatenates the skip connection first");
  c.notes.push_back("biases before BN folded into the moving mean; BN eps 1e-3 folded into the variance");
  c.notes.push_back("the last PConv2D keeps its bias in holes; LeakyReLU, 1×1 Conv2D and sigmoid as the output head");
  c.notes.push_back("input RGB in [0,1] without mean/std");
  return c;
}

}  // namespace pconv::import_detail
