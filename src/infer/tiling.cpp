#include "pconv/infer/tiling.h"

#include <algorithm>
#include <cmath>

#include "pconv/io/error.h"

namespace pconv {

std::vector<int> tile_starts(int length, int tile, int overlap) {
  if (tile <= 0 || overlap < 0 || overlap >= tile) throw Error("tile overlap must be smaller than the tile size");
  if (length <= tile) return {0};
  const int stride = tile - overlap;
  const int count = 1 + (length - tile + stride - 1) / stride;
  std::vector<int> starts(count);
  for (int i = 0; i < count; ++i)
    starts[i] = static_cast<int>(std::lround(static_cast<double>(i) * (length - tile) / (count - 1)));
  return starts;
}

std::vector<cv::Rect> plan_tiles(cv::Size image, int tile, int overlap) {
  std::vector<cv::Rect> tiles;
  const int w = std::min(tile, image.width), h = std::min(tile, image.height);
  for (int y : tile_starts(image.height, tile, overlap))
    for (int x : tile_starts(image.width, tile, overlap)) tiles.emplace_back(x, y, w, h);
  return tiles;
}

std::vector<cv::Rect> tiles_with_holes(const cv::Mat& hole, int tile, int overlap) {
  std::vector<cv::Rect> tiles;
  for (const cv::Rect& r : plan_tiles(hole.size(), tile, overlap))
    if (cv::countNonZero(hole(r)) > 0) tiles.push_back(r);
  return tiles;
}

namespace {
// Ramp of one axis: (i+1)/(overlap+1) over the first/last `overlap` entries on inner sides.
std::vector<float> axis_weights(int start, int size, int length, int overlap) {
  std::vector<float> w(size, 1.0f);
  const int ramp = std::min(overlap, size / 2);
  for (int i = 0; i < ramp; ++i) {
    const float v = static_cast<float>(i + 1) / static_cast<float>(ramp + 1);
    if (start > 0) w[i] = std::min(w[i], v);
    if (start + size < length) w[size - 1 - i] = std::min(w[size - 1 - i], v);
  }
  return w;
}
}  // namespace

cv::Mat feather_weights(const cv::Rect& tile, cv::Size image, int overlap) {
  const auto wx = axis_weights(tile.x, tile.width, image.width, overlap);
  const auto wy = axis_weights(tile.y, tile.height, image.height, overlap);
  cv::Mat weights(tile.height, tile.width, CV_32F);
  for (int y = 0; y < tile.height; ++y) {
    auto* row = weights.ptr<float>(y);
    for (int x = 0; x < tile.width; ++x) row[x] = wx[x] * wy[y];
  }
  return weights;
}

cv::Mat fill_tiled(const cv::Mat& rgb, const cv::Mat& hole, int tile, int overlap, const TileFill& fill,
                   const TileProgress& progress) {
  CV_Assert(rgb.type() == CV_32FC3 && hole.type() == CV_8U && rgb.size() == hole.size());
  const std::vector<cv::Rect> work = tiles_with_holes(hole, tile, overlap);

  cv::Mat sum = cv::Mat::zeros(rgb.size(), CV_32FC3);
  cv::Mat weight = cv::Mat::zeros(rgb.size(), CV_32F);
  int done = 0;
  for (const cv::Rect& r : work) {
    const cv::Mat prediction = fill(rgb(r), hole(r));
    CV_Assert(prediction.type() == CV_32FC3 && prediction.size() == r.size());
    const cv::Mat w = feather_weights(r, rgb.size(), overlap);
    cv::Mat w3;
    cv::merge(std::vector<cv::Mat>{w, w, w}, w3);
    cv::Mat weighted;
    cv::multiply(prediction, w3, weighted);
    sum(r) += weighted;
    weight(r) += w;
    if (progress) progress(++done, static_cast<int>(work.size()));
  }
  // The blend is written into `sum` row by row: at 12 megapixels every full-size float image is
  // 48-144 MB, and the whole-image arithmetic this replaces made four more of them.
  for (int y = 0; y < sum.rows; ++y) {
    auto* out = sum.ptr<cv::Vec3f>(y);
    const auto* w = weight.ptr<float>(y);
    const auto* photo = rgb.ptr<cv::Vec3f>(y);
    for (int x = 0; x < sum.cols; ++x) {
      if (!(w[x] > 0)) {
        out[x] = photo[x];
        continue;
      }
      const float floored = std::max(w[x], 1e-12f);
      for (int c = 0; c < 3; ++c) out[x][c] /= floored;  // not Vec's operator/, which multiplies by 1/w
    }
  }
  return sum;
}

}  // namespace pconv
