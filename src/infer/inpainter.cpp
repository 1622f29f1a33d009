#include "pconv/infer/inpainter.h"

#include <opencv2/imgproc.hpp>

#include "pconv/infer/normalization.h"
#include "pconv/infer/poisson_blend.h"
#include "pconv/infer/regions.h"
#include "pconv/io/error.h"
#include "pconv/io/image.h"
#include "pconv/io/progress.h"

namespace pconv {

void set_quality(InpaintOptions& options, const std::string& quality) {
  if (quality != "fast" && quality != "best") throw Error("quality '" + quality + "': expected fast or best");
  options.ensemble = quality == "fast" ? 1 : 8;
  options.poisson_blend = true;
}

std::string quality_name(const InpaintOptions& options) {
  if (!options.poisson_blend) return "custom";
  if (options.ensemble == 1) return "fast";
  if (options.ensemble == 8) return "best";
  return "custom";
}

void prepare_for_inference(Model& model, const torch::Device& device, torch::Dtype precision) {
  model.net->to(device);
  model.net->eval();
  // Memory format first: it makes the one copy of each weight that folding then scales in place.
  model.net->set_channels_last(device.is_cpu());
  model.net->fold_batch_norm();
  model.net->set_dtype(precision);
}

Inpainter::Inpainter(Model model, torch::Device device, std::string name, torch::Dtype precision)
    : model_(std::move(model)), device_(device), name_(std::move(name)), precision_(precision) {
  prepare_for_inference(model_, device_, precision_);
}

Inpainter Inpainter::from_file(const std::filesystem::path& model_path, torch::Device device, torch::Dtype precision) {
  return Inpainter(load_model(model_path, device), device, model_path.string(), precision);
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
  if (options.context < 0)
    throw Error("context " + std::to_string(options.context) + " must be 0 (the whole image) or more pixels");
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
  const torch::Tensor image = to_network(padded_rgb, model_.info.normalization).to(device_, precision_);
  const torch::Tensor valid = valid_mask(padded_hole).to(device_, precision_);
  // The passes are averaged in float, whatever the network computes in.
  const auto pass = [&](const torch::Tensor& x, const torch::Tensor& m) {
    const Timings::Scope scope(timings, "network pass");
    return model_.net.ptr()->forward(x, m).to(torch::kFloat32);
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
// A part of the image filled on its own, and the scale its holes are filled at.
struct Region {
  cv::Rect rect;
  double scale = 1.0;
  cv::Mat work_hole;  // the region's hole at that scale
  int tiles = 0;
};

// The scale at which the region's widest hole has radius `max_radius` (1: full resolution), and
// the hole at that scale; full resolution when the reduced region would keep nothing around the
// hole, or less than 64 pixels on its short side.
Region plan_region(const HoleRegion& planned, const cv::Mat& hole, const InpaintOptions& options) {
  const cv::Rect& rect = planned.rect;
  Region region;
  region.rect = rect;
  region.work_hole = hole(rect);
  const double floor = 64.0 / std::min(rect.width, rect.height);
  const double scale =
      options.max_hole_radius > 0 ? std::max(hole_scale(planned.radius, options.max_hole_radius), floor) : 1.0;
  if (scale < 0.99) {
    const cv::Size small(std::max(1, static_cast<int>(std::lround(rect.width * scale))),
                         std::max(1, static_cast<int>(std::lround(rect.height * scale))));
    cv::Mat small_hole;
    cv::resize(region.work_hole, small_hole, small, 0, 0, cv::INTER_AREA);
    small_hole = small_hole > 0;  // a pixel partly in the hole is hole
    if (cv::countNonZero(small_hole) < static_cast<int>(small_hole.total())) {
      region.scale = scale;
      region.work_hole = small_hole;
    }
  }
  region.tiles = static_cast<int>(tiles_with_holes(region.work_hole, options.tile, options.overlap).size());
  return region;
}

// The fill of one region (RGB CV_32FC3 in [0,1]) at its scale, brought back to full scale.
cv::Mat fill_region(const Inpainter& inpainter, const cv::Mat& rgb, const Region& region, const InpaintOptions& options,
                    int tiles_before, int total_tiles) {
  Timings* timings = options.timings;
  const TileFill fill = [&inpainter, &options](const cv::Mat& tile_rgb, const cv::Mat& tile_hole) {
    return inpainter.predict(tile_rgb, tile_hole, options.ensemble, options.timings);
  };
  TileProgress progress;
  if (options.progress)
    progress = [&options, tiles_before, total_tiles](int done, int) {
      options.progress(tiles_before + done, total_tiles);
    };
  // Tiling, padding and the tensor conversions are what the fill takes beyond its network passes.
  const auto tiled = [&](const cv::Mat& fill_rgb) {
    const double passes_before = timings ? timings->seconds("network pass") : 0;
    const Stopwatch stopwatch;
    cv::Mat out = fill_tiled(fill_rgb, region.work_hole, options.tile, options.overlap, fill, progress);
    if (timings)
      timings->add("tiles, padding, tensors", stopwatch.seconds() - (timings->seconds("network pass") - passes_before));
    return out;
  };
  if (region.scale == 1.0) return tiled(rgb);
  // Fill a reduced copy, put it together with the reduced photo, and scale that back up: the
  // hole's border then blends into the photo as it did at the reduced scale.
  cv::Mat small_rgb;
  {
    const Timings::Scope scope(timings, "scaling");
    cv::resize(rgb, small_rgb, region.work_hole.size(), 0, 0, cv::INTER_AREA);
  }
  cv::Mat small_filled = tiled(small_rgb);
  const Timings::Scope scope(timings, "scaling");
  small_rgb.copyTo(small_filled, region.work_hole == 0);
  cv::Mat filled;
  cv::resize(small_filled, filled, rgb.size(), 0, 0, cv::INTER_LINEAR);
  return filled;
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
  std::vector<Region> regions;
  int total_tiles = 0;
  {
    const Timings::Scope scope(timings, "regions, hole size");
    const int multiple = static_cast<int>(model_.info.architecture.size_multiple());
    const std::vector<HoleRegion> planned =
        options.context > 0 ? plan_regions(hole, options.context, options.max_hole_radius, multiple)
                            : std::vector<HoleRegion>{{cv::Rect(0, 0, image.cols, image.rows),
                                                       options.max_hole_radius > 0 ? hole_radius(hole) : 0.0}};
    for (const HoleRegion& p : planned) {
      regions.push_back(plan_region(p, hole, options));
      total_tiles += regions.back().tiles;
    }
  }
  int tiles_done = 0;
  for (const Region& region : regions) {
    const cv::Mat region_hole = hole(region.rect);
    cv::Mat rgb;
    {
      const Timings::Scope scope(timings, "colour conversion");
      rgb = to_rgb_float(image(region.rect));
    }
    cv::Mat filled = fill_region(*this, rgb, region, options, tiles_done, total_tiles);
    tiles_done += region.tiles;
    if (options.poisson_blend) {
      const Timings::Scope scope(timings, "poisson blending");
      poisson_blend_into(filled, rgb, region_hole);  // only the hole is composited
    }
    const Timings::Scope scope(timings, "composite");
    cv::Mat target = result(region.rect);
    composite_into(target, filled, region_hole);
    if (options.opaque_fill && target.channels() == 4) {
      cv::Mat alpha;
      cv::extractChannel(target, alpha, 3);
      alpha.setTo(target.depth() == CV_16U ? 65535.0 : 255.0, region_hole);
      cv::insertChannel(alpha, target, 3);
    }
  }
  return result;
}

}  // namespace pconv
