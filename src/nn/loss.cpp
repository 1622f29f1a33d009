#include "pconv/nn/loss.h"

namespace pconv {
namespace F = torch::nn::functional;

std::map<std::string, double> LossTerms::values() const {
  std::map<std::string, double> out;
  const std::pair<const char*, const torch::Tensor*> all[] = {
      {"total", &total},         {"valid", &valid},           {"hole", &hole}, {"perceptual", &perceptual},
      {"style_out", &style_out}, {"style_comp", &style_comp}, {"tv", &tv},     {"chroma", &chroma}};
  for (const auto& [name, t] : all)
    if (t->defined()) out[name] = t->item<double>();
  return out;
}

InpaintingLoss::InpaintingLoss(InpaintingLossOptions options, std::shared_ptr<FeatureExtractor> features)
    : options_(options), features_(std::move(features)) {
  if (features_)
    for (auto& p : features_->parameters()) p.requires_grad_(false);
}

torch::Tensor gram_matrix(const torch::Tensor& features) {
  const int64_t n = features.size(0), c = features.size(1), hw = features.size(2) * features.size(3);
  const torch::Tensor f = features.reshape({n, c, hw});
  return torch::bmm(f, f.transpose(1, 2)) / static_cast<double>(c * hw);
}

torch::Tensor dilated_hole(const torch::Tensor& mask) {
  return F::max_pool2d(1.0 - mask, F::MaxPool2dFuncOptions(3).stride(1).padding(1));
}

torch::Tensor total_variation(const torch::Tensor& image, const torch::Tensor& region) {
  using torch::indexing::None;
  using torch::indexing::Slice;
  const auto right = region.index({Slice(), Slice(), Slice(), Slice(1, None)}) *
                     region.index({Slice(), Slice(), Slice(), Slice(None, -1)});
  const auto down = region.index({Slice(), Slice(), Slice(1, None), Slice()}) *
                    region.index({Slice(), Slice(), Slice(None, -1), Slice()});
  const auto dx = (image.index({Slice(), Slice(), Slice(), Slice(1, None)}) -
                   image.index({Slice(), Slice(), Slice(), Slice(None, -1)}))
                      .abs() *
                  right;
  const auto dy = (image.index({Slice(), Slice(), Slice(1, None), Slice()}) -
                   image.index({Slice(), Slice(), Slice(None, -1), Slice()}))
                      .abs() *
                  down;
  return (dx.sum() + dy.sum()) / static_cast<double>(image.numel());
}

torch::Tensor chroma(const torch::Tensor& rgb) {
  const torch::Tensor weights =
      torch::tensor({-0.168736f, -0.331264f, 0.5f, 0.5f, -0.418688f, -0.081312f}, rgb.options()).view({2, 3, 1, 1});
  return F::conv2d(rgb, weights);
}

torch::Tensor chroma_gradient_error(const torch::Tensor& image, const torch::Tensor& target,
                                    const torch::Tensor& region) {
  return total_variation(chroma(image - target), region);
}

LossTerms InpaintingLoss::operator()(const torch::Tensor& output, const torch::Tensor& target,
                                     const torch::Tensor& mask) const {
  LossTerms t;
  const torch::Tensor hole = 1.0 - mask;
  // Size-averaged: sums over the masked pixels divided by N·C·H·W, as the authors did.
  t.valid = (mask * (output - target)).abs().mean();
  t.hole = (hole * (output - target)).abs().mean();
  t.composite = mask * target + hole * output;
  const torch::Tensor& comp = t.composite;
  const torch::Tensor p = dilated_hole(mask);
  t.tv = total_variation(comp, p);
  t.total = options_.valid() * t.valid + options_.hole() * t.hole + options_.tv() * t.tv;
  if (options_.chroma() > 0) {
    t.chroma = chroma_gradient_error(comp, target, p);
    t.total = t.total + options_.chroma() * t.chroma;
  }
  if (!uses_features()) return t;

  const auto f_out = features_->forward(output);
  const auto f_comp = features_->forward(comp);
  std::vector<torch::Tensor> f_gt;
  {
    torch::NoGradGuard no_grad;
    f_gt = features_->forward(target);
  }
  t.perceptual = torch::zeros({}, output.options());
  t.style_out = torch::zeros({}, output.options());
  t.style_comp = torch::zeros({}, output.options());
  for (size_t p = 0; p < f_gt.size(); ++p) {
    t.perceptual = t.perceptual + (f_out[p] - f_gt[p]).abs().mean() + (f_comp[p] - f_gt[p]).abs().mean();
    const torch::Tensor g_gt = gram_matrix(f_gt[p]);
    t.style_out = t.style_out + (gram_matrix(f_out[p]) - g_gt).abs().mean();
    t.style_comp = t.style_comp + (gram_matrix(f_comp[p]) - g_gt).abs().mean();
  }
  t.total = t.total + options_.perceptual() * t.perceptual + options_.style() * (t.style_out + t.style_comp);
  return t;
}

}  // namespace pconv
