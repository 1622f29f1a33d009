// PartialConv2d against a brute-force double-precision reference written from the paper's formula.
#include "pconv/nn/partial_conv.h"

#include <gtest/gtest.h>

namespace pconv {
namespace {

struct Config {
  int64_t in, out, kernel, stride, padding, dilation;
  bool bias;
};

// x' = W·(X⊙M)·sum(1)/sum(M) + b where sum(M) > 0, else 0; m' = [sum(M) > 0]. Zero padding.
std::pair<torch::Tensor, torch::Tensor> reference(const torch::Tensor& x_in, const torch::Tensor& m_in,
                                                  const torch::Tensor& w_in, const torch::Tensor& b_in,
                                                  const Config& c) {
  const auto x = x_in.to(torch::kDouble), w = w_in.to(torch::kDouble);
  const auto m = m_in.expand_as(x_in).to(torch::kDouble);
  const int64_t n = x.size(0), h = x.size(2), wd = x.size(3);
  const int64_t span = c.dilation * (c.kernel - 1) + 1;
  const int64_t oh = (h + 2 * c.padding - span) / c.stride + 1, ow = (wd + 2 * c.padding - span) / c.stride + 1;
  auto out = torch::zeros({n, c.out, oh, ow}, torch::kDouble);
  auto mask = torch::zeros({n, 1, oh, ow}, torch::kDouble);
  auto X = x.accessor<double, 4>(), M = m.accessor<double, 4>(), W = w.accessor<double, 4>();
  auto O = out.accessor<double, 4>(), MO = mask.accessor<double, 4>();
  const double window = static_cast<double>(c.in * c.kernel * c.kernel);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        double valid = 0;
        for (int64_t ci = 0; ci < c.in; ++ci)
          for (int64_t ky = 0; ky < c.kernel; ++ky)
            for (int64_t kx = 0; kx < c.kernel; ++kx) {
              const int64_t iy = oy * c.stride - c.padding + ky * c.dilation;
              const int64_t ix = ox * c.stride - c.padding + kx * c.dilation;
              if (iy >= 0 && iy < h && ix >= 0 && ix < wd) valid += M[b][ci][iy][ix];
            }
        if (valid == 0) continue;
        MO[b][0][oy][ox] = 1;
        for (int64_t co = 0; co < c.out; ++co) {
          double acc = 0;
          for (int64_t ci = 0; ci < c.in; ++ci)
            for (int64_t ky = 0; ky < c.kernel; ++ky)
              for (int64_t kx = 0; kx < c.kernel; ++kx) {
                const int64_t iy = oy * c.stride - c.padding + ky * c.dilation;
                const int64_t ix = ox * c.stride - c.padding + kx * c.dilation;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                  acc += W[co][ci][ky][kx] * X[b][ci][iy][ix] * M[b][ci][iy][ix];
              }
          O[b][co][oy][ox] = acc * window / valid + (c.bias ? b_in[co].item<double>() : 0.0);
        }
      }
  return {out, mask};
}

PartialConv2d make(const Config& c) {
  return PartialConv2d(PartialConv2dOptions(c.in, c.out, c.kernel)
                           .stride(c.stride)
                           .padding(c.padding)
                           .dilation(c.dilation)
                           .bias(c.bias));
}

torch::Tensor random_mask(std::vector<int64_t> shape, double hole_fraction) {
  return (torch::rand(shape) >= hole_fraction).to(torch::kFloat);
}

class PartialConvReference : public ::testing::TestWithParam<Config> {};

TEST_P(PartialConvReference, MatchesBruteForceFormula) {
  const Config c = GetParam();
  torch::manual_seed(7);
  auto layer = make(c);
  for (double holes : {0.0, 0.3, 0.8}) {
    const auto x = torch::randn({2, c.in, 11, 13});
    const auto m = random_mask({2, c.in, 11, 13}, holes);
    auto [y, ym] = layer(x, m);
    auto [ry, rm] = reference(x, m, layer->weight, layer->bias, c);
    ASSERT_EQ(y.sizes(), ry.sizes());
    EXPECT_TRUE(torch::equal(ym.to(torch::kDouble), rm)) << "holes " << holes;
    const double err = (y.to(torch::kDouble) - ry).abs().max().item<double>();
    EXPECT_LT(err, 1e-4 * (1.0 + ry.abs().max().item<double>())) << "holes " << holes;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, PartialConvReference,
                         ::testing::Values(Config{3, 4, 3, 1, 1, 1, true}, Config{3, 5, 7, 2, 3, 1, true},
                                           Config{4, 3, 5, 2, 2, 1, false}, Config{2, 3, 3, 1, 2, 2, true},
                                           Config{5, 2, 3, 3, 0, 1, true}, Config{1, 1, 1, 1, 0, 1, true},
                                           // Padding beyond half the kernel: sum(M) by convolution, not pooling.
                                           Config{2, 3, 3, 1, 2, 1, true}));

TEST(PartialConv2d, SingleChannelMaskBroadcastsOverChannels) {
  torch::manual_seed(1);
  auto layer = make({4, 6, 3, 2, 1, 1, true});
  const auto x = torch::randn({1, 4, 10, 10});
  const auto m = random_mask({1, 1, 10, 10}, 0.5);
  auto [a, am] = layer(x, m);
  auto [b, bm] = layer(x, m.expand({1, 4, 10, 10}).contiguous());
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(am, bm));
}

TEST(PartialConv2d, AllOnesMaskIsOrdinaryConvolution) {
  torch::manual_seed(2);
  auto layer = make({3, 8, 5, 1, 0, 1, true});
  const auto x = torch::randn({2, 3, 12, 12});
  auto [y, m] = layer(x, torch::ones({2, 1, 12, 12}));
  const auto conv = torch::conv2d(x, layer->weight, layer->bias);
  EXPECT_TRUE(torch::allclose(y, conv, 1e-4, 1e-5));
  EXPECT_TRUE(m.eq(1).all().item<bool>());
}

TEST(PartialConv2d, BorderWindowsAreReweightedLikeHoles) {
  // With padding, an all-ones mask still sees the border as hole: a corner window of a 3×3
  // kernel with padding 1 holds 4 of 9 pixels and is scaled by 9/4.
  torch::manual_seed(3);
  auto layer = make({1, 1, 3, 1, 1, 1, false});
  const auto x = torch::randn({1, 1, 6, 6});
  auto [y, m] = layer(x, torch::ones({1, 1, 6, 6}));
  const auto plain = torch::conv2d(x, layer->weight, {}, 1, 1);
  EXPECT_NEAR(y[0][0][0][0].item<float>(), plain[0][0][0][0].item<float>() * 9.0f / 4.0f, 1e-5);
  EXPECT_NEAR(y[0][0][0][3].item<float>(), plain[0][0][0][3].item<float>() * 9.0f / 6.0f, 1e-5);
  EXPECT_NEAR(y[0][0][3][3].item<float>(), plain[0][0][3][3].item<float>(), 1e-5);
}

TEST(PartialConv2d, AllZeroMaskGivesZerosAndZeroMask) {
  auto layer = make({3, 4, 3, 1, 1, 1, true});
  auto [y, m] = layer(torch::randn({1, 3, 8, 8}), torch::zeros({1, 1, 8, 8}));
  EXPECT_EQ(y.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(m.abs().max().item<float>(), 0.0f);
}

TEST(PartialConv2d, HoleContentDoesNotMatter) {
  auto layer = make({3, 4, 3, 2, 1, 1, true});
  const auto m = random_mask({1, 1, 9, 9}, 0.4);
  const auto x = torch::randn({1, 3, 9, 9});
  const auto garbage = x + (1 - m) * 1000.0;
  EXPECT_TRUE(torch::allclose(std::get<0>(layer(x, m)), std::get<0>(layer(garbage, m))));
}

TEST(PartialConv2d, ForwardMaskedMatchesConcatenatedMasks) {
  // The decoder joins groups with different masks: count = C1·m1 + C2·m2.
  torch::manual_seed(4);
  auto layer = make({5, 3, 3, 1, 1, 1, true});
  const auto x1 = torch::randn({1, 2, 8, 8}), x2 = torch::randn({1, 3, 8, 8});
  const auto m1 = random_mask({1, 1, 8, 8}, 0.5), m2 = random_mask({1, 1, 8, 8}, 0.5);
  const auto full_mask = torch::cat({m1.expand({1, 2, 8, 8}), m2.expand({1, 3, 8, 8})}, 1);
  auto [a, am] = layer(torch::cat({x1, x2}, 1), full_mask);
  auto [b, bm] = layer->forward_masked(torch::cat({x1 * m1, x2 * m2}, 1), m1 * 2 + m2 * 3);
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(am, bm));
}

TEST(PartialConv2d, GradientsMatchFiniteDifferences) {
  torch::manual_seed(5);
  auto layer = make({2, 3, 3, 2, 1, 1, true});
  layer->to(torch::kDouble);
  auto x = torch::randn({1, 2, 7, 7}, torch::kDouble).requires_grad_(true);
  const auto m = random_mask({1, 2, 7, 7}, 0.4).to(torch::kDouble);
  const auto r = torch::randn({1, 3, 4, 4}, torch::kDouble);
  auto loss_of = [&] { return (std::get<0>(layer(x, m)) * r).sum(); };
  loss_of().backward();

  const double eps = 1e-6;
  auto check = [&](torch::Tensor p, const std::string& name) {
    const auto grad = p.grad().clone();
    auto flat = p.data().view(-1);
    for (int64_t i = 0; i < flat.numel(); i += std::max<int64_t>(1, flat.numel() / 25)) {
      const double v = flat[i].item<double>();
      torch::NoGradGuard no_grad;
      flat[i] = v + eps;
      const double up = loss_of().item<double>();
      flat[i] = v - eps;
      const double down = loss_of().item<double>();
      flat[i] = v;
      EXPECT_NEAR(grad.view(-1)[i].item<double>(), (up - down) / (2 * eps), 1e-6) << name << "[" << i << "]";
    }
  };
  check(x, "input");
  check(layer->weight, "weight");
  check(layer->bias, "bias");
  // Holes receive no gradient: the output does not depend on them.
  EXPECT_EQ((x.grad() * (1 - m)).abs().max().item<double>(), 0.0);
}

TEST(PartialConv2d, MaskSumUsesOneChannelWindow) {
  // sum(M) costs one single-channel box sum, never the C_out×C_in all-ones convolution.
  auto layer = make({64, 128, 3, 1, 1, 1, true});
  EXPECT_EQ(layer->window.sizes(), (std::vector<int64_t>{1, 1, 3, 3}));
  EXPECT_FALSE(layer->window.requires_grad());
}

TEST(PartialConv2d, RejectsBadShapesAndOptions) {
  auto layer = make({3, 4, 3, 1, 1, 1, true});
  EXPECT_THROW(layer(torch::randn({1, 2, 8, 8}), torch::ones({1, 1, 8, 8})), c10::Error);
  EXPECT_THROW(layer(torch::randn({1, 3, 8, 8}), torch::ones({1, 2, 8, 8})), c10::Error);
  EXPECT_THROW(PartialConv2d(PartialConv2dOptions(0, 4, 3)), c10::Error);
  EXPECT_THROW(PartialConv2d(PartialConv2dOptions(3, 4, 3).stride(0)), c10::Error);
}

}  // namespace
}  // namespace pconv
