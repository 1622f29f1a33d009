// The texture terms' cost per training step (batch 4, 256×256, forward and backward), beside the
// network's: the random features, their padding and Gram matrices, and the PatchGAN critic.
//   build/release/bench/texture_loss_bench --benchmark_filter=. (one thread: PCONV_THREADS=1)
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "pconv/infer/device.h"
#include "pconv/nn/discriminator.h"
#include "pconv/nn/loss.h"
#include "pconv/nn/random_features.h"
#include "pconv/nn/unet.h"

namespace {
constexpr int kBatch = 4, kSize = 256;

void setup() {
  const char* threads = std::getenv("PCONV_THREADS");
  pconv::set_threads(threads ? std::atoi(threads) : 0);
  torch::manual_seed(0);
}

torch::Tensor hole_mask() {
  torch::Tensor mask = torch::ones({kBatch, 1, kSize, kSize});
  mask.index_put_({torch::indexing::Slice(), 0, torch::indexing::Slice(64, 192), torch::indexing::Slice(64, 192)}, 0);
  return mask;
}

// The loss alone on a fixed output: features (range 0: none) with `channels` per scale.
void BM_LossStep(benchmark::State& state) {
  setup();
  std::shared_ptr<pconv::FeatureExtractor> features;
  if (state.range(0) > 0)
    features =
        pconv::RandomFeatures(pconv::RandomFeaturesOptions().channels(state.range(0)).scales(state.range(1))).ptr();
  const pconv::InpaintingLoss loss({}, features);
  const torch::Tensor truth = torch::rand({kBatch, 3, kSize, kSize}), mask = hole_mask();
  for (auto _ : state) {
    const torch::Tensor out = torch::rand({kBatch, 3, kSize, kSize}).requires_grad_(true);
    loss(out, truth, mask).total.backward();
  }
}
BENCHMARK(BM_LossStep)->Args({0, 0})->Args({64, 4})->Args({32, 4})->Args({16, 4})->Unit(benchmark::kMillisecond);

void BM_CriticStep(benchmark::State& state) {
  setup();
  pconv::PatchDiscriminator critic(pconv::PatchDiscriminatorOptions().width(state.range(0)));
  const torch::Tensor mask = hole_mask();
  for (auto _ : state) {
    const torch::Tensor image = torch::rand({2 * kBatch, 3, kSize, kSize}).requires_grad_(true);
    const torch::Tensor scores = critic->forward(image);
    pconv::generator_hinge_loss(scores, torch::ones_like(scores)).backward();
  }
}
BENCHMARK(BM_CriticStep)->Arg(32)->Arg(16)->Unit(benchmark::kMillisecond);

// The bundled model's network (depth 6, width 0.25): forward and backward of one batch.
void BM_NetworkStep(benchmark::State& state) {
  setup();
  pconv::PConvUNet net(pconv::PConvUNetOptions().depth(6).width(0.25));
  net->train();
  const torch::Tensor mask = hole_mask();
  for (auto _ : state) {
    const torch::Tensor image = torch::rand({kBatch, 3, kSize, kSize});
    net->forward(image, mask).mean().backward();
  }
}
BENCHMARK(BM_NetworkStep)->Unit(benchmark::kMillisecond);
}  // namespace

BENCHMARK_MAIN();
