#include "pconv/infer/inpainter.h"

#include <chrono>
#include <opencv2/imgproc.hpp>

#include "pconv/infer/normalization.h"
#include "pconv/infer/poisson_blend.h"
#include "pconv/io/error.h"
#include "pconv/io/image.h"

namespace pconv {

void prepare_for_inference(Model& model, const torch::Device& device) {
  model.net->to(device);
  model.net->eval();
  model.net->fold_batch_norm();
  model.net->set_channels_last(device.is_cpu());
}

Inpainter::Inpainter(Model model, torch::Device device, std::string name)
    : model_(std::move(model)), device_(device), name_(std::move(name)) {
  prepare_for_inference(model_, device_);
}

Inpainter Inpainter::from_file(const std::filesystem::path& model_path, torch::Device device) {
  return Inpainter(load_model(model_path, device), device, model_path.string());
}

void Inpainter::check(const InpaintOptions& options) const {
  const int multiple = static_cast<int>(model_.info.architecture.size_multiple());
  if (options.tile <= 0 || options.tile % multiple != 0)
    throw Error("tile size " + std::to_string(options.tile) + " must be a positive multiple of " +
                std::to_string(multiple) + " for this model");
  if (options.overlap < 0 || 2 * options.overlap >= options.tile)
    throw Error("tile overlap " + std::to_string(options.overlap) +
                " must be at least 0 and less than half the tile (" + std::to_string(options.tile) + ")");
  if (options.ensemble != 1 && options.ensemble != 2 && options.ensemble != 4 && options.ensemble != 8)
    throw Error("ensemble " + std::to_string(options.ensemble) + " must be 1, 2, 4 or 8 passes");
  if (options.max_hole_radius < 0)
    throw Error("max hole radius " + std::to_string(options.max_hole_radius) + " must be 0 (off) or more pixels");
}

namespace {
// The k-th of the eight flips and transposes of an NCHW tensor (bit 0: mirror left-right, bit 1:
// upside down, bit 2: transpose), or its inverse.
torch::Tensor dihedral(torch::Tensor x, int k, bool inverse) {
  if (k & 4 && !inverse) x = x.transpose(2, 3);
  if (k & 1) x = x.flip({3});
  if (k & 2) x = x.flip({2});
  if (k & 4 && inverse) x = x.transpose(2, 3);
  return x.contiguous();
}
}  // namespace

cv::Mat Inpainter::predict(const cv::Mat& rgb, const cv::Mat& hole, int ensemble, Timings* timings) const {
  const int multiple = static_cast<int>(model_.info.architecture.size_multiple());
  const int rows = (rgb.rows + multiple - 1) / multiple * multiple;
  const int cols = (rgb.cols + multiple - 1) / multiple * multiple;
  cv::Mat padded_rgb, padded_hole;
  cv::copyMakeBorder(rgb, padded_rgb, 0, rows - rgb.rows, 0, cols - rgb.cols, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  // The padding is marked as hole, so the partial convolutions give it no weight.
  cv::copyMakeBorder(hole, padded_hole, 0, rows - rgb.rows, 0, cols - rgb.cols, cv::BORDER_CONSTANT, cv::Scalar(255));

  c10::InferenceMode inference;
  const torch::Tensor image = to_network(padded_rgb, model_.info.normalization).to(device_);
  const torch::Tensor valid = valid_mask(padded_hole).to(device_);
  const auto pass = [&](const torch::Tensor& x, const torch::Tensor& m) {
    const Timings::Scope scope(timings, "network pass");
    return model_.net.ptr()->forward(x, m);
  };
  torch::Tensor output = pass(image, valid);
  // A self-ensemble: the network's errors differ between mirrored and transposed copies of the
  // image, so their mean is closer to the truth than any one of them.
  for (int k = 1; k < ensemble; ++k)
    output += dihedral(pass(dihedral(image, k, false), dihedral(valid, k, false)), k, true);
  if (ensemble > 1) output /= ensemble;
  // A model whose weights are finite can still overflow; a NaN would be written as black.
  if (!torch::isfinite(output).all().item<bool>())
    throw Error(name_ + ": the network's output holds NaN or infinite values (a broken or mismatched model)");
  return from_network(output, model_.info.normalization)(cv::Rect(0, 0, rgb.cols, rgb.rows)).clone();
}

namespace {
// The scale at which the hole's widest part has radius `max_radius`; 1 when it already has, when
// no limit is set, or when the reduced image would be too small to keep anything around the hole.
double working_scale(const cv::Mat& hole, int max_radius) {
  if (max_radius <= 0) return 1.0;
  cv::Mat distance;
  cv::distanceTransform(hole, distance, cv::DIST_L2, cv::DIST_MASK_PRECISE);
  double radius = 0;
  cv::minMaxLoc(distance, nullptr, &radius);
  const double floor = 64.0 / std::min(hole.cols, hole.rows);  // keep at least 64 px on the short side
  const double scale = std::max(max_radius / radius, floor);
  return scale < 0.99 ? scale : 1.0;
}
}  // namespace

cv::Mat Inpainter::inpaint(const cv::Mat& image, const cv::Mat& hole_in, const InpaintOptions& options) const {
  check(options);
  if (image.empty()) throw Error("the image is empty");
  if (hole_in.size() != image.size())
    throw Error("the mask is " + std::to_string(hole_in.cols) + "x" + std::to_string(hole_in.rows) +
                " but the image is " + std::to_string(image.cols) + "x" + std::to_string(image.rows));
  CV_Assert(hole_in.type() == CV_8U);
  const cv::Mat hole = hole_in != 0;
  const int hole_pixels = cv::countNonZero(hole);
  cv::Mat result = image.clone();
  if (hole_pixels == 0) return result;
  if (hole_pixels == static_cast<int>(hole.total()))
    throw Error("the mask covers the whole image: there is nothing to fill the hole from");

  Timings* timings = options.timings;
  cv::Mat rgb;
  {
    const Timings::Scope scope(timings, "colour conversion");
    rgb = to_rgb_float(image);
  }
  const TileFill fill = [this, &options](const cv::Mat& tile_rgb, const cv::Mat& tile_hole) {
    return predict(tile_rgb, tile_hole, options.ensemble, options.timings);
  };
  // Tiling, padding and the tensor conversions are what the fill takes beyond its network passes.
  const auto tiled = [&](const cv::Mat& fill_rgb, const cv::Mat& fill_hole) {
    const double passes_before = timings ? timings->seconds("network pass") : 0;
    const auto start = std::chrono::steady_clock::now();
    cv::Mat out = fill_tiled(fill_rgb, fill_hole, options.tile, options.overlap, fill, options.progress);
    if (timings)
      timings->add("tiles, padding, tensors",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() -
                       (timings->seconds("network pass") - passes_before));
    return out;
  };
  double scale = 1.0;
  {
    const Timings::Scope scope(timings, "hole size");
    scale = working_scale(hole, options.max_hole_radius);
  }
  cv::Mat filled;
  if (scale < 1.0) {
    // Fill a reduced copy, put it together with the reduced photo, and scale that back up: the
    // hole's border then blends into the photo as it did at the reduced scale.
    const cv::Size small(std::max(1, static_cast<int>(std::lround(image.cols * scale))),
                         std::max(1, static_cast<int>(std::lround(image.rows * scale))));
    cv::Mat small_rgb, small_hole;
    {
      const Timings::Scope scope(timings, "scaling");
      cv::resize(rgb, small_rgb, small, 0, 0, cv::INTER_AREA);
      cv::resize(hole, small_hole, small, 0, 0, cv::INTER_AREA);
      small_hole = small_hole > 0;  // a pixel partly in the hole is hole
    }
    if (cv::countNonZero(small_hole) < static_cast<int>(small_hole.total())) {
      cv::Mat small_filled = tiled(small_rgb, small_hole);
      const Timings::Scope scope(timings, "scaling");
      small_rgb.copyTo(small_filled, small_hole == 0);
      cv::resize(small_filled, filled, image.size(), 0, 0, cv::INTER_LINEAR);
    }
  }
  if (filled.empty()) filled = tiled(rgb, hole);
  if (options.poisson_blend) {
    const Timings::Scope scope(timings, "poisson blending");
    filled = poisson_blend(filled, rgb, hole);
  }
  const Timings::Scope scope(timings, "composite");
  composite_into(result, filled, hole);
  if (options.opaque_fill && result.channels() == 4) {
    const double opaque = result.depth() == CV_16U ? 65535.0 : 255.0;
    std::vector<cv::Mat> planes;
    cv::split(result, planes);
    planes[3].setTo(opaque, hole);
    cv::merge(planes, result);
  }
  return result;
}

}  // namespace pconv
