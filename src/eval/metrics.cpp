#include "pconv/eval/metrics.h"

#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>

#include "pconv/io/error.h"

namespace pconv {

namespace {
void check_pair(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type() || a.depth() != CV_32F)
    throw Error("metrics need two float images of the same size and channels");
}
}  // namespace

double mean_l1(const cv::Mat& a, const cv::Mat& b) {
  check_pair(a, b);
  return cv::norm(a, b, cv::NORM_L1) / static_cast<double>(a.total() * a.channels());
}

double psnr(const cv::Mat& a, const cv::Mat& b) {
  check_pair(a, b);
  const double se = cv::norm(a, b, cv::NORM_L2SQR);
  if (se == 0.0) return std::numeric_limits<double>::infinity();
  const double mse = se / static_cast<double>(a.total() * a.channels());
  return 10.0 * std::log10(1.0 / mse);
}

namespace {
// SSIM of one channel (CV_64F); OpenCV's scalar arithmetic on multi-channel matrices touches the
// first channel only, so channels are scored one at a time.
double ssim_channel(const cv::Mat& x, const cv::Mat& y) {
  constexpr double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  constexpr int margin = 5;
  auto blur = [](const cv::Mat& m) {
    cv::Mat out;
    cv::GaussianBlur(m, out, cv::Size(11, 11), 1.5, 1.5, cv::BORDER_REFLECT);
    return out;
  };
  const cv::Mat mx = blur(x), my = blur(y);
  const cv::Mat sxx = blur(x.mul(x)) - mx.mul(mx);
  const cv::Mat syy = blur(y.mul(y)) - my.mul(my);
  const cv::Mat sxy = blur(x.mul(y)) - mx.mul(my);
  const cv::Mat num = (2 * mx.mul(my) + c1).mul(2 * sxy + c2);
  const cv::Mat den = (mx.mul(mx) + my.mul(my) + c1).mul(sxx + syy + c2);
  cv::Mat map;
  cv::divide(num, den, map);
  return cv::mean(map(cv::Rect(margin, margin, x.cols - 2 * margin, x.rows - 2 * margin)))[0];
}
}  // namespace

double ssim(const cv::Mat& a, const cv::Mat& b) {
  check_pair(a, b);
  if (a.rows <= 10 || a.cols <= 10) throw Error("SSIM needs images larger than 11x11");
  std::vector<cv::Mat> xs, ys;
  cv::split(a, xs);
  cv::split(b, ys);
  double sum = 0;
  for (size_t c = 0; c < xs.size(); ++c) {
    cv::Mat x, y;
    xs[c].convertTo(x, CV_64F);
    ys[c].convertTo(y, CV_64F);
    sum += ssim_channel(x, y);
  }
  return sum / static_cast<double>(xs.size());
}

namespace {

void check_hole_gradient_args(const cv::Mat& image, const cv::Mat& hole, int margin) {
  if (image.depth() != CV_32F || (image.channels() != 1 && image.channels() != 3) || hole.type() != CV_8UC1 ||
      hole.size() != image.size() || margin < 0)
    throw Error("hole_gradient needs a float image and an 8-bit hole of the same size");
}

// The squared Sobel gradient magnitude of one channel, added to `sum` (CV_32FC1, same size).
void add_squared_gradient(const cv::Mat& channel, cv::Mat& sum) {
  cv::Mat dx, dy;
  cv::Sobel(channel, dx, CV_32F, 1, 0, 3, 1.0, 0.0, cv::BORDER_REFLECT);
  cv::Sobel(channel, dy, CV_32F, 0, 1, 3, 1.0, 0.0, cv::BORDER_REFLECT);
  cv::accumulateSquare(dx, sum);
  cv::accumulateSquare(dy, sum);
}

HoleGradient sum_inside(const cv::Mat& magnitude, const cv::Mat& hole, int margin) {
  // Pixels outside the image count as hole: a hole touching the border is measured up to it.
  cv::Mat inner;
  cv::erode(hole != 0, inner, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(2 * margin + 1, 2 * margin + 1)),
            cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, cv::Scalar(255));
  HoleGradient g;
  g.pixels = static_cast<size_t>(cv::countNonZero(inner));
  g.sum = g.pixels > 0 ? cv::mean(magnitude, inner)[0] * static_cast<double>(g.pixels) : 0.0;
  return g;
}

}  // namespace

HoleGradient hole_gradient(const cv::Mat& image, const cv::Mat& hole, int margin) {
  check_hole_gradient_args(image, hole, margin);
  cv::Mat luma = image, squared = cv::Mat::zeros(image.size(), CV_32FC1), magnitude;
  if (image.channels() == 3) cv::cvtColor(image, luma, cv::COLOR_BGR2GRAY);
  add_squared_gradient(luma, squared);
  cv::sqrt(squared, magnitude);
  return sum_inside(magnitude, hole, margin);
}

HoleGradient hole_chroma_gradient(const cv::Mat& image, const cv::Mat& hole, int margin) {
  check_hole_gradient_args(image, hole, margin);
  cv::Mat squared = cv::Mat::zeros(image.size(), CV_32FC1), magnitude;
  if (image.channels() == 3) {
    cv::Mat ycrcb, channels[3];
    cv::cvtColor(image, ycrcb, cv::COLOR_BGR2YCrCb);
    cv::split(ycrcb, channels);
    add_squared_gradient(channels[1], squared);
    add_squared_gradient(channels[2], squared);
  }
  cv::sqrt(squared, magnitude);
  return sum_inside(magnitude, hole, margin);
}

}  // namespace pconv
