// Poisson blending of a fill into a photo: the time it adds to a fill, at the README example's
// scale and at a photo's native size, for stroke holes covering about a fifth of the image.
// Compare with the network's time for the same image (bench/inference.sh, `pconv inpaint`);
// 0 iterations is the cost of setting the system up.
#include <benchmark/benchmark.h>

#include <opencv2/imgproc.hpp>

#include "pconv/infer/poisson_blend.h"

namespace {

cv::Mat strokes(cv::Size size) {
  cv::Mat hole = cv::Mat::zeros(size, CV_8U);
  cv::RNG rng(12345);
  const int unit = std::max(1, size.width / 512);
  while (cv::countNonZero(hole) < static_cast<int>(hole.total() / 5))
    cv::line(hole, {rng.uniform(0, size.width), rng.uniform(0, size.height)},
             {rng.uniform(0, size.width), rng.uniform(0, size.height)}, cv::Scalar(255), unit * rng.uniform(10, 40));
  return hole;
}

void BM_PoissonBlend(benchmark::State& state) {
  const cv::Size size(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  cv::Mat photo(size, CV_32FC3), fill(size, CV_32FC3);
  cv::randu(photo, cv::Scalar::all(0.0), cv::Scalar::all(1.0));
  cv::randu(fill, cv::Scalar::all(0.0), cv::Scalar::all(1.0));
  const cv::Mat hole = strokes(size);
  pconv::PoissonBlendOptions options;
  options.iterations = static_cast<int>(state.range(2));
  for (auto _ : state) {
    cv::Mat out = pconv::poisson_blend(fill, photo, hole, options);
    benchmark::DoNotOptimize(out.data);
  }
  state.counters["megapixels"] = static_cast<double>(size.area()) / 1e6;
  state.counters["hole_%"] = 100.0 * cv::countNonZero(hole) / static_cast<double>(hole.total());
}

BENCHMARK(BM_PoissonBlend)
    ->ArgNames({"width", "height", "iterations"})
    ->Args({512, 512, 50})
    ->Args({3072, 2048, 0})  // setting the system up
    ->Args({3072, 2048, 25})
    ->Args({3072, 2048, 50})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
