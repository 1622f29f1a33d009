#pragma once
// Truncated and corrupt image files, checked before they are decoded: a JPEG decoder fills what
// is missing with grey and succeeds, and libpng prints its complaints to stderr. Private to the
// library.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pconv {

/// Whether the bytes begin like a JPEG file.
bool is_jpeg(const std::vector<uint8_t>& bytes);

/// What is wrong with JPEG or PNG bytes, or nothing when they are sound or in another format:
/// for a JPEG, libjpeg's message for its first warning or error; for a PNG, a chunk that runs
/// past the end, fails its CRC, or a missing IEND.
std::optional<std::string> image_problem(const std::vector<uint8_t>& bytes);

/// PNG bytes without their iCCP (ICC colour profile) chunks, or nothing when they are not a PNG or
/// have none. Expects bytes that image_problem passed.
std::optional<std::vector<uint8_t>> png_without_colour_profile(const std::vector<uint8_t>& bytes);

}  // namespace pconv
