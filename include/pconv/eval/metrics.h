#pragma once
// Image quality metrics on float images in [0,1] (CV_32FC1 or CV_32FC3).
#include <opencv2/core.hpp>

namespace pconv {

/// Pixels between a hole's edge and the region the texture ratio is measured on.
constexpr int kTextureMargin = 3;

/// Mean absolute error, in the images' units (×100 for "% of the value range").
double mean_l1(const cv::Mat& a, const cv::Mat& b);

/// Peak signal-to-noise ratio in dB for a data range of 1; infinity for identical images.
double psnr(const cv::Mat& a, const cv::Mat& b);

/// SSIM of Wang et al. (2004): 11×11 Gaussian window with σ = 1.5, K1 = 0.01, K2 = 0.03, data
/// range 1, computed per channel and averaged; windows are reflected at the border and the mean
/// leaves out the 5-pixel margin, as scikit-image's structural_similarity(gaussian_weights=True,
/// sigma=1.5, use_sample_covariance=False, data_range=1) does.
double ssim(const cv::Mat& a, const cv::Mat& b);

/// How much detail an image has inside a hole: the Sobel gradient magnitude of its luma summed
/// over the hole's pixels that lie at least `margin` pixels inside it (the hole eroded by a
/// (2·margin+1)² square), so that the seam between fill and photo does not count. The texture
/// ratio of a fill is its sum over the ground truth's on the same pixels: 1 is as detailed as the
/// photo, below 1 smoother, above 1 noisier.
struct HoleGradient {
  double sum = 0;
  size_t pixels = 0;
};
/// `image`: CV_32FC3 (BGR) or CV_32FC1 in [0,1]; `hole`: CV_8UC1, non-zero = hole, same size.
HoleGradient hole_gradient(const cv::Mat& image, const cv::Mat& hole, int margin = kTextureMargin);

/// The same on the image's colour alone: the gradient magnitude of its two chroma channels (Cr and
/// Cb of YCrCb) together. Photographs change hue far less often than brightness, so a fill whose
/// ratio to the ground truth's is well above 1 has colour noise or blotches the photo lacks.
/// A one-channel image has no chroma: its sum is 0.
HoleGradient hole_chroma_gradient(const cv::Mat& image, const cv::Mat& hole, int margin = kTextureMargin);

}  // namespace pconv
