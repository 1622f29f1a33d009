// pconv masks: a reproducible mask set in the paper's six hole-ratio buckets.
#include <iostream>

#include "commands.h"
#include "pconv/data/mask_set.h"
#include "pconv/io/error.h"
#include "pconv/io/log.h"
#include "pconv/io/progress.h"

namespace pconv::app {
namespace {

struct Options {
  MaskSetOptions set;
  std::string out, images;
  int size = 512;
};

int run(Options& o) {
  o.set.out = o.out;
  o.set.images = o.images;
  o.set.width = o.set.height = o.size;
  ProgressLine progress;
  const size_t n =
      write_mask_set(o.set, [&progress](size_t done, size_t total) { progress.count("masks", done, total); });
  log_info(std::to_string(n) + " masks written to " + o.out);
  return 0;
}

}  // namespace

Run add_masks_command(CLI::App& root) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = root.add_subcommand(
      "masks",
      "Write masks (white = hole) in the paper's six hole-ratio buckets, with and without holes at the border");
  cmd->add_option("--out,-o", o->out, "Folder for <bucket>/<border|no_border>/NNNNN.png and masks.json")->required();
  cmd->add_option("--count,-n", o->set.per_category, "Masks per bucket and border category (12 categories)")
      ->capture_default_str();
  cmd->add_option("--size", o->size, "Side of the square masks")->capture_default_str();
  cmd->add_option("--seed", o->set.seed, "Seed; the same seed gives the same masks")->capture_default_str();
  cmd->add_option("--images", o->images, "Also write originals and masked images from this folder of photos");
  const FlagNames flags = {
      {"per_category", "--count"}, {"width", "--size"}, {"height", "--size"}, {"images", "--images"}};
  return [o, flags] { return run_naming_flags(flags, [o] { return run(*o); }); };
}

}  // namespace pconv::app
