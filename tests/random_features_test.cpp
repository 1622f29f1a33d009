// Random multi-scale features for the perceptual and style terms: the filters' construction, the
// forward pass against a hand-written loop, and the terms they give.
#include "pconv/nn/random_features.h"

#include <gtest/gtest.h>

#include "pconv/io/error.h"
#include "pconv/nn/loss.h"
#include "test_util.h"

namespace pconv {
namespace {
using torch::indexing::Slice;

TEST(RandomFeatures, FiltersAreAPureFunctionOfTheSeed) {
  const torch::Tensor a = random_filters(3, 0, 16, 5);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{16, 3, 5, 5}));
  EXPECT_TRUE(torch::equal(a, random_filters(3, 0, 16, 5)));
  EXPECT_FALSE(torch::equal(a, random_filters(4, 0, 16, 5)));
  EXPECT_FALSE(torch::equal(a, random_filters(3, 1, 16, 5))) << "each scale has its own filters";
  // Every filter: each channel's slice sums to zero, the whole has unit norm.
  EXPECT_LT(a.sum({2, 3}).abs().max().item<double>(), 1e-5);
  EXPECT_TRUE(torch::allclose(a.flatten(1).norm(2, 1), torch::ones({16}), 1e-5, 1e-5));
  // Pinned: the generator is std::mt19937_64 and Box-Muller, the same on every platform and
  // LibTorch version; a change here changes every model trained with these features.
  const torch::Tensor first = a.flatten().index({Slice(0, 3)});
  std::ostringstream got;
  got.precision(9);
  got << first[0].item<float>() << " " << first[1].item<float>() << " " << first[2].item<float>();
  EXPECT_TRUE(torch::allclose(first, torch::tensor({0.0168576688f, 0.0215838067f, 0.129335657f}), 1e-5, 1e-6))
      << got.str();
}

TEST(RandomFeatures, ForwardEqualsAHandWrittenLoop) {
  RandomFeatures features(RandomFeaturesOptions().seed(1).channels(4).kernel(3).scales(2));
  const torch::Tensor rgb = torch::rand({1, 3, 6, 8});
  const auto maps = features->forward(rgb);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].sizes(), (std::vector<int64_t>{1, 4, 6, 8}));
  EXPECT_EQ(maps[1].sizes(), (std::vector<int64_t>{1, 4, 3, 4}));
  const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  // Scale 1 sees the 2×2 averages; borders are replicated.
  auto input = [&](int scale, int64_t c, int64_t y, int64_t x) {
    const int64_t h = 6 >> scale, w = 8 >> scale;
    y = std::clamp<int64_t>(y, 0, h - 1);
    x = std::clamp<int64_t>(x, 0, w - 1);
    const int64_t n = int64_t{1} << scale;
    double sum = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) sum += (rgb[0][c][y * n + i][x * n + j].item<float>() - mean[c]) / std[c];
    return sum / static_cast<double>(n * n);
  };
  for (int scale = 0; scale < 2; ++scale) {
    const torch::Tensor w = random_filters(1, scale, 4, 3);
    for (int64_t f = 0; f < 4; ++f)
      for (int64_t y = 0; y < maps[scale].size(2); ++y)
        for (int64_t x = 0; x < maps[scale].size(3); ++x) {
          double sum = 0;
          for (int64_t c = 0; c < 3; ++c)
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 3; ++j)
                sum += w[f][c][i][j].item<float>() * input(scale, c, y + i - 1, x + j - 1);
          EXPECT_NEAR(maps[scale][0][f][y][x].item<float>(), std::max(sum, 0.0), 1e-4)
              << "scale " << scale << " filter " << f << " at " << y << "," << x;
        }
  }
}

TEST(RandomFeatures, SeeStructureNotColour) {
  RandomFeatures features;
  const torch::Tensor flat = torch::tensor({0.9f, 0.2f, 0.4f}).view({1, 3, 1, 1}).expand({1, 3, 64, 64});
  for (const auto& map : features->forward(flat)) EXPECT_LT(map.abs().max().item<double>(), 1e-4);
  EXPECT_THROW(RandomFeatures(RandomFeaturesOptions().kernel(4)), Error);
}

TEST(RandomFeatures, LumaFeaturesSeeBrightnessNotHue) {
  RandomFeatures luma(RandomFeaturesOptions().seed(2).input(FeatureInput::luma)), rgb(RandomFeaturesOptions().seed(2));
  EXPECT_EQ(luma->forward(torch::rand({1, 3, 32, 32}))[0].size(1), 16);
  EXPECT_EQ(random_filters(2, 0, 16, 5, 1).sizes(), (std::vector<int64_t>{16, 1, 5, 5}));
  // Left half red, right half a green of the same Rec. 601 luma: an edge of hue alone.
  torch::Tensor hue_edge = torch::zeros({1, 3, 32, 32});
  hue_edge.index_put_({0, 0, Slice(), Slice(0, 16)}, 0.587f);
  hue_edge.index_put_({0, 1, Slice(), Slice(16, 32)}, 0.299f);
  for (const auto& map : luma->forward(hue_edge)) EXPECT_LT(map.abs().max().item<double>(), 1e-4);
  double rgb_response = 0;
  for (const auto& map : rgb->forward(hue_edge)) rgb_response += map.abs().max().item<double>();
  EXPECT_GT(rgb_response, 0.1) << "RGB filters answer the same edge";
  // An edge of brightness is seen by both.
  torch::Tensor brightness_edge = torch::full({1, 3, 32, 32}, 0.2f);
  brightness_edge.index_put_({0, Slice(), Slice(), Slice(16, 32)}, 0.8f);
  EXPECT_GT(luma->forward(brightness_edge)[0].abs().max().item<double>(), 0.1);
}

// The gradient a texture term sends back to the image, per pixel and channel.
static torch::Tensor image_gradient(RandomFeatures& features, const torch::Tensor& image) {
  torch::Tensor x = image.clone().requires_grad_(true);
  torch::Tensor loss = torch::zeros({});
  for (const auto& map : features->forward(x)) loss = loss + gram_matrix(map).square().sum();
  loss.backward();
  return x.grad();
}

TEST(RandomFeatures, GreyFeaturesChangeBrightnessNotHue) {
  RandomFeatures grey(RandomFeaturesOptions().seed(3).input(FeatureInput::grey)),
      luma(RandomFeaturesOptions().seed(3).input(FeatureInput::luma));
  torch::manual_seed(0);
  const torch::Tensor image = torch::rand({1, 3, 24, 24});
  // Grey: every pixel's gradient is the same in R, G and B, so a step moves it along the grey axis.
  const torch::Tensor g = image_gradient(grey, image);
  ASSERT_GT(g.abs().max().item<double>(), 0);
  EXPECT_TRUE(torch::allclose(g.select(1, 0), g.select(1, 1), 1e-5, 1e-9));
  EXPECT_TRUE(torch::allclose(g.select(1, 0), g.select(1, 2), 1e-5, 1e-9));
  // Luma: the gradient has luma's direction, 0.587 / 0.114 times as much green as blue: each step shifts hue.
  const torch::Tensor l = image_gradient(luma, image);
  EXPECT_TRUE(torch::allclose(l.select(1, 1) * 0.114, l.select(1, 2) * 0.587, 1e-4, 1e-9));
  // An edge of hue at equal grey is invisible; one of brightness is seen.
  torch::Tensor hue_edge = torch::full({1, 3, 32, 32}, 0.5f);
  hue_edge.index_put_({0, 0, Slice(), Slice(0, 16)}, 0.8f);
  hue_edge.index_put_({0, 2, Slice(), Slice(0, 16)}, 0.2f);
  for (const auto& map : grey->forward(hue_edge)) EXPECT_LT(map.abs().max().item<double>(), 1e-4);
  torch::Tensor brightness_edge = torch::full({1, 3, 32, 32}, 0.2f);
  brightness_edge.index_put_({0, Slice(), Slice(), Slice(16, 32)}, 0.8f);
  EXPECT_GT(grey->forward(brightness_edge)[0].abs().max().item<double>(), 0.1);
}

TEST(RandomFeatures, FeatureInputNames) {
  for (const FeatureInput input : {FeatureInput::rgb, FeatureInput::luma, FeatureInput::grey})
    EXPECT_EQ(feature_input_from_string(to_string(input)), input);
  test::expect_error([] { feature_input_from_string("blue"); }, "'blue'");
}

TEST(RandomFeatures, StyleTermMeasuresTextureNotAlignment) {
  // Another sample of the same texture is stylistically closer to the truth than a blurred copy of
  // the truth itself, although the blurred copy is closer pixel by pixel: what the style term adds
  // to the ℓ1 terms.
  const InpaintingLoss loss(InpaintingLossOptions(), RandomFeatures().ptr());
  torch::manual_seed(0);
  const torch::Tensor truth = 0.5 + 0.2 * torch::randn({1, 3, 64, 64});
  const torch::Tensor other = 0.5 + 0.2 * torch::randn({1, 3, 64, 64});
  const torch::Tensor blurred = torch::avg_pool2d(
      torch::nn::functional::pad(truth, torch::nn::functional::PadFuncOptions({2, 2, 2, 2}).mode(torch::kReplicate)), 5,
      1);
  const torch::Tensor hole = torch::zeros({1, 1, 64, 64});  // all hole: I_comp = I_out
  const LossTerms sample = loss(other, truth, hole), smooth = loss(blurred, truth, hole);
  EXPECT_LT(sample.style_out.item<double>(), smooth.style_out.item<double>() / 3);
  EXPECT_GT(sample.hole.item<double>(), smooth.hole.item<double>());
}

TEST(RandomFeatures, PerceptualAndStyleTermsByHandAndGradients) {
  RandomFeatures features(RandomFeaturesOptions().channels(8).scales(3));
  const InpaintingLoss loss(InpaintingLossOptions(), features.ptr());
  ASSERT_TRUE(loss.uses_features());
  const torch::Tensor truth = torch::rand({2, 3, 32, 32});
  torch::Tensor mask = torch::ones({2, 1, 32, 32});
  mask.index_put_({Slice(), 0, Slice(8, 20), Slice(4, 28)}, 0);
  const LossTerms same = loss(truth, truth, mask);
  EXPECT_EQ(same.perceptual.item<double>(), 0.0);
  EXPECT_EQ(same.style_out.item<double>(), 0.0);
  EXPECT_EQ(same.style_comp.item<double>(), 0.0);

  const torch::Tensor out = torch::rand({2, 3, 32, 32}).requires_grad_(true);
  const LossTerms t = loss(out, truth, mask);
  // The terms by hand from the feature maps: ℓ1 means of the maps and of their Gram matrices.
  const torch::Tensor comp = mask * truth + (1 - mask) * out;
  const auto fo = features->forward(out), fc = features->forward(comp), fg = features->forward(truth);
  double perceptual = 0, style_out = 0, style_comp = 0;
  for (size_t p = 0; p < fg.size(); ++p) {
    perceptual += (fo[p] - fg[p]).abs().mean().item<double>() + (fc[p] - fg[p]).abs().mean().item<double>();
    const int64_t c = fg[p].size(1), hw = fg[p].size(2) * fg[p].size(3);
    auto gram = [&](const torch::Tensor& f) {
      const torch::Tensor flat = f.reshape({2, c, hw});
      return torch::bmm(flat, flat.transpose(1, 2)) / static_cast<double>(c * hw);
    };
    style_out += (gram(fo[p]) - gram(fg[p])).abs().mean().item<double>();
    style_comp += (gram(fc[p]) - gram(fg[p])).abs().mean().item<double>();
  }
  EXPECT_NEAR(t.perceptual.item<double>(), perceptual, 1e-5);
  EXPECT_NEAR(t.style_out.item<double>(), style_out, 1e-7);
  EXPECT_NEAR(t.style_comp.item<double>(), style_comp, 1e-7);
  EXPECT_GT(t.style_comp.item<double>(), 0.0);

  t.total.backward();
  EXPECT_GT(out.grad().abs().sum().item<double>(), 0.0);
  for (const auto& p : features->parameters()) EXPECT_FALSE(p.grad().defined());
  for (const auto& b : features->buffers()) EXPECT_FALSE(b.requires_grad());
}

}  // namespace
}  // namespace pconv
