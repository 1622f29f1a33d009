#pragma once
// The paper's evaluation masks: hole-to-image area buckets (0.01,0.1], (0.1,0.2], …, (0.5,0.6],
// each with and without holes touching the image border, and mask sets of them on disk
// (`pconv masks`), so that methods are compared on the same holes.
//
// A hole "touches the border" when at least one hole pixel lies in the image's outermost row or
// column.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "pconv/data/masks.h"

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

struct MaskSetOptions {
  std::filesystem::path out;
  int width = 512, height = 512;
  int per_category = 100;  ///< masks in each bucket × border category
  uint64_t seed = 0;
  std::filesystem::path images;  ///< optional: also write originals and masked images

  /// Throws pconv::OptionError naming the first bad field.
  void check() const;
};

/// Writes <out>/<bucket>/<border|no_border>/NNNNN.png (white = hole) and <out>/masks.json; with
/// images, also NNNNN_image.png and NNNNN_masked.png beside each mask. Returns masks written.
size_t write_mask_set(const MaskSetOptions& options, const std::function<void(size_t, size_t)>& progress = {});

/// Reads a mask set written by write_mask_set: the masks of each category, in order.
std::vector<std::pair<MaskCategory, std::vector<std::filesystem::path>>> read_mask_set(
    const std::filesystem::path& dir);

}  // namespace pconv
