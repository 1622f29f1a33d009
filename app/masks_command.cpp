// pconv masks: a reproducible mask set in the paper's six hole-ratio buckets.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "commands.h"
#include "pconv/data/mask_set.h"
#include "pconv/io/error.h"
#include "pconv/io/log.h"
#include "pconv/io/progress.h"

namespace pconv::app {

Run add_masks_command(CLI::App& root) {
  auto o = std::make_shared<MaskSetOptions>();
  auto out = std::make_shared<std::string>();
  auto images = std::make_shared<std::string>();
  auto size = std::make_shared<int>(512);
  CLI::App* cmd = root.add_subcommand(
      "masks",
      "Write masks (white = hole) in the paper's six hole-ratio buckets, with and without holes at the border");
  cmd->add_option("--out,-o", *out, "Folder for <bucket>/<border|no_border>/NNNNN.png and masks.json")->required();
  cmd->add_option("--count,-n", o->per_category, "Masks per bucket and border category (12 categories)")
      ->capture_default_str();
  cmd->add_option("--size", *size, "Side of the square masks")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed; the same seed gives the same masks")->capture_default_str();
  cmd->add_option("--images", *images, "Also write originals and masked images from this folder of photos");
  const FlagNames flags = {
      {"per_category", "--count"}, {"width", "--size"}, {"height", "--size"}, {"images", "--images"}};
  return [o, out, images, size, flags] {
    o->out = *out;
    o->images = *images;
    o->width = o->height = *size;
    return run_naming_flags(flags, [&] {
      ProgressLine progress;
      const size_t n =
          write_mask_set(*o, [&progress](size_t done, size_t total) { progress.count("pconv: masks", done, total); });
      log_info(std::to_string(n) + " masks written to " + *out);
      return 0;
    });
  };
}

}  // namespace pconv::app
