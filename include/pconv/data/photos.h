#pragma once
// Photos as training and evaluation use them: folders of image files, reduced bases, random
// scale / crop / flip for training, and the deterministic centre crop for validation.
#include <torch/torch.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <random>
#include <vector>

#include "pconv/io/image.h"

namespace pconv {

/// Image files under a folder, recursively (jpg, jpeg, png, webp, bmp), sorted. Throws when none.
std::vector<std::filesystem::path> list_images(const std::filesystem::path& folder);

/// Reads a photo as 8-bit RGB with its shorter side reduced to at most 2·size (the most any
/// crop uses). Throws naming the file when it cannot be read or has more than max_pixels.
cv::Mat load_training_base(const std::filesystem::path& file, int size, int64_t max_pixels = kDefaultMaxPixels);

/// A random training sample of a base image: scaled so that its shorter side lies in
/// [size, 2·size], a random size×size crop, flipped horizontally half the time; RGB float [0,1].
cv::Mat random_crop(const cv::Mat& base, int size, bool flip, std::mt19937_64& rng);

/// The deterministic centre crop used for validation: shorter side scaled to `size`, centre square.
/// Throws naming the file when it cannot be read or has more than max_pixels.
cv::Mat load_center_crop(const std::filesystem::path& file, int size, int64_t max_pixels = kDefaultMaxPixels);

}  // namespace pconv
