#pragma once
// The partial convolution of Liu et al. (ECCV 2018), as NVIDIA's official layer computes it in
// multi-channel mode with mask output:
//
//   x' = W·(X⊙M)·sum(1)/sum(M) + b   where sum(M) > 0, else 0
//   m' = 1                           where sum(M) > 0, else 0
//
// with sum(1) = C_in·kh·kw and sum(M) the number of valid entries of the window over all input
// channels. Masks are 1 = valid, 0 = hole. Features and mask are zero-padded, so the image border
// behaves like a hole ("partial convolution based padding").
//
// A layer's output mask is the same for every output channel, so masks travel between layers as
// one map (N,1,H,W). sum(M) is a single-channel box sum of the per-pixel count of valid input
// channels: 1/C_out of the work of the all-ones C_out×C_in convolution NVIDIA's code runs.
//
//   PartialConv2d conv(PartialConv2dOptions(3, 64, 7).stride(2).padding(3));
//   auto [y, m] = conv(image, mask);   // mask: (N,1,H,W) or (N,3,H,W)
#include <torch/torch.h>

#include <tuple>

namespace pconv {

struct PartialConv2dOptions {
  PartialConv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  /// Input feature channels (C_in in sum(1) = C_in·kh·kw).
  TORCH_ARG(int64_t, in_channels);
  /// Output feature channels.
  TORCH_ARG(int64_t, out_channels);
  /// Square kernel size.
  TORCH_ARG(int64_t, kernel_size);
  /// Stride of features and mask.
  TORCH_ARG(int64_t, stride) = 1;
  /// Zero padding of features and mask (the border then counts as hole).
  TORCH_ARG(int64_t, padding) = 0;
  /// Dilation of the kernel.
  TORCH_ARG(int64_t, dilation) = 1;
  /// Whether the layer has a bias, added after the re-weighting as in the official layer.
  TORCH_ARG(bool, bias) = true;
  /// Draw random initial weights (as torch::nn::Conv2d); off: uninitialised, to be overwritten.
  TORCH_ARG(bool, initialize) = true;
};

class PartialConv2dImpl : public torch::nn::Cloneable<PartialConv2dImpl> {
 public:
  explicit PartialConv2dImpl(PartialConv2dOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  /// Partial convolution of `input` (N,C_in,H,W) under `mask`, either one map for every channel
  /// (N,1,H,W) or one per channel (N,C_in,H,W). Returns the output and its mask (N,1,H',W').
  std::tuple<torch::Tensor, torch::Tensor> forward(const torch::Tensor& input, const torch::Tensor& mask);

  /// The same on features already multiplied by their mask, with the mask given as the number of
  /// valid input channels at each pixel (N,1,H,W). Concatenations of differently-masked groups
  /// (the U-Net decoder) enter here without materialising a C_in-channel mask.
  std::tuple<torch::Tensor, torch::Tensor> forward_masked(const torch::Tensor& masked_input,
                                                          const torch::Tensor& valid_channels);

  /// The second half of forward_masked: `conv` = W·(X⊙M) without bias, re-weighted in place and
  /// biased under the output mask. For callers that compute the convolution their own way.
  std::tuple<torch::Tensor, torch::Tensor> reweight(const torch::Tensor& conv,
                                                    const torch::Tensor& valid_channels) const;

  /// The output mask and the re-weighting sum(1)/sum(M) (0 where sum(M) = 0), both (N,1,H',W').
  std::tuple<torch::Tensor, torch::Tensor> mask_update(const torch::Tensor& valid_channels) const;

  /// sum(M): the box sum of a count map (N,1,H,W) over each window of the convolution.
  torch::Tensor window_sum(const torch::Tensor& counts) const;

  PartialConv2dOptions options;
  torch::Tensor weight;
  torch::Tensor bias;
  /// All-ones (1,1,k,k) kernel for the box sums pooling cannot do (dilation); a buffer so it follows .to().
  torch::Tensor window;
};
TORCH_MODULE(PartialConv2d);

}  // namespace pconv
