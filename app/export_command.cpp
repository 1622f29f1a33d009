// pconv export: a model as an ONNX graph, to run in other runtimes (docs/export.md).
#include <array>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "pconv/export/onnx.h"
#include "pconv/io/error.h"

namespace pconv::app {
namespace {

struct Options {
  std::string model, onnx;
};

int run(const Options& o) {
  const auto path = resolve_model(o.model);
  const Model model = load_model(path);
  write_onnx(o.onnx, model);
  const auto& a = model.info.architecture;
  const auto triple = [](const std::array<float, 3>& v) {
    std::ostringstream s;
    s << v[0] << "," << v[1] << "," << v[2];
    return s.str();
  };
  std::cout << "pconv: wrote " << o.onnx << " (ONNX opset " << kOnnxOpset << "): inputs image (N,3,H,W) and mask "
            << "(N,1,H,W, 1 = valid), output prediction (N,3,H,W); H and W multiples of " << a.size_multiple()
            << "; docs/export.md shows how to run it\n"
            << "  input conventions (also in the file's metadata): --multiple " << a.size_multiple() << " --mean "
            << triple(model.info.normalization.mean) << " --std " << triple(model.info.normalization.std) << std::endl;
  return 0;
}

}  // namespace

Run add_export_command(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = root.add_subcommand("export", "Write a model's network as an ONNX graph for other runtimes");
  cmd->add_option("model", o->model, "Model file (.safetensors); default: the bundled model");
  cmd->add_option("--onnx", o->onnx, "The ONNX file to write")->required();
  return [o] { return run(*o); };
}

}  // namespace pconv::app
