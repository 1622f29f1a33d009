#include "pconv/infer/poisson_blend.h"

#include <algorithm>
#include <array>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace pconv {

namespace {
using Pixel = cv::Vec3f;

double dot(const std::vector<Pixel>& a, const std::vector<Pixel>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i].dot(b[i]));
  return sum;
}

// out = x + s·y
void axpy(std::vector<Pixel>& out, const std::vector<Pixel>& x, double s, const std::vector<Pixel>& y) {
  const float f = static_cast<float>(s);
  for (size_t i = 0; i < out.size(); ++i) out[i] = x[i] + f * y[i];
}
}  // namespace

cv::Mat poisson_blend(const cv::Mat& fill, const cv::Mat& photo, const cv::Mat& hole,
                      const PoissonBlendOptions& options) {
  cv::Mat result = fill.clone();
  poisson_blend_into(result, photo, hole, options);
  photo.copyTo(result, hole == 0);
  return result;
}

void poisson_blend_into(cv::Mat& fill, const cv::Mat& photo, const cv::Mat& hole, const PoissonBlendOptions& options) {
  CV_Assert(fill.type() == CV_32FC3 && photo.type() == CV_32FC3 && hole.type() == CV_8U);
  CV_Assert(fill.size() == photo.size() && hole.size() == photo.size());
  if (cv::countNonZero(hole) == 0) return;

  // x = fill + c inside the hole. For a hole pixel p with n neighbours in the image, of which
  // those outside the hole number n_out: n·c_p − Σ_hole c_q = Σ_outside photo_q − n_out·fill_p.
  // The right side is non-zero only at the hole's edge, and each conjugate-gradient iteration
  // reaches one pixel further (4-neighbours: city-block distance), so pixels deeper than the
  // iterations can reach keep c = 0 and are left out of the system.
  const cv::Mat in_hole = hole != 0;
  cv::Mat depth;  // 8 bits, saturated: deeper than 255 counts as 255
  cv::distanceTransform(in_hole, depth, cv::DIST_L1, 3, CV_8U);
  const int reach = options.iterations + 2;
  cv::Mat index(hole.size(), CV_32S, cv::Scalar(-1));
  std::vector<cv::Point> at;
  for (int y = 0; y < hole.rows; ++y)
    for (int x = 0; x < hole.cols; ++x)
      if (in_hole.at<uint8_t>(y, x) && depth.at<uint8_t>(y, x) <= reach) {
        index.at<int>(y, x) = static_cast<int>(at.size());
        at.emplace_back(x, y);
      }

  const size_t n = at.size();
  std::vector<std::array<int, 4>> links(n);  // neighbours among the unknowns, -1: none
  std::vector<float> neighbours(n);
  std::vector<Pixel> b(n, Pixel(0, 0, 0));
  const cv::Point steps[4] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
  for (size_t i = 0; i < n; ++i) {
    const cv::Point p = at[i];
    for (int k = 0; k < 4; ++k) {
      const cv::Point q = p + steps[k];
      links[i][k] = -1;
      if (q.x < 0 || q.y < 0 || q.x >= hole.cols || q.y >= hole.rows) continue;
      neighbours[i] += 1;
      if (in_hole.at<uint8_t>(q)) {
        links[i][k] = index.at<int>(q);
      } else {
        b[i] += photo.at<Pixel>(q) - fill.at<Pixel>(p);
      }
    }
  }
  const auto apply = [&](const std::vector<Pixel>& c, std::vector<Pixel>& out) {
    for (size_t i = 0; i < n; ++i) {
      Pixel sum = neighbours[i] * c[i];
      for (int j : links[i])
        if (j >= 0) sum -= c[j];
      out[i] = sum;
    }
  };

  // Conjugate gradients on all three channels at once (the matrix is the same for each, and
  // symmetric positive definite: every hole touches the photo somewhere).
  std::vector<Pixel> c(n, Pixel(0, 0, 0)), r = b, p = b, ap(n);
  double rr = dot(r, r);
  const double enough = options.tolerance * options.tolerance * rr;
  for (int i = 0; i < options.iterations && rr > enough; ++i) {
    apply(p, ap);
    const double alpha = rr / dot(p, ap);
    axpy(c, c, alpha, p);
    axpy(r, r, -alpha, ap);
    const double next = dot(r, r);
    axpy(p, r, next / rr, p);
    rr = next;
  }

  const auto clamp = [](Pixel v) {
    for (int k = 0; k < 3; ++k) v[k] = std::min(1.0f, std::max(0.0f, v[k]));
    return v;
  };
  for (int y = 0; y < hole.rows; ++y)
    for (int x = 0; x < hole.cols; ++x)
      if (in_hole.at<uint8_t>(y, x)) {
        const int i = index.at<int>(y, x);
        Pixel& v = fill.at<Pixel>(y, x);
        v = clamp(i >= 0 ? v + c[i] : v);
      }
}

}  // namespace pconv
