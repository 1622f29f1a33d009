// InpaintingLoss: each term against values computed by hand on tiny tensors.
#include "pconv/nn/loss.h"

#include <gtest/gtest.h>

#include "pconv/io/error.h"
#include "pconv/io/safetensors.h"
#include "pconv/nn/vgg16.h"
#include "test_util.h"

namespace pconv {
namespace {
using torch::indexing::Slice;

torch::Tensor one_hole_mask() {
  auto m = torch::ones({1, 1, 2, 2});
  m[0][0][1][1] = 0;
  return m;
}

TEST(InpaintingLoss, ValidAndHoleAreSizeAveragedL1) {
  const InpaintingLoss loss;
  const auto out = torch::full({1, 3, 2, 2}, 0.5), gt = torch::zeros({1, 3, 2, 2});
  const auto t = loss(out, gt, one_hole_mask());
  // 3 valid pixels × 3 channels × 0.5 over N = 12; the hole: 1 pixel × 3 × 0.5 / 12.
  EXPECT_NEAR(t.valid.item<double>(), 0.375, 1e-7);
  EXPECT_NEAR(t.hole.item<double>(), 0.125, 1e-7);
  EXPECT_FALSE(t.perceptual.defined()) << "no VGG: the pixel-space loss";
  EXPECT_NEAR(t.total.item<double>(), 0.375 + 6 * 0.125 + 0.1 * t.tv.item<double>(), 1e-6);
}

TEST(InpaintingLoss, HoleAndValidTermsSeeOnlyTheirPixels) {
  const InpaintingLoss loss;
  const auto gt = torch::rand({1, 3, 8, 8});
  auto mask = torch::ones({1, 1, 8, 8});
  mask.index_put_({0, 0, Slice(2, 5), Slice(3, 6)}, 0);
  const auto out = torch::rand({1, 3, 8, 8});
  const auto base = loss(out, gt, mask);
  const auto changed_valid = loss(out + mask * 0.3, gt, mask);
  EXPECT_EQ(changed_valid.hole.item<double>(), base.hole.item<double>());
  EXPECT_NE(changed_valid.valid.item<double>(), base.valid.item<double>());
  const auto changed_hole = loss(out + (1 - mask) * 0.3, gt, mask);
  EXPECT_EQ(changed_hole.valid.item<double>(), base.valid.item<double>());
  EXPECT_NE(changed_hole.hole.item<double>(), base.hole.item<double>());
}

TEST(InpaintingLoss, TotalVariationByHandAndOnlyOnTheDilatedHole) {
  // One row, values 0 1 3 6 in every channel; only pixels 1 and 2 in the region: |3 − 1| · 3 / 12.
  const auto image = torch::tensor({0.0f, 1.0f, 3.0f, 6.0f}).view({1, 1, 1, 4}).expand({1, 3, 1, 4}).contiguous();
  const auto region = torch::tensor({0.0f, 1.0f, 1.0f, 0.0f}).view({1, 1, 1, 4});
  EXPECT_NEAR(total_variation(image, region).item<double>(), 0.5, 1e-7);

  auto mask = torch::ones({1, 1, 5, 5});
  mask[0][0][2][2] = 0;
  const auto p = dilated_hole(mask);
  EXPECT_EQ(p.sum().item<double>(), 9.0);
  EXPECT_EQ(p.index({0, 0, Slice(1, 4), Slice(1, 4)}).min().item<double>(), 1.0);

  // Texture outside P does not count: the ground truth varies wildly away from the hole.
  const InpaintingLoss loss;
  auto gt = torch::rand({1, 3, 5, 5});
  gt.index_put_({Slice(), Slice(), Slice(1, 4), Slice(1, 4)}, 0.5);
  const auto out = torch::full({1, 3, 5, 5}, 0.5);
  EXPECT_EQ(loss(out, gt, mask).tv.item<double>(), 0.0);
}

TEST(InpaintingLoss, ChromaByHand) {
  // Pure red: Cb = −0.168736, Cr = 0.5; grey has no chroma.
  const auto red = torch::tensor({1.0f, 0.0f, 0.0f}).view({1, 3, 1, 1});
  const auto c = chroma(red).flatten();
  EXPECT_NEAR(c[0].item<double>(), -0.168736, 1e-6);
  EXPECT_NEAR(c[1].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(chroma(torch::full({1, 3, 2, 2}, 0.7)).abs().max().item<double>(), 0.0, 1e-6);
}

TEST(InpaintingLoss, ChromaTermPricesColourDetailNotBrightness) {
  auto mask = torch::ones({1, 1, 1, 4});
  mask[0][0][0][1] = 0;  // P: pixels 0-2
  const auto gt = torch::full({1, 3, 1, 4}, 0.5);
  const InpaintingLoss loss(InpaintingLossOptions().chroma(2.0));
  EXPECT_FALSE(InpaintingLoss()(gt, gt, mask).chroma.defined()) << "off unless weighted";

  // A brighter hole pixel: texture in brightness, free of the chroma term.
  auto brighter = gt.clone();
  brighter.index_put_({0, Slice(), 0, 1}, 0.8);
  EXPECT_NEAR(loss(brighter, gt, mask).chroma.item<double>(), 0.0, 1e-6);

  // A bluer hole pixel (+0.3 in B): Cb +0.15, Cr −0.0243936, each across two neighbour pairs in P;
  // over the 2 · 4 chroma elements.
  auto bluer = gt.clone();
  bluer[0][2][0][1] = 0.8;
  const auto t = loss(bluer, gt, mask);
  const double expected = 2 * (0.15 + 0.3 * 0.081312) / 8;
  EXPECT_NEAR(t.chroma.item<double>(), expected, 1e-6);
  EXPECT_NEAR(t.total.item<double>(),
              t.valid.item<double>() + 6 * t.hole.item<double>() + 0.1 * t.tv.item<double>() + 2.0 * expected, 1e-6);

  // Its gradient reaches the hole's pixels.
  auto out = bluer.clone().requires_grad_(true);
  loss(out, gt, mask).chroma.backward();
  EXPECT_GT(out.grad().index({0, Slice(), 0, 1}).abs().sum().item<double>(), 0.0);
}

TEST(InpaintingLoss, GramMatrixByHand) {
  const auto f = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 2, 1, 2});
  const auto g = gram_matrix(f);
  const auto expected = torch::tensor({5.0f, 11.0f, 11.0f, 25.0f}).view({1, 2, 2}) / 4.0;
  EXPECT_TRUE(torch::allclose(g, expected));
}

TEST(InpaintingLoss, PerceptualAndStyleWithVgg) {
  test::TempDir dir;
  test::write_random_vgg16(dir / "vgg.safetensors");
  const InpaintingLoss loss(InpaintingLossOptions(), load_vgg16_features(dir / "vgg.safetensors").ptr());
  ASSERT_TRUE(loss.uses_features());
  const auto gt = torch::rand({2, 3, 32, 32});
  auto mask = torch::ones({2, 1, 32, 32});
  mask.index_put_({Slice(), 0, Slice(8, 20), Slice(8, 24)}, 0);
  const auto same = loss(gt, gt, mask);
  EXPECT_EQ(same.perceptual.item<double>(), 0.0);
  EXPECT_EQ(same.style_out.item<double>(), 0.0);

  auto out = torch::rand({2, 3, 32, 32}).requires_grad_(true);
  const auto t = loss(out, gt, mask);
  EXPECT_GT(t.perceptual.item<double>(), 0.0);
  EXPECT_GT(t.style_out.item<double>(), 0.0);
  EXPECT_GT(t.style_comp.item<double>(), 0.0);
  EXPECT_LT(t.style_comp.item<double>(), t.style_out.item<double>()) << "the composite is closer to the truth";
  const double expected = t.valid.item<double>() + 6 * t.hole.item<double>() + 0.05 * t.perceptual.item<double>() +
                          120 * (t.style_out.item<double>() + t.style_comp.item<double>()) + 0.1 * t.tv.item<double>();
  EXPECT_NEAR(t.total.item<double>(), expected, 1e-5 * expected);
  t.total.backward();
  EXPECT_GT(out.grad().abs().sum().item<double>(), 0.0);
  EXPECT_EQ(t.values().size(), 7u);
}

TEST(Vgg16, RejectsWrongFiles) {
  test::TempDir dir;
  test::write_random_vgg16(dir / "vgg.safetensors");
  Safetensors f = read_safetensors(dir / "vgg.safetensors");
  f.tensors.erase("features.0.weight");
  write_safetensors(dir / "missing.safetensors", f);
  EXPECT_THROW(load_vgg16_features(dir / "missing.safetensors"), Error);
  f = read_safetensors(dir / "vgg.safetensors");
  f.tensors["features.5.weight"] = torch::zeros({128, 64, 5, 5});
  write_safetensors(dir / "shape.safetensors", f);
  try {
    load_vgg16_features(dir / "shape.safetensors");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("features.5.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pconv
