#pragma once
// Training the PConv U-Net with the paper's loss and two-stage procedure.
//
// Stage 1: Adam at lr 2e-4 with BN learning everywhere. Stage 2 (fine-tuning): lr 5e-5 with the
// encoder's BN frozen, from `finetune_from` on (0: the whole run, e.g. continuing from --init).
// Checkpoints hold the model, Adam's state, the step and the stage; data and masks are a pure
// function of (seed, step), so a resumed run continues exactly as an uninterrupted one would.
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "pconv/nn/loss.h"
#include "pconv/nn/unet.h"

namespace pconv {

/// Every setting of a run; a JSON config file holds any of them under the same names, and the
/// effective configuration is saved as <out>/config.json.
struct TrainOptions {
  // Data.
  std::string train_dir;   ///< folder of training photos (searched recursively)
  std::string val_dir;     ///< folder of validation photos; empty: no validation
  std::string mask_dir;    ///< folder of mask images to augment; empty: generated masks
  int image_size = 256;    ///< training crops are image_size × image_size
  double min_hole = 0.01;  ///< generated masks' hole ratio range
  double max_hole = 0.6;
  double blobs = 0.0;  ///< share of generated shapes that are large filled ellipses
  // Model.
  int64_t depth = 7;  ///< 7 for 256×256, 8 for 512×512 (the paper)
  double width = 1.0;
  bool partial = true;  ///< false: the plain-convolution U-Net baseline
  std::string init;     ///< start from this model file instead of random weights
  // Loss.
  // The perceptual and style terms come from exactly one of: VGG-16 weights (the paper), random
  // multi-scale features (no pretrained weights needed), or nowhere (the pixel-space loss).
  std::string vgg;                    ///< VGG-16 safetensors (torchvision names) for perceptual and style terms
  bool random_features = false;       ///< perceptual and style terms on random features (nn/random_features.h)
  uint64_t feature_seed = 0;          ///< the random features' seed, recorded in the model's metadata
  std::string feature_input = "rgb";  ///< what the random features read: rgb, luma or grey (nn/random_features.h)
  bool pixel_loss = false;            ///< train without them: valid + hole + TV only
  double w_valid = 1.0, w_hole = 6.0, w_perceptual = 0.05, w_style = 120.0, w_tv = 0.1;
  double w_chroma = 0.0;       ///< weight of L_chroma (nn/loss.h); 0: not computed
  double w_adversarial = 0.0;  ///< weight of the PatchGAN hinge term; 0: no critic
  double d_lr = 2e-4;          ///< the critic's learning rate
  int64_t d_width = 16;        ///< the critic's first-layer channels (pix2pix: 64; 16 keeps a CPU step cheap)
  // Schedule.
  int batch_size = 6;
  int64_t iterations = 1000;
  double lr = 2e-4;            ///< stage 1
  double finetune_lr = 5e-5;   ///< stage 2
  int64_t finetune_from = -1;  ///< first step of stage 2; -1: never
  /// Wall-clock time this invocation may train: "20m", "1h30m", "90s"; empty: until `iterations`.
  /// When it runs out training stops as on Ctrl-C: checkpoint and model file written.
  std::string time_limit;
  // Run.
  std::string out = "runs/pconv";
  uint64_t seed = 0;
  std::string device = "auto";
  /// fp32, or bf16: the network's forward pass under autocast in bf16 (weights, gradients, the
  /// optimiser and the loss stay fp32). fp16 is refused: it needs loss scaling.
  std::string precision = "fp32";
  int threads = 0;             ///< LibTorch threads; 0 = every core
  int workers = 2;             ///< data threads
  int cache_mb = 2048;         ///< memory for decoded training photos (0: decode every time)
  double max_megapixels = 64;  ///< larger photos are skipped with a warning (a decompression bomb)
  int64_t checkpoint_every = 500;
  int64_t validate_every = 500;
  int64_t log_every = 10;
  int val_images = 8;
  std::string export_dtype = "float32";  ///< float32 or float16 for the final model file
  // Several processes (launched with RANK, WORLD_SIZE, ...; see pconv/distributed.h).
  bool sync_bn = false;    ///< BN statistics over all ranks' batches instead of each rank's own
  int dist_timeout = 300;  ///< seconds a rank waits for the others before giving up

  nlohmann::json to_json() const;
  /// Applies the keys of `config` on top of these settings; an unknown key or a value of the
  /// wrong type throws pconv::Error naming it.
  void merge(const nlohmann::json& config, const std::string& where);
  /// Throws pconv::Error for values out of range or missing inputs.
  void check() const;
  /// time_limit in seconds, 0 when there is none; throws pconv::OptionError when it does not parse.
  double time_limit_seconds() const;
};

/// Reads a JSON config file into `options`.
void load_train_config(const std::filesystem::path& path, TrainOptions& options);

struct TrainResult {
  int64_t steps_done = 0;       ///< the step the run stopped at
  bool interrupted = false;     ///< stopped early, by a signal or the time limit (checkpoint written)
  std::filesystem::path model;  ///< the exported model file, written however the run stopped
  double samples_per_second = 0;
  double data_wait_share = 0;      ///< share of wall time the training loop waited for data
  int world_size = 1;              ///< processes that trained together
  int rank = 0;                    ///< this process's rank among them
  double communication_share = 0;  ///< share of wall time rank 0 was blocked in collectives
};

/// Runs (or, with `resume`, continues) a training run in options.out. `resume` restores the
/// checkpoint <out>/checkpoint.pt: model, optimizer state, step and stage.
///
/// Under a launcher (WORLD_SIZE > 1) every rank calls this: data-parallel training with
/// `batch_size` per rank, gradients averaged over ranks each step; rank 0 alone writes to `out`
/// and sends the checkpoint to the others on resume. Only rank 0's result names the model.
TrainResult train(const TrainOptions& options, bool resume);

}  // namespace pconv
