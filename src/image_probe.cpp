// Image sizes from headers alone, so that a server can refuse a decompression bomb before
// decoding it. stb_image reads PNG, JPEG and BMP headers; libwebp reads WebP's.
#include <stb_image.h>
#include <webp/decode.h>

#include <limits>

#include "pconv/image.h"

namespace pconv {

std::optional<cv::Size> image_dimensions(const std::vector<uint8_t>& bytes) {
  if (bytes.empty() || bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return std::nullopt;
  int width = 0, height = 0, channels = 0;
  if (WebPGetInfo(bytes.data(), bytes.size(), &width, &height)) return cv::Size(width, height);
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height, &channels) && width > 0 &&
      height > 0)
    return cv::Size(width, height);
  return std::nullopt;
}

}  // namespace pconv
