// pconv info: what a model file holds.
#include <iostream>

#include "commands.h"
#include "pconv/nn/model_file.h"

namespace pconv::app {

Run add_info_command(CLI::App& root) {
  auto model = std::make_shared<std::string>();
  CLI::App* cmd = root.add_subcommand("info", "Validate a model file and print its metadata as JSON");
  cmd->add_option("model", *model, "Model file (.safetensors); default: the bundled model");
  return [model] {
    const auto path = resolve_model(*model);
    Model m = load_model(path);
    int64_t parameters = 0;
    for (const auto& p : m.net->parameters()) parameters += p.numel();
    nlohmann::json doc = model_metadata_json(m.info);
    doc["file"] = path.string();
    doc["parameters"] = parameters;
    std::cout << doc.dump(2) << std::endl;
    return 0;
  };
}

}  // namespace pconv::app
