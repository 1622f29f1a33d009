#include "pconv/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "pconv/io/error.h"
#include "pconv/io/files.h"

namespace pconv {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
static_assert(sizeof(void*) == 8, "safetensors offsets are 64-bit");

struct DtypeInfo {
  const char* name;
  torch::Dtype dtype;
  uint64_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8},   {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},     {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

struct Entry {
  std::string name;
  const DtypeInfo* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

// Parses and checks one tensor's header entry; `data_size` is the size of the byte buffer.
Entry parse_entry(const std::string& where, const std::string& name, const json& value, uint64_t data_size) {
  const std::string at = where + ": tensor '" + name + "': ";
  if (!value.is_object()) throw Error(at + "header entry is not an object");
  if (!value.contains("dtype") || !value["dtype"].is_string()) throw Error(at + "missing dtype");
  Entry e{name, find_dtype(value["dtype"].get<std::string>()), {}, 0, 0};
  if (!e.dtype) throw Error(at + "unsupported dtype '" + value["dtype"].get<std::string>() + "'");
  if (!value.contains("shape") || !value["shape"].is_array()) throw Error(at + "missing shape");
  uint64_t numel = 1;
  for (const auto& d : value["shape"]) {
    if (!d.is_number_unsigned()) throw Error(at + "shape holds a value that is not a non-negative integer");
    const uint64_t n = d.get<uint64_t>();
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        (n != 0 && numel > std::numeric_limits<uint64_t>::max() / n))
      throw Error(at + "shape is too large");
    numel *= n;
    e.shape.push_back(static_cast<int64_t>(n));
  }
  const auto& offsets = value.contains("data_offsets") ? value["data_offsets"] : json();
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    throw Error(at + "data_offsets must be two non-negative integers");
  e.begin = offsets[0].get<uint64_t>();
  e.end = offsets[1].get<uint64_t>();
  if (e.begin > e.end || e.end > data_size)
    throw Error(at + "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] lie outside the " +
                std::to_string(data_size) + "-byte data section (truncated file?)");
  if (numel > std::numeric_limits<uint64_t>::max() / e.dtype->size || numel * e.dtype->size != e.end - e.begin)
    throw Error(at + "shape and dtype need " + std::to_string(numel) + "×" + std::to_string(e.dtype->size) +
                " bytes but data_offsets span " + std::to_string(e.end - e.begin));
  return e;
}
}  // namespace

std::string safetensors_dtype(torch::Dtype dtype) {
  for (const auto& d : kDtypes)
    if (d.dtype == dtype) return d.name;
  throw Error(std::string("safetensors has no dtype for ") + c10::toString(dtype));
}

namespace {
// A file mapped copy-on-write. Tensors read from it share the page cache's memory instead of
// copying a model's hundreds of megabytes into fresh pages (slow to touch, on a VM above all); a
// tensor that is written to gets private copies of the pages it writes, and the file is never
// changed. The mapping lives as long as the last tensor on it, and each tensor gives its own pages
// back when it goes, so that a model whose weights are copied into another layout one by one never
// holds both copies whole. Not populated up front: populating a writable private mapping breaks
// copy-on-write for every page, which copies the whole file (50 ms for a paper-size model).
class Mapping {
 public:
  Mapping(const std::string& where, uint64_t size) : size_(size) {
    const int fd = ::open(where.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(where + ": cannot open (" + std::strerror(errno) + ")");
    data_ = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    const int mmap_errno = errno;
    ::close(fd);
    if (data_ == MAP_FAILED) throw Error(where + ": cannot map (" + std::strerror(mmap_errno) + ")");
  }
  ~Mapping() { ::munmap(data_, size_); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  uint8_t* bytes() const { return static_cast<uint8_t*>(data_); }

  // Drops the whole pages inside [first, first + length) from memory; pages shared with a
  // neighbouring tensor stay.
  void release(const uint8_t* first, uint64_t length) const {
    static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uint8_t* last = first + length;
    const uint8_t* begin = first + (page - reinterpret_cast<uintptr_t>(first) % page) % page;
    const uint8_t* end = last - reinterpret_cast<uintptr_t>(last) % page;
    if (end > begin) ::madvise(const_cast<uint8_t*>(begin), static_cast<size_t>(end - begin), MADV_DONTNEED);
  }

 private:
  void* data_ = nullptr;
  uint64_t size_ = 0;
};
}  // namespace

Safetensors read_safetensors(const fs::path& path) {
  const std::string where = path.string();
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(where + ": no such file");
  if (fs::is_directory(path, ec)) throw Error(where + ": is a folder, expected a .safetensors file");
  const uint64_t file_size = fs::file_size(path, ec);
  if (ec) throw Error(where + ": cannot read (" + ec.message() + ")");
  if (file_size < 8) throw Error(where + ": not a safetensors file (" + std::to_string(file_size) + " bytes)");
  const auto mapping = std::make_shared<Mapping>(where, file_size);
  const uint8_t* bytes = mapping->bytes();

  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > kMaxSafetensorsHeader)
    throw Error(where + ": header size " + std::to_string(header_size) + " exceeds the " +
                std::to_string(kMaxSafetensorsHeader) + "-byte limit (corrupt file?)");
  if (header_size > file_size - 8)
    throw Error(where + ": header size " + std::to_string(header_size) + " is larger than the file (truncated?)");

  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + header_size);
  } catch (const json::exception& e) {
    throw Error(where + ": header is not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!header.is_object()) throw Error(where + ": header is not a JSON object");

  const uint64_t data_size = file_size - 8 - header_size;
  Safetensors result;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw Error(where + ": __metadata__ is not an object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) throw Error(where + ": metadata '" + key + "' is not a string");
        result.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(where, name, value, data_size));
  }
  // The byte buffer must be covered exactly, without overlaps or gaps.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  uint64_t expected = 0;
  for (const auto& e : entries) {
    if (e.begin != expected)
      throw Error(where + ": tensor '" + e.name + "' " + (e.begin < expected ? "overlaps another" : "leaves a gap") +
                  " in the data section");
    expected = e.end;
  }
  if (expected != data_size)
    throw Error(where + ": data section has " + std::to_string(data_size) + " bytes but the tensors cover " +
                std::to_string(expected));

  uint8_t* data = mapping->bytes() + 8 + header_size;
  for (const auto& e : entries) {
    uint8_t* first = data + e.begin;
    const uint64_t length = e.end - e.begin;
    torch::Tensor t = torch::from_blob(
        first, e.shape, [mapping, first, length](void*) { mapping->release(first, length); },
        torch::TensorOptions().dtype(e.dtype->dtype));
    // Writers that do not pad the header leave the data unaligned for its type: such a tensor is copied.
    if (reinterpret_cast<uintptr_t>(first) % e.dtype->size != 0) t = t.clone();
    result.tensors.emplace(e.name, std::move(t));
  }
  return result;
}

std::vector<uint8_t> encode_safetensors(const Safetensors& file) {
  json header = json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    if (name == "__metadata__") throw Error("a tensor cannot be named __metadata__");
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", safetensors_dtype(t.scalar_type())},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> out(8 + text.size() + offset);
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* p = out.data() + 8 + text.size();
  for (const auto& t : data) {
    const size_t bytes = t.numel() * t.element_size();
    if (bytes) std::memcpy(p, t.data_ptr(), bytes);
    p += bytes;
  }
  return out;
}

void write_safetensors(const fs::path& path, const Safetensors& file) {
  write_file_atomic(path, encode_safetensors(file));
}

}  // namespace pconv
