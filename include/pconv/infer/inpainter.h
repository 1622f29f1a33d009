#pragma once
// The facade most callers need: load a model once, fill the holes of any image.
//
//   pconv::Inpainter inpainter = pconv::Inpainter::from_file("models/pconv.safetensors");
//   cv::Mat image = pconv::load_image("photo.jpg");
//   cv::Mat hole = pconv::binarize_mask(pconv::load_image("mask.png")).hole;
//   cv::Mat filled = inpainter.inpaint(image, hole);
//
// The result is the composite: the network's prediction inside the hole (blended so that it meets
// the photo at the hole's edge), and every other pixel bit-identical to the input, in the input's
// own depth and channels.
#include <torch/torch.h>

#include <filesystem>
#include <opencv2/core.hpp>

#include "pconv/infer/tiling.h"
#include "pconv/io/timings.h"
#include "pconv/nn/model_file.h"

namespace pconv {

struct InpaintOptions {
  /// Side of the square the network fills in one pass; larger images are processed in tiles.
  /// A multiple of the model's size multiple (2^depth).
  int tile = 512;
  /// Pixels that neighbouring tiles share, blended with feathered weights. Less than tile / 2.
  int overlap = 128;
  /// Holes wider than this are filled at a reduced scale where they are this wide, and the fill
  /// is scaled back up. Width is the radius of the largest disc that fits in a hole, in pixels.
  /// The network fills well the hole sizes its training crops had, and sees no further than its
  /// receptive field; a photo's full resolution makes a painted-over object hundreds of pixels
  /// wide. 0: always fill at full resolution.
  int max_hole_radius = kDefaultMaxHoleRadius;
  static constexpr int kDefaultMaxHoleRadius = 32;
  /// Pixels of photo the network sees around each group of holes, at the scale the group is filled
  /// at; the rest of the image is left alone (pconv/infer/regions.h), so a few spots on a large
  /// photo cost what the spots do. 0: the whole image is filled as one region.
  int context = 128;
  /// Network passes per tile, each on a different flip or transpose of the image (1: as it is;
  /// 2: and mirrored; 4: all four flips; 8: their transposes too), averaged: slower in proportion,
  /// and closer to the truth (on the bundled model's test photos, +0.1-0.2 dB PSNR from 1 to 8).
  /// One by default ("fast", see set_quality): eight passes cost eight times the network's time
  /// for less than a quarter of a decibel.
  int ensemble = 1;
  /// Blend the fill into the photo in the gradient domain (pconv/poisson_blend.h), so that it meets
  /// the photo at the hole's edge without a seam; false: paste the network's prediction as it is,
  /// the paper's composite.
  bool poisson_blend = true;
  /// Make filled pixels opaque (used when the image's own transparency marked the hole).
  bool opaque_fill = false;
  /// Called after each tile.
  TileProgress progress;
  /// When set, receives the time of each stage of the fill (every network pass, blending, ...).
  Timings* timings = nullptr;
};

/// The two ways to fill that users choose between (`--quality`, the API's `quality` field, the
/// page's switch): "fast" runs one network pass, "best" eight on flipped and transposed copies,
/// averaged (slower in proportion). Both blend the fill into the photo. Throws pconv::Error naming
/// anything else.
void set_quality(InpaintOptions& options, const std::string& quality);
/// "fast" or "best" when the options are one of them, otherwise "custom".
std::string quality_name(const InpaintOptions& options);

/// Readies a network for inference on `device`, as Inpainter does: evaluation mode, batch-norm
/// folded into the convolutions, on the CPU channels-last memory (oneDNN's fast path), and its
/// weights in `precision` (see parse_precision). In fp32 the output equals the unprepared
/// network's within float rounding; the network can no longer be trained or saved.
void prepare_for_inference(Model& model, const torch::Device& device, torch::Dtype precision = torch::kFloat32);

class Inpainter {
 public:
  /// `name` identifies the model in errors (from_file uses the path).
  /// `precision`: the type the network computes in (fp32, or bf16 / fp16 where parse_precision
  /// allows them); images, masks and results stay float.
  Inpainter(Model model, torch::Device device, std::string name = "the model",
            torch::Dtype precision = torch::kFloat32);
  static Inpainter from_file(const std::filesystem::path& model_path, torch::Device device = torch::kCPU,
                             torch::Dtype precision = torch::kFloat32);

  /// Fills the hole (CV_8U, non-zero = hole, same size as the image) of an 8- or 16-bit gray,
  /// BGR or BGRA image. Throws pconv::Error on a size mismatch or a hole that covers everything;
  /// an empty hole returns a copy of the input.
  cv::Mat inpaint(const cv::Mat& image, const cv::Mat& hole, const InpaintOptions& options = {}) const;

  /// The network's fill of RGB CV_32FC3 in [0,1] of any size, padded to the network's multiple
  /// with the padding marked as hole, averaged over `ensemble` flips and transposes (see
  /// InpaintOptions). Returns the raw prediction, RGB CV_32FC3 in [0,1]. Throws pconv::Error
  /// naming the model when its output holds NaN or infinite values.
  cv::Mat predict(const cv::Mat& rgb, const cv::Mat& hole, int ensemble = 1, Timings* timings = nullptr) const;

  /// Throws pconv::Error when the tile size or overlap does not suit this model.
  void check(const InpaintOptions& options) const;

  const ModelInfo& info() const { return model_.info; }
  const torch::Device& device() const { return device_; }
  torch::Dtype precision() const { return precision_; }

 private:
  Model model_;
  torch::Device device_;
  std::string name_;
  torch::Dtype precision_;
};

}  // namespace pconv
