#pragma once
// Measuring quality as the paper's Table 1 does: ℓ1, PSNR and SSIM of the composite, per mask
// category (data/mask_set.h), for learned models and classical methods (eval/methods.h).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "pconv/data/mask_set.h"
#include "pconv/eval/methods.h"
#include "pconv/io/image.h"

namespace pconv {

struct EvaluationOptions {
  std::filesystem::path images;  ///< ground-truth photos
  std::filesystem::path masks;   ///< a mask set; empty: generated per category
  int per_category = 10;         ///< generated masks per category (without a mask set)
  uint64_t seed = 0;
  int size = 256;                          ///< square centre crop; 0 = native size (masks generated per image)
  int jobs = 1;                            ///< images evaluated in parallel
  int64_t max_pixels = kDefaultMaxPixels;  ///< larger photos and masks are refused
  int examples = 2;                        ///< examples per category kept for the HTML page
  int dilate = 0;                          ///< pixels every hole grows by before filling (grow_hole)

  /// Throws pconv::OptionError naming the first bad field.
  void check() const;
};

struct CellResult {
  size_t count = 0;
  double l1 = 0, psnr = 0, ssim = 0, seconds = 0;  ///< means; l1 in % of the value range
  /// Half-widths of the means' 95% confidence intervals (Student's t over the category's samples):
  /// how far a winner's lead can be trusted. NaN with fewer than two samples.
  double l1_ci = std::numeric_limits<double>::quiet_NaN(), psnr_ci = l1_ci, ssim_ci = l1_ci;
  /// The texture ratio (metrics.h: hole_gradient) over all of the category's holes together: the
  /// fills' gradient sum over the ground truth's. NaN when no hole is wide enough to measure.
  double texture = std::numeric_limits<double>::quiet_NaN();
  /// The same on chroma (metrics.h: hole_chroma_gradient): well above 1 is colour noise.
  double colour = std::numeric_limits<double>::quiet_NaN();
};

struct Example {
  std::string category;
  cv::Mat masked, truth;
  std::vector<cv::Mat> outputs;  ///< one per method
};

struct EvaluationReport {
  std::vector<std::string> methods;
  std::vector<MaskCategory> categories;
  std::vector<std::vector<CellResult>> cells;  ///< [method][category]
  std::vector<Example> examples;
  size_t images = 0;
  int size = 0;
};

EvaluationReport evaluate(const EvaluationOptions& options, const std::vector<const InpaintMethod*>& methods,
                          const std::function<void(size_t, size_t)>& progress = {});

}  // namespace pconv
