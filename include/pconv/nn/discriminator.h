#pragma once
// The adversarial term's critic: a PatchGAN (Isola et al. 2017) that scores overlapping 70×70
// patches of an image as real or filled, with spectral normalisation (Miyato et al. 2018) on every
// convolution and the hinge loss, as most inpainting networks after the paper train theirs.
//
// Only patches that overlap the hole are fakes: the rest of a composite is the photo itself, so
// the critic learns those as real and the generator is pushed on the holes alone.
#include <torch/torch.h>

namespace pconv {

/// A convolution whose weight is divided by its largest singular value, estimated by one power
/// iteration per training forward (u and v kept as buffers, so evaluation and resumed runs see the
/// same estimate).
class SpectralNormConv2dImpl : public torch::nn::Module {
 public:
  SpectralNormConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding);
  torch::Tensor forward(const torch::Tensor& x);
  /// The normalised weight's scale: the current estimate of σ(W).
  torch::Tensor sigma() const;

 private:
  torch::Tensor weight_, bias_, u_, v_;
  int64_t stride_, padding_;
};
TORCH_MODULE(SpectralNormConv2d);

struct PatchDiscriminatorOptions {
  /// Channels of the first layer; the next ones double up to 4× it.
  TORCH_ARG(int64_t, width) = 16;
};

class PatchDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit PatchDiscriminatorImpl(PatchDiscriminatorOptions options = {});
  /// Scores (N,1,H/8−2,W/8−2) of `rgb` (N,3,H,W) in [0,1]: each for a 70×70 patch.
  torch::Tensor forward(const torch::Tensor& rgb);

 private:
  std::vector<SpectralNormConv2d> layers_;
};
TORCH_MODULE(PatchDiscriminator);

/// Which scores judge a patch that overlaps the hole: (N,1,h,w), 1 = fake patch, from `mask`
/// (N,1,H,W), 1 = valid, at the scores' size.
torch::Tensor hole_patches(const torch::Tensor& mask, const torch::Tensor& scores);

/// The critic's hinge loss: real patches pushed above +1, fake ones below −1. Patches of the
/// composite that do not overlap the hole count as real.
torch::Tensor discriminator_hinge_loss(const torch::Tensor& real_scores, const torch::Tensor& fake_scores,
                                       const torch::Tensor& fake_patches);

/// The generator's term: −(mean score of the composite's hole patches); 0 when no patch has a hole.
torch::Tensor generator_hinge_loss(const torch::Tensor& fake_scores, const torch::Tensor& fake_patches);

}  // namespace pconv
