#include "pconv/data/photos.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/image.h"

namespace pconv {
namespace fs = std::filesystem;

std::vector<fs::path> list_images(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error(folder.string() + ": not a folder of images");
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(folder, fs::directory_options::follow_directory_symlink))
    if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty())
    throw Error(folder.string() + ": no images (" + image_file_extensions_text() + ") in this folder or below");
  return files;
}

namespace {

cv::Mat scale_shorter_side(const cv::Mat& rgb, int target) {
  const double f = static_cast<double>(target) / std::min(rgb.cols, rgb.rows);
  cv::Mat out;
  cv::resize(rgb, out,
             {std::max(target, static_cast<int>(std::lround(rgb.cols * f))),
              std::max(target, static_cast<int>(std::lround(rgb.rows * f)))},
             0, 0, f < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}
}  // namespace

cv::Mat load_training_base(const fs::path& file, int size, int64_t max_pixels) {
  cv::Mat rgb = to_rgb(load_image(file, max_pixels));
  if (rgb.depth() == CV_16U) rgb.convertTo(rgb, CV_8U, 1.0 / 257.0);
  if (std::min(rgb.cols, rgb.rows) > 2 * size) rgb = scale_shorter_side(rgb, 2 * size);
  return rgb;
}

cv::Mat random_crop(const cv::Mat& base, int size, bool flip, std::mt19937_64& rng) {
  const int hi = std::max(size, std::min(2 * size, std::min(base.cols, base.rows)));
  const cv::Mat scaled = scale_shorter_side(base, std::uniform_int_distribution<int>(size, hi)(rng));
  const int x = std::uniform_int_distribution<int>(0, scaled.cols - size)(rng);
  const int y = std::uniform_int_distribution<int>(0, scaled.rows - size)(rng);
  cv::Mat crop;
  scaled(cv::Rect(x, y, size, size)).convertTo(crop, CV_32F, 1.0 / 255.0);
  if (flip && std::uniform_int_distribution<int>(0, 1)(rng)) cv::flip(crop, crop, 1);
  return crop;
}

cv::Mat load_center_crop(const fs::path& file, int size, int64_t max_pixels) {
  const cv::Mat rgb = to_rgb_float(load_image(file, max_pixels));
  const cv::Mat scaled = scale_shorter_side(rgb, size);
  return scaled(cv::Rect((scaled.cols - size) / 2, (scaled.rows - size) / 2, size, size)).clone();
}

}  // namespace pconv
