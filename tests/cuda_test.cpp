// CUDA against CPU: the same layer, network and inpainting on both devices. Skipped where this
// build or machine has no CUDA (ctest label "gpu", outside the default suite).
#include <gtest/gtest.h>

#include "pconv/infer/inpainter.h"
#include "pconv/io/image.h"
#include "pconv/nn/partial_conv.h"
#include "test_util.h"

namespace pconv {
namespace {

#define REQUIRE_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

TEST(Cuda, PartialConvMatchesCpu) {
  REQUIRE_CUDA();
  torch::manual_seed(0);
  PartialConv2d cpu(PartialConv2dOptions(8, 16, 3).stride(2).padding(1));
  PartialConv2d gpu(std::dynamic_pointer_cast<PartialConv2dImpl>(cpu->clone()));
  gpu->to(torch::kCUDA);
  const auto x = torch::randn({2, 8, 33, 31});
  const auto m = (torch::rand({2, 1, 33, 31}) > 0.4).to(torch::kFloat);
  auto [y, ym] = cpu(x, m);
  auto [g, gm] = gpu(x.cuda(), m.cuda());
  EXPECT_TRUE(torch::equal(ym, gm.cpu()));
  EXPECT_LT((y - g.cpu()).abs().max().item<double>(), 1e-3 * (1 + y.abs().max().item<double>()));
}

TEST(Cuda, InpainterMatchesCpu) {
  REQUIRE_CUDA();
  test::TempDir dir;
  test::write_tiny_model(dir / "m.safetensors", 4, 0.25);
  const Inpainter cpu = Inpainter::from_file(dir / "m.safetensors", torch::kCPU);
  const Inpainter gpu = Inpainter::from_file(dir / "m.safetensors", torch::kCUDA);
  const cv::Mat image = test::test_image(200, 150);
  const cv::Mat hole = test::rect_hole(200, 150, {40, 30, 90, 60});
  InpaintOptions o;
  o.tile = 128;
  o.overlap = 32;
  const cv::Mat a = cpu.inpaint(image, hole, o), b = gpu.inpaint(image, hole, o);
  EXPECT_LE(cv::norm(a, b, cv::NORM_INF), 2.0) << "8-bit outputs within rounding";
  EXPECT_EQ(cv::norm(b, image, cv::NORM_INF, hole == 0), 0.0);
}

}  // namespace
}  // namespace pconv
