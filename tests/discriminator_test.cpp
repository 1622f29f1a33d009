// The adversarial critic: spectral normalisation, the patch grid, and the hinge losses by hand.
#include "pconv/nn/discriminator.h"

#include <gtest/gtest.h>

namespace pconv {
namespace {
using torch::indexing::Slice;

// The largest singular value by many power iterations.
double spectral_norm(const torch::Tensor& w) {
  const torch::Tensor m = w.reshape({w.size(0), -1}).to(torch::kFloat64);
  torch::Tensor v = torch::ones({m.size(1)}, torch::kFloat64);
  for (int i = 0; i < 500; ++i) v = torch::mv(m.t(), torch::mv(m, v)), v = v / v.norm();
  return torch::mv(m, v).norm().item<double>();
}

TEST(SpectralNormConv2d, DividesByTheLargestSingularValue) {
  torch::manual_seed(0);
  SpectralNormConv2d conv(6, 10, 3, 1, 1);
  const torch::Tensor weight = conv->named_parameters()["weight"];
  const double sigma = spectral_norm(weight);
  conv->train();
  for (int i = 0; i < 50; ++i) conv->forward(torch::zeros({1, 6, 4, 4}));  // one power iteration each
  EXPECT_NEAR(conv->sigma().item<double>(), sigma, 1e-3 * sigma);
  // The convolution applied is weight / σ: its spectral norm is 1.
  const torch::Tensor x = torch::randn({1, 6, 5, 5});
  conv->eval();
  const torch::Tensor expected = torch::conv2d(x, weight / sigma, conv->named_parameters()["bias"], 1, 1);
  EXPECT_TRUE(torch::allclose(conv->forward(x), expected, 1e-3, 1e-4));
  // Evaluation does not move the estimate.
  const torch::Tensor before = conv->sigma().detach().clone();
  conv->forward(x);
  EXPECT_TRUE(torch::equal(before, conv->sigma()));
}

TEST(PatchDiscriminator, ScoresOnePatchPerCell) {
  torch::manual_seed(0);
  PatchDiscriminator critic(PatchDiscriminatorOptions().width(8));
  EXPECT_EQ(critic->forward(torch::rand({2, 3, 64, 64})).sizes(), (std::vector<int64_t>{2, 1, 6, 6}));
  EXPECT_EQ(critic->forward(torch::rand({1, 3, 256, 128})).sizes(), (std::vector<int64_t>{1, 1, 30, 14}));
}

TEST(PatchDiscriminator, HolePatchesFollowTheHole) {
  torch::Tensor mask = torch::ones({1, 1, 64, 64});
  mask.index_put_({0, 0, Slice(0, 10), Slice(0, 10)}, 0);
  const torch::Tensor patches = hole_patches(mask, torch::zeros({1, 1, 8, 8}));
  EXPECT_EQ(patches[0][0][0][0].item<float>(), 1.0f);
  EXPECT_EQ(patches[0][0][1][1].item<float>(), 1.0f);
  EXPECT_EQ(patches.sum().item<float>(), 4.0f) << "the 10×10 corner touches the first 2×2 of 8×8 cells";
}

TEST(PatchDiscriminator, HingeLossesByHand) {
  const torch::Tensor real = torch::tensor({2.0f, 0.5f}).view({1, 1, 1, 2});
  const torch::Tensor fake = torch::tensor({-2.0f, 0.3f}).view({1, 1, 1, 2});
  const torch::Tensor patches = torch::tensor({1.0f, 0.0f}).view({1, 1, 1, 2});
  // Real: (max(0, 1−2) + max(0, 1−0.5)) / 2 = 0.25. The composite: its first patch is a fake,
  // max(0, 1−2) = 0; its second holds no hole and counts as real, max(0, 1−0.3) = 0.7; mean 0.35.
  EXPECT_NEAR(discriminator_hinge_loss(real, fake, patches).item<double>(), 0.6, 1e-6);
  // The generator: minus the mean score of its hole patches alone.
  EXPECT_NEAR(generator_hinge_loss(fake, patches).item<double>(), 2.0, 1e-6);
  EXPECT_EQ(generator_hinge_loss(fake, torch::zeros_like(patches)).item<double>(), 0.0);
}

TEST(PatchDiscriminator, GradientsReachTheImageAndTheCritic) {
  torch::manual_seed(0);
  PatchDiscriminator critic(PatchDiscriminatorOptions().width(8));
  const torch::Tensor image = torch::rand({1, 3, 64, 64}).requires_grad_(true);
  torch::Tensor mask = torch::ones({1, 1, 64, 64});
  mask.index_put_({0, 0, Slice(20, 40), Slice(20, 40)}, 0);
  const torch::Tensor scores = critic->forward(image);
  generator_hinge_loss(scores, hole_patches(mask, scores)).backward();
  EXPECT_GT(image.grad().abs().sum().item<double>(), 0.0);
  for (const auto& p : critic->parameters()) EXPECT_TRUE(p.grad().defined());
}

}  // namespace
}  // namespace pconv
