// 512×512 inference with the paper's network (depth 8, full width): the PConv U-Net against the
// same network with ordinary convolutions. Weights are random: speed does not depend on them.
// Run bench/inference.sh for the time ratio and the peak RSS of the PConv U-Net alone.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include "pconv/infer/device.h"
#include "pconv/nn/unet.h"
#include "stroke_mask.h"

namespace {

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void BM_Inference512(benchmark::State& state) {
  const bool partial = state.range(0) == 1;
  const int threads = static_cast<int>(state.range(1));
  pconv::set_threads(threads);
  torch::manual_seed(0);
  pconv::PConvUNet net(pconv::PConvUNetOptions().depth(8).width(1.0).partial(partial));
  net->eval();
  const torch::Tensor image = torch::randn({1, 3, 512, 512});
  const torch::Tensor mask = pconv::bench::stroke_mask(512);
  c10::InferenceMode inference;
  net(image, mask);  // warm-up: first-call allocations and oneDNN primitive creation
  for (auto _ : state) {
    torch::Tensor out = net(image, mask);
    benchmark::DoNotOptimize(out.data_ptr());
  }
  state.SetLabel(partial ? "pconv-unet" : "plain-unet");
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["hole_%"] = 100.0 * (1.0 - mask.mean().item<double>());
}

// {partial, threads}; threads 0 = every core.
BENCHMARK(BM_Inference512)
    ->ArgNames({"partial", "threads"})
    ->Args({1, 0})
    ->Args({0, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
