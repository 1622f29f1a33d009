#include "pconv/train/train.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <opencv2/core/utility.hpp>
#include <optional>

#include "adversary.h"
#include "checkpoint.h"
#include "pconv/data/masks.h"
#include "pconv/data/photos.h"
#include "pconv/infer/device.h"
#include "pconv/infer/normalization.h"
#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/log.h"
#include "pconv/io/progress.h"
#include "pconv/io/signals.h"
#include "pconv/nn/model_file.h"
#include "pconv/nn/random_features.h"
#include "pconv/nn/vgg16.h"
#include "pconv/train/autocast.h"
#include "pconv/train/batch_loader.h"
#include "pconv/train/distributed.h"
#include "pconv/train/gradient_reducer.h"
#include "train_report.h"

namespace pconv {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

MaskSource make_mask_source(const TrainOptions& o) {
  if (!o.mask_dir.empty()) {
    auto folder = std::make_shared<MaskFolder>(o.mask_dir, o.image_size, o.image_size, mix_seed(o.seed, 2));
    return [folder](uint64_t i) { return folder->generate(i); };
  }
  auto gen = std::make_shared<MaskGenerator>(
      MaskGeneratorOptions(o.image_size, o.image_size).min_ratio(o.min_hole).max_ratio(o.max_hole).blobs(o.blobs),
      mix_seed(o.seed, 1));
  return [gen](uint64_t i) { return gen->generate(i); };
}

int stage_at(const TrainOptions& o, int64_t step) { return o.finetune_from >= 0 && step >= o.finetune_from ? 2 : 1; }

std::string format_terms(const std::map<std::string, double>& terms) {
  std::string s;
  char buf[64];
  for (const auto& [name, value] : terms) {
    if (name == "total") continue;
    std::snprintf(buf, sizeof buf, " %s %.4f", name.c_str(), value);
    s += buf;
  }
  return s;
}

// One training run, in the steps the algorithm has: prepare (process group, network, loss,
// optimizer, resume, data), the loop of training steps with its periodic work, and export.
class TrainingRun {
 public:
  TrainingRun(const TrainOptions& options, bool resume) : o_(options), resume_(resume) {}

  TrainResult run() {
    prepare();
    loop();
    return finish();
  }

 private:
  // ---- prepare ----------------------------------------------------------------------------

  void prepare() {
    // Ranks other than 0 train silently beside it; one process is a world of one.
    env_ = DistributedEnv::from_environment();
    if (env_.enabled()) group_ = std::make_unique<ProcessGroup>(env_, std::chrono::seconds(o_.dist_timeout));
    world_ = env_.world_size;
    lead_ = env_.rank == 0;
    if (!lead_) set_quiet(true);
    out_ = o_.out;
    checkpoint_ = out_ / "checkpoint.pt";
    std::vector<uint8_t> checkpoint_bytes;
    on_every_rank([&] { setup(checkpoint_bytes); });
    net_ = model_.net;
    net_->to(device_);
    net_->train();

    loss_.emplace(InpaintingLossOptions()
                      .valid(o_.w_valid)
                      .hole(o_.w_hole)
                      .perceptual(o_.w_perceptual)
                      .style(o_.w_style)
                      .tv(o_.w_tv)
                      .chroma(o_.w_chroma),
                  make_features());
    optimizer_.emplace(net_->parameters(), torch::optim::AdamOptions(o_.lr));
    if (o_.w_adversarial > 0) {
      torch::manual_seed(mix_seed(o_.seed, 3));  // the critic's start does not depend on --init
      adversary_ = std::make_unique<Adversary>(AdversaryOptions{o_.d_lr, o_.d_width}, device_, group_.get());
    }
    restore(checkpoint_bytes);
    share_across_ranks();
    enter_stage(stage_at(o_, step_));
    if (lead_) {
      const std::string config = o_.to_json().dump(2) + "\n";
      write_file_atomic(out_ / "config.json", config.data(), config.size());
    }
    start_data();
    log_start();
  }

  std::shared_ptr<FeatureExtractor> make_features() const {
    std::shared_ptr<FeatureExtractor> features;
    if (!o_.vgg.empty()) features = load_vgg16_features(o_.vgg, device_).ptr();
    if (o_.random_features)
      features = RandomFeatures(
                     RandomFeaturesOptions().seed(o_.feature_seed).input(feature_input_from_string(o_.feature_input)))
                     .ptr();
    if (features) features->to(device_);
    return features;
  }

  // A setup error on any rank stops all of them, each with a message naming the rank.
  void on_every_rank(const std::function<void()>& step) { group_ ? group_->run_everywhere(step) : step(); }

  // Options, device, run folder, the network (fresh and seeded, or from a model file), photos.
  void setup(std::vector<uint8_t>& checkpoint_bytes) {
    // A model to start from sets the architecture, which the options are checked against
    // (image size against its depth); a missing file is left to check() to name.
    std::error_code exists;
    if (!o_.init.empty() && fs::exists(o_.init, exists)) {
      model_ = load_model(o_.init);
      o_.depth = model_.info.architecture.depth();
      o_.width = model_.info.architecture.width();
      o_.partial = model_.info.architecture.partial();
    }
    o_.check();
    set_threads(o_.threads);
    cv::setNumThreads(1);  // data workers are the parallelism on the OpenCV side
    device_ = parse_device(o_.device);
    if (env_.enabled() && device_.is_cuda() && !device_.has_index())
      device_ = torch::Device(torch::kCUDA, env_.local_rank);
    if (lead_) {
      std::error_code made;
      fs::create_directories(out_ / "val", made);
      if (made) throw Error(out_.string() + ": cannot create the run folder (" + made.message() + ")");
      std::error_code ec;
      if (!resume_ && fs::exists(checkpoint_, ec))
        throw Error(checkpoint_.string() + ": a run is already here; pass --resume to continue it, or another --out");
      if (resume_ && !fs::exists(checkpoint_, ec)) throw Error(checkpoint_.string() + ": no checkpoint to resume");
      if (resume_) checkpoint_bytes = read_file(checkpoint_);
    }
    if (o_.init.empty()) {
      torch::manual_seed(o_.seed);
      model_.info.architecture = PConvUNetOptions().depth(o_.depth).width(o_.width).partial(o_.partial);
      model_.net = PConvUNet(model_.info.architecture);
    }
    files_ = list_images(o_.train_dir);
  }

  // Rank 0 reads the checkpoint and sends it: the other machines need no copy of --out.
  void restore(std::vector<uint8_t>& checkpoint_bytes) {
    if (group_ && resume_) checkpoint_bytes = group_->broadcast_bytes(checkpoint_bytes);
    if (resume_)
      on_every_rank([&] {
        step_ = load_checkpoint(checkpoint_bytes, checkpoint_.string(), net_, *optimizer_, device_, adversary_.get());
      });
  }

  // One starting point for all ranks, gradients averaged over them, BN optionally synchronised.
  void share_across_ranks() {
    if (!group_) return;
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : model_state(net_)) group_->broadcast(tensor);
    reducer_ = std::make_unique<GradientReducer>(*group_, net_->parameters());
    if (o_.sync_bn) net_->set_batch_norm_sync([g = group_.get()](const torch::Tensor& t) { return g->sum_across(t); });
  }

  void start_data() {
    BatchLoaderOptions data;
    data.batch_size = o_.batch_size;
    data.image_size = o_.image_size;
    data.seed = o_.seed;
    data.workers = o_.workers;
    data.cache_mb = static_cast<size_t>(o_.cache_mb);
    data.max_pixels = static_cast<int64_t>(o_.max_megapixels * 1e6);
    data.rank = env_.rank;
    data.world_size = world_;
    loader_.emplace(files_, make_mask_source(o_), data, static_cast<uint64_t>(step_));
    if (lead_) {
      ValidationOptions validation;
      validation.photos = o_.val_dir;
      validation.out = out_;
      validation.image_size = o_.image_size;
      validation.images = o_.val_images;
      validation.max_pixels = static_cast<int64_t>(o_.max_megapixels * 1e6);
      validator_.emplace(validation, model_.info.normalization, device_);
      log_.emplace(out_, o_.iterations, resume_ ? step_ : -1);
    }
    const auto& norm = model_.info.normalization;
    mean_ = mean_tensor(norm).to(device_);
    std_ = std_tensor(norm).to(device_);
  }

  void log_start() const {
    log_info("training on " + std::to_string(files_.size()) + " images from " + o_.train_dir + ", " +
             loss_description() + ", device " + device_.str() +
             (env_.enabled() ? ", " + std::to_string(world_) + " ranks of batch " + std::to_string(o_.batch_size) +
                                   (o_.sync_bn ? " with synchronised BN" : "")
                             : "") +
             (resume_ ? ", resumed at step " + std::to_string(step_) : ""));
  }

  // ---- the loop ---------------------------------------------------------------------------

  void loop() {
    const int64_t first_step = step_;
    double validation_seconds = 0;
    const Stopwatch stopwatch;
    const auto training_seconds = [&] { return stopwatch.seconds() - validation_seconds; };
    const double time_limit = o_.time_limit_seconds();
    while (step_ < o_.iterations) {
      const bool out_of_time = time_limit > 0 && stopwatch.seconds() >= time_limit;
      if (stop_requested_everywhere(out_of_time)) {
        if (lead_) save_checkpoint(checkpoint_, net_, *optimizer_, step_, stage_, adversary_.get());
        if (log_) log_->finish_line();
        log_info(std::string(out_of_time ? "time limit of " + o_.time_limit + " reached" : "stopped by signal") +
                 " at step " + std::to_string(step_) + " of " + std::to_string(o_.iterations) +
                 "; checkpoint written, continue with --resume");
        result_.interrupted = true;
        break;
      }
      if (stage_at(o_, step_) != stage_) enter_stage(stage_at(o_, step_));
      const std::map<std::string, double> losses = train_step();
      ++step_;
      if (!lead_) continue;

      // Every N steps: the log, a checkpoint, a validation.
      log_->record(step_, stage_, losses);
      const double seconds = training_seconds();
      if (every(o_.log_every))
        log_->report(step_, stage_, (step_ - first_step) / std::max(seconds, 1e-9),
                     seconds > 0 ? loader_->wait_seconds() / seconds : 0.0,
                     time_limit > 0 ? time_limit - stopwatch.seconds() : std::numeric_limits<double>::infinity());
      if (every(o_.checkpoint_every)) save_checkpoint(checkpoint_, net_, *optimizer_, step_, stage_, adversary_.get());
      if (validator_->enabled() && every(o_.validate_every)) {
        const Stopwatch validation;
        log_->finish_line();
        log_->validation(step_, validator_->run(net_, step_));
        net_->train();
        validation_seconds += validation.seconds();
      }
    }
    const double seconds = training_seconds();
    result_.samples_per_second =
        seconds > 0 ? static_cast<double>((step_ - first_step) * o_.batch_size * world_) / seconds : 0.0;
    result_.data_wait_share = seconds > 0 ? loader_->wait_seconds() / seconds : 0.0;
    result_.communication_share = group_ && seconds > 0 ? group_->wait_seconds() / seconds : 0.0;
  }

  // Forward, loss, zero_grad, backward (gradients averaged over ranks), update. Returns the global
  // batch's loss terms.
  std::map<std::string, double> train_step() {
    const Batch batch = loader_->next();
    const torch::Tensor image = batch.image.to(device_), mask = batch.mask.to(device_);
    torch::Tensor output;
    {
      const Autocast autocast(device_, o_.precision == "bf16" ? torch::kBFloat16 : torch::kFloat32);
      output = net_->forward((image - mean_) / std_, mask);
    }
    output = output.to(torch::kFloat32) * std_ + mean_;
    LossTerms terms = (*loss_)(output, image, mask);
    std::map<std::string, double> local = terms.values();
    if (adversary_) {
      const torch::Tensor adversarial = adversary_->generator_loss(terms.composite, mask);
      terms.total = terms.total + o_.w_adversarial * adversarial;
      local["adversarial"] = adversarial.item<double>();
      local["total"] = terms.total.item<double>();
    }
    std::map<std::string, double> values = average_over_ranks(local);
    if (!std::isfinite(values.at("total")))
      throw Error("loss is not finite at step " + std::to_string(step_ + 1) + " (" + format_terms(values) +
                  "); the last checkpoint is intact");
    optimizer_->zero_grad();
    terms.total.backward();
    if (reducer_) reducer_->finish();
    optimizer_->step();
    // The critic learns from the composite the network made before this update, as GANs alternate.
    if (adversary_) values["critic"] = adversary_->update(image, terms.composite, mask);
    return values;
  }

  // The global batch's loss, for the log and for a NaN check that every rank agrees on.
  std::map<std::string, double> average_over_ranks(std::map<std::string, double> values) {
    if (!group_) return values;
    std::vector<double> packed;
    packed.reserve(values.size());
    for (const auto& [name, value] : values) packed.push_back(value);
    torch::Tensor sums = torch::tensor(packed, torch::kFloat64);
    group_->all_reduce_sum(sums);
    int64_t i = 0;
    for (auto& [name, value] : values) value = sums[i++].item<double>() / world_;
    return values;
  }

  // Asked before the forward pass, which would move BN's running statistics: every rank stops at
  // the same step, whichever of them got the signal or ran out of time.
  bool stop_requested_everywhere(bool out_of_time) {
    bool stop = out_of_time || stop_requested();
    if (group_) {
      torch::Tensor flag = torch::tensor({stop ? 1 : 0}, torch::kInt32);
      group_->all_reduce_sum(flag);
      stop = flag.item<int>() > 0;
    }
    return stop;
  }

  bool every(int64_t n) const { return step_ % n == 0 || step_ == o_.iterations; }

  void enter_stage(int s) {
    stage_ = s;
    const double lr = s == 2 ? o_.finetune_lr : o_.lr;
    for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    net_->set_freeze_encoder_bn(s == 2);
    log_info("stage " + std::to_string(s) + " from step " + std::to_string(step_) + ": lr " + std::to_string(lr) +
             (s == 2 ? ", encoder BN frozen" : ", BN learning everywhere"));
  }

  // ---- export -----------------------------------------------------------------------------

  TrainResult finish() {
    result_.steps_done = step_;
    result_.world_size = world_;
    result_.rank = env_.rank;
    if (loader_->unreadable_files() > 0)
      log_warning(std::to_string(loader_->unreadable_files()) + " training files could not be read and were skipped");
    if (log_) log_->finish_line();
    if (group_)
      log_info("rank 0 waited on the other ranks for " + std::to_string(100 * result_.communication_share) +
               "% of its training time");
    if (!lead_) return result_;

    // However the run stopped, its weights are those of the step reached (and of the checkpoint
    // just written, when it stopped early): a usable model file.
    model_.info.training = training_summary();
    net_->eval();
    result_.model = out_ / "model.safetensors";
    save_model(result_.model, net_, model_.info, o_.export_dtype == "float16" ? torch::kFloat16 : torch::kFloat32);
    log_info("model written to " + result_.model.string());
    return result_;
  }

  std::string loss_description() const {
    const std::string extra = std::string(o_.w_chroma > 0 ? " + chroma" : "") +
                              (o_.w_adversarial > 0 ? " + adversarial (PatchGAN hinge)" : "");
    if (!o_.vgg.empty()) return "paper: valid + hole + perceptual + style + tv" + extra;
    if (o_.random_features) return "random features: valid + hole + perceptual + style + tv" + extra;
    return "pixel: valid + hole + tv" + extra;
  }

  json training_summary() const {
    json summary = {
        {"loss", loss_description()},
        {"weights", {{"valid", o_.w_valid}, {"hole", o_.w_hole}, {"tv", o_.w_tv}, {"chroma", o_.w_chroma}}},
        {"iterations", step_},
        {"batch_size", o_.batch_size * world_},
        {"ranks", world_},
        {"image_size", o_.image_size},
        {"lr", o_.lr},
        {"finetune_lr", o_.finetune_lr},
        {"finetune_from", o_.finetune_from},
        {"train_images", files_.size()},
        {"masks", o_.mask_dir.empty() ? "generated strokes, hole ratio " + std::to_string(o_.min_hole) + "-" +
                                            std::to_string(o_.max_hole) + ", blobs " + std::to_string(o_.blobs)
                                      : "augmented from " + o_.mask_dir},
        {"seed", o_.seed},
        {"device", device_.str()},
        {"precision", o_.precision}};
    if (loss_->uses_features()) {
      summary["weights"]["perceptual"] = o_.w_perceptual;
      summary["weights"]["style"] = o_.w_style;
      summary["features"] = o_.random_features ? json{{"kind", "random"},
                                                      {"seed", o_.feature_seed},
                                                      {"input", o_.feature_input},
                                                      {"channels", RandomFeaturesOptions().channels()},
                                                      {"kernel", RandomFeaturesOptions().kernel()},
                                                      {"scales", RandomFeaturesOptions().scales()}}
                                               : json{{"kind", "vgg16"}, {"file", fs::path(o_.vgg).filename()}};
    }
    if (adversary_) {
      summary["weights"]["adversarial"] = o_.w_adversarial;
      summary["critic"] = {{"kind", "PatchGAN 70x70, spectral norm, hinge"}, {"width", o_.d_width}, {"lr", o_.d_lr}};
    }
    return summary;
  }

  TrainOptions o_;
  const bool resume_;
  DistributedEnv env_;
  std::unique_ptr<ProcessGroup> group_;
  int world_ = 1;
  bool lead_ = true;
  fs::path out_, checkpoint_;
  Model model_;
  PConvUNet net_{nullptr};
  torch::Device device_ = torch::kCPU;
  std::vector<fs::path> files_;
  std::optional<InpaintingLoss> loss_;
  std::optional<torch::optim::Adam> optimizer_;
  std::unique_ptr<GradientReducer> reducer_;
  std::unique_ptr<Adversary> adversary_;
  std::optional<BatchLoader> loader_;
  std::optional<Validator> validator_;
  std::optional<TrainLog> log_;
  torch::Tensor mean_, std_;
  int64_t step_ = 0;
  int stage_ = 0;
  TrainResult result_;
};

}  // namespace

TrainResult train(const TrainOptions& options, bool resume) { return TrainingRun(options, resume).run(); }

}  // namespace pconv
