// Poisson blending: a fill with the photo's gradients but the wrong level is pulled onto the photo;
// nothing outside the hole moves.
#include "pconv/infer/poisson_blend.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

namespace pconv {
namespace {

// A smooth photo: across a hole's edge the blend assumes no gradient (it knows the fill's only
// inside the hole), so on a smooth photo it lands within a few of its steps of the truth.
cv::Mat ramp(cv::Size size) {
  cv::Mat photo(size, CV_32FC3);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x)
      photo.at<cv::Vec3f>(y, x) = cv::Vec3f(0.2f + 0.004f * x, 0.3f + 0.003f * y, 0.6f - 0.002f * (x + y));
  return photo;
}

double max_difference(const cv::Mat& a, const cv::Mat& b, const cv::Mat& where) {
  double most = 0;
  cv::minMaxLoc(cv::Mat(cv::abs(a - b)).reshape(1), nullptr, &most, nullptr, nullptr,
                where.empty() ? cv::noArray() : where);
  return most;
}

cv::Mat three(const cv::Mat& m) {
  cv::Mat out;
  cv::merge(std::vector<cv::Mat>{m, m, m}, out);
  return out.reshape(1, m.rows);
}

constexpr PoissonBlendOptions kToConvergence{2000, 1e-8};

TEST(PoissonBlend, ShiftedFillLandsOnThePhoto) {
  const cv::Mat photo = ramp({96, 80});
  cv::Mat hole = cv::Mat::zeros(photo.size(), CV_8U);
  cv::circle(hole, {40, 45}, 18, cv::Scalar(255), cv::FILLED);
  cv::line(hole, {5, 10}, {90, 20}, cv::Scalar(255), 3);
  // The network got the shape right and the level wrong: a seam at the hole's edge.
  const cv::Mat fill = photo + cv::Scalar::all(0.15);

  const cv::Mat blended = poisson_blend(fill, photo, hole, kToConvergence);
  EXPECT_LT(max_difference(blended, photo, three(hole)), 0.02) << "the fill was 0.15 off";
  EXPECT_EQ(max_difference(blended, photo, three(hole == 0)), 0.0) << "pixels outside the hole are the photo's";

  // A few dozen iterations already take most of the step away near the edge.
  const cv::Mat quick = poisson_blend(fill, photo, hole);
  EXPECT_LT(cv::norm(quick - photo, cv::NORM_L1), 0.25 * cv::norm(fill - photo, cv::NORM_L1, hole));
}

TEST(PoissonBlend, InPlaceWritesTheSameHoleAndNothingElse) {
  const cv::Mat photo = ramp({64, 48});
  cv::Mat hole = cv::Mat::zeros(photo.size(), CV_8U);
  cv::circle(hole, {30, 20}, 12, cv::Scalar(255), cv::FILLED);
  const cv::Mat fill = photo + cv::Scalar::all(0.2);
  cv::Mat in_place = fill.clone();
  poisson_blend_into(in_place, photo, hole);
  EXPECT_EQ(max_difference(in_place, poisson_blend(fill, photo, hole), three(hole)), 0.0);
  EXPECT_EQ(max_difference(in_place, fill, three(hole == 0)), 0.0) << "outside the hole the fill stays";
}

TEST(PoissonBlend, HoleAtTheBorderAssumesNothingBeyondIt) {
  const cv::Mat photo = ramp({64, 64});
  cv::Mat hole = cv::Mat::zeros(photo.size(), CV_8U);
  cv::rectangle(hole, cv::Rect(0, 0, 20, 30), cv::Scalar(255), cv::FILLED);    // a corner
  cv::rectangle(hole, cv::Rect(50, 10, 14, 54), cv::Scalar(255), cv::FILLED);  // two edges
  const cv::Mat fill = photo - cv::Scalar::all(0.1);
  const cv::Mat blended = poisson_blend(fill, photo, hole, kToConvergence);
  EXPECT_LT(max_difference(blended, photo, three(hole)), 0.02) << "the fill was 0.1 off";
  EXPECT_EQ(max_difference(blended, photo, three(hole == 0)), 0.0);
}

TEST(PoissonBlend, KeepsTheFillsOwnStructure) {
  // A photo that is flat around the hole and a fill with an edge inside it: the edge stays.
  const cv::Mat photo(48, 48, CV_32FC3, cv::Scalar::all(0.5));
  cv::Mat hole = cv::Mat::zeros(photo.size(), CV_8U);
  cv::rectangle(hole, cv::Rect(12, 12, 24, 24), cv::Scalar(255), cv::FILLED);
  cv::Mat fill = photo.clone();
  fill(cv::Rect(24, 12, 12, 24)).setTo(cv::Scalar::all(0.8));
  const cv::Mat blended = poisson_blend(fill, photo, hole, kToConvergence);
  const float left = blended.at<cv::Vec3f>(24, 20)[0], right = blended.at<cv::Vec3f>(24, 28)[0];
  EXPECT_GT(right - left, 0.1f) << "the step inside the hole is the fill's own gradient";
  EXPECT_NEAR(blended.at<cv::Vec3f>(12, 30)[0], 0.5f, 0.15f) << "but the hole's edge meets the photo";
}

TEST(PoissonBlend, TheCorrectionReachesAsFarAsTheIterations) {
  const cv::Mat photo = ramp({80, 80});
  cv::Mat hole = cv::Mat::zeros(photo.size(), CV_8U);
  cv::circle(hole, {40, 40}, 30, cv::Scalar(255), cv::FILLED);
  const cv::Mat fill = photo + cv::Scalar::all(0.15);
  const cv::Mat blended = poisson_blend(fill, photo, hole, {10, 1e-8});
  cv::Mat depth;
  cv::distanceTransform(hole, depth, cv::DIST_L1, 3, CV_32F);
  EXPECT_EQ(max_difference(blended, fill, three(depth > 12)), 0.0) << "deeper pixels keep the fill";
  EXPECT_GT(max_difference(blended, fill, three(depth == 1)), 0.05) << "the edge moved";
}

TEST(PoissonBlend, NoHoleLeavesThePhoto) {
  const cv::Mat photo = ramp({32, 32});
  const cv::Mat blended = poisson_blend(photo + cv::Scalar::all(0.3), photo, cv::Mat::zeros(photo.size(), CV_8U));
  EXPECT_EQ(cv::norm(blended, photo, cv::NORM_INF), 0.0);
}

}  // namespace
}  // namespace pconv
