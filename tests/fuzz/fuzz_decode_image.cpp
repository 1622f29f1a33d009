// libFuzzer: any bytes as an uploaded or on-disk image, through every decoder path (the header
// readers, the JPEG check, OpenCV's or stb's codecs) and the mask thresholding behind them.
#include <cstdint>
#include <vector>

#include "pconv/io/error.h"
#include "pconv/io/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  pconv::image_dimensions(bytes);
  try {
    // The server's limit: a header that claims more is refused before decoding.
    const cv::Mat image = pconv::decode_image(bytes, "fuzz", 4'000'000);
    pconv::binarize_mask(image);
    if (image.channels() == 4) pconv::alpha_hole_mask(image);
  } catch (const pconv::Error&) {
  }
  return 0;
}
