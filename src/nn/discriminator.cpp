#include "pconv/nn/discriminator.h"

namespace pconv {
namespace F = torch::nn::functional;

namespace {
torch::Tensor normalized(const torch::Tensor& t) { return t / (t.norm() + 1e-12); }
}  // namespace

SpectralNormConv2dImpl::SpectralNormConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding)
    : stride_(stride), padding_(padding) {
  // LibTorch's default convolution initialisation, then u and v from a few power iterations, so
  // that the first training step already divides by a fair estimate of σ.
  torch::nn::Conv2d init(torch::nn::Conv2dOptions(in, out, kernel));
  weight_ = register_parameter("weight", init->weight.detach().clone());
  bias_ = register_parameter("bias", init->bias.detach().clone());
  torch::NoGradGuard no_grad;
  const torch::Tensor w = weight_.reshape({out, -1});
  torch::Tensor u = normalized(torch::randn({out})), v;
  for (int i = 0; i < 10; ++i) {
    v = normalized(torch::mv(w.t(), u));
    u = normalized(torch::mv(w, v));
  }
  u_ = register_buffer("u", u);
  v_ = register_buffer("v", v);
}

torch::Tensor SpectralNormConv2dImpl::sigma() const {
  return torch::dot(u_, torch::mv(weight_.reshape({weight_.size(0), -1}), v_));
}

torch::Tensor SpectralNormConv2dImpl::forward(const torch::Tensor& x) {
  if (is_training()) {
    torch::NoGradGuard no_grad;
    const torch::Tensor w = weight_.reshape({weight_.size(0), -1});
    v_.copy_(normalized(torch::mv(w.t(), u_)));
    u_.copy_(normalized(torch::mv(w, v_)));
  }
  return F::conv2d(x, weight_ / sigma(), F::Conv2dFuncOptions().bias(bias_).stride(stride_).padding(padding_));
}

PatchDiscriminatorImpl::PatchDiscriminatorImpl(PatchDiscriminatorOptions options) {
  const int64_t c = options.width();
  // pix2pix's 70×70 PatchGAN: three stride-2 4×4 layers, one stride-1, and the score layer.
  const int64_t channels[] = {3, c, 2 * c, 4 * c, 4 * c, 1};
  const int64_t strides[] = {2, 2, 2, 1, 1};
  for (size_t i = 0; i < 5; ++i)
    layers_.push_back(register_module("layer" + std::to_string(i),
                                      SpectralNormConv2d(channels[i], channels[i + 1], 4, strides[i], 1)));
}

torch::Tensor PatchDiscriminatorImpl::forward(const torch::Tensor& rgb) {
  torch::Tensor x = rgb * 2.0 - 1.0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    x = layers_[i]->forward(x);
    if (i + 1 < layers_.size()) x = F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2));
  }
  return x;
}

torch::Tensor hole_patches(const torch::Tensor& mask, const torch::Tensor& scores) {
  return F::adaptive_max_pool2d(1.0 - mask, F::AdaptiveMaxPool2dFuncOptions({scores.size(2), scores.size(3)}));
}

torch::Tensor discriminator_hinge_loss(const torch::Tensor& real_scores, const torch::Tensor& fake_scores,
                                       const torch::Tensor& fake_patches) {
  const torch::Tensor fake_term =
      fake_patches * torch::relu(1.0 + fake_scores) + (1.0 - fake_patches) * torch::relu(1.0 - fake_scores);
  return torch::relu(1.0 - real_scores).mean() + fake_term.mean();
}

torch::Tensor generator_hinge_loss(const torch::Tensor& fake_scores, const torch::Tensor& fake_patches) {
  return -(fake_scores * fake_patches).sum() / fake_patches.sum().clamp_min(1.0);
}

}  // namespace pconv
