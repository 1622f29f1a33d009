// Image file codecs behind decode_image / encode_image: OpenCV's imgcodecs, or, where that
// module cannot be had (the GPU build machine has no OpenCV and imgcodecs drags GDAL along),
// stb_image + libwebp. Private to the library.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pconv::codec {

/// Decodes PNG/JPEG/... bytes into BGR(A) or gray, 8 or 16 bits, EXIF orientation applied where
/// the backend can; an empty Mat when the bytes are not a readable image.
cv::Mat decode(const std::vector<uint8_t>& bytes);

/// The extensions (".png", ...) of the formats the backend reads, as pconv picks them out of folders.
const std::vector<std::string>& read_extensions();

/// Whether `ext` (".png", ".jpg", ...) names a format the backend writes.
bool can_write(const std::string& ext);

/// Encodes `image` (8 or 16 bits, as the format allows); false when the backend cannot.
bool encode(const cv::Mat& image, const std::string& ext, int jpeg_quality, std::vector<uint8_t>& bytes);

}  // namespace pconv::codec
