// PConvUNet: the paper's Table 2, masks through the network, the plain twin, frozen encoder BN.
#include "pconv/nn/unet.h"

#include <gtest/gtest.h>

#include "pconv/io/error.h"
#include "pconv/nn/upsample_conv.h"
#include "test_util.h"

namespace pconv {
namespace {

std::map<std::string, std::vector<int64_t>> shapes(torch::nn::Module& m) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().sizes().vec();
  return out;
}

TEST(PConvUNet, PaperTable2Layers) {
  PConvUNet net(PConvUNetOptions().depth(8));
  auto s = shapes(*net);
  EXPECT_EQ(s["pconv1.weight"], (std::vector<int64_t>{64, 3, 7, 7}));
  EXPECT_EQ(s["pconv2.weight"], (std::vector<int64_t>{128, 64, 5, 5}));
  EXPECT_EQ(s["pconv3.weight"], (std::vector<int64_t>{256, 128, 5, 5}));
  EXPECT_EQ(s["pconv4.weight"], (std::vector<int64_t>{512, 256, 3, 3}));
  for (int i = 5; i <= 8; ++i)
    EXPECT_EQ(s["pconv" + std::to_string(i) + ".weight"], (std::vector<int64_t>{512, 512, 3, 3}));
  for (int i = 9; i <= 12; ++i)
    EXPECT_EQ(s["pconv" + std::to_string(i) + ".weight"], (std::vector<int64_t>{512, 1024, 3, 3}));
  EXPECT_EQ(s["pconv13.weight"], (std::vector<int64_t>{256, 768, 3, 3}));
  EXPECT_EQ(s["pconv14.weight"], (std::vector<int64_t>{128, 384, 3, 3}));
  EXPECT_EQ(s["pconv15.weight"], (std::vector<int64_t>{64, 192, 3, 3}));
  EXPECT_EQ(s["pconv16.weight"], (std::vector<int64_t>{3, 67, 3, 3}));
  // BN on every layer but the first and the last; bias only where no BN follows.
  EXPECT_FALSE(s.count("bn1.weight"));
  EXPECT_FALSE(s.count("bn16.weight"));
  for (int i = 2; i <= 15; ++i) EXPECT_TRUE(s.count("bn" + std::to_string(i) + ".weight")) << i;
  EXPECT_TRUE(s.count("pconv1.bias"));
  EXPECT_TRUE(s.count("pconv16.bias"));
  EXPECT_FALSE(s.count("pconv2.bias"));
  EXPECT_EQ(net->options().size_multiple(), 256);
}

TEST(PConvUNet, WidthMultiplierAndDepth) {
  PConvUNet net(PConvUNetOptions().depth(7).width(0.5));
  auto s = shapes(*net);
  EXPECT_EQ(s["pconv1.weight"], (std::vector<int64_t>{32, 3, 7, 7}));
  EXPECT_EQ(s["pconv7.weight"], (std::vector<int64_t>{256, 256, 3, 3}));
  EXPECT_EQ(s["pconv14.weight"], (std::vector<int64_t>{3, 35, 3, 3}));
  EXPECT_FALSE(s.count("pconv15.weight"));
  EXPECT_THROW(PConvUNet(PConvUNetOptions().depth(1)), Error);
  EXPECT_THROW(PConvUNet(PConvUNetOptions().width(0)), Error);
}

TEST(PConvUNet, OutputShapeAndHoleContentIgnored) {
  for (bool partial : {true, false}) {
    auto net = test::tiny_net(4, 0.125, partial);
    const auto image = torch::randn({2, 3, 32, 48});
    auto mask = torch::ones({2, 1, 32, 48});
    mask.index_put_({torch::indexing::Slice(), 0, torch::indexing::Slice(8, 20), torch::indexing::Slice(10, 30)}, 0);
    torch::NoGradGuard no_grad;
    const auto out = net(image, mask);
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 32, 48}));
    const auto garbage = image + (1 - mask) * 100.0;
    EXPECT_TRUE(torch::allclose(out, net(garbage, mask), 1e-4, 1e-5)) << (partial ? "pconv" : "plain");
  }
}

TEST(PConvUNet, RejectsSizesThatAreNotMultiples) {
  auto net = test::tiny_net(3);
  EXPECT_THROW(net(torch::randn({1, 3, 20, 16}), torch::ones({1, 1, 20, 16})), c10::Error);
  EXPECT_THROW(net(torch::randn({1, 3, 16, 16}), torch::ones({1, 1, 8, 16})), c10::Error);
}

TEST(PConvUNet, MasksShrinkThroughTheEncoder) {
  auto net = test::tiny_net(6, 0.125);
  auto mask = torch::ones({1, 1, 128, 128});
  mask.index_put_({0, 0, torch::indexing::Slice(32, 96), torch::indexing::Slice(40, 100)}, 0);
  const auto masks = net->encoder_masks(mask);
  ASSERT_EQ(masks.size(), 6u);
  double previous = 1.0 - mask.mean().item<double>();
  for (size_t i = 0; i < masks.size(); ++i) {
    const double hole = 1.0 - masks[i].mean().item<double>();
    if (previous > 0)
      EXPECT_LT(hole, previous) << "layer " << i + 1;
    else
      EXPECT_EQ(hole, 0.0) << "layer " << i + 1;
    previous = hole;
  }
  EXPECT_EQ(previous, 0.0) << "the deepest layer should see no hole";
}

TEST(PConvUNet, FrozenEncoderBatchNorm) {
  auto net = test::tiny_net(3, 0.125);
  net->set_freeze_encoder_bn(true);
  net->train();
  auto get = [&](const std::string& name) { return net->named_buffers()[name].clone(); };
  const auto enc_before = get("bn2.running_mean"), dec_before = get("bn4.running_mean");
  net(torch::randn({2, 3, 16, 16}) * 3 + 1, torch::ones({2, 1, 16, 16}));
  EXPECT_TRUE(torch::equal(get("bn2.running_mean"), enc_before)) << "encoder BN statistics must stay frozen";
  EXPECT_FALSE(torch::equal(get("bn4.running_mean"), dec_before)) << "decoder BN keeps learning";

  net->set_freeze_encoder_bn(false);
  net(torch::randn({2, 3, 16, 16}) * 3 + 1, torch::ones({2, 1, 16, 16}));
  EXPECT_FALSE(torch::equal(get("bn2.running_mean"), enc_before));
}

TEST(PConvUNet, PlainVariantUsesOrdinaryConvolutions) {
  PConvUNet net(PConvUNetOptions().depth(8).partial(false));
  auto s = shapes(*net);
  EXPECT_EQ(s["conv1.weight"], (std::vector<int64_t>{64, 4, 7, 7}));  // image + mask channel
  EXPECT_EQ(s["conv16.weight"], (std::vector<int64_t>{3, 68, 3, 3}));
  EXPECT_FALSE(s.count("pconv1.weight"));
  EXPECT_THROW(net->encoder_masks(torch::ones({1, 1, 256, 256})), c10::Error);
}

TEST(PConvUNet, TrainsOnOneStep) {
  auto net = test::tiny_net(3, 0.25);
  net->train();
  torch::optim::Adam opt(net->parameters(), 1e-3);
  const auto image = torch::randn({2, 3, 16, 16});
  auto mask = torch::ones({2, 1, 16, 16});
  mask.index_put_({torch::indexing::Slice(), 0, torch::indexing::Slice(4, 10), torch::indexing::Slice(4, 10)}, 0);
  const auto loss0 = (net(image * mask, mask) - image).abs().mean();
  opt.zero_grad();
  loss0.backward();
  for (const auto& p : net->parameters()) ASSERT_TRUE(p.grad().defined());
  opt.step();
  EXPECT_TRUE(std::isfinite(loss0.item<double>()));
}

}  // namespace
}  // namespace pconv

namespace pconv {
namespace {

TEST(UpsampleConcatConv, EqualsTheConvolutionOfTheJoinedMap) {
  torch::manual_seed(5);
  const torch::Tensor low = torch::randn({2, 6, 5, 7}), skip = torch::randn({2, 4, 10, 14});
  const torch::Tensor weight = torch::randn({3, 10, 3, 3});
  const torch::Tensor up = torch::nn::functional::interpolate(
      low,
      torch::nn::functional::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
  const torch::Tensor expected = torch::conv2d(torch::cat({up, skip}, 1), weight, {}, 1, 1);
  EXPECT_LT((upsample_concat_conv(low, skip, weight) - expected).abs().max().item<float>(), 1e-4);
  const auto nhwc = torch::MemoryFormat::ChannelsLast;
  const torch::Tensor got = upsample_concat_conv(low.contiguous(nhwc), skip.contiguous(nhwc), weight.contiguous(nhwc));
  EXPECT_EQ(got.suggest_memory_format(), nhwc);
  EXPECT_TRUE(upsample_phase_kernel(weight.contiguous(nhwc), 6, 1, 0).is_contiguous(nhwc));
  EXPECT_LT((got - expected).abs().max().item<float>(), 1e-4);
  EXPECT_THROW(upsample_concat_conv(low, skip.narrow(2, 0, 9), weight), c10::Error);
}

}  // namespace
}  // namespace pconv
