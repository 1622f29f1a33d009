#include "pconv/nn/random_features.h"

#include <cmath>
#include <random>

#include "pconv/io/error.h"

namespace pconv {
namespace F = torch::nn::functional;

torch::Tensor random_filters(uint64_t seed, int64_t scale, int64_t channels, int64_t kernel, int64_t inputs) {
  // One generator per scale, so that adding a scale leaves the others' filters as they were.
  std::mt19937_64 random(seed * 1000003u + static_cast<uint64_t>(scale));
  const auto uniform = [&] { return (static_cast<double>(random() >> 11) + 0.5) / 9007199254740992.0; };
  const int64_t per_channel = kernel * kernel, per_filter = inputs * per_channel;
  std::vector<float> values(static_cast<size_t>(channels * per_filter));
  for (int64_t f = 0; f < channels; ++f) {
    float* w = values.data() + f * per_filter;
    for (int64_t i = 0; i < per_filter; i += 2) {  // Box-Muller: two normals per pair of uniforms
      const double r = std::sqrt(-2.0 * std::log(uniform())), angle = 2.0 * M_PI * uniform();
      w[i] = static_cast<float>(r * std::cos(angle));
      if (i + 1 < per_filter) w[i + 1] = static_cast<float>(r * std::sin(angle));
    }
    double norm = 0;
    for (int64_t c = 0; c < inputs; ++c) {
      float* wc = w + c * per_channel;
      double mean = 0;
      for (int64_t i = 0; i < per_channel; ++i) mean += wc[i];
      mean /= static_cast<double>(per_channel);
      for (int64_t i = 0; i < per_channel; ++i) {
        wc[i] = static_cast<float>(wc[i] - mean);
        norm += static_cast<double>(wc[i]) * wc[i];
      }
    }
    const double scale = 1.0 / std::sqrt(norm);
    for (int64_t i = 0; i < per_filter; ++i) w[i] = static_cast<float>(w[i] * scale);
  }
  return torch::from_blob(values.data(), {channels, inputs, kernel, kernel}, torch::kFloat32).clone();
}

const char* to_string(FeatureInput input) {
  switch (input) {
    case FeatureInput::luma:
      return "luma";
    case FeatureInput::grey:
      return "grey";
    case FeatureInput::rgb:
      break;
  }
  return "rgb";
}

FeatureInput feature_input_from_string(const std::string& text) {
  for (const FeatureInput input : {FeatureInput::rgb, FeatureInput::luma, FeatureInput::grey})
    if (text == to_string(input)) return input;
  throw Error("feature input '" + text + "': must be rgb, luma or grey");
}

RandomFeaturesImpl::RandomFeaturesImpl(RandomFeaturesOptions options) : options_(options) {
  if (options.channels() < 1 || options.kernel() < 1 || options.kernel() % 2 == 0 || options.scales() < 1)
    throw Error("random features need at least one channel and scale and an odd kernel size");
  const bool rgb = options.input() == FeatureInput::rgb;
  for (int64_t s = 0; s < options.scales(); ++s)
    filters_.push_back(
        register_buffer("filters" + std::to_string(s),
                        random_filters(options.seed(), s, options.channels(), options.kernel(), rgb ? 3 : 1)));
  torch::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  torch::Tensor std = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  if (!rgb) {
    const torch::Tensor weights = options.input() == FeatureInput::luma
                                      ? torch::tensor({0.299f, 0.587f, 0.114f}).view({1, 3, 1, 1})
                                      : torch::full({1, 3, 1, 1}, 1.0f / 3);
    channel_weights_ = register_buffer("channel_weights", weights);
    // One channel is normalised with ImageNet's mean and std weighted as the channel weighs R, G, B.
    mean = (mean * weights).sum(1, true);
    std = (std * weights).sum(1, true);
  }
  mean_ = register_buffer("mean", mean);
  std_ = register_buffer("std", std);
}

std::vector<torch::Tensor> RandomFeaturesImpl::forward(const torch::Tensor& rgb) {
  const int64_t pad = options_.kernel() / 2;
  torch::Tensor x = channel_weights_.defined() ? (rgb * channel_weights_).sum(1, true) : rgb;
  x = (x - mean_) / std_;
  std::vector<torch::Tensor> features;
  for (size_t s = 0; s < filters_.size(); ++s) {
    if (s > 0) x = F::avg_pool2d(x, F::AvgPool2dFuncOptions(2));
    // Replicated, not zero-padded: a zero border would read as an edge, and as texture.
    const torch::Tensor padded = F::pad(x, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReplicate));
    features.push_back(torch::relu(F::conv2d(padded, filters_[s])));
  }
  return features;
}

}  // namespace pconv
