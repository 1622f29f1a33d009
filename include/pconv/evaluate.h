#pragma once
// Measuring quality as the paper's Table 1 does: ℓ1, PSNR and SSIM of the composite, per
// hole-to-image area bucket (0.01,0.1], (0.1,0.2], …, (0.5,0.6], with and without holes touching
// the image border, for learned models and the classical methods people already have.
//
// A hole "touches the border" when at least one hole pixel lies in the image's outermost row or
// column.
#include <filesystem>
#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "pconv/image.h"
#include "pconv/inpainter.h"
#include "pconv/masks.h"

namespace pconv {

struct HoleBucket {
  double lo, hi;             ///< hole ratio in (lo, hi]
  std::string name() const;  ///< "0.1-0.2"
};

/// The paper's six buckets.
const std::vector<HoleBucket>& paper_buckets();

/// One cell of the evaluation grid: a bucket, with or without holes at the border.
struct MaskCategory {
  HoleBucket bucket;
  bool border = false;
  std::string name() const;  ///< "0.1-0.2/border" or "0.1-0.2/no_border"
};
std::vector<MaskCategory> paper_categories();

/// The generator of a category's masks at a size; mask k of it is generate(k).
MaskGenerator category_generator(const MaskCategory& category, int width, int height, uint64_t seed);

// ---- mask sets on disk (pconv masks) ---------------------------------------------------------

struct MaskSetOptions {
  std::filesystem::path out;
  int width = 512, height = 512;
  int per_category = 100;  ///< masks in each bucket × border category
  uint64_t seed = 0;
  std::filesystem::path images;  ///< optional: also write originals and masked images
};

/// Writes <out>/<bucket>/<border|no_border>/NNNNN.png (white = hole) and <out>/masks.json; with
/// images, also NNNNN_image.png and NNNNN_masked.png beside each mask. Returns masks written.
size_t write_mask_set(const MaskSetOptions& options, const std::function<void(size_t, size_t)>& progress = {});

/// Reads a mask set written by write_mask_set: the masks of each category, in order.
std::vector<std::pair<MaskCategory, std::vector<std::filesystem::path>>> read_mask_set(
    const std::filesystem::path& dir);

// ---- methods -------------------------------------------------------------------------------

/// A way to fill holes: 8-bit BGR image and CV_8U hole mask (255 = hole) in, filled BGR out.
class InpaintMethod {
 public:
  virtual ~InpaintMethod() = default;
  virtual std::string name() const = 0;
  virtual cv::Mat fill(const cv::Mat& bgr, const cv::Mat& hole) const = 0;
};

/// "telea", "ns" (cv::inpaint, with `radius`), "fsr" (cv::xphoto FSR, when this OpenCV has it),
/// or a model file (filled with `model_options`).
std::unique_ptr<InpaintMethod> make_method(const std::string& spec, const torch::Device& device, int radius = 3,
                                           const InpaintOptions& model_options = {});
bool have_fsr();

// ---- evaluation ----------------------------------------------------------------------------

struct EvaluationOptions {
  std::filesystem::path images;  ///< ground-truth photos
  std::filesystem::path masks;   ///< a mask set; empty: generated per category
  int per_category = 10;         ///< generated masks per category (without a mask set)
  uint64_t seed = 0;
  int size = 256;                          ///< square centre crop; 0 = native size (masks generated per image)
  int jobs = 1;                            ///< images evaluated in parallel
  int64_t max_pixels = kDefaultMaxPixels;  ///< larger photos and masks are refused
  int examples = 2;                        ///< examples per category kept for the HTML page
};

struct CellResult {
  size_t count = 0;
  double l1 = 0, psnr = 0, ssim = 0, seconds = 0;  ///< means; l1 in % of the value range
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

/// report.md (Table-1 layout), report.csv, report.json and report.html with examples/ beside it.
void write_report(const EvaluationReport& report, const std::filesystem::path& out);
std::string report_markdown(const EvaluationReport& report);

}  // namespace pconv
