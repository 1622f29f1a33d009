#pragma once
// Large images are filled in overlapping square tiles whose results are blended with feathered
// weights, so that no seam shows where two tiles meet. Tiles without a hole pixel are skipped:
// the composite keeps every pixel outside the hole anyway.
#include <functional>
#include <opencv2/core.hpp>
#include <vector>

namespace pconv {

/// Start offsets of tiles of length `tile` covering [0, length) with at least `overlap` shared
/// pixels between neighbours, spread evenly; one tile at 0 when length <= tile.
std::vector<int> tile_starts(int length, int tile, int overlap);

/// The tiles covering an image (tiles are clipped to the image when it is smaller than a tile).
std::vector<cv::Rect> plan_tiles(cv::Size image, int tile, int overlap);

/// The tiles of plan_tiles that hold a hole pixel (CV_8U, non-zero = hole): the ones a fill runs.
std::vector<cv::Rect> tiles_with_holes(const cv::Mat& hole, int tile, int overlap);

/// Blend weights of one tile (CV_32F, tile-sized): 1 inside, ramping down towards each side that
/// borders another tile over `overlap` pixels, never reaching 0; flat on sides at the image border.
cv::Mat feather_weights(const cv::Rect& tile, cv::Size image, int overlap);

/// Fills the holes of one tile: RGB CV_32FC3 in [0,1] and a CV_8U hole mask (255 = hole) in,
/// a prediction of the same size out.
using TileFill = std::function<cv::Mat(const cv::Mat& rgb, const cv::Mat& hole)>;

/// Called after each processed tile with (done, total).
using TileProgress = std::function<void(int, int)>;

/// Runs `fill` on every tile that holds a hole pixel and blends the predictions. The result is
/// CV_32FC3, defined on the hole pixels (elsewhere it holds the input).
cv::Mat fill_tiled(const cv::Mat& rgb, const cv::Mat& hole, int tile, int overlap, const TileFill& fill,
                   const TileProgress& progress = {});

}  // namespace pconv
