// Hole buckets, mask categories and mask sets on disk (pconv masks).
#include "pconv/data/mask_set.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "pconv/data/photos.h"
#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/image.h"

namespace pconv {
namespace fs = std::filesystem;
using nlohmann::json;

std::string HoleBucket::name() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g-%g", lo, hi);
  return buf;
}

const std::vector<HoleBucket>& paper_buckets() {
  static const std::vector<HoleBucket> buckets = {{0.01, 0.1}, {0.1, 0.2}, {0.2, 0.3},
                                                  {0.3, 0.4},  {0.4, 0.5}, {0.5, 0.6}};
  return buckets;
}

std::string MaskCategory::name() const { return bucket.name() + (border ? "/border" : "/no_border"); }

std::vector<MaskCategory> paper_categories() {
  std::vector<MaskCategory> out;
  for (const auto& b : paper_buckets())
    for (bool border : {false, true}) out.push_back({b, border});
  return out;
}

MaskGenerator category_generator(const MaskCategory& c, int width, int height, uint64_t seed) {
  // (lo, hi]: one hole pixel more than lo·area at least.
  const double above = c.bucket.lo + 1.0 / (static_cast<double>(width) * height);
  const uint64_t category_seed = mix_seed(seed, static_cast<uint64_t>(c.bucket.lo * 1000), c.border);
  return MaskGenerator(MaskGeneratorOptions(width, height)
                           .min_ratio(above)
                           .max_ratio(c.bucket.hi)
                           .border(c.border ? BorderRule::kTouching : BorderRule::kNotTouching),
                       category_seed);
}

namespace {
std::string index_name(size_t k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%05zu", k);
  return buf;
}
}  // namespace

void MaskSetOptions::check() const {
  if (per_category < 1) throw OptionError("per_category", std::to_string(per_category), "must be at least 1");
  if (width < 16 || height < 16)
    throw OptionError("width", std::to_string(width) + "x" + std::to_string(height), "must be at least 16x16");
  if (width != height && !images.empty())
    throw OptionError("images", "", "masked images need square masks (width = height)", {"width", "height"});
}

size_t write_mask_set(const MaskSetOptions& o, const std::function<void(size_t, size_t)>& progress) {
  o.check();
  std::vector<fs::path> photos;
  if (!o.images.empty()) photos = list_images(o.images);
  json manifest = {{"format", "pconv-mask-set"},
                   {"version", 1},
                   {"width", o.width},
                   {"height", o.height},
                   {"seed", o.seed},
                   {"per_category", o.per_category},
                   {"hole", "white (255)"},
                   {"border", "a hole touches the border when a hole pixel lies in the outermost row or column"},
                   {"categories", json::object()}};
  const auto categories = paper_categories();
  const size_t total = categories.size() * static_cast<size_t>(o.per_category);
  size_t done = 0;
  for (const auto& c : categories) {
    const fs::path dir = o.out / c.name();
    fs::create_directories(dir);
    const MaskGenerator gen = category_generator(c, o.width, o.height, o.seed);
    json ratios = json::array();
    for (int k = 0; k < o.per_category; ++k) {
      const cv::Mat hole = gen.generate(static_cast<uint64_t>(k));
      save_image(dir / (index_name(k) + ".png"), hole);
      ratios.push_back(hole_ratio(hole));
      if (!photos.empty()) {
        const cv::Mat image = load_center_crop(photos[static_cast<size_t>(k) % photos.size()], o.width);
        cv::Mat masked = rgb_float_to_bgr8(image);
        save_image(dir / (index_name(k) + "_image.png"), masked);
        masked.setTo(cv::Scalar::all(255), hole);
        save_image(dir / (index_name(k) + "_masked.png"), masked);
      }
      if (progress) progress(++done, total);
    }
    manifest["categories"][c.name()] = {
        {"lo", c.bucket.lo}, {"hi", c.bucket.hi}, {"border", c.border}, {"ratios", ratios}};
  }
  const std::string text = manifest.dump(1) + "\n";
  write_file_atomic(o.out / "masks.json", text.data(), text.size());
  return total;
}

std::vector<std::pair<MaskCategory, std::vector<fs::path>>> read_mask_set(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir.string() + ": not a mask set folder");
  std::vector<std::pair<MaskCategory, std::vector<fs::path>>> out;
  for (const auto& c : paper_categories()) {
    const fs::path sub = dir / c.name();
    std::vector<fs::path> masks;
    if (fs::is_directory(sub, ec))
      for (const auto& e : fs::directory_iterator(sub)) {
        const std::string stem = e.path().stem().string();
        if (e.path().extension() == ".png" && stem.find('_') == std::string::npos) masks.push_back(e.path());
      }
    std::sort(masks.begin(), masks.end());
    if (!masks.empty()) out.emplace_back(c, masks);
  }
  if (out.empty())
    throw Error(dir.string() + ": no masks in <bucket>/<border|no_border>/ folders (make a set with pconv masks)");
  return out;
}

}  // namespace pconv
