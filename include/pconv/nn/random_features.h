#pragma once
// Texture features that need no pretrained weights: one layer of fixed random convolutions and a
// ReLU, applied at several scales of an image pyramid. Ustyuzhaninov, Brendel, Gatys and Bethge
// (2017, "What does it take to generate natural textures?") showed that Gram matrices of such
// multi-scale random features synthesise natural textures nearly as well as VGG's; their large
// filters (up to 55×55) are replaced here by 5×5 filters on an average-pooled pyramid, which sees
// as far at a fraction of the cost.
//
// The filters are a pure function of the seed (a Mersenne Twister and Box-Muller, not LibTorch's
// generator, whose sequence may change between versions): each is drawn from N(0,1), has the
// mean of each input channel's slice removed (a flat patch of any colour gives no response, so the
// features see structure; colour is the ℓ1 terms' job) and is scaled to unit L2 norm. Inputs are normalised with
// ImageNet's mean and std, as VGG's are.
//
// The filters read RGB, or one channel made from it. Random RGB filters answer a change of hue as
// strongly as one of brightness, so matching their Gram matrices asks for chroma texture that
// photographs seldom have: the fills showed it as colour noise. On luma (Rec. 601) the features see
// brightness alone, but the loss's gradient still has luma's direction in colour space (mostly
// green, little blue), so every step towards texture also shifts hue: yellow and blue blotches.
// On grey, the plain mean of R, G and B, the gradient moves a pixel along the grey axis only.
#include <cstdint>
#include <string>

#include "pconv/nn/features.h"

namespace pconv {

/// What the random filters read.
enum class FeatureInput { rgb, luma, grey };
const char* to_string(FeatureInput input);
/// Throws pconv::Error naming the text unless it is "rgb", "luma" or "grey".
FeatureInput feature_input_from_string(const std::string& text);

struct RandomFeaturesOptions {
  TORCH_ARG(uint64_t, seed) = 0;
  /// Random filters per scale.
  TORCH_ARG(int64_t, channels) = 16;
  TORCH_ARG(int64_t, kernel) = 5;
  /// Pyramid levels: full resolution, 1/2, 1/4, … (receptive fields 5, 10, 20, 40 px by default).
  TORCH_ARG(int64_t, scales) = 4;
  TORCH_ARG(FeatureInput, input) = FeatureInput::rgb;
};

class RandomFeaturesImpl : public FeatureExtractor {
 public:
  explicit RandomFeaturesImpl(RandomFeaturesOptions options = {});
  /// One feature map per scale, (N, channels, H/2^s, W/2^s).
  std::vector<torch::Tensor> forward(const torch::Tensor& rgb) override;
  const RandomFeaturesOptions& options() const { return options_; }

 private:
  RandomFeaturesOptions options_;
  std::vector<torch::Tensor> filters_;
  torch::Tensor mean_, std_, channel_weights_;  // channel_weights_: only with one input channel
};
TORCH_MODULE(RandomFeatures);

/// The filters of one scale, (channels, inputs, kernel, kernel): exposed for tests.
torch::Tensor random_filters(uint64_t seed, int64_t scale, int64_t channels, int64_t kernel, int64_t inputs = 3);

}  // namespace pconv
