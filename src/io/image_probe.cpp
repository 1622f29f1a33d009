// Image sizes from headers alone, so that a server can refuse a decompression bomb before
// decoding it. stb_image reads PNG, JPEG and BMP headers; libwebp reads WebP's.
#include <stb_image.h>
#include <webp/decode.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "pconv/io/image.h"

namespace pconv {
namespace {
uint32_t big_endian32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 |
         p[3];
}

// Read here, not by stb: stb refuses to report the size of a PNG that would decode to more
// than 1 GB, which is exactly the file that must be refused by its size.
std::optional<cv::Size> png_dimensions(const std::vector<uint8_t>& b) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (b.size() < 24 || !std::equal(kSignature, kSignature + 8, b.begin()) || std::memcmp(&b[12], "IHDR", 4) != 0)
    return std::nullopt;
  const uint32_t width = big_endian32(&b[16]), height = big_endian32(&b[20]);
  const uint32_t most = static_cast<uint32_t>(std::numeric_limits<int>::max());
  if (width == 0 || height == 0 || width > most || height > most) return std::nullopt;
  return cv::Size(static_cast<int>(width), static_cast<int>(height));
}

// The frame header (SOF0-SOF15 but DHT, JPG and DAC) holds the size; stb, like for PNG, refuses
// to report one that would decode to more than 2 GB.
std::optional<cv::Size> jpeg_dimensions(const std::vector<uint8_t>& b) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return std::nullopt;
  for (size_t i = 2; i + 9 < b.size();) {
    if (b[i] != 0xFF) return std::nullopt;
    const uint8_t marker = b[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    const size_t length = static_cast<size_t>(b[i + 2]) << 8 | b[i + 3];
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      const int height = b[i + 5] << 8 | b[i + 6], width = b[i + 7] << 8 | b[i + 8];
      if (width == 0 || height == 0) return std::nullopt;
      return cv::Size(width, height);
    }
    if (marker == 0xDA || length < 2) return std::nullopt;  // a scan before any frame header
    i += 2 + length;
  }
  return std::nullopt;
}
}  // namespace

std::optional<cv::Size> image_dimensions(const std::vector<uint8_t>& bytes) {
  if (bytes.empty() || bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return std::nullopt;
  if (const auto png = png_dimensions(bytes)) return png;
  if (const auto jpeg = jpeg_dimensions(bytes)) return jpeg;
  int width = 0, height = 0, channels = 0;
  if (WebPGetInfo(bytes.data(), bytes.size(), &width, &height)) return cv::Size(width, height);
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height, &channels) && width > 0 &&
      height > 0)
    return cv::Size(width, height);
  return std::nullopt;
}

}  // namespace pconv
