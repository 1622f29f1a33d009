#include "onnx/export_cases.h"

namespace pconv::test {
namespace {

Model random_model(const std::string& name, PConvUNetOptions options, uint64_t seed) {
  torch::manual_seed(seed);
  Model m{PConvUNet(options), {}};
  m.info.architecture = options;
  m.info.training = {{"note", "random weights for the ONNX export tests: " + name}};
  torch::NoGradGuard no_grad;
  for (const auto& item : m.net->named_buffers()) {
    const std::string& key = item.key();
    torch::Tensor tensor = item.value();
    if (key.find("running_mean") != std::string::npos) tensor.normal_(0.0, 0.2);
    if (key.find("running_var") != std::string::npos) tensor.uniform_(0.5, 2.0);
  }
  for (const auto& item : m.net->named_parameters()) {
    const std::string& key = item.key();
    torch::Tensor tensor = item.value();
    const bool bn = key.rfind("bn", 0) == 0, bias = key.find(".bias") != std::string::npos;
    if (bn && !bias) tensor.uniform_(0.5, 1.5);
    if (bias) tensor.uniform_(-0.3, 0.3);
  }
  m.net->eval();
  return m;
}

torch::Tensor blobs(int64_t n, int64_t h, int64_t w, double hole_share, uint64_t seed) {
  torch::manual_seed(seed);
  // Coarse noise upsampled: holes of several sizes rather than salt and pepper.
  const torch::Tensor coarse = torch::rand({n, 1, (h + 3) / 4, (w + 3) / 4});
  const torch::Tensor fine = coarse.repeat_interleave(4, 2).repeat_interleave(4, 3).narrow(2, 0, h).narrow(3, 0, w);
  return fine.ge(hole_share).to(torch::kFloat32).contiguous();
}

}  // namespace

std::vector<OnnxKind> onnx_kinds() {
  using Activation = PConvUNetOptions::Activation;
  const auto small = [] { return PConvUNetOptions().depth(3).width(0.125); };
  std::vector<OnnxKind> kinds;
  const auto add = [&](const std::string& name, PConvUNetOptions options, uint64_t seed) {
    kinds.push_back({name, random_model(name, options, seed)});
  };
  add("pconv", small(), 1);
  add("pconv_depth4", PConvUNetOptions().depth(4).width(0.0625), 2);
  add("unet", small().partial(false), 3);
  add("sneakysketchers", small().reweight_output_twice(true), 4);
  add("sunnerli", small().output_bias_in_holes(true).output_activation(Activation::tanh), 5);
  add("keras", small().output_bias_in_holes(true).output_head(true).output_activation(Activation::sigmoid), 6);
  add("all_variants", small().reweight_output_twice(true).output_bias_in_holes(true).output_head(true), 7);
  return kinds;
}

std::vector<OnnxCase> onnx_cases(int64_t multiple) {
  const int64_t m = multiple;
  std::vector<OnnxCase> cases;
  const auto image = [](int64_t n, int64_t h, int64_t w, uint64_t seed) {
    torch::manual_seed(seed);
    return torch::randn({n, 3, h, w});
  };
  cases.push_back({"square_blobs", image(1, 4 * m, 4 * m, 11), blobs(1, 4 * m, 4 * m, 0.3, 12)});
  cases.push_back({"wide_batch2", image(2, 2 * m, 5 * m, 13), blobs(2, 2 * m, 5 * m, 0.5, 14)});
  torch::Tensor border = torch::ones({1, 1, 3 * m, 3 * m});
  border.narrow(3, 0, m / 2).zero_();      // a band along the left edge
  border.narrow(2, 3 * m - 3, 3).zero_();  // and the bottom rows
  cases.push_back({"border_holes", image(1, 3 * m, 3 * m, 15), border});
  cases.push_back({"all_valid", image(1, 2 * m, 3 * m, 16), torch::ones({1, 1, 2 * m, 3 * m})});
  torch::Tensor almost = blobs(1, 4 * m, 2 * m, 0.95, 18);
  almost.narrow(2, 2 * m, 2).narrow(3, m, 2).fill_(1.0);  // at least one valid spot
  cases.push_back({"almost_all_hole", image(1, 4 * m, 2 * m, 17), almost});
  cases.push_back({"all_hole", image(1, 2 * m, 2 * m, 19), torch::zeros({1, 1, 2 * m, 2 * m})});
  return cases;
}

}  // namespace pconv::test
