#include <cctype>
#include <cmath>
#include <fstream>
#include <set>

#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/train/train.h"

namespace pconv {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
// The one list of settings: to_json and merge both walk it, so they cannot drift apart.
template <typename Options, typename Visit>
void for_each_setting(Options& o, Visit&& v) {
  v("train_dir", o.train_dir);
  v("val_dir", o.val_dir);
  v("mask_dir", o.mask_dir);
  v("image_size", o.image_size);
  v("min_hole", o.min_hole);
  v("max_hole", o.max_hole);
  v("blobs", o.blobs);
  v("depth", o.depth);
  v("width", o.width);
  v("partial", o.partial);
  v("init", o.init);
  v("vgg", o.vgg);
  v("random_features", o.random_features);
  v("feature_seed", o.feature_seed);
  v("feature_input", o.feature_input);
  v("pixel_loss", o.pixel_loss);
  v("w_valid", o.w_valid);
  v("w_hole", o.w_hole);
  v("w_perceptual", o.w_perceptual);
  v("w_style", o.w_style);
  v("w_tv", o.w_tv);
  v("w_chroma", o.w_chroma);
  v("w_adversarial", o.w_adversarial);
  v("d_lr", o.d_lr);
  v("d_width", o.d_width);
  v("batch_size", o.batch_size);
  v("iterations", o.iterations);
  v("lr", o.lr);
  v("finetune_lr", o.finetune_lr);
  v("finetune_from", o.finetune_from);
  v("time_limit", o.time_limit);
  v("out", o.out);
  v("seed", o.seed);
  v("device", o.device);
  v("precision", o.precision);
  v("threads", o.threads);
  v("workers", o.workers);
  v("cache_mb", o.cache_mb);
  v("max_megapixels", o.max_megapixels);
  v("checkpoint_every", o.checkpoint_every);
  v("validate_every", o.validate_every);
  v("log_every", o.log_every);
  v("val_images", o.val_images);
  v("export_dtype", o.export_dtype);
  v("sync_bn", o.sync_bn);
  v("dist_timeout", o.dist_timeout);
}
}  // namespace

json TrainOptions::to_json() const {
  json j;
  for_each_setting(*this, [&](const char* name, const auto& value) { j[name] = value; });
  return j;
}

void TrainOptions::merge(const json& config, const std::string& where) {
  if (!config.is_object()) throw Error(where + ": the configuration must be a JSON object");
  std::set<std::string> known;
  for_each_setting(*this, [&](const char* name, auto& value) {
    known.insert(name);
    if (!config.contains(name)) return;
    const json& v = config[name];
    using T = std::decay_t<decltype(value)>;
    const bool ok = std::is_same_v<T, std::string> ? v.is_string()
                    : std::is_same_v<T, bool>      ? v.is_boolean()
                    : std::is_integral_v<T>        ? v.is_number_integer()
                                                   : v.is_number();
    if (!ok) throw Error(where + ": setting '" + name + "' has the wrong type (" + v.type_name() + ")");
    value = v.get<T>();
  });
  for (const auto& [key, value] : config.items())
    if (!known.count(key)) throw Error(where + ": unknown setting '" + key + "'");
}

void TrainOptions::check() const {
  using std::to_string;
  std::error_code ec;
  if (train_dir.empty()) throw OptionError("train_dir", "", "no training images given");
  if (!fs::is_directory(train_dir, ec)) throw OptionError("train_dir", train_dir, "training folder does not exist");
  if (!val_dir.empty() && !fs::is_directory(val_dir, ec))
    throw OptionError("val_dir", val_dir, "validation folder does not exist");
  if (!mask_dir.empty() && !fs::is_directory(mask_dir, ec))
    throw OptionError("mask_dir", mask_dir, "mask folder does not exist");
  if (!init.empty() && !fs::exists(init, ec)) throw OptionError("init", init, "model file does not exist");
  if (image_size < 32 || image_size % (int64_t{1} << depth) != 0)
    throw OptionError("image_size", to_string(image_size),
                      "must be at least 32 and a multiple of 2^depth = " + to_string(int64_t{1} << depth), {"depth"});
  if (batch_size < 1) throw OptionError("batch_size", to_string(batch_size), "must be at least 1");
  if (iterations < 1) throw OptionError("iterations", to_string(iterations), "must be at least 1");
  if (!(lr > 0)) throw OptionError("lr", to_string(lr), "must be positive");
  if (!(finetune_lr > 0)) throw OptionError("finetune_lr", to_string(finetune_lr), "must be positive");
  if (finetune_from < -1) throw OptionError("finetune_from", to_string(finetune_from), "must be -1 (never) or a step");
  if (threads < 0) throw OptionError("threads", to_string(threads), "must not be negative");
  if (workers < 1) throw OptionError("workers", to_string(workers), "must be at least 1");
  if (cache_mb < 0) throw OptionError("cache_mb", to_string(cache_mb), "must not be negative");
  if (!(max_megapixels > 0)) throw OptionError("max_megapixels", to_string(max_megapixels), "must be positive");
  for (const auto& [field, every] : {std::pair{"checkpoint_every", checkpoint_every},
                                     std::pair{"validate_every", validate_every}, std::pair{"log_every", log_every}})
    if (every < 1) throw OptionError(field, to_string(every), "must be at least 1");
  time_limit_seconds();
  if (dist_timeout < 1) throw OptionError("dist_timeout", to_string(dist_timeout), "must be at least 1 second");
  if (precision == "fp16")
    throw OptionError("precision", "fp16",
                      "not supported for training (fp16 needs loss scaling, which pconv's trainer does not do); "
                      "use bf16 (CPU or CUDA) or fp32");
  if (precision != "fp32" && precision != "bf16")
    throw OptionError("precision", "'" + precision + "'", "must be fp32 or bf16");
  if (export_dtype != "float32" && export_dtype != "float16")
    throw OptionError("export_dtype", "'" + export_dtype + "'", "must be float32 or float16");
  const int feature_choices = int{!vgg.empty()} + int{random_features} + int{pixel_loss};
  if (feature_choices == 0)
    throw OptionError("vgg", "",
                      "no features for the perceptual and style losses: give VGG-16 weights (torchvision's vgg16 "
                      "state_dict as safetensors, see docs/training.md), or choose random_features or the "
                      "pixel-space loss (pixel_loss)",
                      {"random_features", "pixel_loss"});
  if (feature_choices > 1)
    throw OptionError(random_features ? "random_features" : "pixel_loss", "true",
                      "choose one of vgg, random_features and pixel_loss", {"vgg"});
  if (feature_input != "rgb" && feature_input != "luma" && feature_input != "grey")
    throw OptionError("feature_input", "'" + feature_input + "'", "must be rgb, luma or grey");
  if (feature_input != "rgb" && !random_features)
    throw OptionError("feature_input", feature_input, "applies to random_features only", {"random_features"});
  for (const auto& [field, weight] :
       {std::pair{"w_valid", w_valid}, std::pair{"w_hole", w_hole}, std::pair{"w_perceptual", w_perceptual},
        std::pair{"w_style", w_style}, std::pair{"w_tv", w_tv}, std::pair{"w_chroma", w_chroma},
        std::pair{"w_adversarial", w_adversarial}})
    if (!(weight >= 0) || !std::isfinite(weight))
      throw OptionError(field, to_string(weight), "must be a finite number, 0 or more");
  if (!(d_lr > 0)) throw OptionError("d_lr", to_string(d_lr), "must be positive");
  if (d_width < 1) throw OptionError("d_width", to_string(d_width), "must be at least 1");

  if (!vgg.empty() && !fs::exists(vgg, ec)) throw OptionError("vgg", vgg, "VGG-16 weights file does not exist");
  PConvUNetOptions().depth(depth).width(width).check();
}

double TrainOptions::time_limit_seconds() const {
  const auto refuse = [this] {
    return OptionError("time_limit", "'" + time_limit + "'", "expected a duration such as 20m, 1h30m or 90s");
  };
  double seconds = 0;
  size_t i = 0;
  while (i < time_limit.size()) {
    size_t digits = i;
    while (digits < time_limit.size() &&
           (std::isdigit(static_cast<unsigned char>(time_limit[digits])) || time_limit[digits] == '.'))
      ++digits;
    if (digits == i || digits == time_limit.size()) throw refuse();
    const double amount = std::stod(time_limit.substr(i, digits - i));
    const char unit = time_limit[digits];
    if (unit != 'h' && unit != 'm' && unit != 's') throw refuse();
    seconds += amount * (unit == 'h' ? 3600 : unit == 'm' ? 60 : 1);
    i = digits + 1;
  }
  if (!time_limit.empty() && !(seconds > 0)) throw refuse();
  return seconds;
}

void load_train_config(const fs::path& path, TrainOptions& options) {
  const auto bytes = read_file(path);
  json config;
  try {
    config = json::parse(bytes.begin(), bytes.end());
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  options.merge(config, path.string());
}

}  // namespace pconv
