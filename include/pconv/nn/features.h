#pragma once
// What the perceptual and style losses compare images through: a frozen network that maps an RGB
// image in [0,1] to a few feature maps (VGG-16's pools in the paper; random features without it).
#include <torch/torch.h>

#include <vector>

namespace pconv {

class FeatureExtractor : public torch::nn::Module {
 public:
  /// Feature maps (N,C_p,H_p,W_p) of `rgb` (N,3,H,W) in [0,1], coarsest last.
  virtual std::vector<torch::Tensor> forward(const torch::Tensor& rgb) = 0;
};

}  // namespace pconv
