// Writes every model kind of export_cases.h as an ONNX file, with its input cases and pconv's
// own outputs as raw float32, and a manifest.json that runtime.test.mjs and check_models.py read:
//   make_onnx_cases DIR
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "onnx/export_cases.h"
#include "pconv/export/onnx.h"
#include "pconv/io/files.h"

namespace fs = std::filesystem;
using namespace pconv;

namespace {

nlohmann::json write_tensor(const fs::path& dir, const std::string& name, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  write_file_atomic(dir / name, c.data_ptr(), static_cast<size_t>(c.numel()) * sizeof(float));
  return {{"file", name}, {"shape", c.sizes().vec()}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_onnx_cases DIR" << std::endl;
    return 2;
  }
  try {
    const fs::path dir = argv[1];
    fs::create_directories(dir);
    torch::NoGradGuard no_grad;
    nlohmann::json manifest = nlohmann::json::array();
    for (auto& kind : test::onnx_kinds()) {
      const std::string model = kind.name + ".onnx";
      write_onnx(dir / model, kind.model);
      for (const auto& c : test::onnx_cases(kind.model.info.architecture.size_multiple())) {
        const std::string stem = kind.name + "." + c.name;
        manifest.push_back(
            {{"model", model},
             {"case", c.name},
             {"image", write_tensor(dir, stem + ".image.f32", c.image)},
             {"mask", write_tensor(dir, stem + ".mask.f32", c.mask)},
             {"expected", write_tensor(dir, stem + ".expected.f32", kind.model.net->forward(c.image, c.mask))}});
      }
    }
    const std::string text = manifest.dump(1);
    write_file_atomic(dir / "manifest.json", text.data(), text.size());
    std::cout << "make_onnx_cases: " << manifest.size() << " cases in " << dir.string() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "make_onnx_cases: " << e.what() << std::endl;
    return 1;
  }
}
