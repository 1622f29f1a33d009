// pconv info: what a model file holds.
#include <iostream>

#include "commands.h"
#include "pconv/nn/model_file.h"

namespace pconv::app {
namespace {

struct Options {
  std::string model;
};

int run(const Options& o) {
  const auto path = resolve_model(o.model);
  Model m = load_model(path);
  int64_t parameters = 0;
  for (const auto& p : m.net->parameters()) parameters += p.numel();
  nlohmann::json doc = model_metadata_json(m.info);
  doc["file"] = path.string();
  doc["parameters"] = parameters;
  std::cout << doc.dump(2) << std::endl;
  return 0;
}

}  // namespace

Run add_info_command(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = root.add_subcommand("info", "Validate a model file and print its metadata as JSON");
  cmd->add_option("model", o->model, "Model file (.safetensors); default: the bundled model");
  return [o] { return run(*o); };
}

}  // namespace pconv::app
