// pconv's own network against its ONNX export in ONNX Runtime, at 512×512 on the paper's network
// (depth 8, full width, random weights and BN statistics). bench/onnx.sh runs both sides in
// alternating rounds and prints the comparison:
//   onnx_bench prepare DIR          writes DIR/paper.onnx, the input and pconv's output (raw float32)
// pconv's side is timed by peer_bench.
#include <iostream>

#include "paper_model.h"
#include "pconv/export/onnx.h"
#include "pconv/io/files.h"
#include "stroke_mask.h"

namespace fs = std::filesystem;
using namespace pconv;

namespace {

constexpr int kSize = 512;

torch::Tensor image() {
  torch::manual_seed(1);
  return torch::randn({1, 3, kSize, kSize});
}

void write_raw(const fs::path& path, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  write_file_atomic(path, c.data_ptr(), static_cast<size_t>(c.numel()) * sizeof(float));
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3 || std::string(argv[1]) != "prepare") {
    std::cerr << "usage: onnx_bench prepare DIR" << std::endl;
    return 2;
  }
  const fs::path dir = argv[2];
  Model model = bench::paper_model();
  c10::InferenceMode inference;
  const torch::Tensor x = image(), m = bench::stroke_mask(kSize);
  fs::create_directories(dir);
  write_onnx(dir / "paper.onnx", model);
  write_raw(dir / "image.f32", x);
  write_raw(dir / "mask.f32", m);
  write_raw(dir / "expected.f32", model.net->forward(x, m));
  return 0;
} catch (const std::exception& e) {
  std::cerr << "onnx_bench: " << e.what() << std::endl;
  return 1;
}
