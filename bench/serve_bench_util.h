#pragma once
// What the serve benchmarks share: the server's memory, latency percentiles, the request image.
#include <httplib.h>

#include <algorithm>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "pconv/data/masks.h"
#include "pconv/data/photos.h"
#include "pconv/io/image.h"

namespace pconv::bench {

// Resident set size of process `pid` in MiB, from /proc; -1 when unreadable.
inline double rss_mib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kib;
      status >> kib;
      return kib / 1024.0;
    }
    status.ignore(1 << 12, '\n');
  }
  return -1;
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

// A size×size crop of the photo and a generated hole of 10-20%, as a multipart form.
inline httplib::MultipartFormDataItems fill_form(const std::string& image_path, int size, double* hole_share) {
  const cv::Mat rgb = load_center_crop(image_path, size);
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  const cv::Mat hole = MaskGenerator(MaskGeneratorOptions(size, size).min_ratio(0.1).max_ratio(0.2), 7).generate(0);
  if (hole_share) *hole_share = static_cast<double>(cv::countNonZero(hole)) / static_cast<double>(hole.total());
  const auto to_string = [](const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); };
  return {{"image", to_string(encode_image(bgr, ".png", "image")), "image.png", "image/png"},
          {"mask", to_string(encode_image(hole, ".png", "mask")), "mask.png", "image/png"}};
}

}  // namespace pconv::bench
