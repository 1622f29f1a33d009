#pragma once
// Each subcommand registers its options on the root app and returns the function that runs it.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace pconv {
struct InpaintOptions;
}

namespace pconv::app {

using Run = std::function<int()>;

Run add_inpaint_command(CLI::App& root);
Run add_info_command(CLI::App& root);
Run add_import_command(CLI::App& root);
Run add_export_command(CLI::App& root);
Run add_train_command(CLI::App& root);
Run add_masks_command(CLI::App& root);
Run add_evaluate_command(CLI::App& root);
Run add_serve_command(CLI::App& root);

/// A command's options-struct fields -> the flags that set them, so that errors name flags.
using FlagNames = std::map<std::string, std::string>;

/// Runs `run`; an OptionError from the library comes out as an Error that names the fields in
/// `flags` by their flags ("--port 70000: must be 0..65535").
int run_naming_flags(const FlagNames& flags, const Run& run);

/// An error's one-line message, with the flag that raises a limit where one was exceeded.
std::string describe(const std::exception& e);

/// The bundled models' styles: smooth (pconv.safetensors, the default) and textured
/// (pconv-textured.safetensors).
const std::vector<std::string>& bundled_styles();

/// The bundled model of `style`, or an empty path when none ships with this build.
std::filesystem::path bundled_model_path(const std::string& style = "smooth");

/// --style smooth|textured: which bundled model fills (inpaint, serve); not with --model.
void add_style_option(CLI::App* cmd, std::string& style, CLI::Option* model);

/// --quality, --tile, --overlap, --max-hole-radius, --context, --ensemble and --blend: how a model
/// fills (inpaint, serve, evaluate).
void add_fill_options(CLI::App* cmd, InpaintOptions& options);

/// --dilate N: grow every hole by N pixels before filling (inpaint, serve, evaluate).
void add_dilate_option(CLI::App* cmd, int& pixels);

/// --precision fp32|bf16|fp16: the type the network computes in (inpaint, serve, evaluate);
/// parse_precision checks it against the device.
void add_precision_option(CLI::App* cmd, std::string& precision);

/// The --model value, or the bundled model of `style`; throws with a one-line explanation when
/// neither exists.
std::filesystem::path resolve_model(const std::string& option, const std::string& style = "smooth");

}  // namespace pconv::app
