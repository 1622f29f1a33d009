#pragma once
// Images and masks as users have them on disk.
//
// Images: 8- or 16-bit, grayscale, BGR or BGRA as OpenCV decodes them, with EXIF orientation
// applied. Masks on disk follow IOPaint, LaMa and OpenCV: white / non-zero = hole; `invert` reads
// the paper's convention (white = valid). Inside the library a hole mask is CV_8U, 255 = hole.
#include <filesystem>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pconv {

/// Images larger than this many pixels are refused unless a caller says otherwise: a 10 KB file
/// can decode to 16383x16383, and filling 64 megapixels already takes several GB.
constexpr int64_t kDefaultMaxPixels = 64'000'000;

/// Decodes an image file (jpg, png, webp, bmp, tiff, ...). Throws naming the file when it is
/// missing, unreadable, corrupt or truncated (a JPEG whose data libjpeg warns about), not an
/// image, or larger than max_pixels (0 = no limit; read from the header where the format's is
/// understood, before decoding).
cv::Mat load_image(const std::filesystem::path& path, int64_t max_pixels = kDefaultMaxPixels);

/// Decodes image bytes; `what` names them in errors. With max_pixels > 0 the size is read from
/// the header first and anything larger, or in a format whose header is not understood (only
/// PNG, JPEG, WebP and BMP are), is refused before any pixel is decoded.
cv::Mat decode_image(const std::vector<uint8_t>& bytes, const std::string& what, int64_t max_pixels = 0);

/// Width and height from the header of a PNG, JPEG, WebP or BMP image, without decoding it;
/// nothing for other bytes.
std::optional<cv::Size> image_dimensions(const std::vector<uint8_t>& bytes);

struct HoleMask {
  cv::Mat hole;                ///< CV_8U, 255 = hole, 0 = keep
  double gray_fraction = 0.0;  ///< share of pixels that were neither black nor white before thresholding
  bool from_alpha = false;     ///< the image's own transparency marked the hole (see image_hole)
};

/// Thresholds a mask image of any depth and channel count at 127 (of 255): a pixel is a hole when
/// its brightest colour channel is above it (below it, with `invert`). Alpha is ignored.
HoleMask binarize_mask(const cv::Mat& raw, bool invert = false);

/// The hole mask of an image's own transparency: alpha at or below 127 (of 255) is a hole.
cv::Mat alpha_hole_mask(const cv::Mat& image);

/// The hole of `image`, as the CLI and the server decide it: from `mask` (binarize_mask, with
/// `invert`) when one is given (not empty), else from the image's own transparency; nothing when
/// there is neither. Sizes are the caller's to check: it knows what it may do about a mismatch.
std::optional<HoleMask> image_hole(const cv::Mat& image, const cv::Mat& mask, bool invert = false);

/// The hole grown by `pixels` in every direction (a disc, exact at any size): a hand-painted mask
/// misses an object's halo and shadow, which the fill would otherwise drag back in (GIMP's Select ▸
/// Grow, IOPaint's mask dilation). 0 returns `hole` itself. `--dilate` in inpaint, serve, evaluate.
cv::Mat grow_hole(const cv::Mat& hole, int pixels);
/// The largest `pixels` grow_hole takes (commands and the API refuse more).
constexpr int kMaxGrowPixels = 1000;

/// Encodes by the path's extension and writes atomically. 16-bit images bound for a format that
/// cannot hold them (JPEG, WebP) are reduced to 8 bits with a warning.
void save_image(const std::filesystem::path& path, const cv::Mat& image, int jpeg_quality = 95);

/// The bytes save_image would write for this extension (".png"); `what` names the image in errors.
std::vector<uint8_t> encode_image(const cv::Mat& image, const std::string& lower_ext, const std::string& what,
                                  int jpeg_quality = 95);

/// The extensions of the image files pconv picks out of folders (lower case, with the dot): .png,
/// .jpg, .jpeg, .webp, .bmp, and .tif, .tiff where this build reads TIFF (OpenCV's codecs).
const std::vector<std::string>& image_file_extensions();

/// Whether `path` ends in one of image_file_extensions(), in any case (".JPG" too).
bool is_image_file(const std::filesystem::path& path);

/// image_file_extensions() for messages: "png, jpg, jpeg, …".
std::string image_file_extensions_text();

/// Whether OpenCV can write an image with this extension (".png").
bool is_image_extension(const std::string& lower_ext);

/// Any image as RGB of its own depth (alpha dropped, gray replicated).
cv::Mat to_rgb(const cv::Mat& image);

/// Any image as float RGB in [0,1], CV_32FC3 (alpha dropped, gray replicated).
cv::Mat to_rgb_float(const cv::Mat& image);

/// RGB float [0,1] -> 8-bit BGR, as OpenCV writes and inpaints images.
cv::Mat rgb_float_to_bgr8(const cv::Mat& rgb);

/// Writes `rgb` (CV_32FC3, [0,1]) into the hole pixels of `image` (the input's own depth and
/// channels); every other pixel is left untouched.
void composite_into(cv::Mat& image, const cv::Mat& rgb, const cv::Mat& hole);

}  // namespace pconv
