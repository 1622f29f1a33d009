#pragma once
// What a training run shows and writes: progress, metrics.jsonl, validation grids, the loss curve.
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "pconv/io/progress.h"
#include "pconv/nn/model_file.h"
#include "pconv/train/train.h"

namespace pconv {

struct ValidationMetrics {
  double psnr = 0, ssim = 0, l1 = 0;  ///< on the composites, averaged over the validation images
  double texture = 0;                 ///< texture ratio of the composites (eval/metrics.h), all holes together
  std::filesystem::path grid;         ///< masked input | output | composite | ground truth
};

/// Height of the validation grid's band of column labels, above one row per validation image.
constexpr int kGridLabelHeight = 24;

/// What validation needs of a run's options.
struct ValidationOptions {
  std::filesystem::path photos;  ///< validation photos; empty: no validation
  std::filesystem::path out;     ///< the run folder; grids go to out/val
  int image_size = 256;          ///< centre crops of this side
  int images = 8;                ///< photos used, at most
  int64_t max_pixels = 0;        ///< larger photos are refused
};

/// A fixed set of validation crops and masks, scored and drawn every few steps.
class Validator {
 public:
  Validator(const ValidationOptions& options, const Normalization& norm, const torch::Device& device);
  bool enabled() const { return !images_.empty(); }
  ValidationMetrics run(PConvUNet& net, int64_t step);

 private:
  std::vector<cv::Mat> images_, holes_;  // RGB CV_32FC3 [0,1]; CV_8U 255 = hole
  Normalization norm_;
  torch::Device device_;
  std::filesystem::path out_;
};

class TrainLog {
 public:
  /// resumed_step < 0: a new run (metrics.jsonl is started afresh); otherwise the log is cut back
  /// to that step and continued.
  TrainLog(const std::filesystem::path& out, int64_t iterations, int64_t resumed_step);
  void record(int64_t step, int stage, const std::map<std::string, double>& terms);
  /// `seconds_left`: until the time limit, which then bounds the ETA; infinite without one.
  void report(int64_t step, int stage, double steps_per_second, double data_wait_share,
              double seconds_left = std::numeric_limits<double>::infinity());
  void validation(int64_t step, const ValidationMetrics& metrics);
  /// Ends an open progress line on a terminal.
  void finish_line();

 private:
  void draw_loss_curve() const;
  void draw_validation_curve(cv::Mat& canvas, const cv::Rect& plot, double s0, double s1) const;

  std::filesystem::path out_;
  int64_t iterations_;
  ProgressLine progress_;
  std::ofstream metrics_;
  std::map<std::string, double> sums_;
  int count_ = 0;
  std::vector<std::pair<int64_t, double>> curve_;      // (step, mean total loss over the interval)
  std::vector<std::pair<int64_t, double>> val_curve_;  // (step, validation PSNR)
};

}  // namespace pconv
