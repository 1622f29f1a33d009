#include "pconv/import/import.h"

#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/torch_checkpoint.h"
#include "sources.h"

namespace pconv {
namespace fs = std::filesystem;
using import_detail::Conversion;
using import_detail::SourceState;

namespace {
const std::map<ImportSource, std::string>& source_names() {
  static const std::map<ImportSource, std::string> names{{ImportSource::automatic, "auto"},
                                                         {ImportSource::keras, "keras"},
                                                         {ImportSource::naoto, "naoto"},
                                                         {ImportSource::sneakysketchers, "sneakysketchers"},
                                                         {ImportSource::sunnerli, "sunnerli"}};
  return names;
}

// The declared source's converter, or the one whose layout the file has (auto).
Conversion convert(SourceState& state, ImportSource from, const ImportOptions& options) {
  switch (from) {
    case ImportSource::naoto:
      return convert_naoto(state, options);
    case ImportSource::sneakysketchers:
      return convert_sneakysketchers(state, options);
    case ImportSource::sunnerli:
      return convert_sunnerli(state, options);
    case ImportSource::keras:
    case ImportSource::automatic:
      break;
  }
  if (import_detail::is_naoto(state)) return convert_naoto(state, options);
  if (import_detail::is_sneakysketchers(state)) return convert_sneakysketchers(state, options);
  if (import_detail::is_sunnerli(state)) return convert_sunnerli(state, options);
  throw Error("a PyTorch checkpoint of no known PConv project (naoto0804, SneakySketchers, SunnerLi): pass --from");
}
}  // namespace

std::string to_string(ImportSource source) { return source_names().at(source); }

ImportSource parse_import_source(const std::string& name) {
  std::string known;
  for (const auto& [source, spelled] : source_names()) {
    if (spelled == name) return source;
    known += (known.empty() ? "" : ", ") + spelled;
  }
  throw Error("unknown source '" + name + "' (expected one of " + known + ")");
}

namespace {
// A Keras HDF5 file or a PyTorch checkpoint, converted by the declared or recognised source.
Conversion read_and_convert(const fs::path& path, const ImportOptions& options) {
  const bool hdf5 = looks_like_hdf5(path);
  if (options.from == ImportSource::keras || (options.from == ImportSource::automatic && hdf5)) {
    if (!hdf5) throw Error("not an HDF5 file, as PConv-Keras writes (--from keras)");
    return import_detail::convert_keras(read_keras_weights(path), options);
  }
  if (hdf5) throw Error("an HDF5 file (a Keras model: --from keras), not a " + to_string(options.from) + " checkpoint");
  const pickle::Value checkpoint = read_torch_checkpoint(path);
  SourceState state(checkpoint, options.from == ImportSource::automatic ? "PConv" : to_string(options.from));
  return convert(state, options.from, options);
}
}  // namespace

ImportedModel import_model(const fs::path& path, const ImportOptions& options) {
  const std::string where = path.string();
  ImportedModel model;
  try {
    Conversion c = read_and_convert(path, options);
    model.info.architecture = c.architecture;
    model.info.normalization = c.normalization;
    model.state = std::move(c.state);
    model.notes = std::move(c.notes);
    model.info.source = {{"project", c.project},
                         {"code", c.layout},
                         {"file", path.filename().string()},
                         {"sha256", sha256_hex(read_file(path))},
                         {"conversion", model.notes}};
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(where + ": ", 0) == 0) throw;  // the readers name the file themselves
    throw Error(where + ": " + msg);
  }
  // The converted tensors against the architecture, so that a converter's slip cannot write a
  // file that pconv would refuse to load.
  const auto expected = model.info.architecture.state_shapes();
  for (const auto& [name, shape] : expected)
    if (!model.state.count(name) || model.state.at(name).sizes() != torch::IntArrayRef(shape))
      throw Error(where + ": internal error: conversion produced no tensor '" + name + "' of the expected shape");
  if (model.state.size() != expected.size()) throw Error(where + ": internal error: conversion produced extra tensors");
  for (const auto& [name, tensor] : model.state)
    if (tensor.is_floating_point() && !torch::isfinite(tensor).all().item<bool>())
      throw Error(where + ": its weights hold NaN or infinite values (pconv's " + name + ")");
  return model;
}

PConvUNet build_network(const ImportedModel& model) {
  PConvUNet net(model.info.architecture);
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : model_state(net)) target.copy_(model.state.at(name));
  net->eval();
  return net;
}

void save_imported_model(const fs::path& out, const ImportedModel& model) {
  PConvUNet net = build_network(model);
  save_model(out, net, model.info);
}

}  // namespace pconv
