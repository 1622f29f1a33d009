#pragma once
// The safetensors format (a little-endian u64 header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw bytes). Reading validates every field before it
// allocates, so a corrupt, truncated or hostile file gives pconv::Error, never a crash or an
// allocation larger than the file.
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace pconv {

struct Safetensors {
  /// CPU tensors on the file's memory mapping (copy-on-write: writing to them never changes the file)
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> metadata;  ///< the header's "__metadata__"
};

/// Largest header accepted, as in the reference implementation.
constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

Safetensors read_safetensors(const std::filesystem::path& path);

/// Serialises contiguous CPU copies of the tensors, in name order, with the header padded to 8 bytes.
std::vector<uint8_t> encode_safetensors(const Safetensors& file);

/// encode_safetensors written atomically to `path`.
void write_safetensors(const std::filesystem::path& path, const Safetensors& file);

/// The safetensors dtype name ("F32") of a scalar type; throws for types the format lacks.
std::string safetensors_dtype(torch::Dtype dtype);

}  // namespace pconv
