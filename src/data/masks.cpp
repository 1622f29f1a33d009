#include "pconv/data/masks.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "pconv/io/error.h"
#include "pconv/io/image.h"

namespace pconv {
namespace fs = std::filesystem;

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  auto splitmix = [](uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  return splitmix(splitmix(splitmix(seed) ^ a) ^ b);
}

double hole_ratio(const cv::Mat& hole) {
  return hole.empty() ? 0.0 : static_cast<double>(cv::countNonZero(hole)) / static_cast<double>(hole.total());
}

bool touches_border(const cv::Mat& hole) {
  const int last_row = hole.rows - 1, last_col = hole.cols - 1;
  return cv::countNonZero(hole.row(0)) || cv::countNonZero(hole.row(last_row)) || cv::countNonZero(hole.col(0)) ||
         cv::countNonZero(hole.col(last_col));
}

void MaskGeneratorOptions::check() const {
  if (width() < 8 || height() < 8)
    throw Error("mask size " + std::to_string(width()) + "x" + std::to_string(height()) +
                " is too small (at least 8x8)");
  if (!(blobs() >= 0.0 && blobs() <= 1.0)) throw Error("blob share " + std::to_string(blobs()) + ": must be 0..1");
  if (!(min_ratio() >= 0.0 && min_ratio() <= max_ratio() && max_ratio() <= 0.95))
    throw Error("hole ratio range [" + std::to_string(min_ratio()) + ", " + std::to_string(max_ratio()) +
                "] is invalid (0 <= min <= max <= 0.95)");
}

MaskGenerator::MaskGenerator(MaskGeneratorOptions options, uint64_t seed) : options_(options), seed_(seed) {
  options_.check();
}

namespace {
using Rng = std::mt19937_64;

int uniform(Rng& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, std::max(lo, hi))(rng); }

// A filled ellipse of object size, at any angle.
void draw_blob(cv::Mat& hole, Rng& rng, int min_radius) {
  const int w = hole.cols, h = hole.rows, max_radius = std::max(min_radius, std::min(w, h) / 4);
  cv::ellipse(hole, {uniform(rng, 0, w - 1), uniform(rng, 0, h - 1)},
              {uniform(rng, min_radius, max_radius), uniform(rng, min_radius, max_radius)}, uniform(rng, 0, 179), 0,
              360, cv::Scalar(255), cv::FILLED, cv::LINE_8);
}

// One random stroke: a line, a filled circle or an ellipse arc, as PConv-Keras draws them.
void draw_shape(cv::Mat& hole, Rng& rng, int max_thickness) {
  const int w = hole.cols, h = hole.rows;
  const int thickness = uniform(rng, 3, max_thickness);
  switch (uniform(rng, 0, 2)) {
    case 0:
      cv::line(hole, {uniform(rng, 0, w - 1), uniform(rng, 0, h - 1)}, {uniform(rng, 0, w - 1), uniform(rng, 0, h - 1)},
               cv::Scalar(255), thickness, cv::LINE_8);
      break;
    case 1:
      cv::circle(hole, {uniform(rng, 0, w - 1), uniform(rng, 0, h - 1)}, uniform(rng, 3, max_thickness),
                 cv::Scalar(255), cv::FILLED, cv::LINE_8);
      break;
    default:
      cv::ellipse(hole, {uniform(rng, 0, w - 1), uniform(rng, 0, h - 1)},
                  {uniform(rng, 1, w / 2), uniform(rng, 1, h / 2)}, uniform(rng, 3, 180), uniform(rng, 3, 180),
                  uniform(rng, 3, 180), cv::Scalar(255), thickness, cv::LINE_8);
  }
}

// A stroke from a random point on the border inwards, for masks that must touch it.
void draw_border_stroke(cv::Mat& hole, Rng& rng, int max_thickness) {
  const int w = hole.cols, h = hole.rows;
  cv::Point start;
  switch (uniform(rng, 0, 3)) {
    case 0:
      start = {uniform(rng, 0, w - 1), 0};
      break;
    case 1:
      start = {uniform(rng, 0, w - 1), h - 1};
      break;
    case 2:
      start = {0, uniform(rng, 0, h - 1)};
      break;
    default:
      start = {w - 1, uniform(rng, 0, h - 1)};
  }
  const cv::Point end(uniform(rng, w / 4, 3 * w / 4), uniform(rng, h / 4, 3 * h / 4));
  const cv::Point mid = start + (end - start) * (uniform(rng, 10, 100) / 100.0);
  cv::line(hole, start, mid, cv::Scalar(255), uniform(rng, 3, max_thickness), cv::LINE_8);
}
}  // namespace

cv::Mat MaskGenerator::generate(uint64_t index) const {
  const int w = options_.width(), h = options_.height();
  const int max_thickness = std::max(3, static_cast<int>(0.03 * (w + h)));
  const double total = static_cast<double>(w) * h;
  Rng rng(mix_seed(seed_, index));
  const BorderRule border = options_.border();
  for (int restart = 0; restart < 200; ++restart) {
    const double target = std::uniform_real_distribution<double>(options_.min_ratio(), options_.max_ratio())(rng);
    cv::Mat hole = cv::Mat::zeros(h, w, CV_8U);
    int holes = 0, misses = 0;
    if (border == BorderRule::kTouching) {
      draw_border_stroke(hole, rng, max_thickness);
      holes = cv::countNonZero(hole);
      if (holes > options_.max_ratio() * total) continue;
    }
    // Add strokes until the target is reached; a stroke that would overshoot the range or break
    // the border rule is drawn again, and too many misses start the mask afresh.
    while (holes < target * total && misses < 50) {
      cv::Mat next = hole.clone();
      // Only masks with blobs draw the extra random number, so stroke-only masks stay as they were.
      if (options_.blobs() > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < options_.blobs())
        draw_blob(next, rng, max_thickness);
      else
        draw_shape(next, rng, max_thickness);
      const int n = cv::countNonZero(next);
      if (n > options_.max_ratio() * total || (border == BorderRule::kNotTouching && touches_border(next))) {
        ++misses;
        continue;
      }
      hole = next;
      holes = n;
    }
    if (holes >= options_.min_ratio() * total && holes <= options_.max_ratio() * total && holes > 0) return hole;
  }
  throw Error("could not draw a mask with a hole ratio in [" + std::to_string(options_.min_ratio()) + ", " +
              std::to_string(options_.max_ratio()) + "] at " + std::to_string(w) + "x" + std::to_string(h));
}

MaskFolder::MaskFolder(const fs::path& folder, int width, int height, uint64_t seed, bool augment)
    : width_(width), height_(height), seed_(seed), augment_(augment) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error(folder.string() + ": not a folder of masks");
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(folder))
    if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) masks_.push_back(binarize_mask(load_image(f)).hole);
  if (masks_.empty())
    throw Error(folder.string() + ": no mask images (" + image_file_extensions_text() + ") in this folder or below");
}

cv::Mat MaskFolder::generate(uint64_t index) const {
  Rng rng(mix_seed(seed_, index, 1));
  const cv::Mat& source = masks_[uniform(rng, 0, static_cast<int>(masks_.size()) - 1)];
  cv::Mat m = source;
  if (augment_) {
    // The paper's augmentation: dilation (9-49 px at 512), rotation, translation, cropping.
    const double scale = std::min(source.cols, source.rows) / 512.0;
    const int k = std::max(1, static_cast<int>(std::lround(uniform(rng, 9, 49) * scale)));
    if (uniform(rng, 0, 1)) cv::dilate(m, m, cv::getStructuringElement(cv::MORPH_ELLIPSE, {k, k}));
    const cv::Point2f centre(m.cols / 2.0f, m.rows / 2.0f);
    cv::Mat affine = cv::getRotationMatrix2D(centre, uniform(rng, 0, 359), 1.0);
    affine.at<double>(0, 2) += uniform(rng, -m.cols / 4, m.cols / 4);
    affine.at<double>(1, 2) += uniform(rng, -m.rows / 4, m.rows / 4);
    cv::warpAffine(m, m, affine, m.size(), cv::INTER_NEAREST, cv::BORDER_CONSTANT, cv::Scalar(0));
    const int side = std::min(m.cols, m.rows);
    const int crop = uniform(rng, side / 2, side);
    m = m(cv::Rect(uniform(rng, 0, m.cols - crop), uniform(rng, 0, m.rows - crop), crop, crop));
  }
  cv::Mat out;
  cv::resize(m, out, {width_, height_}, 0, 0, cv::INTER_NEAREST);
  return out > 127;
}

}  // namespace pconv
