#include "pconv/io/keras_weights.h"

#include <cstring>
#include <fstream>

#include "pconv/io/error.h"

#ifdef PCONV_HAVE_HDF5
#include <hdf5.h>
#endif

namespace pconv {
namespace fs = std::filesystem;

#ifdef PCONV_HAVE_HDF5
namespace {
// One libhdf5 identifier, closed with its own function when it goes.
class Id {
 public:
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Id() {
    if (id_ >= 0) close_(id_);
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  operator hid_t() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

bool has_attribute(hid_t object, const std::string& name) { return H5Aexists(object, name.c_str()) > 0; }

// A string-array attribute, fixed-length (h5py from NumPy bytes) or variable-length.
std::vector<std::string> string_attribute(hid_t object, const std::string& name) {
  Id attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) throw Error("cannot read attribute " + name);
  Id type(H5Aget_type(attr), H5Tclose);
  Id space(H5Aget_space(attr), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  // Keras writes a weightless layer's empty name list as an empty float array.
  if (n == 0) return {};
  if (H5Tget_class(type) != H5T_STRING || n < 0) throw Error("attribute " + name + " is not a list of strings");
  std::vector<std::string> out;
  if (H5Tis_variable_str(type) > 0) {
    std::vector<char*> text(static_cast<size_t>(n), nullptr);
    Id memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory, H5T_VARIABLE);
    if (H5Aread(attr, memory, text.data()) < 0) throw Error("cannot read attribute " + name);
    for (char* s : text) {
      out.emplace_back(s ? s : "");
      H5free_memory(s);
    }
    return out;
  }
  const size_t size = H5Tget_size(type);
  if (size == 0 || size > 65536) throw Error("attribute " + name + " has strings of size " + std::to_string(size));
  std::vector<char> text(static_cast<size_t>(n) * size);
  Id memory(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(memory, size);
  H5Tset_strpad(memory, H5T_STR_NULLPAD);
  if (n > 0 && H5Aread(attr, memory, text.data()) < 0) throw Error("cannot read attribute " + name);
  for (hssize_t i = 0; i < n; ++i) {
    const char* s = text.data() + static_cast<size_t>(i) * size;
    out.emplace_back(s, strnlen(s, size));
  }
  return out;
}

// Keras splits attributes above HDF5's 64 kB limit into name0, name1, ...
std::vector<std::string> keras_list(hid_t object, const std::string& name) {
  if (has_attribute(object, name)) return string_attribute(object, name);
  std::vector<std::string> out;
  for (int chunk = 0; has_attribute(object, name + std::to_string(chunk)); ++chunk)
    for (auto& s : string_attribute(object, name + std::to_string(chunk))) out.push_back(std::move(s));
  if (out.empty()) throw Error("no '" + name + "' attribute: not weights written by Keras");
  return out;
}

torch::Tensor read_dataset(hid_t group, const std::string& path, uintmax_t file_size) {
  Id dataset(H5Dopen2(group, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.ok()) throw Error("weight " + path + " is missing");
  Id type(H5Dget_type(dataset), H5Tclose);
  if (H5Tget_class(type) != H5T_FLOAT) throw Error("weight " + path + " is not floating-point");
  Id space(H5Dget_space(dataset), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || rank > 8) throw Error("weight " + path + " has an unreadable shape");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  std::vector<int64_t> shape(dims.begin(), dims.end());
  uintmax_t count = 1;
  for (hsize_t d : dims) count *= d;
  // Keras writes weights uncompressed: a dataset cannot hold more values than the file has bytes.
  if (count > file_size) throw Error("weight " + path + " claims more values than the file holds");
  torch::Tensor out = torch::empty(shape, torch::kFloat32);
  if (count > 0 && H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data_ptr<float>()) < 0)
    throw Error("weight " + path + " cannot be read (truncated or corrupt)");
  return out;
}

std::string short_name(const std::string& weight) {
  std::string s = weight.substr(weight.rfind('/') + 1);
  const size_t colon = s.rfind(':');
  return colon == std::string::npos ? s : s.substr(0, colon);
}
}  // namespace

#endif

const torch::Tensor* KerasLayer::find(const std::string& wanted) const {
  for (const auto& [name, tensor] : weights)
    if (name == wanted) return &tensor;
  return nullptr;
}

bool looks_like_hdf5(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  return in.gcount() == 8 && std::memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0;
}

std::vector<KerasLayer> read_keras_weights(const fs::path& path) {
  const std::string where = path.string();
#ifndef PCONV_HAVE_HDF5
  throw Error(where + ": this pconv was built without libhdf5 (libhdf5-dev), so it cannot read Keras weights");
#else
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // libhdf5 would print its error stack on stderr
  try {
    std::error_code ec;
    const uintmax_t file_size = fs::file_size(path, ec);
    if (ec) throw Error("cannot read the file (" + ec.message() + ")");
    if (!looks_like_hdf5(path)) throw Error("not an HDF5 file");
    Id file(H5Fopen(where.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!file.ok()) throw Error("HDF5 cannot open it (truncated or corrupt)");
    // model.save() puts the weights under model_weights/; save_weights() at the root.
    const bool full_model = H5Lexists(file, "model_weights", H5P_DEFAULT) > 0;
    Id root(H5Gopen2(file, full_model ? "model_weights" : "/", H5P_DEFAULT), H5Gclose);
    if (!root.ok()) throw Error("cannot open its weights group");
    std::vector<KerasLayer> layers;
    for (const std::string& name : keras_list(root, "layer_names")) {
      Id group(H5Gopen2(root, name.c_str(), H5P_DEFAULT), H5Gclose);
      if (!group.ok()) throw Error("layer " + name + " is listed but missing");
      KerasLayer layer{name, {}};
      for (const std::string& weight : keras_list(group, "weight_names"))
        layer.weights.emplace_back(short_name(weight), read_dataset(group, weight, file_size));
      layers.push_back(std::move(layer));
    }
    return layers;
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
#endif
}

}  // namespace pconv
