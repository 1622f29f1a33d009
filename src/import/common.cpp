#include <cmath>

#include "pconv/io/error.h"
#include "sources.h"

namespace pconv::import_detail {

std::string source_layer(int64_t i, int64_t depth) {
  return i <= depth ? "enc_" + std::to_string(i) : "dec_" + std::to_string(2 * depth + 1 - i);
}

double width_from_first_layer(int64_t channels, const std::string& name) {
  const double width = static_cast<double>(channels) / 64.0;
  if (PConvUNetOptions().width(width).encoder_channels(1) != channels)
    throw Error(name + " has " + std::to_string(channels) +
                " output channels, which no width of the paper's network gives");
  return width;
}

int64_t checked_depth(int64_t in_file, const ImportOptions& options, const std::string& what) {
  if (in_file == 0) throw Error("no encoder layers found in the " + what + " layout");
  if (options.depth && *options.depth != in_file)
    throw Error("--depth " + std::to_string(*options.depth) + " does not match the file, which holds a depth-" +
                std::to_string(in_file) + " network");
  return in_file;
}

void put_identity_bn(std::map<std::string, torch::Tensor>& state, int64_t layer, int64_t channels) {
  const std::string bn = "bn" + std::to_string(layer);
  constexpr double kEps = 1e-5;  // torch's BatchNorm2d default, which PConvUNet uses
  state[bn + ".weight"] = torch::ones({channels});
  state[bn + ".bias"] = torch::zeros({channels});
  state[bn + ".running_mean"] = torch::zeros({channels});
  state[bn + ".running_var"] = torch::full({channels}, 1.0 - kEps);  // var + eps = 1
  state[bn + ".num_batches_tracked"] = torch::zeros({}, torch::kInt64);
}

void put_bn(SourceState& s, const std::string& prefix, std::map<std::string, torch::Tensor>& state, int64_t layer,
            int64_t channels) {
  const std::string bn = "bn" + std::to_string(layer);
  for (const char* name : {".weight", ".bias", ".running_mean", ".running_var"})
    state[bn + name] = s.take(prefix + name, {channels});
  if (!(state[bn + ".running_var"] >= 0).all().item<bool>())
    throw Error("tensor '" + prefix + ".running_var' holds a negative variance");
  // PyTorch 0.4.0 kept no counter; pconv's format has one.
  state[bn + ".num_batches_tracked"] = s.has(prefix + ".num_batches_tracked")
                                           ? s.take(prefix + ".num_batches_tracked", {}).to(torch::kInt64)
                                           : torch::zeros({}, torch::kInt64);
}

void check_ones(SourceState& s, const std::string& name, const std::vector<int64_t>& shape) {
  if (!s.take(name, shape).eq(1).all().item<bool>())
    throw Error("tensor '" + name + "' is not all ones, as the source's fixed mask kernel always is");
}

}  // namespace pconv::import_detail
