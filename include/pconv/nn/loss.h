#pragma once
// The paper's loss (Liu et al. 2018, eq. 1-7):
//
//   L_total = L_valid + 6·L_hole + 0.05·L_perceptual + 120·(L_style_out + L_style_comp) + 0.1·L_tv
//
// on images in [0,1]. L1 terms are size-averaged (divided by N = C·H·W). Perceptual and style
// terms compare I_out and I_comp (I_out with the valid pixels replaced by the ground truth) through
// a frozen feature extractor: VGG-16 pool1-3 in the paper, or random multi-scale features
// (random_features.h) where no ImageNet weights can be had; Gram matrices are scaled by
// 1/(C·H·W). TV is the L1 of neighbour differences of I_comp over P, the 1-pixel dilation of the
// hole. Without a feature extractor the loss is the pixel-space one: valid + hole + TV.
//
// Not in the paper, off unless weighted: L_chroma, the L1 of the difference between I_comp's and
// the ground truth's chroma gradients over P (chroma_gradient_error). The texture terms, even on
// grey features, make the network draw its detail with uneven gains per channel, which shows as
// colour blotches; this term prices chroma detail the photo does not have, and leaves brightness
// detail to the texture terms.
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>

#include "pconv/nn/features.h"

namespace pconv {

struct InpaintingLossOptions {
  TORCH_ARG(double, valid) = 1.0;
  TORCH_ARG(double, hole) = 6.0;
  TORCH_ARG(double, perceptual) = 0.05;
  /// Weight of L_style_out and of L_style_comp each.
  TORCH_ARG(double, style) = 120.0;
  TORCH_ARG(double, tv) = 0.1;
  /// Weight of L_chroma; 0: not computed.
  TORCH_ARG(double, chroma) = 0.0;
};

struct LossTerms {
  torch::Tensor total, valid, hole, perceptual, style_out, style_comp, tv, chroma;
  /// I_comp, for terms computed outside the loss (the adversarial one).
  torch::Tensor composite;
  /// Every term as a number, for logs ("total", "valid", ...); terms not computed are left out.
  std::map<std::string, double> values() const;
};

class InpaintingLoss {
 public:
  /// `features` may be null: the pixel-space loss. They are used frozen (no gradient reaches them).
  explicit InpaintingLoss(InpaintingLossOptions options = {}, std::shared_ptr<FeatureExtractor> features = nullptr);

  /// `output`, `target`: (N,3,H,W) in [0,1]; `mask`: (N,1,H,W), 1 = valid, 0 = hole.
  LossTerms operator()(const torch::Tensor& output, const torch::Tensor& target, const torch::Tensor& mask) const;

  /// Whether the perceptual and style terms are computed.
  bool uses_features() const { return features_ != nullptr; }
  const InpaintingLossOptions& options() const { return options_; }

 private:
  InpaintingLossOptions options_;
  std::shared_ptr<FeatureExtractor> features_;
};

/// Gram matrix of features (N,C,H,W): (N,C,C), scaled by 1/(C·H·W).
torch::Tensor gram_matrix(const torch::Tensor& features);

/// L1 of horizontal and vertical neighbour differences of `image` over pairs that both lie in
/// `region` (N,1,H,W), divided by the number of elements of `image`.
torch::Tensor total_variation(const torch::Tensor& image, const torch::Tensor& region);

/// Chroma of RGB images (N,3,H,W): (N,2,H,W), Cb and Cr of BT.601 without their offset.
torch::Tensor chroma(const torch::Tensor& rgb);

/// L1 of the difference between the chroma gradients of `image` and `target` over neighbour pairs
/// in `region`, divided by the number of chroma elements: total_variation of their chroma's
/// difference, as both are linear.
torch::Tensor chroma_gradient_error(const torch::Tensor& image, const torch::Tensor& target,
                                    const torch::Tensor& region);

/// P: the hole (1 − mask) dilated by one pixel (3×3), as (N,1,H,W).
torch::Tensor dilated_hole(const torch::Tensor& mask);

}  // namespace pconv
