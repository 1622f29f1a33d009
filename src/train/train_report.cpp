#include "train_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "pconv/data/masks.h"
#include "pconv/data/photos.h"
#include "pconv/eval/metrics.h"
#include "pconv/infer/normalization.h"
#include "pconv/io/files.h"
#include "pconv/io/image.h"
#include "pconv/io/log.h"

namespace pconv {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
// The band above the validation grid that names its four columns.
cv::Mat column_labels(int column_width) {
  cv::Mat band(kGridLabelHeight, 4 * column_width, CV_8UC3, cv::Scalar::all(255));
  const double scale = std::min(0.45, column_width / 260.0);
  int column = 0;
  for (const char* label : {"masked input", "network output", "composite", "ground truth"}) {
    int baseline = 0;
    const cv::Size size = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
    const cv::Point at(column * column_width + std::max(2, (column_width - size.width) / 2),
                       (kGridLabelHeight + size.height) / 2);
    cv::putText(band, label, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar::all(0), 1, cv::LINE_AA);
    ++column;
  }
  cv::Mat rgb;
  band.convertTo(rgb, CV_32FC3, 1.0 / 255.0);
  return rgb;
}
}  // namespace

Validator::Validator(const ValidationOptions& o, const Normalization& norm, const torch::Device& device)
    : norm_(norm), device_(device), out_(o.out) {
  if (o.photos.empty()) return;
  const auto files = list_images(o.photos);
  // Fixed masks, independent of the training seed, so that runs are comparable.
  const MaskGenerator masks(MaskGeneratorOptions(o.image_size, o.image_size).min_ratio(0.1).max_ratio(0.5), 20181804);
  for (size_t i = 0; i < files.size() && static_cast<int>(images_.size()) < o.images; ++i) {
    images_.push_back(load_center_crop(files[i], o.image_size, o.max_pixels));
    holes_.push_back(masks.generate(i));
  }
}

ValidationMetrics Validator::run(PConvUNet& net, int64_t step) {
  net->eval();
  ValidationMetrics m;
  double fill_gradient = 0, truth_gradient = 0;
  std::vector<cv::Mat> rows;
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < images_.size(); ++i) {
      const cv::Mat& gt = images_[i];
      const cv::Mat& hole = holes_[i];
      const torch::Tensor valid = valid_mask(hole).to(device_);
      const cv::Mat output = from_network(net->forward(to_network(gt, norm_).to(device_), valid), norm_);
      cv::Mat comp = gt.clone();
      output.copyTo(comp, hole);
      m.psnr += psnr(comp, gt);
      m.ssim += ssim(comp, gt);
      m.l1 += mean_l1(comp, gt);
      cv::Mat comp_bgr, gt_bgr;
      cv::cvtColor(comp, comp_bgr, cv::COLOR_RGB2BGR);
      cv::cvtColor(gt, gt_bgr, cv::COLOR_RGB2BGR);
      fill_gradient += hole_gradient(comp_bgr, hole).sum;
      truth_gradient += hole_gradient(gt_bgr, hole).sum;
      cv::Mat masked = gt.clone();
      masked.setTo(cv::Scalar::all(1.0), hole);
      cv::Mat row;
      cv::hconcat(std::vector<cv::Mat>{masked, output, comp, gt}, row);
      rows.push_back(row);
    }
  }
  const double n = static_cast<double>(images_.size());
  m.psnr /= n;
  m.ssim /= n;
  m.l1 /= n;
  m.texture = truth_gradient > 0 ? fill_gradient / truth_gradient : std::nan("");
  rows.insert(rows.begin(), column_labels(images_.front().cols));
  cv::Mat grid;
  cv::vconcat(rows, grid);
  char name[64];
  std::snprintf(name, sizeof name, "step_%07lld.png", static_cast<long long>(step));
  m.grid = out_ / "val" / name;
  save_image(m.grid, rgb_float_to_bgr8(grid));
  return m;
}

TrainLog::TrainLog(const fs::path& out, int64_t iterations, int64_t resumed_step) : out_(out), iterations_(iterations) {
  const fs::path path = out / "metrics.jsonl";
  if (resumed_step >= 0) {
    // Lines past the checkpoint's step were written before an interruption and will be written
    // again: keep the log's steps increasing and unique.
    std::ifstream in(path);
    std::string line, kept;
    while (std::getline(in, line)) {
      try {
        const json j = json::parse(line);
        if (j.at("step").get<int64_t>() > resumed_step) continue;
        if (j.contains("loss")) curve_.emplace_back(j["step"].get<int64_t>(), j["loss"]["total"].get<double>());
        if (j.contains("val")) val_curve_.emplace_back(j["step"].get<int64_t>(), j["val"]["psnr"].get<double>());
        kept += line + "\n";
      } catch (const json::exception&) {
        // A line cut short by an interruption: drop it.
      }
    }
    in.close();
    write_file_atomic(path, std::vector<uint8_t>(kept.begin(), kept.end()));
  }
  metrics_.open(path, resumed_step >= 0 ? std::ios::app : std::ios::trunc);
}

void TrainLog::record(int64_t, int, const std::map<std::string, double>& terms) {
  for (const auto& [k, v] : terms) sums_[k] += v;
  ++count_;
}

void TrainLog::report(int64_t step, int stage, double steps_per_second, double data_wait_share, double seconds_left) {
  if (count_ == 0) return;
  json loss;
  for (const auto& [k, v] : sums_) loss[k] = v / count_;
  const double total = loss["total"].get<double>();
  metrics_ << json{{"step", step},
                   {"stage", stage},
                   {"loss", loss},
                   {"steps_per_s", steps_per_second},
                   {"data_wait", data_wait_share}}
                  .dump()
           << std::endl;
  curve_.emplace_back(step, total);
  sums_.clear();
  count_ = 0;

  const double to_the_end = steps_per_second > 0 ? (iterations_ - step) / steps_per_second : 0;
  const bool limited = seconds_left < to_the_end;
  const double eta = std::max(0.0, limited ? seconds_left : to_the_end);
  std::ostringstream line;
  line << "step " << step << "/" << iterations_ << " [stage " << stage << "] " << std::fixed << std::setprecision(2)
       << steps_per_second << " it/s, ETA " << static_cast<int64_t>(eta) / 60 << "m" << std::setw(2)
       << std::setfill('0') << static_cast<int64_t>(eta) % 60 << "s" << std::setfill(' ')
       << (limited ? " (time limit)" : "") << std::setprecision(4) << " | loss " << total;
  for (const auto& [k, v] : loss.items())
    if (k != "total") line << " " << k << " " << v.get<double>();
  line << std::setprecision(1) << " | data wait " << 100.0 * data_wait_share << "%";
  if (progress_.drawing()) {
    const int width = 30;
    const int filled = static_cast<int>(width * step / std::max<int64_t>(1, iterations_));
    progress_.show("[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " + line.str());
  } else {
    log_info(line.str());
  }
}

void TrainLog::validation(int64_t step, const ValidationMetrics& m) {
  metrics_ << json{{"step", step},
                   {"val", {{"psnr", m.psnr}, {"ssim", m.ssim}, {"l1", m.l1}, {"texture", m.texture}}},
                   {"grid", m.grid.string()}}
                  .dump()
           << std::endl;
  std::ostringstream line;
  line << "validation at step " << step << ": PSNR " << std::fixed << std::setprecision(2) << m.psnr << " dB, SSIM "
       << std::setprecision(4) << m.ssim << ", L1 " << std::setprecision(2) << 100.0 * m.l1 << "%, texture "
       << m.texture << " -> " << m.grid.string();
  log_info(line.str());
  if (std::isfinite(m.psnr)) val_curve_.emplace_back(step, m.psnr);
  draw_loss_curve();
}

void TrainLog::finish_line() { progress_.finish(); }

void TrainLog::draw_loss_curve() const {
  if (curve_.size() < 2) return;
  const int w = 800, h = 400, left = 70, bottom = 40, top = 20, right = 20;
  cv::Mat canvas(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
  double lo = 1e300, hi = -1e300;
  for (const auto& [s, v] : curve_)
    if (v > 0) lo = std::min(lo, std::log10(v)), hi = std::max(hi, std::log10(v));
  if (!(hi > lo)) hi = lo + 1;
  const double s0 = static_cast<double>(curve_.front().first),
               s1 = static_cast<double>(std::max(curve_.back().first, curve_.front().first + 1));
  std::vector<cv::Point> points;
  for (const auto& [s, v] : curve_) {
    if (v <= 0) continue;
    const int x = left + static_cast<int>((w - left - right) * (s - s0) / (s1 - s0));
    const int y = top + static_cast<int>((h - top - bottom) * (hi - std::log10(v)) / (hi - lo));
    points.emplace_back(x, y);
  }
  cv::rectangle(canvas, {left, top}, {w - right, h - bottom}, cv::Scalar(0, 0, 0));
  cv::polylines(canvas, points, false, cv::Scalar(200, 80, 0), 2, cv::LINE_AA);
  auto label = [&](const std::string& text, cv::Point at) {
    cv::putText(canvas, text, at, cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  };
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", std::pow(10.0, hi));
  label(buf, {5, top + 10});
  std::snprintf(buf, sizeof buf, "%.3g", std::pow(10.0, lo));
  label(buf, {5, h - bottom});
  label("step " + std::to_string(curve_.front().first), {left, h - 15});
  label("step " + std::to_string(curve_.back().first), {w - right - 110, h - 15});
  label("total loss (log scale)", {w / 2 - 160, 15});
  draw_validation_curve(canvas, {left, top, w - left - right, h - top - bottom}, s0, s1);
  save_image(out_ / "loss.png", canvas);
}

// Validation PSNR over the same steps, on its own scale at the right.
void TrainLog::draw_validation_curve(cv::Mat& canvas, const cv::Rect& plot, double s0, double s1) const {
  if (val_curve_.empty()) return;
  const cv::Scalar green(40, 150, 40);
  double lo = 1e300, hi = -1e300;
  for (const auto& [s, v] : val_curve_) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(hi - lo > 0.1)) lo -= 0.05, hi += 0.05;
  std::vector<cv::Point> points;
  for (const auto& [s, v] : val_curve_) {
    const double x = std::clamp((static_cast<double>(s) - s0) / (s1 - s0), 0.0, 1.0);
    points.emplace_back(plot.x + static_cast<int>(plot.width * x),
                        plot.y + static_cast<int>(plot.height * (hi - v) / (hi - lo)));
  }
  cv::polylines(canvas, points, false, green, 2, cv::LINE_AA);
  for (const cv::Point& p : points) cv::circle(canvas, p, 3, green, cv::FILLED, cv::LINE_AA);
  auto label = [&](const std::string& text, cv::Point at) {
    cv::putText(canvas, text, at, cv::FONT_HERSHEY_SIMPLEX, 0.45, green, 1, cv::LINE_AA);
  };
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f dB", hi);
  label(buf, {plot.x + plot.width - 75, plot.y + 15});
  std::snprintf(buf, sizeof buf, "%.2f dB", lo);
  label(buf, {plot.x + plot.width - 75, plot.y + plot.height - 5});
  label("validation PSNR", {plot.x + plot.width / 2 + 30, 15});
}

}  // namespace pconv
