#pragma once
// The frozen VGG-16 feature extractor of the perceptual and style losses: pool1, pool2 and pool3
// of torchvision's layout (features[0:5], [5:10], [10:17]), ImageNet normalisation applied to
// inputs in [0,1]. Weights load from a safetensors file with torchvision's state_dict names
// (features.0.weight … features.28.bias; timm's `vgg16.tv_in1k` file has this layout): only
// features.0 … features.14 are used, the rest of the file is ignored.
#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "pconv/nn/features.h"

namespace pconv {

class VGG16FeaturesImpl : public FeatureExtractor {
 public:
  VGG16FeaturesImpl();
  /// pool1, pool2, pool3 of `rgb` (N,3,H,W) in [0,1].
  std::vector<torch::Tensor> forward(const torch::Tensor& rgb) override;

 private:
  torch::nn::Sequential features{nullptr};
  torch::Tensor mean_, std_;
};
TORCH_MODULE(VGG16Features);

/// Loads and validates the weights (names, shapes, dtypes, finite values); throws pconv::Error
/// naming the file and the problem. The module comes back frozen, in evaluation mode.
VGG16Features load_vgg16_features(const std::filesystem::path& path, const torch::Device& device = torch::kCPU);

}  // namespace pconv
