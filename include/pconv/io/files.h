#pragma once
// Files on disk: whole-file reads and atomic writes (a temporary file in the same folder,
// flushed and renamed), so that a failed run never leaves a half-written output behind.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace pconv {

/// Reads a whole file; throws pconv::Error naming the path when it cannot.
std::vector<uint8_t> read_file(const std::filesystem::path& path);

/// Writes `bytes` to `path` atomically: a sibling temporary file, fsync, rename.
void write_file_atomic(const std::filesystem::path& path, const void* bytes, size_t size);

inline void write_file_atomic(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

/// SHA-256 of the bytes, as 64 lower-case hex digits.
std::string sha256_hex(const void* bytes, size_t size);
inline std::string sha256_hex(const std::vector<uint8_t>& bytes) { return sha256_hex(bytes.data(), bytes.size()); }

/// When `path`.sha256 exists (the sha256sum format: the hex digest first), checks that the file
/// has that digest; throws pconv::Error naming both digests when it does not.
void check_sha256_sidecar(const std::filesystem::path& path);

/// Lower-case extension with the dot (".png"), or "" when there is none.
std::string lower_extension(const std::filesystem::path& path);

}  // namespace pconv
