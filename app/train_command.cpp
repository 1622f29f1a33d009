// pconv train: train the network with the paper's loss and two-stage procedure.
#include <iostream>

#include "commands.h"
#include "pconv/io/error.h"
#include "pconv/io/log.h"
#include "pconv/io/signals.h"
#include "pconv/train/train.h"

namespace fs = std::filesystem;

namespace pconv::app {
namespace {

// The config key a flag sets: its name without dashes, '-' as '_', with three short aliases.
std::string key_of(const CLI::Option* option) {
  std::string name = option->get_name(false, true);
  name.erase(0, name.find_first_not_of('-'));
  for (char& c : name)
    if (c == '-') c = '_';
  if (name == "train") return "train_dir";
  if (name == "val") return "val_dir";
  if (name == "masks") return "mask_dir";
  return name;
}

struct Options {
  TrainOptions train;  // what the flags set; the config file's settings apply below them
  std::string config;
  bool resume = false, quiet = false;
};

// Runs the training the flags and the config file describe; `cmd` tells which flags were given.
int run(const CLI::App* cmd, const Options& options) {
  const TrainOptions& o = options.train;
  const std::string& config = options.config;
  const bool resume = options.resume;
  set_quiet(options.quiet);
  TrainOptions effective;
  if (!config.empty()) {
    load_train_config(config, effective);
  } else if (resume) {
    const fs::path saved = fs::path(o.out) / "config.json";
    std::error_code ec;
    if (fs::exists(saved, ec)) load_train_config(saved, effective);
  }
  // Flags given on the command line override the file.
  const nlohmann::json cli = o.to_json();
  nlohmann::json overrides = nlohmann::json::object();
  for (const CLI::Option* option : cmd->get_options()) {
    const std::string key = key_of(option);
    if (option->count() > 0 && cli.contains(key)) overrides[key] = cli[key];
  }
  effective.merge(overrides, "command line");
  install_stop_signals();
  const TrainResult result = train(effective, resume);
  if (result.rank == 0)  // one summary per job
    std::cout << nlohmann::json{{"steps", result.steps_done},
                                {"interrupted", result.interrupted},
                                {"model", result.model.string()},
                                {"samples_per_s", result.samples_per_second},
                                {"data_wait_share", result.data_wait_share},
                                {"ranks", result.world_size},
                                {"communication_share", result.communication_share}}
                     .dump()
              << std::endl;
  return 0;  // a signal stops training cleanly: checkpoint and model are written (signals.h)
}

}  // namespace

Run add_train_command(CLI::App& root) {
  auto options = std::make_shared<Options>();
  TrainOptions* o = &options->train;
  CLI::App* cmd = root.add_subcommand("train", "Train a PConv U-Net (or the plain U-Net) on a folder of photos");
  const TrainOptions d;
  cmd->add_option("--config", options->config, "JSON file with any of the settings below (flags override it)");
  cmd->add_flag("--resume", options->resume,
                "Continue the run in --out from its checkpoint and config.json (default: off)");
  cmd->add_option("--train", o->train_dir, "Folder of training photos, searched recursively");
  cmd->add_option("--val", o->val_dir, "Folder of validation photos (default: none)");
  cmd->add_option("--masks", o->mask_dir, "Folder of masks (white = hole) to augment; default: generated strokes");
  cmd->add_option("--image-size", o->image_size, "Training crop size")->capture_default_str();
  cmd->add_option("--min-hole", o->min_hole, "Smallest hole ratio of generated masks")->capture_default_str();
  cmd->add_option("--max-hole", o->max_hole, "Largest hole ratio of generated masks")->capture_default_str();
  cmd->add_option("--blobs", o->blobs,
                  "Share of generated shapes drawn as large filled ellipses (object-sized holes) instead of strokes")
      ->capture_default_str();
  cmd->add_option("--depth", o->depth, "Encoder layers: 7 for 256x256, 8 for 512x512")->capture_default_str();
  cmd->add_option("--width", o->width, "Channel multiplier")->capture_default_str();
  cmd->add_option("--partial", o->partial, "true: partial convolutions; false: the plain U-Net baseline")
      ->capture_default_str();
  cmd->add_option("--init", o->init, "Start from this model file (architecture taken from it)");
  cmd->add_option("--vgg", o->vgg,
                  "VGG-16 weights (safetensors, torchvision names) for the perceptual and style losses");
  cmd->add_flag("--random-features", o->random_features,
                "Perceptual and style terms on fixed random multi-scale features: texture without ImageNet "
                "weights (default: off)");
  cmd->add_option("--feature-seed", o->feature_seed, "Seed of the random features")->capture_default_str();
  cmd->add_option("--feature-input", o->feature_input,
                  "What the random features read: rgb; luma (Rec. 601); grey (the mean of R, G, B: texture in "
                  "brightness alone, no colour shifts)")
      ->check(CLI::IsMember({"rgb", "luma", "grey"}))
      ->capture_default_str();
  cmd->add_flag("--pixel-loss", o->pixel_loss, "No perceptual or style terms: valid + hole + TV only (default: off)");
  cmd->add_option("--w-valid", o->w_valid, "Weight of L_valid")->capture_default_str();
  cmd->add_option("--w-hole", o->w_hole, "Weight of L_hole")->capture_default_str();
  cmd->add_option("--w-perceptual", o->w_perceptual, "Weight of L_perceptual")->capture_default_str();
  cmd->add_option("--w-style", o->w_style, "Weight of L_style_out and of L_style_comp")->capture_default_str();
  cmd->add_option("--w-tv", o->w_tv, "Weight of L_tv")->capture_default_str();
  cmd->add_option("--w-chroma", o->w_chroma,
                  "Weight of L_chroma, the L1 of chroma gradients against the photo's in the hole (not in the paper: "
                  "keeps texture terms from drawing colour blotches); 0 = none")
      ->capture_default_str();
  cmd->add_option("--w-adversarial", o->w_adversarial,
                  "Weight of the adversarial term (a PatchGAN critic trained alongside); 0 = none")
      ->capture_default_str();
  cmd->add_option("--d-lr", o->d_lr, "Learning rate of the adversarial critic")->capture_default_str();
  cmd->add_option("--d-width", o->d_width, "Channels of the critic's first layer")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Images per step")->capture_default_str();
  cmd->add_option("--iterations", o->iterations, "Total steps of the run (both stages)")->capture_default_str();
  cmd->add_option("--time-limit", o->time_limit,
                  "Stop after this much training time (20m, 1h30m, 90s), with a checkpoint and the model file; "
                  "--resume goes on from there (default: none)");
  cmd->add_option("--lr", o->lr, "Adam learning rate of stage 1")->capture_default_str();
  cmd->add_option("--finetune-lr", o->finetune_lr, "Learning rate of stage 2 (encoder BN frozen)")
      ->capture_default_str();
  cmd->add_option("--finetune-from", o->finetune_from, "First step of stage 2; -1 never, 0 the whole run")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Run folder: checkpoint, config, metrics, validation images, model")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of weights, data order, crops and masks")->capture_default_str();
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--precision", o->precision,
                  "fp32, or bf16: the network's forward pass in bf16 under autocast (faster where the processor "
                  "has bf16 instructions); weights, gradients and the loss stay fp32. fp16 is not supported")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "LibTorch threads; 0 = every core")->capture_default_str();
  cmd->add_option("--workers", o->workers, "Data loading threads")->capture_default_str();
  cmd->add_option("--cache-mb", o->cache_mb, "Memory for decoded training photos; 0 = decode every time")
      ->capture_default_str();
  cmd->add_option("--max-megapixels", o->max_megapixels,
                  "Photos larger than this (read from the header) are skipped with a warning")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", o->checkpoint_every, "Steps between checkpoints")->capture_default_str();
  cmd->add_option("--validate-every", o->validate_every, "Steps between validations")->capture_default_str();
  cmd->add_option("--log-every", o->log_every, "Steps between log lines and metrics records")->capture_default_str();
  cmd->add_option("--val-images", o->val_images, "Validation images scored each time")->capture_default_str();
  cmd->add_option("--export-dtype", o->export_dtype, "float32 or float16 for the final model file")
      ->capture_default_str();
  cmd->add_flag("--sync-bn", o->sync_bn,
                "With several processes: BN statistics over every rank's batch (default: each rank its own)");
  cmd->add_option("--dist-timeout", o->dist_timeout,
                  "With several processes: seconds to wait for the other ranks before stopping with an error")
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", options->quiet, "Only warnings and errors on stderr (default: off)");

  return [cmd, options] {
    FlagNames flags;
    for (const CLI::Option* option : cmd->get_options()) flags[key_of(option)] = option->get_name(false, true);
    return run_naming_flags(flags, [&] { return run(cmd, *options); });
  };
}

}  // namespace pconv::app
