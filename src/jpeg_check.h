#pragma once
// Truncated and corrupt JPEGs: decoders fill what is missing with grey and succeed, so the bytes
// are checked first. Private to the library.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pconv {

/// Whether the bytes begin like a JPEG file.
bool is_jpeg(const std::vector<uint8_t>& bytes);

/// What is wrong with JPEG bytes (libjpeg's message for its first warning or error), or nothing
/// when they decode cleanly or are not a JPEG.
std::optional<std::string> jpeg_problem(const std::vector<uint8_t>& bytes);

}  // namespace pconv
