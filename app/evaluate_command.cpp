// pconv evaluate: a Table-1-style comparison of models and classical methods.
#include <unistd.h>

#include <cstdio>
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

namespace pconv::app {

Run add_evaluate_command(CLI::App& root) {
  auto o = std::make_shared<EvaluationOptions>();
  auto images = std::make_shared<std::string>();
  auto masks = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto methods = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"telea", "ns"});
  auto device = std::make_shared<std::string>("auto");
  auto radius = std::make_shared<int>(3);
  auto max_megapixels = std::make_shared<double>(kDefaultMaxPixels / 1e6);
  auto model_options = std::make_shared<InpaintOptions>();
  o->jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CLI::App* cmd =
      root.add_subcommand("evaluate", "Score models and classical methods per hole bucket (the paper's Table 1)");
  cmd->add_option("--images,-i", *images, "Folder of ground-truth photos")->required();
  cmd->add_option("--masks,-m", *masks, "A mask set from pconv masks; default: masks generated per category");
  cmd->add_option("--method", *methods, "telea, ns, fsr (OpenCV xphoto) or a model file; repeat for several")
      ->capture_default_str();
  cmd->add_option("--out,-o", *out, "Folder for report.md, report.csv, report.json, report.html")->required();
  cmd->add_option("--size", o->size, "Square centre crop of each photo; 0 = native size")->capture_default_str();
  cmd->add_option("--per-category", o->per_category, "Generated masks per bucket and border category")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of generated masks")->capture_default_str();
  cmd->add_option("--jobs,-j", o->jobs, "Images evaluated in parallel (timings compare best with 1)")
      ->capture_default_str();
  cmd->add_option("--examples", o->examples, "Examples per category on the HTML page")->capture_default_str();
  cmd->add_option("--max-megapixels", *max_megapixels, "Largest photo or mask, read from its header before decoding")
      ->capture_default_str();
  cmd->add_option("--radius", *radius, "Neighbourhood radius of Telea and Navier-Stokes")->capture_default_str();
  add_fill_options(cmd, *model_options);  // models only
  cmd->add_option("--device", *device, "auto, cpu, cuda or cuda:N (models)")->capture_default_str();
  const FlagNames flags = {{"size", "--size"},     {"per_category", "--per-category"},
                           {"jobs", "--jobs"},     {"max_pixels", "--max-megapixels"},
                           {"images", "--images"}, {"masks", "--masks"}};
  return [o, images, masks, out, methods, device, radius, model_options, max_megapixels, flags] {
    return run_naming_flags(flags, [&] {
      o->images = *images;
      o->masks = *masks;
      if (!(*max_megapixels > 0))
        throw Error("--max-megapixels " + std::to_string(*max_megapixels) + ": must be positive");
      o->max_pixels = static_cast<int64_t>(*max_megapixels * 1e6);
      o->check();
      if (methods->empty()) throw Error("no methods to evaluate: give --method telea, ns, fsr or a model file");
      // Parallel images each want a core: LibTorch then runs single-threaded inside each.
      set_threads(o->jobs > 1 ? 1 : 0);
      const torch::Device dev = parse_device(*device);
      std::vector<std::unique_ptr<InpaintMethod>> owned;
      std::vector<const InpaintMethod*> list;
      for (const auto& spec : *methods) {
        owned.push_back(make_method(spec, dev, *radius, *model_options));
        list.push_back(owned.back().get());
      }
      ProgressLine progress(false, /*log_every=*/50);
      const EvaluationReport report = evaluate(
          *o, list, [&progress](size_t done, size_t total) { progress.count("pconv: evaluated", done, total); });
      write_report(report, *out);
      std::cout << report_markdown(report);
      log_info("report written to " + *out + "/report.{md,csv,json,html}");
      return 0;
    });
  };
}

}  // namespace pconv::app
