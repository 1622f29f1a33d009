// pconv evaluate: a Table-1-style comparison of models and classical methods.
#include <iostream>
#include <thread>

#include "commands.h"
#include "pconv/eval/evaluate.h"
#include "pconv/eval/report.h"
#include "pconv/infer/device.h"
#include "pconv/io/error.h"
#include "pconv/io/image.h"
#include "pconv/io/log.h"
#include "pconv/io/progress.h"

namespace fs = std::filesystem;

namespace pconv::app {
namespace {

struct Options {
  EvaluationOptions evaluation;
  std::string images, masks, out, device = "auto", precision = "fp32";
  std::vector<std::string> methods;  // none given: the bundled models, Telea and Navier-Stokes
  int radius = 3;
  double max_megapixels = kDefaultMaxPixels / 1e6;
  InpaintOptions fill;  // models only
};

int run(Options& o) {
  EvaluationOptions& e = o.evaluation;
  e.images = o.images;
  e.masks = o.masks;
  // NaN and negative values become 0, which check() refuses.
  e.max_pixels = o.max_megapixels > 0 ? static_cast<int64_t>(o.max_megapixels * 1e6) : 0;
  e.check();
  if (o.methods.empty()) {
    for (const std::string& style : bundled_styles())
      if (const fs::path bundled = bundled_model_path(style); !bundled.empty()) o.methods.push_back(bundled.string());
    o.methods.insert(o.methods.end(), {"telea", "ns"});
  }
  // Parallel images each want a core: LibTorch then runs single-threaded inside each.
  set_threads(e.jobs > 1 ? 1 : 0);
  const torch::Device device = parse_device(o.device);
  const torch::Dtype precision = parse_precision(o.precision, device);
  std::vector<std::unique_ptr<InpaintMethod>> owned;
  std::vector<const InpaintMethod*> list;
  for (const auto& spec : o.methods) {
    owned.push_back(make_method(spec, device, o.radius, o.fill, precision));
    list.push_back(owned.back().get());
  }
  ProgressLine progress(false, /*log_every=*/50);
  const EvaluationReport report =
      evaluate(e, list, [&progress](size_t done, size_t total) { progress.count("evaluated", done, total); });
  write_report(report, o.out);
  std::cout << report_markdown(report);
  log_info("report written to " + o.out + "/report.{md,csv,json,html}");
  return 0;
}

}  // namespace

Run add_evaluate_command(CLI::App& root) {
  auto o = std::make_shared<Options>();
  EvaluationOptions& e = o->evaluation;
  e.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CLI::App* cmd =
      root.add_subcommand("evaluate", "Score models and classical methods per hole bucket (the paper's Table 1)");
  cmd->add_option("--images,-i", o->images, "Folder of ground-truth photos")->required();
  cmd->add_option("--masks,-m", o->masks, "A mask set from pconv masks; default: masks generated per category");
  cmd->add_option("--method", o->methods,
                  "telea, ns, fsr (OpenCV xphoto), a model file, or NAME=MODEL_FILE to name it in the report; repeat "
                  "for several (default: the bundled model, telea and ns)");
  cmd->add_option("--out,-o", o->out, "Folder for report.md, report.csv, report.json, report.html")->required();
  cmd->add_option("--size", e.size, "Square centre crop of each photo; 0 = native size")->capture_default_str();
  cmd->add_option("--per-category", e.per_category, "Generated masks per bucket and border category")
      ->capture_default_str();
  cmd->add_option("--seed", e.seed, "Seed of generated masks")->capture_default_str();
  cmd->add_option("--jobs,-j", e.jobs, "Images evaluated in parallel (timings compare best with 1)")
      ->capture_default_str();
  cmd->add_option("--examples", e.examples, "Examples per category on the HTML page")->capture_default_str();
  cmd->add_option("--max-megapixels", o->max_megapixels, "Largest photo or mask, read from its header before decoding")
      ->capture_default_str();
  cmd->add_option("--radius", o->radius, "Neighbourhood radius of Telea and Navier-Stokes")->capture_default_str();
  add_fill_options(cmd, o->fill);  // models only
  add_dilate_option(cmd, e.dilate);
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N (models)")->capture_default_str();
  add_precision_option(cmd, o->precision);
  const FlagNames flags = {{"size", "--size"},     {"per_category", "--per-category"},
                           {"jobs", "--jobs"},     {"max_pixels", "--max-megapixels"},
                           {"images", "--images"}, {"masks", "--masks"},
                           {"dilate", "--dilate"}};
  return [o, flags] { return run_naming_flags(flags, [o] { return run(*o); }); };
}

}  // namespace pconv::app
