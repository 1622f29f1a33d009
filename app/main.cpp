// pconv: fill holes in images with the partial-convolution U-Net (Liu et al., ECCV 2018).
// This file only parses and dispatches; the work is in the library.
#include <c10/util/Exception.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>

#include "commands.h"
#include "pconv/infer/inpainter.h"
#include "pconv/io/error.h"
#include "pconv/io/image.h"
#include "suggest.h"

namespace fs = std::filesystem;

namespace pconv::app {

const std::vector<std::string>& bundled_styles() {
  static const std::vector<std::string> styles = {"smooth", "textured"};
  return styles;
}

namespace {
std::string bundled_model_name(const std::string& style) {
  return style == "textured" ? "pconv-textured.safetensors" : "pconv.safetensors";
}
}  // namespace

fs::path bundled_model_path(const std::string& style) {
  const fs::path name = bundled_model_name(style);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share/pconv/models" / name);
  candidates.push_back(fs::path(PCONV_INSTALL_DATADIR) / "models" / name);
  candidates.push_back(fs::path(PCONV_SOURCE_DIR) / "models" / name);
  for (const auto& c : candidates)
    if (fs::exists(c, ec)) return c;
  return {};
}

fs::path resolve_model(const std::string& option, const std::string& style) {
  if (!option.empty()) return option;
  fs::path bundled = bundled_model_path(style);
  if (bundled.empty())
    throw Error("no bundled " + style + " model is present (models/" + bundled_model_name(style) +
                "); pass --model FILE with a trained model");
  return bundled;
}

void add_style_option(CLI::App* cmd, std::string& style, CLI::Option* model) {
  cmd->add_option("--style", style,
                  "Which bundled model fills: smooth (closest to the photo on average: PSNR, SSIM) or textured "
                  "(grain and detail like the photo's, a little further on average; see docs/model-card.md)")
      ->check(CLI::IsMember(bundled_styles()))
      ->excludes(model)
      ->capture_default_str();
}

int run_naming_flags(const FlagNames& flags, const Run& run) {
  try {
    return run();
  } catch (const OptionError& e) {
    throw Error(e.renamed(flags));
  }
}

std::string describe(const std::exception& e) {
  if (dynamic_cast<const PixelLimitError*>(&e)) return std::string(e.what()) + " (--max-megapixels)";
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&e)) return torch_error->what_without_backtrace();
  return e.what();
}

void add_fill_options(CLI::App* cmd, InpaintOptions& options) {
  // Defined before --ensemble and --blend: CLI11 applies options in the order they are defined, so
  // either of those, given too, refines the preset.
  cmd->add_option_function<std::string>(
         "--quality", [&options](const std::string& quality) { set_quality(options, quality); },
         "fast: one network pass; best: eight passes on flipped and transposed copies, averaged (about 0.2 dB "
         "closer, 8 times the network's time)")
      ->check(CLI::IsMember({"fast", "best"}))
      ->default_str(quality_name(options));
  cmd->add_option("--tile", options.tile, "Side of the square filled in one network pass; larger images are tiled")
      ->capture_default_str();
  cmd->add_option("--overlap", options.overlap, "Pixels shared by neighbouring tiles, blended smoothly")
      ->capture_default_str();
  cmd->add_option("--max-hole-radius", options.max_hole_radius,
                  "Holes wider than this radius (px) are filled at a scale where they are this wide, then scaled "
                  "up; 0 = always at full resolution")
      ->capture_default_str();
  cmd->add_option("--context", options.context,
                  "Pixels of photo the network sees around each group of holes; the rest of the photo is left "
                  "alone; 0 = fill the whole image at once")
      ->capture_default_str();
  cmd->add_option("--ensemble", options.ensemble,
                  "Network passes on flipped and transposed copies, averaged: 1, 2, 4 or 8 (closer, and slower)")
      ->capture_default_str();
  cmd->add_option_function<std::string>(
         "--blend", [&options](const std::string& blend) { options.poisson_blend = blend == "poisson"; },
         "How the fill meets the photo: poisson (gradient domain, no seam at the hole's edge) or none (the "
         "network's prediction pasted as it is, as in the paper)")
      ->check(CLI::IsMember({"poisson", "none"}))
      ->default_str("poisson");
}

void add_dilate_option(CLI::App* cmd, int& pixels) {
  cmd->add_option("--dilate", pixels,
                  "Grow every hole by this many pixels before filling, so that an object's halo and shadow, "
                  "which a painted mask misses, go with it")
      ->check(CLI::Range(0, kMaxGrowPixels))
      ->capture_default_str();
}

void add_precision_option(CLI::App* cmd, std::string& precision) {
  cmd->add_option("--precision", precision,
                  "Type the network computes in: fp32; bf16 (CPU with oneDNN or CUDA: faster, the fill within a "
                  "few levels of fp32's); fp16 (CUDA only)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))
      ->capture_default_str();
}

// Parses the command line and runs the subcommand it names.
int run_pconv(int argc, char** argv) {
  CLI::App root{"pconv: fill holes in images with the partial-convolution U-Net (Liu et al., ECCV 2018)"};
  root.require_subcommand(1);
  root.set_version_flag("--version", "pconv 0.1.0");
  std::map<CLI::App*, pconv::app::Run> commands;
  auto add = [&](pconv::app::Run run) { commands[root.get_subcommands({}).back()] = std::move(run); };
  add(pconv::app::add_inpaint_command(root));
  add(pconv::app::add_info_command(root));
  add(pconv::app::add_import_command(root));
  add(pconv::app::add_export_command(root));
  add(pconv::app::add_train_command(root));
  add(pconv::app::add_masks_command(root));
  add(pconv::app::add_evaluate_command(root));
  add(pconv::app::add_serve_command(root));

  try {
    root.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return root.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return root.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return root.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string help = "pconv";
    for (CLI::App* sub : root.get_subcommands({}))
      if (sub->parsed()) help += " " + sub->get_name();
    std::cerr << "pconv: error: " << e.what() << suggest_for(root, argc, argv) << "; see " << help << " --help"
              << std::endl;
    return 2;
  }
  for (auto& [app, run] : commands)
    if (app->parsed()) return run();
  return 2;
}

}  // namespace pconv::app

namespace {
int run_main(int argc, char** argv) {
  try {
    return pconv::app::run_pconv(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "pconv: error: " << pconv::app::describe(e) << std::endl;
  } catch (...) {
    std::cerr << "pconv: error: an unknown failure" << std::endl;
  }
  return 1;
}

// Whether the sanitizers' exit-time checks (leaks) are compiled in and must run.
constexpr bool kSanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif
}  // namespace

int main(int argc, char** argv) {
  const int status = run_main(argc, argv);
  if (kSanitized) return status;
  // Every object of the command is gone by now, its files closed. What is left are the static
  // destructors, LibTorch's unregistering its thousands of operators one by one (60 ms, 5% of a
  // 512x512 fill), which a process about to end does not need.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  _exit(status);
}
