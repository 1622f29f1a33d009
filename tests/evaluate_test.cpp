// pconv masks / pconv evaluate: buckets honoured, reproducible masks, metrics against
// scikit-image, the report end to end, clear errors.
#include "pconv/eval/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <mutex>
#include <numeric>
#include <opencv2/imgcodecs.hpp>

#include "pconv/eval/metrics.h"
#include "pconv/eval/report.h"
#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/image.h"
#include "test_util.h"

namespace pconv {
namespace {
namespace fs = std::filesystem;

cv::Mat fixture(const std::string& name) {
  cv::Mat f;
  cv::imread((fs::path(PCONV_TEST_DATA) / name).string(), cv::IMREAD_COLOR).convertTo(f, CV_32FC3, 1.0 / 255.0);
  return f;
}

TEST(Metrics, AgreeWithScikitImage) {
  // Reference values: scikit-image 0.19.3, structural_similarity(a, b, gaussian_weights=True,
  // sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=-1),
  // peak_signal_noise_ratio(a, b, data_range=1.0), mean |a − b|, on tests/data/*.png as float/255.
  const cv::Mat a = fixture("metrics_a.png"), noisy = fixture("metrics_noisy.png"),
                blurred = fixture("metrics_blurred.png");
  ASSERT_FALSE(a.empty());
  EXPECT_NEAR(psnr(a, noisy), 20.9103365349, 1e-6);
  EXPECT_NEAR(ssim(a, noisy), 0.4047431569, 1e-6);
  EXPECT_NEAR(mean_l1(a, noisy), 0.0779816006, 1e-6);
  EXPECT_NEAR(psnr(a, blurred), 36.0563908983, 1e-6);
  EXPECT_NEAR(ssim(a, blurred), 0.9962671395, 1e-6);
  EXPECT_NEAR(mean_l1(a, blurred), 0.0110898352, 1e-6);
}

TEST(Metrics, HoleGradientByHand) {
  // A luma ramp of 0.01 per column: Sobel's x response is 8 · 0.01 everywhere inside.
  cv::Mat ramp(20, 20, CV_32FC1);
  for (int y = 0; y < ramp.rows; ++y)
    for (int x = 0; x < ramp.cols; ++x) ramp.at<float>(y, x) = 0.01f * static_cast<float>(x);
  cv::Mat hole = cv::Mat::zeros(20, 20, CV_8UC1);
  hole(cv::Rect(4, 5, 10, 9)).setTo(255);  // 10×9; margin 3 leaves the 4×3 centre
  const HoleGradient g = hole_gradient(ramp, hole);
  EXPECT_EQ(g.pixels, 12u);
  EXPECT_NEAR(g.sum, 12 * 0.08, 1e-5);

  // Colour: the luma's gradient (a ramp in green only weighs 0.587).
  cv::Mat green(20, 20, CV_32FC3, cv::Scalar::all(0));
  cv::Mat channels[3] = {cv::Mat::zeros(20, 20, CV_32FC1), ramp, cv::Mat::zeros(20, 20, CV_32FC1)};
  cv::merge(channels, 3, green);
  EXPECT_NEAR(hole_gradient(green, hole).sum, 0.587 * 12 * 0.08, 1e-4);

  // The seam does not count: a flat fill pasted into the ramp has no gradient in the measured centre.
  cv::Mat flat = ramp.clone();
  flat.setTo(0.5f, hole);
  EXPECT_NEAR(hole_gradient(flat, hole).sum, 0.0, 1e-6);
  // A stroke narrower than 2·margin+1 has nothing to measure; one touching the border is measured up to it.
  cv::Mat stroke = cv::Mat::zeros(20, 20, CV_8UC1);
  stroke(cv::Rect(0, 8, 20, 5)).setTo(255);
  EXPECT_EQ(hole_gradient(ramp, stroke).pixels, 0u);
  cv::Mat corner = cv::Mat::zeros(20, 20, CV_8UC1);
  corner(cv::Rect(0, 0, 8, 8)).setTo(255);
  EXPECT_EQ(hole_gradient(ramp, corner).pixels, 25u);
  EXPECT_THROW(hole_gradient(ramp, cv::Mat::zeros(10, 10, CV_8UC1)), Error);
}

TEST(Metrics, HoleChromaGradientByHand) {
  cv::Mat ramp(20, 20, CV_32FC1);
  for (int y = 0; y < ramp.rows; ++y)
    for (int x = 0; x < ramp.cols; ++x) ramp.at<float>(y, x) = 0.01f * static_cast<float>(x);
  cv::Mat hole = cv::Mat::zeros(20, 20, CV_8UC1);
  hole(cv::Rect(4, 5, 10, 9)).setTo(255);
  const cv::Mat zero = cv::Mat::zeros(20, 20, CV_32FC1);
  // A ramp in red alone: Cr = 0.713 (R - Y) moves 0.701 · 0.713 per unit of red, Cb = 0.564 (B - Y)
  // moves -0.299 · 0.564; Sobel's x response is 8 · 0.01 times each.
  cv::Mat red;
  const cv::Mat bgr[3] = {zero, zero, ramp};
  cv::merge(bgr, 3, red);
  const HoleGradient g = hole_chroma_gradient(red, hole);
  EXPECT_EQ(g.pixels, 12u);
  EXPECT_NEAR(g.sum, 12 * 0.08 * std::hypot(0.701 * 0.713, 0.299 * 0.564), 1e-4);
  // A ramp of grey has brightness detail and no colour detail; a one-channel image has no colour.
  cv::Mat grey;
  const cv::Mat grey_bgr[3] = {ramp, ramp, ramp};
  cv::merge(grey_bgr, 3, grey);
  EXPECT_NEAR(hole_chroma_gradient(grey, hole).sum, 0.0, 1e-5);
  EXPECT_NEAR(hole_gradient(grey, hole).sum, 12 * 0.08, 1e-4);
  EXPECT_EQ(hole_chroma_gradient(ramp, hole).sum, 0.0);
  EXPECT_THROW(hole_chroma_gradient(red, cv::Mat::zeros(10, 10, CV_8UC1)), Error);
}

TEST(MaskSet, BucketsBordersAndSeeds) {
  test::TempDir dir;
  MaskSetOptions o;
  o.out = dir / "set";
  o.width = o.height = 64;
  o.per_category = 3;
  o.seed = 5;
  EXPECT_EQ(write_mask_set(o), 36u);
  const auto set = read_mask_set(o.out);
  ASSERT_EQ(set.size(), 12u);
  for (const auto& [category, files] : set) {
    ASSERT_EQ(files.size(), 3u);
    for (const auto& f : files) {
      const cv::Mat hole = binarize_mask(load_image(f)).hole;
      const double r = hole_ratio(hole);
      EXPECT_GT(r, category.bucket.lo) << f;
      EXPECT_LE(r, category.bucket.hi) << f;
      EXPECT_EQ(touches_border(hole), category.border) << f;
    }
  }
  EXPECT_TRUE(fs::exists(o.out / "masks.json"));
  o.out = dir / "again";
  write_mask_set(o);
  for (const auto& [category, files] : set)
    for (const auto& f : files)
      EXPECT_EQ(read_file(f), read_file(dir / "again" / category.name() / f.filename())) << "same seed, same masks";

  test::write_photos(dir / "photos", 2, 80, 60);
  o.out = dir / "with_images";
  o.per_category = 1;
  o.images = dir / "photos";
  write_mask_set(o);
  EXPECT_TRUE(fs::exists(dir / "with_images" / "0.1-0.2" / "border" / "00000_masked.png"));
  EXPECT_TRUE(fs::exists(dir / "with_images" / "0.1-0.2" / "border" / "00000_image.png"));
  EXPECT_EQ(read_mask_set(dir / "with_images").front().second.size(), 1u) << "images are not taken for masks";
}

TEST(Evaluate, ReportForModelsAndClassicalMethods) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 3, 96, 80);
  test::write_tiny_model(dir / "tiny.safetensors", 3, 0.25);
  std::vector<std::unique_ptr<InpaintMethod>> owned;
  owned.push_back(make_method("telea", torch::kCPU));
  owned.push_back(make_method("ns", torch::kCPU));
  if (have_fsr()) owned.push_back(make_method("fsr", torch::kCPU));
  owned.push_back(make_method((dir / "tiny.safetensors").string(), torch::kCPU));
  std::vector<const InpaintMethod*> methods;
  for (const auto& m : owned) methods.push_back(m.get());

  EvaluationOptions o;
  o.images = dir / "photos";
  o.size = 64;
  o.per_category = 2;
  o.jobs = 2;
  o.examples = 1;
  size_t last = 0;
  const EvaluationReport r = evaluate(o, methods, [&](size_t done, size_t) { last = done; });
  EXPECT_EQ(last, 24u);
  ASSERT_EQ(r.cells.size(), methods.size());
  for (const auto& row : r.cells)
    for (const auto& cell : row) {
      EXPECT_EQ(cell.count, 2u);
      EXPECT_GT(cell.psnr, 5.0);
      EXPECT_GT(cell.ssim, 0.0);
      EXPECT_GT(cell.l1, 0.0);
    }
  // Texture: a fill can be smoother or busier than the photo, but not by orders of magnitude;
  // the smallest bucket's thin strokes may leave nothing to measure.
  for (const auto& row : r.cells)
    for (size_t c = 4; c < row.size(); ++c) {
      EXPECT_FALSE(std::isnan(row[c].texture)) << c;
      EXPECT_GT(row[c].texture, 0.0);
      EXPECT_LT(row[c].texture, 10.0);
      EXPECT_FALSE(std::isnan(row[c].colour)) << c;
      EXPECT_GT(row[c].colour, 0.0);
      EXPECT_LT(row[c].colour, 10.0);
    }
  // Larger holes cost every method: the smallest bucket beats the largest.
  for (const auto& row : r.cells) EXPECT_GT(row[0].psnr, row[10].psnr);
  // Two samples a cell: every mean has its 95% interval, t(1) = 12.706 times the standard error.
  for (const auto& row : r.cells)
    for (const auto& cell : row) {
      EXPECT_GE(cell.psnr_ci, 0.0);
      EXPECT_GE(cell.l1_ci, 0.0);
      EXPECT_GE(cell.ssim_ci, 0.0);
    }
  EXPECT_EQ(r.examples.size(), 12u);

  write_report(r, dir / "report");
  for (const char* f : {"report.md", "report.csv", "report.json", "report.html"})
    EXPECT_TRUE(fs::exists(dir / "report" / f)) << f;
  const std::string md = report_markdown(r);
  EXPECT_NE(md.find("| Telea (OpenCV) |"), std::string::npos);
  EXPECT_NE(md.find("0.5-0.6 B"), std::string::npos);
  const auto csv = read_file(dir / "report" / "report.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), static_cast<long>(1 + 12 * methods.size()));
  EXPECT_NE(std::string(csv.begin(), csv.end()).find(",texture_ratio,colour_ratio,"), std::string::npos);
  EXPECT_NE(md.find("## Colour detail"), std::string::npos);
  EXPECT_NE(md.find("## Texture"), std::string::npos);
  const auto json_text = read_file(dir / "report" / "report.json");
  EXPECT_NE(std::string(json_text.begin(), json_text.end()).find("\"texture_ratio\""), std::string::npos);
  EXPECT_NE(std::string(json_text.begin(), json_text.end()).find("\"colour_ratio\""), std::string::npos);

  // The same with a mask set on disk.
  MaskSetOptions m;
  m.out = dir / "set";
  m.width = m.height = 64;
  m.per_category = 1;
  write_mask_set(m);
  o.masks = m.out;
  o.jobs = 1;
  EXPECT_EQ(evaluate(o, methods).cells[0][3].count, 1u);
}

// A method that records the holes it is given.
class HoleRecorder : public InpaintMethod {
 public:
  std::string name() const override { return "recorder"; }
  cv::Mat fill(const cv::Mat& bgr, const cv::Mat& hole) const override {
    const std::lock_guard<std::mutex> lock(mutex_);
    holes_.push_back(cv::countNonZero(hole));
    return bgr.clone();
  }
  mutable std::mutex mutex_;
  mutable std::vector<int> holes_;
};

TEST(Evaluate, DilateGrowsEveryHoleAndTheIntervalIsStudentsT) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 1, 64, 64);
  MaskSetOptions m;
  m.out = dir / "set";
  m.width = m.height = 64;
  m.per_category = 2;
  write_mask_set(m);
  EvaluationOptions o;
  o.images = dir / "photos";
  o.masks = m.out;
  o.size = 64;
  HoleRecorder plain, grown;
  evaluate(o, {&plain});
  o.dilate = 3;
  const EvaluationReport r = evaluate(o, {&grown});
  ASSERT_EQ(plain.holes_.size(), grown.holes_.size());
  std::vector<int> a = plain.holes_, b = grown.holes_;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_GT(std::accumulate(b.begin(), b.end(), 0), std::accumulate(a.begin(), a.end(), 0));
  // The recorder returns the photo: both samples of each cell have ℓ1 0, so no spread at all.
  for (const auto& cell : r.cells[0]) EXPECT_EQ(cell.l1_ci, 0.0);
  o.dilate = -1;
  test::expect_error([&] { evaluate(o, {&grown}); }, "dilate -1: must be 0..1000");
}

TEST(Evaluate, ClearErrors) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 1, 64, 64);
  const auto telea = make_method("telea", torch::kCPU);
  const std::vector<const InpaintMethod*> methods{telea.get()};
  EvaluationOptions o;
  o.images = dir / "missing";
  EXPECT_THROW(evaluate(o, methods), Error);
  fs::create_directories(dir / "empty");
  o.images = dir / "empty";
  EXPECT_THROW(evaluate(o, methods), Error);
  o.images = dir / "photos";
  EXPECT_THROW(evaluate(o, {}), Error);
  MaskSetOptions m;
  m.out = dir / "set";
  m.width = m.height = 32;
  m.per_category = 1;
  write_mask_set(m);
  o.masks = m.out;
  o.size = 64;
  test::expect_error([&] { evaluate(o, methods); }, "size 64: the mask set's masks are 32x32");
  o.masks = dir / "photos";
  EXPECT_THROW(evaluate(o, methods), Error);
  EXPECT_THROW(make_method("patchmatch", torch::kCPU), Error);
}

}  // namespace
}  // namespace pconv
