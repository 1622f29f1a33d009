#include "image_check.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

#ifdef PCONV_HAVE_LIBJPEG
#include <jpeglib.h>
#endif
#ifdef PCONV_HAVE_ZLIB
#include <zlib.h>
#endif

namespace pconv {
namespace {

#ifdef PCONV_HAVE_LIBJPEG
// libjpeg reports through callbacks; a warning (corrupt data, premature end) becomes an error
// here, because OpenCV's decoder would carry on and return grey rows.
struct Reporter {
  jpeg_error_mgr base;
  std::jmp_buf escape;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr info) {
  Reporter* r = reinterpret_cast<Reporter*>(info->err);
  (*info->err->format_message)(info, r->message);
  std::longjmp(r->escape, 1);
}

void on_message(j_common_ptr info, int level) {
  if (level < 0) on_error(info);  // level -1 is a warning about the data; higher ones are traces
}

// Plain C in this frame: nothing here has a destructor that longjmp would skip.
bool scan(const uint8_t* data, size_t size, char* message) {
  jpeg_decompress_struct info;
  Reporter reporter;
  info.err = jpeg_std_error(&reporter.base);
  reporter.base.error_exit = on_error;
  reporter.base.emit_message = on_message;
  reporter.message[0] = '\0';
  jpeg_create_decompress(&info);
  if (setjmp(reporter.escape)) {
    std::snprintf(message, JMSG_LENGTH_MAX, "%s", reporter.message);
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_mem_src(&info, data, static_cast<unsigned long>(size));
  jpeg_read_header(&info, TRUE);
  // An eighth of the size: every coefficient is still entropy-decoded, little is transformed.
  info.scale_num = 1;
  info.scale_denom = 8;
  info.dct_method = JDCT_IFAST;
  jpeg_start_decompress(&info);
  JSAMPARRAY row = (*info.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&info), JPOOL_IMAGE,
                                             info.output_width * info.output_components, 1);
  while (info.output_scanline < info.output_height) jpeg_read_scanlines(&info, row, 1);
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return true;
}
#endif

// Without libjpeg: the scan must end in an EOI marker. Entropy-coded data never holds FF D9, so
// an EOI after the first top-level start of scan means the data was not cut short.
bool ends_properly(const std::vector<uint8_t>& b) {
  size_t i = 2;
  while (i + 4 <= b.size() && b[i] == 0xFF) {
    const uint8_t marker = b[i + 1];
    if (marker == 0xDA) break;
    i += 2 + (static_cast<size_t>(b[i + 2]) << 8 | b[i + 3]);
  }
  for (; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xD9) return true;
  return false;
}

uint32_t big_endian_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 |
         p[3];
}

std::optional<std::string> png_problem(const std::vector<uint8_t>& b) {
  size_t i = 8;  // after the signature
  while (i + 12 <= b.size()) {
    const uint32_t length = big_endian_u32(&b[i]);
    const std::string type(reinterpret_cast<const char*>(&b[i + 4]), 4);
    if (length > b.size() - i - 12) return "the " + type + " chunk runs past the end of the file (truncated?)";
    const uint32_t stored = big_endian_u32(&b[i + 8 + length]);
#ifdef PCONV_HAVE_ZLIB
    if (crc32(0, &b[i + 4], length + 4) != stored) return "the " + type + " chunk fails its CRC (corrupt data)";
#else
    (void)stored;  // without zlib only the chunk structure is checked
#endif
    if (type == "IEND") return std::nullopt;
    i += 12 + length;
  }
  return std::string("the data ends before the IEND chunk (truncated?)");
}

bool is_png(const std::vector<uint8_t>& b) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  return b.size() >= 8 && std::memcmp(b.data(), kSignature, 8) == 0;
}

}  // namespace

bool is_jpeg(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

std::optional<std::string> image_problem(const std::vector<uint8_t>& bytes) {
  if (is_png(bytes)) return png_problem(bytes);
  if (!is_jpeg(bytes)) return std::nullopt;
#ifdef PCONV_HAVE_LIBJPEG
  char message[JMSG_LENGTH_MAX];
  if (!scan(bytes.data(), bytes.size(), message)) return std::string(message);
#endif
  if (!ends_properly(bytes)) return std::string("the JPEG data ends before its end-of-image marker (truncated?)");
  return std::nullopt;
}

std::optional<std::vector<uint8_t>> png_without_colour_profile(const std::vector<uint8_t>& b) {
  if (!is_png(b)) return std::nullopt;
  std::vector<uint8_t> out;
  size_t i = 8, copied = 0;  // bytes before `copied` are in `out` already
  while (i + 12 <= b.size()) {
    const size_t chunk = 12 + static_cast<size_t>(big_endian_u32(&b[i]));
    if (chunk > b.size() - i) break;
    if (std::memcmp(&b[i + 4], "iCCP", 4) == 0) {
      out.insert(out.end(), b.begin() + static_cast<std::ptrdiff_t>(copied),
                 b.begin() + static_cast<std::ptrdiff_t>(i));
      copied = i + chunk;
    }
    if (std::memcmp(&b[i + 4], "IEND", 4) == 0) break;
    i += chunk;
  }
  if (copied == 0) return std::nullopt;
  out.insert(out.end(), b.begin() + static_cast<std::ptrdiff_t>(copied), b.end());
  return out;
}

}  // namespace pconv
