#include "pconv/infer/normalization.h"

#include <gtest/gtest.h>

#include "pconv/io/image.h"
#include "test_util.h"

namespace pconv {
namespace {

TEST(Normalization, NetworkTensorsRoundTrip) {
  const cv::Mat rgb = to_rgb_float(test::test_image(9, 7));
  Normalization norm;
  const torch::Tensor t = to_network(rgb, norm);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{1, 3, 7, 9}));
  EXPECT_NEAR(t[0][0][2][3].item<float>(), (rgb.at<cv::Vec3f>(2, 3)[0] - norm.mean[0]) / norm.std[0], 1e-5);
  EXPECT_LT(cv::norm(from_network(t, norm), rgb, cv::NORM_INF), 1e-5);
}

TEST(Normalization, AHoleMaskBecomesOneWhereValid) {
  const cv::Mat hole = test::rect_hole(9, 7, cv::Rect(2, 1, 3, 4));
  const torch::Tensor valid = valid_mask(hole);
  EXPECT_EQ(valid.sizes(), (std::vector<int64_t>{1, 1, 7, 9}));
  EXPECT_EQ(valid.scalar_type(), torch::kFloat);
  EXPECT_EQ(valid[0][0][2][3].item<float>(), 0.0f);
  EXPECT_EQ(valid[0][0][0][0].item<float>(), 1.0f);
  EXPECT_EQ(valid.sum().item<float>(), 9 * 7 - 3 * 4);
  // A view into a larger mask (not continuous) reads the same pixels.
  const cv::Mat big = test::rect_hole(20, 20, cv::Rect(5, 5, 3, 4));
  EXPECT_TRUE(torch::equal(valid_mask(big(cv::Rect(3, 4, 9, 7))), valid));
}

}  // namespace
}  // namespace pconv
