#include <stb_image.h>
#include <stb_image_write.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include <algorithm>
#include <memory>
#include <opencv2/imgproc.hpp>

#include "codec.h"

namespace pconv::codec {
namespace {

// stb gives RGB(A) or gray; the library works in OpenCV's BGR(A).
cv::Mat to_bgr(cv::Mat image) {
  if (image.channels() == 3) cv::cvtColor(image, image, cv::COLOR_RGB2BGR);
  if (image.channels() == 4) cv::cvtColor(image, image, cv::COLOR_RGBA2BGRA);
  if (image.channels() == 2) {  // gray + alpha: the alpha may mark the hole, so it is kept
    cv::Mat planes[2];
    cv::split(image, planes);
    cv::merge(std::vector<cv::Mat>{planes[0], planes[0], planes[0], planes[1]}, image);
  }
  return image;
}

cv::Mat decode_webp(const std::vector<uint8_t>& bytes) {
  WebPBitstreamFeatures features;
  if (WebPGetFeatures(bytes.data(), bytes.size(), &features) != VP8_STATUS_OK) return {};
  int width = 0, height = 0;
  std::unique_ptr<uint8_t, void (*)(void*)> pixels(features.has_alpha
                                                       ? WebPDecodeBGRA(bytes.data(), bytes.size(), &width, &height)
                                                       : WebPDecodeBGR(bytes.data(), bytes.size(), &width, &height),
                                                   WebPFree);
  if (!pixels) return {};
  return cv::Mat(height, width, features.has_alpha ? CV_8UC4 : CV_8UC3, pixels.get()).clone();
}

void append(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

// Lossless: a fill sent back as WebP should not lose detail around the hole.
bool encode_webp(const cv::Mat& image, std::vector<uint8_t>& bytes) {
  uint8_t* out = nullptr;
  const int stride = static_cast<int>(image.step);
  const size_t size = image.channels() == 4 ? WebPEncodeLosslessBGRA(image.data, image.cols, image.rows, stride, &out)
                                            : WebPEncodeLosslessBGR(image.data, image.cols, image.rows, stride, &out);
  std::unique_ptr<uint8_t, void (*)(void*)> owned(out, WebPFree);
  if (size == 0) return false;
  bytes.assign(out, out + size);
  return true;
}

}  // namespace

cv::Mat decode(const std::vector<uint8_t>& bytes) {
  const bool webp = bytes.size() >= 12 && std::equal(bytes.begin(), bytes.begin() + 4, "RIFF") &&
                    std::equal(bytes.begin() + 8, bytes.begin() + 12, "WEBP");
  if (webp) return decode_webp(bytes);
  const auto* data = bytes.data();
  const int size = static_cast<int>(bytes.size());
  int width = 0, height = 0, channels = 0;
  const bool sixteen = stbi_is_16_bit_from_memory(data, size);
  std::unique_ptr<void, void (*)(void*)> pixels(
      sixteen ? static_cast<void*>(stbi_load_16_from_memory(data, size, &width, &height, &channels, 0))
              : static_cast<void*>(stbi_load_from_memory(data, size, &width, &height, &channels, 0)),
      stbi_image_free);
  if (!pixels) return {};
  const int type = CV_MAKETYPE(sixteen ? CV_16U : CV_8U, channels);
  return to_bgr(cv::Mat(height, width, type, pixels.get()).clone());
}

const std::vector<std::string>& read_extensions() {
  static const std::vector<std::string> extensions = {".png", ".jpg", ".jpeg", ".webp", ".bmp"};
  return extensions;
}

bool can_write(const std::string& ext) {
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".webp";
}

bool encode(const cv::Mat& image, const std::string& ext, int jpeg_quality, std::vector<uint8_t>& bytes) {
  if (!can_write(ext) || image.depth() != CV_8U) return false;  // stb and libwebp write 8 bits only
  if (ext == ".webp") {
    cv::Mat bgr;
    if (image.channels() == 1)
      cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
    else
      bgr = image;
    return encode_webp(bgr.isContinuous() ? bgr : bgr.clone(), bytes);
  }
  cv::Mat rgb;  // not a copy of `image`'s header: cvtColor would convert the caller's pixels in place
  if (image.channels() == 3)
    cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
  else if (image.channels() == 4)
    cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGBA);
  else
    rgb = image;
  rgb = rgb.isContinuous() ? rgb : rgb.clone();
  const int w = rgb.cols, h = rgb.rows, c = rgb.channels();
  bytes.clear();
  if (ext == ".png") return stbi_write_png_to_func(append, &bytes, w, h, c, rgb.data, static_cast<int>(rgb.step)) != 0;
  if (ext == ".bmp") return stbi_write_bmp_to_func(append, &bytes, w, h, c, rgb.data) != 0;
  return stbi_write_jpg_to_func(append, &bytes, w, h, c, rgb.data, jpeg_quality) != 0;
}

}  // namespace pconv::codec
