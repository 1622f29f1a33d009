#pragma once
// A pconv model is one safetensors file: the network's weights in PyTorch layout under the names
// of PConvUNet (docs/model-format.md), and a JSON document in the metadata key "pconv" with the
// architecture, the input normalisation and a training summary.
#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "pconv/io/timings.h"
#include "pconv/nn/unet.h"

namespace pconv {

/// How images enter the network: RGB in [0,1], then (x - mean) / std per channel (infer/normalization.h).
struct Normalization {
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet, as torchvision
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

struct ModelInfo {
  PConvUNetOptions architecture;
  Normalization normalization;
  /// Free-form training summary (data, loss, iterations, ...), kept as written.
  nlohmann::json training = nlohmann::json::object();
  /// Where an imported model came from (project, file, SHA-256, conversion); null for pconv's own.
  nlohmann::json source;
};

struct Model {
  PConvUNet net{nullptr};
  ModelInfo info;
};

/// Name of the metadata key that holds the JSON document, and the newest format version. A file
/// is written with the oldest version that describes it, so that older readers keep reading
/// every model they can run: version 2 adds the architecture fields reweight_output_twice,
/// output_bias_in_holes, output_head and output_activation (PConvUNetOptions), which imported
/// models need.
constexpr const char* kModelMetadataKey = "pconv";
constexpr int kModelFormatVersion = 2;

/// Writes the network's parameters and BN statistics atomically; float tensors are stored as
/// `storage` (kFloat32, or kFloat16 for shipped models).
void save_model(const std::filesystem::path& path, PConvUNet& net, const ModelInfo& info,
                torch::Dtype storage = torch::kFloat32);

/// Reads and validates a model file: format, architecture, every tensor's name, shape and dtype.
/// The network comes back in evaluation mode on `device`, as float32. `timings`, when set,
/// receives the time of each step (pconv inpaint --timings).
Model load_model(const std::filesystem::path& path, const torch::Device& device = torch::kCPU,
                 Timings* timings = nullptr);

/// The metadata document of a model file (for `pconv info` and the server), validated likewise.
nlohmann::json model_metadata_json(const ModelInfo& info);

/// The network's tensors by file name: parameters and buffers, less PartialConv2d's fixed windows.
std::map<std::string, torch::Tensor> model_state(PConvUNet& net);

}  // namespace pconv
