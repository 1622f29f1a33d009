#include <opencv2/imgcodecs.hpp>

#include "codec.h"

namespace pconv::codec {

cv::Mat decode(const std::vector<uint8_t>& bytes) {
  // IMREAD_UNCHANGED keeps alpha and 16 bits but ignores EXIF orientation; JPEG has no alpha,
  // so it is decoded with the flags that apply the orientation instead.
  const bool jpeg = bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  const int flags = jpeg ? (cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH) : cv::IMREAD_UNCHANGED;
  try {
    return cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<uint8_t*>(bytes.data())), flags);
  } catch (const cv::Exception&) {
    return {};
  }
}

const std::vector<std::string>& read_extensions() {
  static const std::vector<std::string> extensions = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"};
  return extensions;
}

bool can_write(const std::string& ext) { return cv::haveImageWriter("x" + ext); }

bool encode(const cv::Mat& image, const std::string& ext, int jpeg_quality, std::vector<uint8_t>& bytes) {
  std::vector<int> params;
  if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, jpeg_quality};
  try {
    return cv::imencode(ext, image, bytes, params);
  } catch (const cv::Exception&) {
    return false;
  }
}

}  // namespace pconv::codec
