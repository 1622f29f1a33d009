#include "pconv/inpainter.h"

#include <opencv2/imgproc.hpp>

#include "pconv/error.h"
#include "pconv/image.h"

namespace pconv {

Inpainter::Inpainter(Model model, torch::Device device) : model_(std::move(model)), device_(device) {
  model_.net->to(device_);
  model_.net->eval();
}

Inpainter Inpainter::from_file(const std::filesystem::path& model_path, torch::Device device) {
  return Inpainter(load_model(model_path, device), device);
}

void Inpainter::check(const InpaintOptions& options) const {
  const int multiple = static_cast<int>(model_.info.architecture.size_multiple());
  if (options.tile <= 0 || options.tile % multiple != 0)
    throw Error("tile size " + std::to_string(options.tile) + " must be a positive multiple of " +
                std::to_string(multiple) + " for this model");
  if (options.overlap < 0 || 2 * options.overlap >= options.tile)
    throw Error("tile overlap " + std::to_string(options.overlap) +
                " must be at least 0 and less than half the tile (" + std::to_string(options.tile) + ")");
}

cv::Mat Inpainter::predict(const cv::Mat& rgb, const cv::Mat& hole) const {
  const int multiple = static_cast<int>(model_.info.architecture.size_multiple());
  const int rows = (rgb.rows + multiple - 1) / multiple * multiple;
  const int cols = (rgb.cols + multiple - 1) / multiple * multiple;
  cv::Mat padded_rgb, padded_hole;
  cv::copyMakeBorder(rgb, padded_rgb, 0, rows - rgb.rows, 0, cols - rgb.cols, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  // The padding is marked as hole, so the partial convolutions give it no weight.
  cv::copyMakeBorder(hole, padded_hole, 0, rows - rgb.rows, 0, cols - rgb.cols, cv::BORDER_CONSTANT, cv::Scalar(255));

  c10::InferenceMode inference;
  const torch::Tensor image = to_network(padded_rgb, model_.info.normalization).to(device_);
  cv::Mat valid8 = padded_hole == 0;
  torch::Tensor valid =
      torch::from_blob(valid8.data, {1, 1, rows, cols}, torch::kUInt8).to(device_, torch::kFloat).div_(255.0);
  const torch::Tensor output = model_.net.ptr()->forward(image, valid);
  return from_network(output, model_.info.normalization)(cv::Rect(0, 0, rgb.cols, rgb.rows)).clone();
}

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

  const cv::Mat rgb = to_rgb_float(image);
  const TileFill fill = [this](const cv::Mat& tile_rgb, const cv::Mat& tile_hole) {
    return predict(tile_rgb, tile_hole);
  };
  const cv::Mat filled = fill_tiled(rgb, hole, options.tile, options.overlap, fill, options.progress);
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
