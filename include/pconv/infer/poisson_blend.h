#pragma once
// Gradient-domain compositing of a fill into a photo (Pérez, Gangnet and Blake, "Poisson Image
// Editing", 2003). The paper's composite pastes the network's prediction into the hole as it is;
// a small network's prediction is least accurate right at the hole's edge, where it should agree
// with the photo it touches, and the step there shows as a seam. Blending keeps the fill's own
// gradients between hole pixels and makes it meet the photo at the edge, so the seam's offset
// fades into the hole instead.
#include <opencv2/core.hpp>

namespace pconv {

struct PoissonBlendOptions {
  /// Conjugate-gradient iterations at most. Each one carries the edge's correction about one pixel
  /// further into the hole, and the correction matters most near the edge, so a few dozen are
  /// enough in practice; the solve also stops once the residual is `tolerance` of its start.
  int iterations = 50;
  double tolerance = 1e-3;
};

/// `fill` and `photo`: CV_32FC3 of one size; `hole`: CV_8U, non-zero = hole. Returns the photo
/// with the hole replaced by x, where inside the hole Σ(x_p − x_q) = Σ(fill_p − fill_q) over
/// neighbouring hole pixels q, and x meets the photo's pixels just outside the hole (4-neighbours;
/// nothing is assumed beyond the image's border). Pixels outside the hole are the photo's, exactly.
cv::Mat poisson_blend(const cv::Mat& fill, const cv::Mat& photo, const cv::Mat& hole,
                      const PoissonBlendOptions& options = {});

/// The same x written over `fill`'s hole pixels, in place; its other pixels are left as they are.
/// For callers that only take the hole from the result: no second full-size image is made.
void poisson_blend_into(cv::Mat& fill, const cv::Mat& photo, const cv::Mat& hole,
                        const PoissonBlendOptions& options = {});

}  // namespace pconv
