#include "pconv/train.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <opencv2/core/utility.hpp>
#include <optional>

#include "checkpoint.h"
#include "pconv/data.h"
#include "pconv/device.h"
#include "pconv/distributed.h"
#include "pconv/error.h"
#include "pconv/files.h"
#include "pconv/gradient_reducer.h"
#include "pconv/log.h"
#include "pconv/masks.h"
#include "pconv/model_file.h"
#include "pconv/signals.h"
#include "train_report.h"

namespace pconv {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

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
}  // namespace

TrainResult train(const TrainOptions& options, bool resume) {
  TrainOptions o = options;
  // Ranks other than 0 train silently beside it; one process is a world of one.
  const DistributedEnv env = DistributedEnv::from_environment();
  std::unique_ptr<ProcessGroup> group;
  if (env.enabled()) group = std::make_unique<ProcessGroup>(env, std::chrono::seconds(o.dist_timeout));
  const int world = env.world_size;
  const bool lead = env.rank == 0;
  if (!lead) set_quiet(true);
  // A setup error on any rank stops all of them, each with a message naming the rank.
  const auto on_every_rank = [&](const std::function<void()>& step) { group ? group->run_everywhere(step) : step(); };

  const fs::path out = o.out;
  const fs::path checkpoint = out / "checkpoint.pt";
  Model model;
  torch::Device device = torch::kCPU;
  std::vector<fs::path> files;
  std::vector<uint8_t> checkpoint_bytes;
  on_every_rank([&] {
    o.check();
    set_threads(o.threads);
    cv::setNumThreads(1);  // data workers are the parallelism on the OpenCV side
    device = parse_device(o.device);
    if (env.enabled() && device.is_cuda() && !device.has_index()) device = torch::Device(torch::kCUDA, env.local_rank);
    if (lead) {
      std::error_code made;
      fs::create_directories(out / "val", made);
      if (made) throw Error(out.string() + ": cannot create the run folder (" + made.message() + ")");
      std::error_code ec;
      if (!resume && fs::exists(checkpoint, ec))
        throw Error(checkpoint.string() + ": a run is already here; pass --resume to continue it, or another --out");
      if (resume && !fs::exists(checkpoint, ec)) throw Error(checkpoint.string() + ": no checkpoint to resume");
      if (resume) checkpoint_bytes = read_file(checkpoint);
    }
    // The network: fresh (seeded) or from a model file.
    if (!o.init.empty()) {
      model = load_model(o.init);
      o.depth = model.info.architecture.depth();
      o.width = model.info.architecture.width();
      o.partial = model.info.architecture.partial();
    } else {
      torch::manual_seed(o.seed);
      model.info.architecture = PConvUNetOptions().depth(o.depth).width(o.width).partial(o.partial);
      model.net = PConvUNet(model.info.architecture);
    }
    files = list_images(o.train_dir);
  });
  PConvUNet net = model.net;
  net->to(device);
  net->train();

  VGG16Features vgg = o.vgg.empty() ? VGG16Features(nullptr) : load_vgg16_features(o.vgg, device);
  const InpaintingLoss loss(
      InpaintingLossOptions().valid(o.w_valid).hole(o.w_hole).perceptual(o.w_perceptual).style(o.w_style).tv(o.w_tv),
      o.pixel_loss ? VGG16Features(nullptr) : vgg);
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(o.lr));

  // Rank 0 reads the checkpoint and sends it: the other machines need no copy of --out.
  int64_t step = 0;
  if (group && resume) checkpoint_bytes = group->broadcast_bytes(checkpoint_bytes);
  if (resume)
    on_every_rank([&] { step = load_checkpoint(checkpoint_bytes, checkpoint.string(), net, optimizer, device); });
  std::unique_ptr<GradientReducer> reducer;
  if (group) {
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : model_state(net)) group->broadcast(tensor);  // one starting point for all
    reducer = std::make_unique<GradientReducer>(*group, net->parameters());
    if (o.sync_bn) net->set_batch_norm_sync([g = group.get()](const torch::Tensor& t) { return g->sum_across(t); });
  }

  int stage = 0;
  auto enter_stage = [&](int s) {
    stage = s;
    const double lr = s == 2 ? o.finetune_lr : o.lr;
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    net->set_freeze_encoder_bn(s == 2);
    log_info("stage " + std::to_string(s) + " from step " + std::to_string(step) + ": lr " + std::to_string(lr) +
             (s == 2 ? ", encoder BN frozen" : ", BN learning everywhere"));
  };
  enter_stage(stage_at(o, step));
  if (lead) {
    const std::string config = o.to_json().dump(2) + "\n";
    write_file_atomic(out / "config.json", config.data(), config.size());
  }

  BatchLoaderOptions data;
  data.batch_size = o.batch_size;
  data.image_size = o.image_size;
  data.seed = o.seed;
  data.workers = o.workers;
  data.cache_mb = static_cast<size_t>(o.cache_mb);
  data.max_pixels = static_cast<int64_t>(o.max_megapixels * 1e6);
  data.rank = env.rank;
  data.world_size = world;
  BatchLoader loader(files, make_mask_source(o), data, static_cast<uint64_t>(step));
  std::optional<Validator> validator;
  std::optional<TrainLog> log;
  if (lead) {
    validator.emplace(o, model.info.normalization, device);
    log.emplace(out, o.iterations, resume ? step : -1);
  }
  log_info("training on " + std::to_string(files.size()) + " images from " + o.train_dir + ", " +
           (loss.uses_vgg() ? "paper loss (valid, hole, perceptual, style, tv)" : "pixel loss (valid, hole, tv)") +
           ", device " + device.str() +
           (env.enabled() ? ", " + std::to_string(world) + " ranks of batch " + std::to_string(o.batch_size) +
                                (o.sync_bn ? " with synchronised BN" : "")
                          : "") +
           (resume ? ", resumed at step " + std::to_string(step) : ""));

  const auto& norm = model.info.normalization;
  const torch::Tensor mean = norm.mean_tensor().to(device), stdev = norm.std_tensor().to(device);

  TrainResult result;
  const auto start = Clock::now();
  double validation_seconds = 0;
  const int64_t first_step = step;
  while (step < o.iterations) {
    // Before the forward pass, which would move BN's running statistics: every rank stops at the
    // same step, whichever of them got the signal.
    bool stop = stop_requested();
    if (group) {
      torch::Tensor flag = torch::tensor({stop ? 1 : 0}, torch::kInt32);
      group->all_reduce_sum(flag);
      stop = flag.item<int>() > 0;
    }
    if (stop) {
      if (lead) save_checkpoint(checkpoint, net, optimizer, step, stage);
      if (log) log->finish_line();
      log_info("stopped by signal at step " + std::to_string(step) + "; checkpoint written, continue with --resume");
      result.interrupted = true;
      break;
    }
    if (stage_at(o, step) != stage) enter_stage(stage_at(o, step));
    const Batch batch = loader.next();
    const torch::Tensor image = batch.image.to(device), mask = batch.mask.to(device);
    const torch::Tensor output = net->forward((image - mean) / stdev, mask) * stdev + mean;
    const LossTerms terms = loss(output, image, mask);
    auto values = terms.values();
    if (group) {
      // The global batch's loss, for the log and for a NaN check that every rank agrees on.
      std::vector<double> packed;
      for (const auto& [name, value] : values) packed.push_back(value);
      torch::Tensor sums = torch::tensor(packed, torch::kFloat64);
      group->all_reduce_sum(sums);
      int64_t i = 0;
      for (auto& [name, value] : values) value = sums[i++].item<double>() / world;
    }
    if (!std::isfinite(values.at("total")))
      throw Error("loss is not finite at step " + std::to_string(step + 1) + " (" + format_terms(values) +
                  "); the last checkpoint is intact");
    optimizer.zero_grad();
    terms.total.backward();
    if (reducer) reducer->finish();
    optimizer.step();
    ++step;

    const double seconds = std::chrono::duration<double>(Clock::now() - start).count() - validation_seconds;
    if (!lead) continue;
    log->record(step, stage, values);
    const double wait_share = seconds > 0 ? loader.wait_seconds() / seconds : 0.0;
    if (step % o.log_every == 0 || step == o.iterations)
      log->report(step, stage, (step - first_step) / std::max(seconds, 1e-9), wait_share);
    if (step % o.checkpoint_every == 0 || step == o.iterations)
      save_checkpoint(checkpoint, net, optimizer, step, stage);
    if (validator->enabled() && (step % o.validate_every == 0 || step == o.iterations)) {
      const auto v0 = Clock::now();
      log->finish_line();
      log->validation(step, validator->run(net, step));
      net->train();
      validation_seconds += std::chrono::duration<double>(Clock::now() - v0).count();
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count() - validation_seconds;
  result.steps_done = step;
  result.world_size = world;
  result.rank = env.rank;
  result.samples_per_second =
      seconds > 0 ? static_cast<double>((step - first_step) * o.batch_size * world) / seconds : 0.0;
  result.data_wait_share = seconds > 0 ? loader.wait_seconds() / seconds : 0.0;
  result.communication_share = group && seconds > 0 ? group->wait_seconds() / seconds : 0.0;
  if (loader.unreadable_files() > 0)
    log_warning(std::to_string(loader.unreadable_files()) + " training files could not be read and were skipped");
  if (log) log->finish_line();
  if (group)
    log_info("rank 0 waited on the other ranks for " + std::to_string(100 * result.communication_share) +
             "% of its training time");
  if (result.interrupted || !lead) return result;

  model.info.training = {
      {"loss", loss.uses_vgg() ? "paper: valid + hole + perceptual + style + tv" : "pixel: valid + hole + tv"},
      {"weights", {{"valid", o.w_valid}, {"hole", o.w_hole}, {"tv", o.w_tv}}},
      {"iterations", step},
      {"batch_size", o.batch_size * world},
      {"ranks", world},
      {"image_size", o.image_size},
      {"lr", o.lr},
      {"finetune_lr", o.finetune_lr},
      {"finetune_from", o.finetune_from},
      {"train_images", files.size()},
      {"masks", o.mask_dir.empty() ? "generated strokes, hole ratio " + std::to_string(o.min_hole) + "-" +
                                         std::to_string(o.max_hole) + ", blobs " + std::to_string(o.blobs)
                                   : "augmented from " + o.mask_dir},
      {"seed", o.seed},
      {"device", device.str()}};
  if (loss.uses_vgg()) {
    model.info.training["weights"]["perceptual"] = o.w_perceptual;
    model.info.training["weights"]["style"] = o.w_style;
  }
  net->eval();
  result.model = out / "model.safetensors";
  save_model(result.model, net, model.info, o.export_dtype == "float16" ? torch::kFloat16 : torch::kFloat32);
  log_info("model written to " + result.model.string());
  return result;
}

}  // namespace pconv
