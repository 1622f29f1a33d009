#include "pconv/nn/partial_conv.h"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include <cmath>

namespace pconv {

PartialConv2dImpl::PartialConv2dImpl(PartialConv2dOptions options_) : options(options_) { reset(); }

void PartialConv2dImpl::reset() {
  TORCH_CHECK(options.in_channels() > 0, "PartialConv2d: in_channels must be positive, got ", options.in_channels());
  TORCH_CHECK(options.out_channels() > 0, "PartialConv2d: out_channels must be positive, got ", options.out_channels());
  TORCH_CHECK(options.kernel_size() > 0, "PartialConv2d: kernel_size must be positive, got ", options.kernel_size());
  TORCH_CHECK(options.stride() > 0 && options.dilation() > 0 && options.padding() >= 0,
              "PartialConv2d: stride and dilation must be positive and padding non-negative");
  const int64_t k = options.kernel_size();
  weight = register_parameter("weight", torch::empty({options.out_channels(), options.in_channels(), k, k}));
  // Same initialisation as torch::nn::Conv2d, so a PConv U-Net and its plain twin start alike.
  if (options.initialize()) torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (options.bias()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_channels() * k * k));
    torch::Tensor initial = torch::empty({options.out_channels()});
    if (options.initialize()) initial.uniform_(-bound, bound);
    bias = register_parameter("bias", initial);
  } else {
    bias = register_parameter("bias", torch::Tensor(), /*requires_grad=*/false);
  }
  window = register_buffer("window", torch::ones({1, 1, k, k}));
}

void PartialConv2dImpl::pretty_print(std::ostream& stream) const {
  stream << "pconv::PartialConv2d(" << options.in_channels() << ", " << options.out_channels()
         << ", kernel_size=" << options.kernel_size() << ", stride=" << options.stride()
         << ", padding=" << options.padding() << ", dilation=" << options.dilation()
         << ", bias=" << (options.bias() ? "true" : "false") << ")";
}

torch::Tensor PartialConv2dImpl::window_sum(const torch::Tensor& counts) const {
  const int64_t k = options.kernel_size();
  // A sum pool rather than a convolution with `window`: LibTorch runs small one-channel
  // convolutions as im2col and BLAS, and the pool is a little faster and lighter anyway (a 512x512
  // pass 180 vs 200 ms in bf16, 10 MB less peak). Pooling has no dilation and at most half a
  // kernel of padding.
  if (options.dilation() == 1 && 2 * options.padding() <= k)
    return torch::avg_pool2d(counts, k, options.stride(), options.padding(), /*ceil_mode=*/false,
                             /*count_include_pad=*/true, /*divisor_override=*/1);
  return torch::conv2d(counts, window.to(counts.scalar_type()), {}, options.stride(), options.padding(),
                       options.dilation());
}

std::tuple<torch::Tensor, torch::Tensor> PartialConv2dImpl::mask_update(const torch::Tensor& valid_channels) const {
  torch::NoGradGuard no_grad;
  // Not under autocast either, which would cast this convolution to bf16 in a bf16 training step.
  const c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  // Counted in at least float whatever the network computes in: a window's count reaches
  // thousands, which bf16 (8 significant bits) would round. The channel counts themselves are exact.
  const auto dtype = valid_channels.scalar_type(), exact = torch::promote_types(dtype, torch::kFloat32);
  const torch::Tensor valid = window_sum(valid_channels.to(exact));
  const double window_size = static_cast<double>(options.in_channels() * options.kernel_size() * options.kernel_size());
  // Counts are small integers, exact in float: 0.5 separates "no valid entry" from "some".
  const torch::Tensor new_mask = valid.gt(0.5).to(exact);
  const torch::Tensor ratio = new_mask * (window_size / valid.clamp_min(1.0));
  return {new_mask.to(dtype), ratio.to(dtype)};
}

std::tuple<torch::Tensor, torch::Tensor> PartialConv2dImpl::forward_masked(const torch::Tensor& masked_input,
                                                                           const torch::Tensor& valid_channels) {
  TORCH_CHECK(masked_input.dim() == 4 && masked_input.size(1) == options.in_channels(),
              "PartialConv2d: expected input (N,", options.in_channels(), ",H,W), got ", masked_input.sizes());
  TORCH_CHECK(valid_channels.dim() == 4 && valid_channels.size(1) == 1 &&
                  valid_channels.size(0) == masked_input.size(0) && valid_channels.size(2) == masked_input.size(2) &&
                  valid_channels.size(3) == masked_input.size(3),
              "PartialConv2d: valid-channel count must be (N,1,H,W) matching the input, got ", valid_channels.sizes());
  return reweight(torch::conv2d(masked_input, weight, {}, options.stride(), options.padding(), options.dilation()),
                  valid_channels);
}

std::tuple<torch::Tensor, torch::Tensor> PartialConv2dImpl::reweight(const torch::Tensor& out,
                                                                     const torch::Tensor& valid_channels) const {
  auto [new_mask, ratio] = mask_update(valid_channels);
  // In place: the convolution's backward does not need its output, and these maps are the
  // largest tensors of the network. Under autocast `out` is bf16 while the masks stay float, and
  // in-place kernels do not mix types.
  const auto dtype = out.scalar_type();
  out.mul_(ratio.to(dtype));
  if (options.bias()) out.addcmul_(new_mask.to(dtype), bias.to(dtype).view({1, -1, 1, 1}));
  return {out, new_mask};
}

std::tuple<torch::Tensor, torch::Tensor> PartialConv2dImpl::forward(const torch::Tensor& input,
                                                                    const torch::Tensor& mask) {
  TORCH_CHECK(mask.dim() == 4 && (mask.size(1) == 1 || mask.size(1) == input.size(1)),
              "PartialConv2d: mask must be (N,1,H,W) or (N,C_in,H,W), got ", mask.sizes(), " for input ",
              input.sizes());
  const torch::Tensor mask_data = mask.detach();
  const torch::Tensor valid_channels =
      mask.size(1) == 1 ? mask_data * static_cast<double>(input.size(1)) : mask_data.sum(1, /*keepdim=*/true);
  return forward_masked(input * mask_data, valid_channels);
}

}  // namespace pconv
