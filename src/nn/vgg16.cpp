#include "pconv/nn/vgg16.h"

#include "pconv/io/error.h"
#include "pconv/io/safetensors.h"

namespace pconv {
namespace nn = torch::nn;

VGG16FeaturesImpl::VGG16FeaturesImpl() {
  auto conv = [](int64_t in, int64_t out) { return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)); };
  auto relu = [] { return nn::ReLU(nn::ReLUOptions(true)); };
  auto pool = [] { return nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)); };
  // Indices as torchvision's vgg16().features, so that parameter names match its state_dict.
  features = register_module("features", nn::Sequential(conv(3, 64), relu(), conv(64, 64), relu(), pool(),      // 0-4
                                                        conv(64, 128), relu(), conv(128, 128), relu(), pool(),  // 5-9
                                                        conv(128, 256), relu(), conv(256, 256), relu(),         // 10-13
                                                        conv(256, 256), relu(), pool()));                       // 14-16
  mean_ = register_buffer("mean", torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1}));
  std_ = register_buffer("std", torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1}));
}

std::vector<torch::Tensor> VGG16FeaturesImpl::forward(const torch::Tensor& rgb) {
  torch::Tensor x = (rgb - mean_) / std_;
  std::vector<torch::Tensor> pools;
  for (size_t i = 0; i < features->size(); ++i) {
    x = features[i]->as<nn::Conv2d>() ? features[i]->as<nn::Conv2d>()->forward(x)
        : features[i]->as<nn::ReLU>() ? features[i]->as<nn::ReLU>()->forward(x)
                                      : features[i]->as<nn::MaxPool2d>()->forward(x);
    if (i == 4 || i == 9 || i == 16) pools.push_back(x);
  }
  return pools;
}

VGG16Features load_vgg16_features(const std::filesystem::path& path, const torch::Device& device) {
  const std::string where = path.string();
  Safetensors file = read_safetensors(path);
  VGG16Features vgg;
  torch::NoGradGuard no_grad;
  for (auto& p : vgg->named_parameters()) {
    const auto it = file.tensors.find(p.key());
    if (it == file.tensors.end())
      throw Error(where + ": missing tensor '" + p.key() + "' (expected torchvision's VGG-16 state_dict names)");
    const torch::Tensor& t = it->second;
    if (t.sizes() != p.value().sizes()) {
      std::ostringstream msg;
      msg << where << ": tensor '" << p.key() << "' has shape " << t.sizes() << ", expected " << p.value().sizes();
      throw Error(msg.str());
    }
    if (!t.is_floating_point()) throw Error(where + ": tensor '" + p.key() + "' is not floating point");
    if (!torch::isfinite(t).all().item<bool>())
      throw Error(where + ": tensor '" + p.key() + "' holds NaN or infinite values");
    p.value().copy_(t);
    p.value().set_requires_grad(false);
  }
  vgg->to(device);
  vgg->eval();
  return vgg;
}

}  // namespace pconv
