#pragma once
// The weights of a Keras model in an HDF5 file, as Keras 2 writes them: model.save_weights()
// (layer groups at the root) or model.save() (the same under model_weights/). Read with libhdf5;
// nothing in the file is evaluated (model_config is not read).
//
//   for (const KerasLayer& layer : read_keras_weights("weights.h5")) ...
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace pconv {

struct KerasLayer {
  std::string name;
  /// In the layer's order, by short name ("img_kernel", "bias", "gamma", ...: the part after the
  /// last '/', without ":0"), as float32 in Keras's layout (convolution kernels H, W, in, out).
  std::vector<std::pair<std::string, torch::Tensor>> weights;

  const torch::Tensor* find(const std::string& short_name) const;
};

/// Every layer in the file's layer_names order, weightless ones included. Throws pconv::Error
/// naming the file on a file that is not HDF5, not a Keras weights file, or truncated.
std::vector<KerasLayer> read_keras_weights(const std::filesystem::path& path);

/// Whether the file starts with HDF5's signature.
bool looks_like_hdf5(const std::filesystem::path& path);

}  // namespace pconv
