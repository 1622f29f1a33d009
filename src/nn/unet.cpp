#include "pconv/nn/unet.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "pconv/io/error.h"
#include "pconv/nn/upsample_conv.h"

namespace pconv {
namespace F = torch::nn::functional;

namespace {
constexpr int64_t kPaperChannels[] = {64, 128, 256};  // then 512 for every deeper layer
constexpr int64_t kPaperKernels[] = {7, 5, 5};        // then 3

int64_t encoder_kernel(int64_t layer) { return layer <= 3 ? kPaperKernels[layer - 1] : 3; }

torch::Tensor upsample2(const torch::Tensor& x) {
  return F::interpolate(x,
                        F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
}

// cat(nearest ×2 upsampling of `low`, `skip`) along channels, for training; inference uses
// upsample_concat_conv, which never builds it.
torch::Tensor upsample_concat(const torch::Tensor& low, const torch::Tensor& skip) {
  return torch::cat({upsample2(low), skip}, 1);
}

// x ⊙ m, in place when no gradient is recorded: inference then allocates no second copy of
// the largest feature maps (autograd needs the activation's output intact while training).
torch::Tensor apply_mask(const torch::Tensor& x, const torch::Tensor& m) {
  return torch::GradMode::is_enabled() ? x * m : x.mul_(m);
}

// BN (when present) then the activation, in place on the BN output, which BN's backward does not need.
torch::Tensor leaky(const torch::Tensor& x) {
  return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2).inplace(true));
}
}  // namespace

void PConvUNetOptions::check() const {
  if (depth() < 2 || depth() > 10) throw Error("depth " + std::to_string(depth()) + " is out of range (2..10)");
  if (!(width() > 0.0) || width() > 4.0) throw Error("width " + std::to_string(width()) + " is out of range (0, 4]");
  if ((reweight_output_twice() || output_bias_in_holes()) && !partial())
    throw Error(
        "reweight_output_twice and output_bias_in_holes need partial convolutions (the plain U-Net has no sum(M))");
}

int64_t PConvUNetOptions::encoder_channels(int64_t i) const {
  const int64_t paper = i <= 3 ? kPaperChannels[i - 1] : 512;
  return std::max<int64_t>(1, std::llround(static_cast<double>(paper) * width()));
}

PConvUNetOptions::Layer PConvUNetOptions::layer(int64_t index) const {
  const int64_t image_channels = partial() ? 3 : 4;  // the plain variant also reads the mask
  const bool bn = index != 1 && index != 2 * depth();
  if (index <= depth()) {
    const int64_t in = index == 1 ? image_channels : encoder_channels(index - 1);
    return {in, encoder_channels(index), encoder_kernel(index), 2, bn};
  }
  const int64_t skip = 2 * depth() - index;  // encoder stage joined here; 0 is the input image
  const int64_t out = skip > 0 ? encoder_channels(skip) : 3;
  return {encoder_channels(skip + 1) + (skip > 0 ? out : image_channels), out, 3, 1, bn};
}

std::map<std::string, std::vector<int64_t>> PConvUNetOptions::state_shapes() const {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (int64_t i = 1; i <= 2 * depth(); ++i) {
    const Layer l = layer(i);
    const std::string conv = (partial() ? "pconv" : "conv") + std::to_string(i), bn = "bn" + std::to_string(i);
    shapes[conv + ".weight"] = {l.out, l.in, l.kernel, l.kernel};
    if (!l.bn) {
      shapes[conv + ".bias"] = {l.out};
      continue;
    }
    for (const char* name : {".weight", ".bias", ".running_mean", ".running_var"}) shapes[bn + name] = {l.out};
    shapes[bn + ".num_batches_tracked"] = {};
  }
  if (output_head()) {
    shapes["head.weight"] = {3, 3, 1, 1};
    shapes["head.bias"] = {3};
  }
  return shapes;
}

PConvUNetImpl::PConvUNetImpl(PConvUNetOptions options) : options_(options) {
  options_.check();
  const int64_t depth = options_.depth();
  const bool partial = options_.partial();
  bns_.assign(2 * depth, torch::nn::BatchNorm2d(nullptr));

  for (int64_t layer = 1; layer <= 2 * depth; ++layer) {
    const auto [in, out, kernel, stride, bn] = options_.layer(layer);
    const std::string index = std::to_string(layer);
    if (partial) {
      pconvs_.push_back(register_module("pconv" + index, PartialConv2d(PartialConv2dOptions(in, out, kernel)
                                                                           .stride(stride)
                                                                           .padding(kernel / 2)
                                                                           .bias(!bn)
                                                                           .initialize(options_.initialize()))));
    } else {
      convs_.push_back(register_module(
          "conv" + index,
          torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(!bn))));
    }
    if (bn) bns_[layer - 1] = register_module("bn" + index, torch::nn::BatchNorm2d(out));
  }
  if (options_.output_head()) head_ = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 3, 1)));
}

void PConvUNetImpl::train(bool on) {
  TORCH_CHECK(!(on && folded_), "PConvUNet: a network with folded batch-norm is for inference only");
  torch::nn::Module::train(on);
  if (on && options_.freeze_encoder_bn()) {
    for (int64_t layer = 2; layer <= options_.depth(); ++layer) bns_[layer - 1]->eval();
  }
}

void PConvUNetImpl::set_freeze_encoder_bn(bool freeze) {
  options_.freeze_encoder_bn(freeze);
  train(is_training());
}

void PConvUNetImpl::fold_batch_norm() {
  TORCH_CHECK(!is_training(), "PConvUNet: fold batch-norm in evaluation mode");
  if (folded_) return;
  torch::NoGradGuard no_grad;
  for (int64_t layer = 1; layer <= 2 * options_.depth(); ++layer) {
    if (!has_bn(layer)) continue;
    const auto& bn = bns_[layer - 1];
    torch::Tensor& weight = options_.partial() ? pconvs_[layer - 1]->weight : convs_[layer - 1]->weight;
    // The convolutions of BN layers have no bias; the folded shift becomes one (an unregistered
    // member, so the network's state keeps the file's names).
    torch::Tensor& bias = options_.partial() ? pconvs_[layer - 1]->bias : convs_[layer - 1]->bias;
    // In at least float whatever the network's type (bf16 for inference), then rounded once to it.
    const auto exact = torch::promote_types(weight.scalar_type(), torch::kFloat32);
    const auto as_exact = [exact](const torch::Tensor& t) { return t.to(exact); };
    const torch::Tensor scale = as_exact(bn->weight) / torch::sqrt(as_exact(bn->running_var) + bn->options.eps());
    const torch::Tensor shift = as_exact(bn->bias) - as_exact(bn->running_mean) * scale;
    weight.mul_(scale.to(weight.scalar_type()).view({-1, 1, 1, 1}));
    bias = shift.to(weight.scalar_type());
    if (options_.partial()) pconvs_[layer - 1]->options.bias(true);
  }
  folded_ = true;
}

void PConvUNetImpl::set_dtype(torch::Dtype dtype) {
  to(dtype);
  if (!folded_) return;
  // Folded biases are not registered (see fold_batch_norm), so `to` does not reach them.
  for (int64_t layer = 1; layer <= 2 * options_.depth(); ++layer) {
    if (!has_bn(layer)) continue;
    torch::Tensor& bias = options_.partial() ? pconvs_[layer - 1]->bias : convs_[layer - 1]->bias;
    bias = bias.to(dtype);
  }
}

void PConvUNetImpl::set_channels_last(bool on) {
  channels_last_ = on;
  const auto format = on ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  torch::NoGradGuard no_grad;
  for (auto& p : parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(format));
}

torch::Tensor PConvUNetImpl::batch_norm(int64_t layer, const torch::Tensor& x) {
  if (folded_) return x;
  auto& bn = bns_[layer - 1];
  return sync_bn_ && bn->is_training() ? sync_batch_norm(*bn, x, sync_bn_) : bn->forward(x);
}

torch::Tensor PConvUNetImpl::forward(const torch::Tensor& image, const torch::Tensor& mask) {
  const int64_t multiple = options_.size_multiple();
  TORCH_CHECK(image.dim() == 4 && image.size(1) == 3, "PConvUNet: image must be (N,3,H,W), got ", image.sizes());
  TORCH_CHECK(mask.dim() == 4 && mask.size(1) == 1 && mask.size(0) == image.size(0) && mask.size(2) == image.size(2) &&
                  mask.size(3) == image.size(3),
              "PConvUNet: mask must be (N,1,H,W) matching the image, got ", mask.sizes());
  TORCH_CHECK(image.size(2) % multiple == 0 && image.size(3) % multiple == 0,
              "PConvUNet: H and W must be multiples of ", multiple, " at depth ", options_.depth(), ", got ",
              image.size(2), "x", image.size(3));
  if (!channels_last_) return options_.partial() ? forward_partial(image, mask) : forward_plain(image, mask);
  const auto nhwc = torch::MemoryFormat::ChannelsLast;
  const torch::Tensor x = image.contiguous(nhwc), m = mask.contiguous(nhwc);
  return (options_.partial() ? forward_partial(x, m) : forward_plain(x, m)).contiguous();
}

torch::Tensor PConvUNetImpl::forward_partial(const torch::Tensor& image, const torch::Tensor& mask) {
  const int64_t depth = options_.depth();
  // Encoder. Stage j keeps its features already multiplied by its mask: the next layer and the
  // decoder's skip connection both need X⊙M, and BN + ReLU make holes non-zero again.
  std::vector<torch::Tensor> features{image * mask}, masks{mask};
  for (int64_t layer = 1; layer <= depth; ++layer) {
    const int64_t channels = features.back().size(1);
    auto [x, m] = pconvs_[layer - 1]->forward_masked(features.back(), masks.back() * static_cast<double>(channels));
    if (has_bn(layer)) x = batch_norm(layer, x);
    x.relu_();
    features.push_back(apply_mask(x, m));
    masks.push_back(m);
  }
  // Decoder.
  torch::Tensor x = std::exchange(features.back(), {}), m = masks.back();
  for (int64_t layer = depth + 1; layer <= 2 * depth; ++layer) {
    const int64_t skip = 2 * depth - layer;
    const torch::Tensor valid =
        upsample2(m) * static_cast<double>(x.size(1)) + masks[skip] * static_cast<double>(features[skip].size(1));
    std::tie(x, m) = decoder_conv(layer, std::exchange(x, {}), std::exchange(features[skip], {}), valid);
    if (layer < 2 * depth) {
      x = apply_mask(leaky(batch_norm(layer, x)), m);
      continue;
    }
    if (options_.reweight_output_twice()) x = x * std::get<1>(pconvs_[layer - 1]->mask_update(valid));
    if (options_.output_bias_in_holes()) x = x + pconvs_[layer - 1]->bias.view({1, -1, 1, 1}) * (1 - m);
  }
  return finish_output(x);
}

std::tuple<torch::Tensor, torch::Tensor> PConvUNetImpl::decoder_conv(int64_t layer, const torch::Tensor& low,
                                                                     const torch::Tensor& skip,
                                                                     const torch::Tensor& valid) {
  auto& conv = pconvs_[layer - 1];
  // Each skip connection is used once: the caller hands it over as a temporary, gone after this call.
  if (torch::GradMode::is_enabled()) return conv->forward_masked(upsample_concat(low, skip), valid);
  return conv->reweight(upsample_concat_conv(low, skip, conv->weight), valid);
}

torch::Tensor PConvUNetImpl::decoder_conv(int64_t layer, const torch::Tensor& low, const torch::Tensor& skip) {
  auto& conv = convs_[layer - 1];
  if (torch::GradMode::is_enabled()) return conv->forward(upsample_concat(low, skip));
  torch::Tensor out = upsample_concat_conv(low, skip, conv->weight);
  return conv->bias.defined() ? out.add_(conv->bias.view({1, -1, 1, 1})) : out;
}

torch::Tensor PConvUNetImpl::forward_plain(const torch::Tensor& image, const torch::Tensor& mask) {
  const int64_t depth = options_.depth();
  std::vector<torch::Tensor> features{torch::cat({image * mask, mask}, 1)};
  for (int64_t layer = 1; layer <= depth; ++layer) {
    torch::Tensor x = convs_[layer - 1]->forward(features.back());
    if (has_bn(layer)) x = batch_norm(layer, x);
    features.push_back(x.relu_());
  }
  torch::Tensor x = std::exchange(features.back(), {});
  for (int64_t layer = depth + 1; layer <= 2 * depth; ++layer) {
    const int64_t skip = 2 * depth - layer;
    x = decoder_conv(layer, std::exchange(x, {}), std::exchange(features[skip], {}));
    if (layer < 2 * depth) x = leaky(batch_norm(layer, x));
  }
  return finish_output(x);
}

torch::Tensor PConvUNetImpl::finish_output(const torch::Tensor& x) {
  torch::Tensor y = head_ ? head_->forward(F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2))) : x;
  switch (options_.output_activation()) {
    case PConvUNetOptions::Activation::tanh:
      return torch::tanh(y);
    case PConvUNetOptions::Activation::sigmoid:
      return torch::sigmoid(y);
    case PConvUNetOptions::Activation::none:
      break;
  }
  return y;
}

std::vector<torch::Tensor> PConvUNetImpl::encoder_masks(const torch::Tensor& mask) {
  TORCH_CHECK(options_.partial(), "PConvUNet: the plain-convolution variant has no masks");
  std::vector<torch::Tensor> masks;
  torch::Tensor m = mask;
  for (int64_t layer = 1; layer <= options_.depth(); ++layer) {
    const int64_t channels = layer == 1 ? 3 : options_.encoder_channels(layer - 1);
    m = std::get<0>(pconvs_[layer - 1]->mask_update(m * static_cast<double>(channels)));
    masks.push_back(m);
  }
  return masks;
}

}  // namespace pconv
