// MaskGenerator and MaskFolder: hole ratios, determinism, border rules, augmentation.
#include "pconv/data/masks.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pconv/io/error.h"
#include "test_util.h"

namespace pconv {
namespace {

bool binary(const cv::Mat& m) {
  return cv::countNonZero(m == 0) + cv::countNonZero(m == 255) == static_cast<int>(m.total());
}

TEST(MaskGenerator, RatiosStayInsideThePapersBuckets) {
  for (double lo : {0.01, 0.1, 0.2, 0.3, 0.4, 0.5}) {
    const double hi = lo < 0.1 ? 0.1 : lo + 0.1;
    const MaskGenerator gen(MaskGeneratorOptions(128, 96).min_ratio(lo).max_ratio(hi), 5);
    for (uint64_t i = 0; i < 10; ++i) {
      const cv::Mat m = gen.generate(i);
      ASSERT_EQ(m.size(), cv::Size(128, 96));
      ASSERT_TRUE(binary(m));
      const double r = hole_ratio(m);
      EXPECT_GE(r, lo) << "bucket " << lo << " mask " << i;
      EXPECT_LE(r, hi) << "bucket " << lo << " mask " << i;
    }
  }
}

TEST(MaskGenerator, SameSeedAndIndexSameMask) {
  const MaskGenerator a(MaskGeneratorOptions(64, 64), 11), b(MaskGeneratorOptions(64, 64), 11),
      c(MaskGeneratorOptions(64, 64), 12);
  EXPECT_EQ(cv::norm(a.generate(3), b.generate(3), cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(a.generate(3), a.generate(4), cv::NORM_L1), 0.0);
  EXPECT_GT(cv::norm(a.generate(3), c.generate(3), cv::NORM_L1), 0.0);
}

TEST(MaskGenerator, BorderRules) {
  const MaskGenerator inside(
      MaskGeneratorOptions(96, 96).min_ratio(0.2).max_ratio(0.3).border(BorderRule::kNotTouching), 1);
  const MaskGenerator touching(
      MaskGeneratorOptions(96, 96).min_ratio(0.01).max_ratio(0.1).border(BorderRule::kTouching), 1);
  for (uint64_t i = 0; i < 8; ++i) {
    EXPECT_FALSE(touches_border(inside.generate(i)));
    EXPECT_TRUE(touches_border(touching.generate(i)));
  }
  EXPECT_THROW(MaskGenerator(MaskGeneratorOptions(64, 64).min_ratio(0.5).max_ratio(0.2), 0), Error);
}

// The largest distance from a hole pixel to the nearest valid pixel.
float deepest(const cv::Mat& hole) {
  cv::Mat distance;
  cv::distanceTransform(hole, distance, cv::DIST_L2, 3);
  double max = 0;
  cv::minMaxLoc(distance, nullptr, &max);
  return static_cast<float>(max);
}

TEST(MaskGenerator, BlobsMakeHolesWhoseCentresAreFarFromValidPixels) {
  const auto options = MaskGeneratorOptions(256, 256).min_ratio(0.1).max_ratio(0.3);
  const MaskGenerator strokes(options, 5), blobs(MaskGeneratorOptions(options).blobs(1.0), 5);
  float stroke_depth = 0, blob_depth = 0;
  for (int i = 0; i < 10; ++i) {
    const cv::Mat b = blobs.generate(i);
    EXPECT_GE(hole_ratio(b), 0.1);
    EXPECT_LE(hole_ratio(b), 0.3);
    stroke_depth += deepest(strokes.generate(i)) / 10;
    blob_depth += deepest(b) / 10;
  }
  EXPECT_GT(blob_depth, 2 * stroke_depth) << "strokes " << stroke_depth << " px, blobs " << blob_depth << " px";
  test::expect_error([] { MaskGenerator(MaskGeneratorOptions(64, 64).blobs(1.5), 0); }, "blob share");
}

TEST(MaskFolder, AugmentsDeterministicallyToBinaryMasks) {
  test::TempDir dir;
  cv::Mat m = cv::Mat::zeros(200, 300, CV_8U);
  cv::circle(m, {150, 100}, 40, cv::Scalar(255), cv::FILLED);
  cv::imwrite((dir / "a.png").string(), m);
  cv::imwrite((dir / "b.png").string(), 255 - m);
  const MaskFolder folder(dir.path(), 64, 64, 9);
  EXPECT_EQ(folder.size(), 2u);
  const cv::Mat x = folder.generate(5);
  EXPECT_EQ(x.size(), cv::Size(64, 64));
  EXPECT_TRUE(binary(x));
  EXPECT_EQ(cv::norm(x, MaskFolder(dir.path(), 64, 64, 9).generate(5), cv::NORM_INF), 0.0);
  EXPECT_THROW(MaskFolder(dir / "none", 64, 64, 0), Error);
}

}  // namespace
}  // namespace pconv
