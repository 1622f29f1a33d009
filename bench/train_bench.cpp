// Training throughput at 256×256, batch 4, of the paper's 256×256 network (depth 7, full width):
// samples/s with the full loss (VGG-16 perceptual + style; random VGG weights, the speed is the
// same) and with the pixel loss, fed by the real data pipeline (JPEG photos decoded, cropped and
// masked on worker threads), and the share of the step time spent waiting for data; and in memory
// with the forward pass in bf16 under autocast (pconv train --precision bf16), and with the
// network's weights and activations channels-last (NHWC), which the trainer does not use.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "pconv/data/masks.h"
#include "pconv/data/photos.h"
#include "pconv/infer/device.h"
#include "pconv/train/batch_loader.h"
#include "train_step.h"

namespace {
namespace fs = std::filesystem;

// Photos the size of a camera's downscaled JPEGs, written once per process.
const std::vector<fs::path>& photos() {
  static const std::vector<fs::path> files = [] {
    const fs::path dir = fs::temp_directory_path() / "pconv-train-bench";
    fs::create_directories(dir);
    cv::RNG rng(1);
    for (int i = 0; i < 24; ++i) {
      cv::Mat img(768, 1024, CV_8UC3);
      rng.fill(img, cv::RNG::UNIFORM, 0, 255);
      cv::GaussianBlur(img, img, {0, 0}, 6);
      cv::imwrite((dir / ("p" + std::to_string(i) + ".jpg")).string(), img);
    }
    return pconv::list_images(dir);
  }();
  return files;
}

void BM_TrainStep256(benchmark::State& state) {
  const bool full_loss = state.range(0) == 1;
  const bool pipeline = state.range(1) == 1;  // 0: one batch made in memory, as the Python script does
  const torch::Dtype precision = state.range(2) == 1 ? torch::kBFloat16 : torch::kFloat32;  // pconv train --precision
  const bool channels_last = state.range(3) == 1;
  const int batch = 4, size = 256;
  pconv::set_threads(0);
  torch::manual_seed(0);
  pconv::bench::TrainStep train_step(full_loss, precision, torch::kCPU, channels_last);
  auto gen = std::make_shared<pconv::MaskGenerator>(pconv::MaskGeneratorOptions(size, size), 1);
  pconv::BatchLoaderOptions data;
  data.batch_size = batch;
  data.image_size = size;
  data.workers = 2;
  pconv::BatchLoader loader(
      photos(), [gen](uint64_t i) { return gen->generate(i); }, data);

  const pconv::Batch fixed = loader.next();
  auto step = [&] {
    const pconv::Batch b = pipeline ? loader.next() : fixed;
    train_step(b.image, b.mask);
  };
  step();  // warm-up
  const double wait0 = loader.wait_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.SetLabel(std::string(full_loss ? "full loss (VGG-16)" : "pixel loss") +
                 (pipeline ? ", data pipeline" : ", batch in memory") +
                 (precision == torch::kBFloat16 ? ", bf16" : "") + (channels_last ? ", channels-last" : ""));
  state.counters["samples_per_s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["data_wait_share"] = (loader.wait_seconds() - wait0) / seconds;
}

BENCHMARK(BM_TrainStep256)
    ->ArgNames({"full_loss", "pipeline", "bf16", "channels_last"})
    ->Args({0, 0, 0, 0})
    ->Args({0, 1, 0, 0})
    ->Args({1, 0, 0, 0})
    ->Args({1, 1, 0, 0})
    ->Args({0, 0, 1, 0})
    ->Args({1, 0, 1, 0})
    ->Args({0, 0, 0, 1})
    ->Args({1, 0, 0, 1})
    ->Args({0, 0, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(4);

}  // namespace

BENCHMARK_MAIN();
