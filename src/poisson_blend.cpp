#include "pconv/poisson_blend.h"

#include <opencv2/imgproc.hpp>
#include <vector>

namespace pconv {

namespace {
// The sum of each pixel's 4-neighbours, counting nothing beyond the matrix's border (ISOLATED:
// a view's parent pixels stay out of it too).
cv::Mat neighbour_sum(const cv::Mat& m) {
  static const cv::Mat kernel = (cv::Mat_<float>(3, 3) << 0, 1, 0, 1, 0, 1, 0, 1, 0);
  cv::Mat out;
  cv::filter2D(m, out, -1, kernel, cv::Point(-1, -1), 0, cv::BORDER_CONSTANT | cv::BORDER_ISOLATED);
  return out;
}

cv::Mat three(const cv::Mat& m) {
  cv::Mat out;
  cv::merge(std::vector<cv::Mat>{m, m, m}, out);
  return out;
}
}  // namespace

cv::Mat poisson_blend(const cv::Mat& fill, const cv::Mat& photo, const cv::Mat& hole,
                      const PoissonBlendOptions& options) {
  CV_Assert(fill.type() == CV_32FC3 && photo.type() == CV_32FC3 && hole.type() == CV_8U);
  CV_Assert(fill.size() == photo.size() && hole.size() == photo.size());
  cv::Mat result = photo.clone();
  if (cv::countNonZero(hole) == 0) return result;

  // Every hole pixel's neighbours lie in the box around the hole grown by one pixel.
  cv::Mat grown;
  cv::dilate(hole, grown, cv::Mat());
  const cv::Rect box = cv::boundingRect(grown);
  cv::Mat in_hole;
  cv::Mat(hole(box) != 0).convertTo(in_hole, CV_32F, 1.0 / 255.0);
  const cv::Mat outside = 1.0 - in_hole;
  const cv::Mat in_hole3 = three(in_hole);
  const cv::Mat f = fill(box);

  // x = f + c inside the hole. For a hole pixel p with n neighbours in the image, of which those
  // outside the hole number n_out: n·c_p − Σ_hole c_q = Σ_outside photo_q − n_out·f_p. That
  // matrix is symmetric positive definite, so conjugate gradients solve it, all three channels
  // at once (the system is the same for each).
  const cv::Mat neighbours = three(neighbour_sum(cv::Mat::ones(box.size(), CV_32F)));
  const cv::Mat b =
      (neighbour_sum(photo(box).mul(three(outside))) - three(neighbour_sum(outside)).mul(f)).mul(in_hole3);
  const auto apply = [&](const cv::Mat& c) -> cv::Mat { return (neighbours.mul(c) - neighbour_sum(c)).mul(in_hole3); };

  cv::Mat c = cv::Mat::zeros(box.size(), CV_32FC3), r = b.clone(), p = b.clone();
  double rr = r.dot(r);
  const double enough = options.tolerance * options.tolerance * rr;
  for (int i = 0; i < options.iterations && rr > enough; ++i) {
    const cv::Mat ap = apply(p);
    const double alpha = rr / p.dot(ap);
    cv::scaleAdd(p, alpha, c, c);
    cv::scaleAdd(ap, -alpha, r, r);
    const double next = r.dot(r);
    cv::scaleAdd(p, next / rr, r, p);
    rr = next;
  }
  cv::Mat x = cv::min(cv::max(f + c, 0.0), 1.0);
  x.copyTo(result(box), hole(box));
  return result;
}

}  // namespace pconv
