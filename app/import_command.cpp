// pconv import: a model of another PConv project as a pconv model file.
#include <iostream>

#include "commands.h"
#include "pconv/import/import.h"
#include "pconv/io/error.h"

namespace pconv::app {
namespace {

struct Options {
  std::string source, from = "auto", out;
  int64_t depth = 0;
};

int run(const Options& o) {
  ImportOptions options;
  options.from = parse_import_source(o.from);
  if (o.depth != 0) options.depth = o.depth;
  const std::filesystem::path out =
      o.out.empty() ? std::filesystem::path(o.source).replace_extension(".safetensors") : std::filesystem::path(o.out);
  if (std::filesystem::exists(out) && std::filesystem::equivalent(o.source, out))
    throw Error(out.string() + ": is the source file itself; pass another --out");

  const ImportedModel model = import_model(o.source, options);
  save_imported_model(out, model);
  load_model(out);  // what was written reads back under every check pconv makes

  const auto& a = model.info.architecture;
  int64_t parameters = 0;
  for (const auto& [name, tensor] : model.state)
    if (tensor.is_floating_point() && name.find("running_") == std::string::npos) parameters += tensor.numel();
  std::cout << "pconv: imported " << model.info.source.at("project").get<std::string>() << " ("
            << model.info.source.at("code").get<std::string>() << "): depth " << a.depth() << ", width " << a.width()
            << ", " << parameters << " parameters, inputs multiples of " << a.size_multiple() << "\n";
  for (const auto& note : model.notes) std::cout << "  " << note << "\n";
  std::cout << "pconv: wrote " << out.string() << " (pconv info " << out.string() << " shows its metadata)"
            << std::endl;
  return 0;
}

}  // namespace

Run add_import_command(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      root.add_subcommand("import", "Convert a model of another PConv implementation into a pconv model file");
  cmd->add_option("source", o->source,
                  "The model: a PyTorch checkpoint (.pth, .pt; zip or legacy format) or Keras HDF5 (.h5)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--from", o->from,
                  "Which project wrote it: keras (MathiasGruber/PConv-Keras, HDF5), naoto "
                  "(naoto0804/pytorch-inpainting-with-partial-conv), sneakysketchers (yashk2000/SneakySketchers), "
                  "sunnerli (SunnerLi/P-Conv), or auto (recognised from the file)")
      ->check(CLI::IsMember({"auto", "keras", "naoto", "sneakysketchers", "sunnerli"}))
      ->capture_default_str();
  cmd->add_option("--out,-o", o->out, "The pconv model to write; default: the source's name with .safetensors");
  cmd->add_option("--depth", o->depth,
                  "Encoder layers, where the file cannot tell (SneakySketchers: 7, as its predict.py); must match "
                  "the file otherwise")
      ->check(CLI::Range(2, 10));
  return [o] { return run(*o); };
}

}  // namespace pconv::app
