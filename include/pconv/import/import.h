#pragma once
// Models trained by other PConv implementations, turned into pconv model files.
//
// Each source's published model code was read for its layer names, concatenation order, how it
// divides by the mask sum, where its biases sit, its input range and output; the conversion maps
// its tensors onto PConvUNet's names and folds what differs by a constant (a window size, a bias
// before batch-norm) into the weights, so that pconv's network computes the source's forward pass
// within float rounding. What cannot be folded is a field of the model format
// (docs/model-format.md).
//
//   ImportedModel m = import_model("pconv.pth", {ImportSource::naoto});
//   save_imported_model("naoto.safetensors", m);
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pconv/nn/model_file.h"

namespace pconv {

enum class ImportSource { automatic, keras, naoto, sneakysketchers, sunnerli };

/// "auto", "naoto", ... as `pconv import --from` spells them.
std::string to_string(ImportSource source);
/// Throws pconv::Error listing the accepted names.
ImportSource parse_import_source(const std::string& name);

struct ImportOptions {
  ImportSource from = ImportSource::automatic;
  /// Encoder layers, where the file cannot tell (SneakySketchers); the source's default otherwise.
  std::optional<int64_t> depth;
};

struct ImportedModel {
  ModelInfo info;                              // architecture, input normalisation, and info.source: where it came from
  std::map<std::string, torch::Tensor> state;  // pconv's tensor names (model_state)
  /// What the conversion decided, one line each, for the user and the model's metadata.
  std::vector<std::string> notes;
};

/// Reads `path` as the declared source's checkpoint and converts it. Throws pconv::Error naming the
/// file and the problem when the file is not that format, its tensors do not match the source's
/// layout (missing, extra, wrong shape, wrong depth), or it cannot be read.
ImportedModel import_model(const std::filesystem::path& path, const ImportOptions& options);

/// The converted network, built and loaded (evaluation mode, CPU).
PConvUNet build_network(const ImportedModel& model);

/// Writes the pconv model file atomically (float32).
void save_imported_model(const std::filesystem::path& out, const ImportedModel& model);

}  // namespace pconv
