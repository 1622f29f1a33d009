#include "pconv/nn/model_file.h"

#include <cmath>
#include <optional>

#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/safetensors.h"

namespace pconv {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
bool is_window(const std::string& name) {
  const std::string suffix = ".window";
  return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

ModelInfo parse_info(const std::string& where, const std::map<std::string, std::string>& metadata) {
  const auto it = metadata.find(kModelMetadataKey);
  if (it == metadata.end())
    throw Error(where + ": not a pconv model (no '" + std::string(kModelMetadataKey) + "' metadata)");
  ModelInfo info;
  try {
    const json doc = json::parse(it->second);
    if (doc.at("format").get<std::string>() != "pconv-model") throw Error(where + ": not a pconv model file");
    const int version = doc.at("version").get<int>();
    if (version < 1 || version > kModelFormatVersion)
      throw Error(where + ": model format version " + std::to_string(version) + " is not supported (expected 1 to " +
                  std::to_string(kModelFormatVersion) + "; a newer pconv wrote it)");
    const json& arch = doc.at("architecture");
    const std::string kind = arch.at("type").get<std::string>();
    if (kind != "pconv-unet" && kind != "unet")
      throw Error(where + ": unknown architecture '" + kind + "' (expected pconv-unet or unet)");
    info.architecture.partial(kind == "pconv-unet")
        .depth(arch.at("depth").get<int64_t>())
        .width(arch.at("width").get<double>())
        .reweight_output_twice(version >= 2 && arch.value("reweight_output_twice", false))
        .output_bias_in_holes(version >= 2 && arch.value("output_bias_in_holes", false))
        .output_head(version >= 2 && arch.value("output_head", false));
    const std::string activation = version >= 2 ? arch.value("output_activation", "none") : "none";
    if (activation != "none" && activation != "tanh" && activation != "sigmoid")
      throw Error(where + ": unknown output_activation '" + activation + "' (expected none, tanh or sigmoid)");
    info.architecture.output_activation(activation == "tanh"      ? PConvUNetOptions::Activation::tanh
                                        : activation == "sigmoid" ? PConvUNetOptions::Activation::sigmoid
                                                                  : PConvUNetOptions::Activation::none);
    info.architecture.check();
    const json& input = doc.at("input");
    info.normalization.mean = input.at("mean").get<std::array<float, 3>>();
    info.normalization.std = input.at("std").get<std::array<float, 3>>();
    // Outside these bounds the input normalisation overflows or divides by almost nothing, and
    // the fill comes out black or NaN.
    for (float m : info.normalization.mean)
      if (!(std::abs(m) <= 10.0f))
        throw Error(where + ": input mean " + std::to_string(m) + " is out of range [-10, 10]");
    for (float s : info.normalization.std)
      if (!(s >= 1e-3f && s <= 1e3f))
        throw Error(where + ": input std " + std::to_string(s) + " is out of range [0.001, 1000]");
    if (doc.contains("training")) info.training = doc["training"];
    if (doc.contains("source")) info.source = doc["source"];
  } catch (const json::exception& e) {
    throw Error(where + ": invalid pconv metadata (" + std::string(e.what()) + ")");
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(where, 0) == 0) throw;
    throw Error(where + ": " + msg);
  }
  return info;
}
}  // namespace

std::map<std::string, torch::Tensor> model_state(PConvUNet& net) {
  std::map<std::string, torch::Tensor> state;
  for (const auto& p : net->named_parameters()) state[p.key()] = p.value();
  for (const auto& b : net->named_buffers())
    if (!is_window(b.key())) state[b.key()] = b.value();
  return state;
}

json model_metadata_json(const ModelInfo& info) {
  const auto& a = info.architecture;
  json doc{
      {"format", "pconv-model"},
      {"version", a.needs_format_2() ? 2 : 1},
      {"architecture",
       {{"type", a.partial() ? "pconv-unet" : "unet"},
        {"depth", a.depth()},
        {"width", a.width()},
        {"size_multiple", a.size_multiple()},
        {"mask_convention", "1 = valid, 0 = hole"}}},
      {"input",
       {{"color", "RGB"}, {"range", {0.0, 1.0}}, {"mean", info.normalization.mean}, {"std", info.normalization.std}}},
      {"training", info.training}};
  if (a.reweight_output_twice()) doc["architecture"]["reweight_output_twice"] = true;
  if (a.output_bias_in_holes()) doc["architecture"]["output_bias_in_holes"] = true;
  if (a.output_head()) doc["architecture"]["output_head"] = true;
  if (a.output_activation() != PConvUNetOptions::Activation::none)
    doc["architecture"]["output_activation"] =
        a.output_activation() == PConvUNetOptions::Activation::tanh ? "tanh" : "sigmoid";
  if (!info.source.is_null()) doc["source"] = info.source;
  return doc;
}

void save_model(const fs::path& path, PConvUNet& net, const ModelInfo& info, torch::Dtype storage) {
  if (storage != torch::kFloat32 && storage != torch::kFloat16 && storage != torch::kBFloat16)
    throw Error("model storage must be float32, float16 or bfloat16");
  if (net->batch_norm_folded())
    throw Error(path.string() +
                ": not written: this network's batch-norm is folded into its convolutions (inference only)");
  Safetensors file;
  file.metadata["format"] = "pt";
  file.metadata[kModelMetadataKey] = model_metadata_json(info).dump();
  for (auto& [name, tensor] : model_state(net))
    file.tensors[name] =
        tensor.is_floating_point() ? tensor.detach().to(torch::kCPU, storage) : tensor.detach().to(torch::kCPU);
  write_safetensors(path, file);
}

Model load_model(const fs::path& path, const torch::Device& device, Timings* timings) {
  const std::string where = path.string();
  std::optional<Timings::Scope> stage(std::in_place, timings, "model file read");
  check_sha256_sidecar(path);
  Safetensors file = read_safetensors(path);
  stage.emplace(timings, "model file checked");
  Model model;
  model.info = parse_info(where, file.metadata);
  // Everything is checked against the metadata's architecture before the network is built: the
  // metadata of a small file may describe gigabytes of network.
  const auto& arch = model.info.architecture;
  const auto expected = arch.state_shapes();
  for (const auto& [name, tensor] : file.tensors)
    if (!expected.count(name))
      throw Error(where + ": unexpected tensor '" + name + "' for a depth-" + std::to_string(arch.depth()) + " " +
                  (arch.partial() ? "PConv U-Net" : "U-Net"));
  for (const auto& [name, shape] : expected) {
    const auto it = file.tensors.find(name);
    if (it == file.tensors.end()) throw Error(where + ": missing tensor '" + name + "'");
    const torch::Tensor& source = it->second;
    if (source.sizes() != torch::IntArrayRef(shape)) {
      std::ostringstream msg;
      msg << where << ": tensor '" << name << "' has shape " << source.sizes() << ", expected "
          << torch::IntArrayRef(shape);
      throw Error(msg.str());
    }
    const bool counter = name.size() > 20 && name.compare(name.size() - 20, 20, ".num_batches_tracked") == 0;
    if (source.is_floating_point() == counter)
      throw Error(where + ": tensor '" + name + "' has dtype " + safetensors_dtype(source.scalar_type()) +
                  ", expected " + (counter ? "an integer" : "a floating-point") + " type");
    if (!source.is_floating_point() || source.numel() == 0) continue;
    // Two reductions instead of an elementwise test: they allocate nothing of the tensor's size
    // (fresh memory is slow to touch), and NaN propagates through min and max.
    const double low = source.min().item<double>(), high = source.max().item<double>();
    if (!std::isfinite(low) || !std::isfinite(high))
      throw Error(where + ": tensor '" + name + "' holds NaN or infinite values");
    if (name.size() > 12 && name.compare(name.size() - 12, 12, ".running_var") == 0 && low < 0)
      throw Error(where + ": tensor '" + name + "' holds a negative variance");
  }

  stage.emplace(timings, "network built");
  model.net = PConvUNet(PConvUNetOptions(arch).initialize(false));
  stage.emplace(timings, "weights copied in");
  torch::NoGradGuard no_grad;
  // A tensor of the parameter's own type becomes the parameter, on the file's mapping: nothing is
  // copied until something writes to it (preparing for inference writes each weight once).
  for (auto& [name, target] : model_state(model.net)) {
    const torch::Tensor& source = file.tensors.at(name);
    if (source.scalar_type() == target.scalar_type())
      target.set_data(source);
    else
      target.copy_(source);
  }
  model.net->to(device);
  model.net->eval();
  return model;
}

}  // namespace pconv
