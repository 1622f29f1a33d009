#include "pconv/io/image.h"

#include <algorithm>
#include <iomanip>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "codec.h"
#include "image_check.h"
#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/log.h"

namespace pconv {
namespace fs = std::filesystem;

namespace {
double full_scale(int depth) { return depth == CV_16U ? 65535.0 : 255.0; }

void check_pixels(const std::string& what, cv::Size size, int64_t max_pixels) {
  const int64_t pixels = static_cast<int64_t>(size.width) * size.height;
  if (max_pixels <= 0 || pixels <= max_pixels) return;
  std::ostringstream msg;
  msg << what << ": " << size.width << "x" << size.height << " is " << std::setprecision(3) << pixels / 1e6
      << " megapixels, more than the limit of " << std::setprecision(6) << max_pixels / 1e6;
  throw PixelLimitError(msg.str());
}

cv::Mat decode_checked(const std::vector<uint8_t>& bytes, const std::string& what) {
  if (const std::optional<std::string> problem = image_problem(bytes))
    throw Error(what + ": corrupt or truncated " + (is_jpeg(bytes) ? "JPEG" : "PNG") + ": " + *problem);
  // pconv, like OpenCV, ignores colour profiles, and libpng prints to stderr about sRGB profiles
  // it thinks wrong ("iCCP: known incorrect sRGB profile"): the profile is dropped unread.
  const std::optional<std::vector<uint8_t>> without_profile = png_without_colour_profile(bytes);
  cv::Mat image = codec::decode(without_profile ? *without_profile : bytes);
  if (image.empty()) throw Error(what + ": not a readable image (corrupt or unsupported format)");
  if (image.depth() != CV_8U && image.depth() != CV_16U)
    throw Error(what + ": only 8- and 16-bit images are supported");
  return image;
}
}  // namespace

cv::Mat load_image(const fs::path& path, int64_t max_pixels) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path.string() + ": no such file");
  const std::vector<uint8_t> bytes = read_file(path);
  if (bytes.empty()) throw Error(path.string() + ": file is empty");
  // From the header where it is understood; other formats (TIFF, ...) after decoding, within
  // OpenCV's own limit.
  if (const std::optional<cv::Size> size = image_dimensions(bytes)) check_pixels(path.string(), *size, max_pixels);
  cv::Mat image = decode_checked(bytes, path.string());
  check_pixels(path.string(), image.size(), max_pixels);
  return image;
}

cv::Mat decode_image(const std::vector<uint8_t>& bytes, const std::string& what, int64_t max_pixels) {
  if (bytes.empty()) throw Error(what + ": file is empty");
  if (max_pixels > 0) {
    // Checked from the header, before decoding: a small PNG can decode to gigabytes.
    const std::optional<cv::Size> size = image_dimensions(bytes);
    if (!size) throw Error(what + ": not a PNG, JPEG, WebP or BMP image");
    check_pixels(what, *size, max_pixels);
  }
  return decode_checked(bytes, what);
}

HoleMask binarize_mask(const cv::Mat& raw, bool invert) {
  cv::Mat gray8;
  {
    cv::Mat value = raw;
    if (raw.channels() >= 3) {
      std::vector<cv::Mat> planes;
      cv::split(raw, planes);
      value = cv::max(cv::max(planes[0], planes[1]), planes[2]);
    }
    value.convertTo(gray8, CV_8U, 255.0 / full_scale(raw.depth()));
  }
  HoleMask mask;
  const double total = static_cast<double>(gray8.total());
  const double extremes = cv::countNonZero(gray8 == 0) + cv::countNonZero(gray8 == 255);
  mask.gray_fraction = total > 0 ? 1.0 - extremes / total : 0.0;
  mask.hole = invert ? (gray8 <= 127) : (gray8 > 127);
  return mask;
}

cv::Mat alpha_hole_mask(const cv::Mat& image) {
  if (image.channels() != 4) throw Error("image has no alpha channel to use as the mask");
  cv::Mat alpha, alpha8;
  cv::extractChannel(image, alpha, 3);
  alpha.convertTo(alpha8, CV_8U, 255.0 / full_scale(image.depth()));
  return alpha8 <= 127;
}

const std::vector<std::string>& image_file_extensions() { return codec::read_extensions(); }

bool is_image_file(const fs::path& path) {
  const auto& all = image_file_extensions();
  return std::find(all.begin(), all.end(), lower_extension(path)) != all.end();
}

std::string image_file_extensions_text() {
  std::string text;
  for (const auto& ext : image_file_extensions()) text += (text.empty() ? "" : ", ") + ext.substr(1);
  return text;
}

std::optional<HoleMask> image_hole(const cv::Mat& image, const cv::Mat& mask, bool invert) {
  if (!mask.empty()) return binarize_mask(mask, invert);
  if (image.channels() != 4) return std::nullopt;
  HoleMask alpha;
  alpha.hole = alpha_hole_mask(image);
  alpha.from_alpha = true;
  return alpha;
}

cv::Mat grow_hole(const cv::Mat& hole, int pixels) {
  if (pixels < 0 || pixels > kMaxGrowPixels)
    throw Error("grow the hole by " + std::to_string(pixels) + " pixels: must be 0.." + std::to_string(kMaxGrowPixels));
  if (pixels == 0 || cv::countNonZero(hole) == 0) return hole;
  // A distance transform costs the same at any radius; a disc-shaped cv::dilate costs its area.
  cv::Mat keep = hole == 0, distance;
  cv::distanceTransform(keep, distance, cv::DIST_L2, cv::DIST_MASK_PRECISE);
  cv::Mat grown = distance <= pixels;
  return grown;
}

bool is_image_extension(const std::string& ext) { return codec::can_write(ext); }

std::vector<uint8_t> encode_image(const cv::Mat& image, const std::string& ext, const std::string& what,
                                  int jpeg_quality) {
  if (ext.empty() || !is_image_extension(ext))
    throw Error(what + ": cannot tell an image format from the extension '" + ext + "' (use .png, .jpg, ...)");
  cv::Mat out = image;
  const bool eight_bit_only = ext == ".jpg" || ext == ".jpeg" || ext == ".webp" || ext == ".bmp";
  if (image.depth() == CV_16U && eight_bit_only) {
    log_warning(what + ": " + ext +
                " holds 8 bits per channel; the 16-bit result is reduced (use .png or .tiff to keep 16 bits)");
    image.convertTo(out, CV_8U, 1.0 / 257.0);
  }
  if (out.channels() == 4 && (ext == ".jpg" || ext == ".jpeg")) {
    log_warning(what + ": JPEG has no alpha channel; it is dropped (use .png to keep it)");
    cv::cvtColor(out, out, cv::COLOR_BGRA2BGR);
  }
  std::vector<uint8_t> bytes;
  const bool ok = codec::encode(out, ext, jpeg_quality, bytes);
  if (!ok) throw Error(what + ": cannot encode the image as " + ext);
  return bytes;
}

void save_image(const fs::path& path, const cv::Mat& image, int jpeg_quality) {
  write_file_atomic(path, encode_image(image, lower_extension(path), path.string(), jpeg_quality));
}

cv::Mat to_rgb(const cv::Mat& image) {
  cv::Mat rgb;
  switch (image.channels()) {
    case 1:
      cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      throw Error("images with " + std::to_string(image.channels()) + " channels are not supported");
  }
  return rgb;
}

cv::Mat to_rgb_float(const cv::Mat& image) {
  cv::Mat rgb;
  to_rgb(image).convertTo(rgb, CV_32F, 1.0 / full_scale(image.depth()));
  return rgb;
}

cv::Mat rgb_float_to_bgr8(const cv::Mat& rgb) {
  cv::Mat bgr, out;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  bgr.convertTo(out, CV_8U, 255.0);
  return out;
}

namespace {
// composite_into on one band of rows.
void composite_rows(cv::Mat image, const cv::Mat& rgb, const cv::Mat& hole) {
  cv::Mat color;
  switch (image.channels()) {
    case 1:
      cv::cvtColor(rgb, color, cv::COLOR_RGB2GRAY);
      break;
    case 3:
      cv::cvtColor(rgb, color, cv::COLOR_RGB2BGR);
      break;
    case 4: {
      cv::Mat bgr, alpha;
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
      cv::extractChannel(image, alpha, 3);
      alpha.convertTo(alpha, CV_32F, 1.0 / full_scale(image.depth()));
      std::vector<cv::Mat> planes;
      cv::split(bgr, planes);
      planes.push_back(alpha);
      cv::merge(planes, color);
      break;
    }
    default:
      throw Error("images with " + std::to_string(image.channels()) + " channels are not supported");
  }
  cv::Mat converted;
  color.convertTo(converted, image.type(), full_scale(image.depth()));
  converted.copyTo(image, hole);
}
}  // namespace

void composite_into(cv::Mat& image, const cv::Mat& rgb, const cv::Mat& hole) {
  CV_Assert(rgb.type() == CV_32FC3 && rgb.size() == image.size() && hole.size() == image.size());
  // In bands of rows, so that the conversions' temporaries stay small on a 12-megapixel region.
  constexpr int kBand = 256;
  for (int y = 0; y < image.rows; y += kBand) {
    const cv::Range rows(y, std::min(y + kBand, image.rows));
    composite_rows(image.rowRange(rows), rgb.rowRange(rows), hole.rowRange(rows));
  }
}

}  // namespace pconv
