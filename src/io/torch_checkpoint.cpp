#include "pconv/io/torch_checkpoint.h"

#include <zip.h>

#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "pconv/io/error.h"
#include "pconv/io/files.h"

namespace pconv {
namespace fs = std::filesystem;
using pickle::Value;

namespace {
// torch/serialization.py: the legacy format opens with this integer and this protocol version.
const std::string kLegacyMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);  // 0x1950a86a20f9469cfc6c
constexpr int64_t kLegacyProtocol = 1001;

bool starts_with(const std::vector<uint8_t>& bytes, const char* prefix, size_t n) {
  return bytes.size() >= n && std::memcmp(bytes.data(), prefix, n) == 0;
}

// A persistent id: ('storage', storage type, key, location, numel[, view metadata]).
struct StorageId {
  torch::ScalarType dtype;
  std::string key;
  int64_t numel;
  const Value* view = nullptr;  // legacy only: (view key, offset, size) or None
};

StorageId parse_id(const Value& id) {
  const auto& f = id.items();
  if (!id.is(Value::Kind::tuple) || f.size() < 5 || !f[0].is(Value::Kind::string) || f[0].text != "storage")
    throw Error("pickle: a persistent id that is not a storage");
  const auto dtype = f[1].is(Value::Kind::global) ? pickle::storage_dtype(f[1].text) : std::nullopt;
  if (!dtype) throw Error("pickle: a storage of unknown type " + f[1].kind_name());
  if (!f[2].is(Value::Kind::string) || !f[4].is(Value::Kind::integer) || f[4].integer < 0)
    throw Error("pickle: a malformed storage id");
  return {*dtype, f[2].text, f[4].integer, f.size() > 5 && !f[5].is(Value::Kind::none) ? &f[5] : nullptr};
}

Value storage_value(torch::Tensor flat) {
  Value v;
  v.kind = Value::Kind::storage;
  v.tensor = std::move(flat);
  return v;
}

// --- zip format (torch >= 1.6): PREFIX/data.pkl, one record PREFIX/data/KEY per storage ---

class ZipArchive {
 public:
  explicit ZipArchive(const std::vector<uint8_t>& bytes) : archive_size_(bytes.size()) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    if (source) archive_ = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
    if (!archive_) {
      if (source) zip_source_free(source);
      const std::string what = zip_error_strerror(&error);
      zip_error_fini(&error);
      throw Error("not a readable zip archive (" + what + ")");
    }
    zip_error_fini(&error);
  }
  ~ZipArchive() { zip_discard(archive_); }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  // torch.save puts every record under one folder, named after the file in some versions.
  std::string prefix() const {
    const zip_int64_t n = zip_get_num_entries(archive_, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      const std::string name = zip_get_name(archive_, static_cast<zip_uint64_t>(i), 0);
      const size_t slash = name.find('/');
      if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0)
        return name.substr(0, slash + 1);
    }
    throw Error("a zip archive without data.pkl (a TorchScript archive, or not written by torch.save)");
  }

  // A record's size, checked against the archive's bytes before anything is allocated for it.
  std::optional<zip_uint64_t> size(const std::string& name) const {
    zip_stat_t st;
    if (zip_stat(archive_, name.c_str(), 0, &st) != 0) return std::nullopt;
    if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
      throw Error("record " + name + " has no size in the archive");
    constexpr zip_uint64_t kDeflateMaxRatio = 1032;
    if (st.comp_size > archive_size_ || st.size > st.comp_size * kDeflateMaxRatio)
      throw Error("record " + name + " claims more bytes than the archive holds");
    return st.size;
  }

  // Reads a whole record into `out` (exactly `size` bytes); libzip checks its CRC-32 at the end.
  void read(const std::string& name, void* out, zip_uint64_t size) {
    zip_file_t* file = zip_fopen(archive_, name.c_str(), 0);
    if (!file) throw Error("record " + name + ": " + zip_strerror(archive_));
    zip_int64_t got = size > 0 ? zip_fread(file, out, size) : 0;
    char extra = 0;
    // Reading past the end is what makes libzip compare the CRC.
    const zip_int64_t tail = got >= 0 ? zip_fread(file, &extra, 1) : -1;
    const std::string what = got < 0 || tail < 0 ? zip_file_strerror(file) : "";
    zip_fclose(file);
    if (!what.empty()) throw Error("record " + name + ": " + what);
    if (static_cast<zip_uint64_t>(got) != size || tail != 0) throw Error("record " + name + " has the wrong length");
  }

 private:
  zip_t* archive_ = nullptr;
  zip_uint64_t archive_size_;
};

Value read_zip(const std::vector<uint8_t>& bytes) {
  ZipArchive zip(bytes);
  const std::string prefix = zip.prefix();
  const auto pickle_size = zip.size(prefix + "data.pkl");
  if (!pickle_size) throw Error("data.pkl is missing");
  std::vector<uint8_t> pickle_bytes(*pickle_size);
  zip.read(prefix + "data.pkl", pickle_bytes.data(), pickle_bytes.size());
  std::map<std::string, torch::Tensor> loaded;
  const pickle::PersistentLoad load = [&](const Value& id) {
    const StorageId s = parse_id(id);
    auto it = loaded.find(s.key);
    if (it == loaded.end()) {
      const std::string record = prefix + "data/" + s.key;
      const auto size = zip.size(record);
      if (!size) throw Error("storage " + s.key + " is missing from the archive");
      const zip_uint64_t element = c10::elementSize(s.dtype);
      if (static_cast<zip_uint64_t>(s.numel) > *size || *size != static_cast<zip_uint64_t>(s.numel) * element)
        throw Error("storage " + s.key + " holds " + std::to_string(*size) + " bytes, expected " +
                    std::to_string(static_cast<zip_uint64_t>(s.numel) * element));
      torch::Tensor flat = torch::empty({s.numel}, torch::TensorOptions().dtype(s.dtype));
      zip.read(record, flat.data_ptr(), *size);
      it = loaded.emplace(s.key, flat).first;
    }
    return storage_value(it->second);
  };
  size_t used = 0;
  return pickle::load(pickle_bytes.data(), pickle_bytes.size(), &used, load);
}

// --- legacy format (torch 0.4-1.5): magic, protocol, sys_info, the object, the storage keys,
// then for each key an int64 element count and the raw elements ---

Value read_legacy(const std::vector<uint8_t>& bytes) {
  const uint8_t* data = bytes.data();
  size_t pos = 0;
  auto next = [&](const pickle::PersistentLoad& load = {}) {
    size_t used = 0;
    Value v = pickle::load(data + pos, bytes.size() - pos, &used, load);
    pos += used;
    return v;
  };
  const Value magic = next();
  if (!magic.is(Value::Kind::big_integer) || magic.text != kLegacyMagic)
    throw Error("not a PyTorch checkpoint (no legacy magic number)");
  const Value protocol = next();
  if (!protocol.is(Value::Kind::integer) || protocol.integer != kLegacyProtocol)
    throw Error("unsupported legacy checkpoint protocol");
  const Value sys_info = next();
  const Value* little = sys_info.find("little_endian");
  if (little && little->is(Value::Kind::boolean) && !little->boolean)
    throw Error("a big-endian checkpoint, which pconv does not read");

  std::map<std::string, torch::Tensor> storages;
  Value object = next([&](const Value& id) {
    const StorageId s = parse_id(id);
    auto it = storages.find(s.key);
    if (it == storages.end()) {
      // The data follows the pickles: a storage cannot be larger than the file.
      if (s.numel > static_cast<int64_t>(bytes.size()))
        throw Error("storage " + s.key + " claims " + std::to_string(s.numel) + " elements, more than the file holds");
      it = storages.emplace(s.key, torch::empty({s.numel}, torch::TensorOptions().dtype(s.dtype))).first;
    }
    if (!s.view) return storage_value(it->second);
    const auto& v = s.view->items();
    if (v.size() != 3 || !v[1].is(Value::Kind::integer) || !v[2].is(Value::Kind::integer) || v[1].integer < 0 ||
        v[2].integer < 0 || v[1].integer + v[2].integer > it->second.numel())
      throw Error("storage view outside storage " + s.key);
    return storage_value(it->second.narrow(0, v[1].integer, v[2].integer));
  });
  const Value keys = next();
  std::set<std::string> filled;
  for (const Value& key : keys.items()) {
    const auto it = key.is(Value::Kind::string) ? storages.find(key.text) : storages.end();
    if (it == storages.end()) throw Error("the storage list names a storage the object does not use");
    const size_t element = it->second.element_size();
    if (bytes.size() - pos < 8) throw Error("truncated (storage " + key.text + ")");
    int64_t numel = 0;
    std::memcpy(&numel, data + pos, 8);
    pos += 8;
    if (numel != it->second.numel()) throw Error("storage " + key.text + " has the wrong size");
    const size_t size = static_cast<size_t>(numel) * element;
    if (bytes.size() - pos < size) throw Error("truncated (storage " + key.text + ")");
    if (size > 0) std::memcpy(it->second.data_ptr(), data + pos, size);
    pos += size;
    filled.insert(key.text);
  }
  for (const auto& [key, tensor] : storages)
    if (!filled.count(key)) throw Error("storage " + key + " has no data");
  if (pos != bytes.size()) throw Error(std::to_string(bytes.size() - pos) + " unexpected bytes at the end");
  return object;
}
}  // namespace

pickle::Value read_torch_checkpoint(const fs::path& path) {
  const std::string where = path.string();
  try {
    const std::vector<uint8_t> bytes = read_file(path);
    if (starts_with(bytes, "PK\x03\x04", 4)) return read_zip(bytes);
    if (bytes.size() >= 2 && bytes[0] == 0x80) return read_legacy(bytes);
    if (bytes.size() > 262 && std::memcmp(bytes.data() + 257, "ustar", 5) == 0)
      throw Error("a tar checkpoint of PyTorch before 0.4, which pconv does not read");
    throw Error("not a PyTorch checkpoint (neither a zip archive nor a pickle)");
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(where, 0) == 0) throw;
    throw Error(where + ": " + msg);
  }
}

}  // namespace pconv
