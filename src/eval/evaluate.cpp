// pconv evaluate: models and classical methods scored per hole bucket, as in the paper's Table 1.
#include "pconv/eval/evaluate.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "pconv/data/photos.h"
#include "pconv/eval/metrics.h"
#include "pconv/io/error.h"
#include "pconv/io/image.h"
#include "pconv/io/progress.h"

namespace pconv {
namespace fs = std::filesystem;

namespace {

cv::Mat to_float(const cv::Mat& bgr8) {
  cv::Mat f;
  bgr8.convertTo(f, CV_32F, 1.0 / 255.0);
  return f;
}

// One sample of the evaluation: a photo, a hole, and the category it belongs to.
struct Sample {
  size_t category;
  size_t image;
  uint64_t mask_index;
  fs::path mask_file;  // empty: generated
};

// Half-width of the 95% confidence interval of a mean, from the sum of squares of `n` samples.
double confidence_half_width(double mean, double sum_of_squares, size_t n) {
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  // Student's t at 97.5% for 1..30 degrees of freedom; beyond, the normal's 1.96 is within 2%.
  static const double kT[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                              2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                              2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  const double count = static_cast<double>(n);
  const double variance = std::max(0.0, (sum_of_squares - count * mean * mean) / (count - 1));
  const size_t df = n - 1;
  return (df <= 30 ? kT[df - 1] : 1.96) * std::sqrt(variance / count);
}

}  // namespace

void EvaluationOptions::check() const {
  using std::to_string;
  if (size != 0 && size < 32) throw OptionError("size", to_string(size), "use 0 (native) or at least 32");
  if (masks.empty() && per_category < 1)
    throw OptionError("per_category", to_string(per_category), "must be at least 1");
  if (!masks.empty() && size == 0)
    throw OptionError("size", "0", "a mask set has one size: evaluate it at that size, not at native size");
  if (jobs < 1) throw OptionError("jobs", to_string(jobs), "must be at least 1");
  if (max_pixels < 1) throw OptionError("max_pixels", "", "must be positive");
  if (dilate < 0 || dilate > kMaxGrowPixels)
    throw OptionError("dilate", to_string(dilate), "must be 0.." + to_string(kMaxGrowPixels));
}

EvaluationReport evaluate(const EvaluationOptions& o, const std::vector<const InpaintMethod*>& methods,
                          const std::function<void(size_t, size_t)>& progress) {
  if (methods.empty()) throw Error("no methods to evaluate (telea, ns, fsr or a model file)");
  o.check();
  const std::vector<fs::path> photos = list_images(o.images);

  EvaluationReport report;
  report.size = o.size;
  report.images = photos.size();
  for (const auto* m : methods) {
    if (std::find(report.methods.begin(), report.methods.end(), m->name()) != report.methods.end())
      throw Error("two methods are both called '" + m->name() + "'; name models apart with --method NAME=FILE");
    report.methods.push_back(m->name());
  }
  std::vector<Sample> samples;
  if (!o.masks.empty()) {
    for (const auto& [category, files] : read_mask_set(o.masks)) {
      const cv::Mat first = load_image(files.front(), o.max_pixels);
      if (first.cols != o.size || first.rows != o.size)
        throw OptionError("size", std::to_string(o.size),
                          "the mask set's masks are " + std::to_string(first.cols) + "x" + std::to_string(first.rows) +
                              " (" + files.front().string() + ")");
      report.categories.push_back(category);
      for (size_t k = 0; k < files.size(); ++k)
        samples.push_back({report.categories.size() - 1, k % photos.size(), k, files[k]});
    }
  } else {
    report.categories = paper_categories();
    for (size_t c = 0; c < report.categories.size(); ++c)
      for (int k = 0; k < o.per_category; ++k)
        samples.push_back({c, static_cast<size_t>(k) % photos.size(), static_cast<uint64_t>(k), {}});
  }

  std::vector<std::vector<CellResult>> sums(methods.size(), std::vector<CellResult>(report.categories.size()));
  struct GradientSums {
    double fill = 0, truth = 0, fill_chroma = 0, truth_chroma = 0;
  };
  struct Squares {
    double l1 = 0, psnr = 0, ssim = 0;
  };
  std::vector<std::vector<Squares>> squares(methods.size(), std::vector<Squares>(report.categories.size()));
  std::vector<std::vector<GradientSums>> gradient_sums(methods.size(),
                                                       std::vector<GradientSums>(report.categories.size()));
  std::vector<int> examples_kept(report.categories.size(), 0);
  std::mutex mutex;
  std::atomic<size_t> next{0}, done{0};
  std::exception_ptr failure;

  auto work = [&] {
    for (size_t i; (i = next++) < samples.size();) {
      const Sample& s = samples[i];
      try {
        const MaskCategory& category = report.categories[s.category];
        cv::Mat truth = o.size > 0 ? rgb_float_to_bgr8(load_center_crop(photos[s.image], o.size, o.max_pixels))
                                   : rgb_float_to_bgr8(to_rgb_float(load_image(photos[s.image], o.max_pixels)));
        // The category is the mask's as drawn; every method fills the grown hole.
        const cv::Mat hole = grow_hole(
            s.mask_file.empty() ? category_generator(category, truth.cols, truth.rows, o.seed).generate(s.mask_index)
                                : binarize_mask(load_image(s.mask_file, o.max_pixels)).hole,
            o.dilate);
        const cv::Mat truth_f = to_float(truth);
        const HoleGradient truth_gradient = hole_gradient(truth_f, hole),
                           truth_chroma = hole_chroma_gradient(truth_f, hole);
        std::vector<cv::Mat> outputs;
        std::vector<CellResult> results;
        std::vector<HoleGradient> fill_gradients, fill_chromas;
        for (const auto* method : methods) {
          const Stopwatch stopwatch;
          const cv::Mat filled = method->fill(truth, hole);
          const double seconds = stopwatch.seconds();
          cv::Mat comp = truth.clone();
          filled.copyTo(comp, hole);
          const cv::Mat comp_f = to_float(comp);
          results.push_back(
              {1, 100.0 * mean_l1(comp_f, truth_f), psnr(comp_f, truth_f), ssim(comp_f, truth_f), seconds});
          fill_gradients.push_back(hole_gradient(comp_f, hole));
          fill_chromas.push_back(hole_chroma_gradient(comp_f, hole));
          outputs.push_back(comp);
        }
        std::lock_guard<std::mutex> lock(mutex);
        for (size_t m = 0; m < methods.size(); ++m) {
          CellResult& cell = sums[m][s.category];
          cell.count += 1;
          cell.l1 += results[m].l1;
          cell.psnr += results[m].psnr;
          cell.ssim += results[m].ssim;
          cell.seconds += results[m].seconds;
          Squares& sq = squares[m][s.category];
          sq.l1 += results[m].l1 * results[m].l1;
          sq.psnr += results[m].psnr * results[m].psnr;
          sq.ssim += results[m].ssim * results[m].ssim;
          GradientSums& g = gradient_sums[m][s.category];
          g.fill += fill_gradients[m].sum;
          g.truth += truth_gradient.sum;
          g.fill_chroma += fill_chromas[m].sum;
          g.truth_chroma += truth_chroma.sum;
        }
        if (examples_kept[s.category] < o.examples && s.mask_index < static_cast<uint64_t>(o.examples)) {
          ++examples_kept[s.category];
          cv::Mat masked = truth.clone();
          masked.setTo(cv::Scalar::all(255), hole);
          report.examples.push_back({category.name(), masked, truth, outputs});
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
        next = samples.size();
      }
      if (progress) progress(++done, samples.size());
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < std::max(1, o.jobs); ++j) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);

  for (size_t m = 0; m < methods.size(); ++m)
    for (size_t c = 0; c < report.categories.size(); ++c) {
      CellResult& cell = sums[m][c];
      if (cell.count == 0) continue;
      const double n = static_cast<double>(cell.count);
      cell.l1 /= n;
      cell.psnr /= n;
      cell.ssim /= n;
      cell.seconds /= n;
      const Squares& sq = squares[m][c];
      cell.l1_ci = confidence_half_width(cell.l1, sq.l1, cell.count);
      cell.psnr_ci = confidence_half_width(cell.psnr, sq.psnr, cell.count);
      cell.ssim_ci = confidence_half_width(cell.ssim, sq.ssim, cell.count);
      const GradientSums& g = gradient_sums[m][c];
      if (g.truth > 0) cell.texture = g.fill / g.truth;
      if (g.truth_chroma > 0) cell.colour = g.fill_chroma / g.truth_chroma;
    }
  report.cells = std::move(sums);
  std::sort(report.examples.begin(), report.examples.end(),
            [](const Example& a, const Example& b) { return a.category < b.category; });
  return report;
}

}  // namespace pconv
