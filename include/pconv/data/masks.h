#pragma once
// Masks for training and evaluation. On disk and in this API a hole mask is CV_8U, 255 = hole.
//
// MaskGenerator draws random irregular holes as the seed implementations do (PConv-Keras):
// lines, filled circles and ellipse arcs with thickness 3 … 0.03·(W+H), added one at a time
// until the hole covers a ratio drawn from [min_ratio, max_ratio]. Masks are a pure function of
// (seed, index), so a run that resumes, or a mask set made again, draws exactly the same ones.
//
//   MaskGenerator gen(MaskGeneratorOptions(256, 256).min_ratio(0.1).max_ratio(0.2), /*seed=*/7);
//   cv::Mat hole = gen.generate(42);
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <random>
#include <string>
#include <vector>

namespace pconv {

/// Whether a mask's hole may, must, or must not reach the image border.
enum class BorderRule { kAny, kTouching, kNotTouching };

struct MaskGeneratorOptions {
  MaskGeneratorOptions(int width, int height) : width_(width), height_(height) {}
  TORCH_ARG(int, width);
  TORCH_ARG(int, height);
  /// Hole-to-image area ratio: every mask's ratio lies in [min_ratio, max_ratio].
  TORCH_ARG(double, min_ratio) = 0.01;
  TORCH_ARG(double, max_ratio) = 0.6;
  TORCH_ARG(BorderRule, border) = BorderRule::kAny;
  /// Share of shapes drawn as a large filled ellipse (radii from the stroke thickness up to a
  /// quarter of the shorter side): holes the size of objects people remove, far wider than the
  /// strokes, whose centres lie far from any valid pixel.
  TORCH_ARG(double, blobs) = 0.0;

 public:
  void check() const;
};

class MaskGenerator {
 public:
  MaskGenerator(MaskGeneratorOptions options, uint64_t seed);
  /// The mask with this index; the same (options, seed, index) always gives the same mask.
  cv::Mat generate(uint64_t index) const;
  const MaskGeneratorOptions& options() const { return options_; }

 private:
  MaskGeneratorOptions options_;
  uint64_t seed_;
};

/// Hole pixels over all pixels.
double hole_ratio(const cv::Mat& hole);
/// Whether any hole pixel lies on the outermost row or column.
bool touches_border(const cv::Mat& hole);

/// A deterministic 64-bit mix of a seed and a stream of values (splitmix64), for per-item RNGs.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0);

/// Masks read from a folder (white = hole, as `pconv inpaint` reads them) with the paper's
/// augmentation: random dilation, rotation, translation and cropping to the target size, then
/// binarised. Deterministic per (seed, index).
class MaskFolder {
 public:
  MaskFolder(const std::filesystem::path& folder, int width, int height, uint64_t seed, bool augment = true);
  cv::Mat generate(uint64_t index) const;
  size_t size() const { return masks_.size(); }

 private:
  std::vector<cv::Mat> masks_;  // binarised, 255 = hole, loaded once
  int width_, height_;
  uint64_t seed_;
  bool augment_;
};

}  // namespace pconv
