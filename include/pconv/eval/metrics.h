#pragma once
// Image quality metrics on float images in [0,1] (CV_32FC1 or CV_32FC3).
#include <opencv2/core.hpp>

namespace pconv {

/// Mean absolute error, in the images' units (×100 for "% of the value range").
double mean_l1(const cv::Mat& a, const cv::Mat& b);

/// Peak signal-to-noise ratio in dB for a data range of 1; infinity for identical images.
double psnr(const cv::Mat& a, const cv::Mat& b);

/// SSIM of Wang et al. (2004): 11×11 Gaussian window with σ = 1.5, K1 = 0.01, K2 = 0.03, data
/// range 1, computed per channel and averaged; windows are reflected at the border and the mean
/// leaves out the 5-pixel margin, as scikit-image's structural_similarity(gaussian_weights=True,
/// sigma=1.5, use_sample_covariance=False, data_range=1) does.
double ssim(const cv::Mat& a, const cv::Mat& b);

}  // namespace pconv
