// pconv's own network against its ONNX export in ONNX Runtime, at 512×512 on the paper's network
// (depth 8, full width, random weights and BN statistics). bench/onnx.sh runs both sides in
// alternating rounds and prints the comparison:
//   onnx_bench prepare DIR          writes DIR/paper.onnx, the input and pconv's output (raw float32)
//   onnx_bench time DIR REPS THREADS  times REPS forward passes after a warm-up; prints one JSON line
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "pconv/export/onnx.h"
#include "pconv/infer/device.h"
#include "pconv/io/files.h"
#include "stroke_mask.h"

namespace fs = std::filesystem;
using namespace pconv;

namespace {

constexpr int kSize = 512;

Model paper_model() {
  torch::manual_seed(0);
  const auto options = PConvUNetOptions().depth(8).width(1.0);
  Model m{PConvUNet(options), {}};
  m.info.architecture = options;
  torch::NoGradGuard no_grad;
  for (const auto& item : m.net->named_buffers()) {
    if (item.key().find("running_mean") != std::string::npos) item.value().normal_(0.0, 0.1);
    if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.5, 2.0);
  }
  m.net->eval();
  return m;
}

torch::Tensor image() {
  torch::manual_seed(1);
  return torch::randn({1, 3, kSize, kSize});
}

void write_raw(const fs::path& path, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  write_file_atomic(path, c.data_ptr(), static_cast<size_t>(c.numel()) * sizeof(float));
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string mode = argc >= 3 ? argv[1] : "";
  if (mode != "prepare" && !(mode == "time" && argc == 5)) {
    std::cerr << "usage: onnx_bench prepare DIR | onnx_bench time DIR REPS THREADS" << std::endl;
    return 2;
  }
  const fs::path dir = argv[2];
  if (mode == "time") set_threads(std::stoi(argv[4]));
  Model model = paper_model();
  c10::InferenceMode inference;
  const torch::Tensor x = image(), m = bench::stroke_mask(kSize);
  if (mode == "prepare") {
    fs::create_directories(dir);
    write_onnx(dir / "paper.onnx", model);
    write_raw(dir / "image.f32", x);
    write_raw(dir / "mask.f32", m);
    write_raw(dir / "expected.f32", model.net->forward(x, m));
    return 0;
  }
  const int reps = std::stoi(argv[3]);
  model.net->forward(x, m);  // warm-up: first-call allocations and oneDNN primitives
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const torch::Tensor out = model.net->forward(x, m);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::cout << nlohmann::json({{"median_ms", ms[ms.size() / 2]}, {"peak_rss_mb", peak_rss_mb()}}).dump() << std::endl;
  return 0;
} catch (const std::exception& e) {
  std::cerr << "onnx_bench: " << e.what() << std::endl;
  return 1;
}
