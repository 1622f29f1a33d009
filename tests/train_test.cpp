// Training: configuration errors, overfitting one image, exact resume, interruption, NaN guard.
#include "pconv/train/train.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "pconv/eval/metrics.h"
#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/image.h"
#include "pconv/io/safetensors.h"
#include "pconv/io/signals.h"
#include "pconv/nn/loss.h"
#include "pconv/nn/model_file.h"
#include "test_util.h"

namespace pconv {
namespace {
namespace fs = std::filesystem;
using torch::indexing::Slice;

TrainOptions tiny(const test::TempDir& dir) {
  TrainOptions o;
  o.train_dir = (dir / "photos").string();
  o.out = (dir / "run").string();
  o.image_size = 32;
  o.depth = 3;
  o.width = 0.125;
  o.batch_size = 2;
  o.iterations = 6;
  o.pixel_loss = true;
  o.threads = 1;
  o.workers = 1;
  o.log_every = 2;
  o.checkpoint_every = 100;
  o.device = "cpu";
  return o;
}

using test::expect_error;

TEST(TrainConfig, OneSourceOfFeatures) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 1, 48, 48);
  TrainOptions o = tiny(dir);
  o.random_features = true;  // beside pixel_loss
  EXPECT_THROW(o.check(), OptionError);
  o.pixel_loss = false;
  EXPECT_NO_THROW(o.check());
  o.random_features = false;
  EXPECT_THROW(o.check(), OptionError);
  o.random_features = true;
  o.w_adversarial = -1;
  EXPECT_THROW(o.check(), OptionError);
  o.w_adversarial = 1;
  o.d_lr = 0;
  EXPECT_THROW(o.check(), OptionError);
  TrainOptions luma = tiny(dir);
  luma.feature_input = "luma";  // with the pixel loss: nothing to apply to
  expect_error([&] { luma.check(); }, "feature_input");
  luma.pixel_loss = false;
  luma.random_features = true;
  EXPECT_NO_THROW(luma.check());
  luma.feature_input = "blue";
  expect_error([&] { luma.check(); }, "'blue'");
}

TEST(TrainConfig, ClearErrors) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 2, 48, 48);
  TrainOptions o = tiny(dir);
  EXPECT_NO_THROW(o.check());
  expect_error([&] { o.merge({{"batch_sise", 3}}, "cfg.json"); }, "unknown setting 'batch_sise'");
  expect_error([&] { o.merge({{"lr", "fast"}}, "cfg.json"); }, "'lr' has the wrong type");
  write_file_atomic(dir / "bad.json", std::vector<uint8_t>{'{', 'x'});
  expect_error([&] { load_train_config(dir / "bad.json", o); }, "not valid JSON");
  expect_error([&] { load_train_config(dir / "none.json", o); }, "none.json");
  TrainOptions no_vgg = tiny(dir);
  no_vgg.pixel_loss = false;
  expect_error([&] { no_vgg.check(); }, "pixel_loss");
  TrainOptions bad = tiny(dir);
  bad.train_dir = (dir / "nowhere").string();
  expect_error([&] { bad.check(); }, "nowhere");
  bad = tiny(dir);
  bad.image_size = 36;
  expect_error([&] { bad.check(); }, "multiple of");
  bad = tiny(dir);
  bad.precision = "fp16";
  expect_error([&] { bad.check(); }, "fp16: not supported for training (fp16 needs loss scaling");
  bad.precision = "int8";
  expect_error([&] { bad.check(); }, "must be fp32 or bf16");
  bad = tiny(dir);
  for (const char* limit : {"20", "m", "5x", "0s", "1h30"}) {
    bad.time_limit = limit;
    expect_error([&] { bad.check(); }, "expected a duration such as 20m");
  }
  bad.time_limit = "1h30m15s";
  EXPECT_DOUBLE_EQ(bad.time_limit_seconds(), 5415.0);
  bad.time_limit = "0.5m";
  EXPECT_DOUBLE_EQ(bad.time_limit_seconds(), 30.0);
  // Settings round-trip through JSON.
  TrainOptions copy;
  copy.merge(o.to_json(), "round trip");
  EXPECT_EQ(copy.to_json(), o.to_json());
}

TEST(Train, SmallNetworkOverfitsOneImage) {
  torch::manual_seed(0);
  PConvUNet net(PConvUNetOptions().depth(4).width(0.25));
  net->train();
  const cv::Mat photo = test::test_image(64, 64);
  cv::Mat rgb;
  photo.convertTo(rgb, CV_32FC3, 1.0 / 255.0);
  const torch::Tensor gt = torch::from_blob(rgb.data, {1, 64, 64, 3}).permute({0, 3, 1, 2}).contiguous();
  torch::Tensor mask = torch::ones({1, 1, 64, 64});
  mask.index_put_({0, 0, Slice(20, 40), Slice(16, 44)}, 0);
  const InpaintingLoss loss;
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(2e-3));
  auto hole_psnr = [&] {
    torch::NoGradGuard no_grad;
    net->eval();
    const auto out = net(gt * 2 - 1, mask) * 0.5 + 0.5;
    net->train();
    const double mse =
        ((out.clamp(0, 1) - gt).pow(2) * (1 - mask)).sum().item<double>() / ((1 - mask).sum().item<double>() * 3);
    return 10 * std::log10(1.0 / mse);
  };
  const double before = hole_psnr();
  for (int step = 0; step < 150; ++step) {
    const auto out = net(gt * 2 - 1, mask) * 0.5 + 0.5;
    const auto t = loss(out, gt, mask);
    opt.zero_grad();
    t.total.backward();
    opt.step();
  }
  const double after = hole_psnr();
  EXPECT_GT(after, before + 10.0) << "hole PSNR " << before << " -> " << after;
}

std::map<std::string, torch::Tensor> weights(const fs::path& model) { return read_safetensors(model).tensors; }

// Trains `straight` for 6 steps in one go and in two runs (3, then resumed to 6); returns both
// results after checking that they end with the same weights.
std::pair<TrainResult, TrainResult> train_straight_and_resumed(const fs::path& dir, TrainOptions straight) {
  straight.out = (dir / "straight").string();
  straight.finetune_from = 4;  // the stage changes after the interruption point
  const TrainResult a = train(straight, false);
  EXPECT_EQ(a.steps_done, 6);

  TrainOptions first = straight;
  first.out = (dir / "split").string();
  first.iterations = 3;
  train(first, false);
  TrainOptions second = first;
  second.iterations = 6;
  const TrainResult b = train(second, true);
  EXPECT_EQ(b.steps_done, 6);

  const auto wa = weights(a.model), wb = weights(b.model);
  EXPECT_EQ(wa.size(), wb.size());
  for (const auto& [name, t] : wa) EXPECT_TRUE(wb.count(name) && torch::equal(t, wb.at(name))) << name;
  return {a, b};
}

TEST(Train, ResumedRunEqualsUninterruptedRun) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 4, 64, 48);
  const auto [a, b] = train_straight_and_resumed(dir.path(), tiny(dir));
  // The run folder holds what a person watches.
  for (const char* f : {"config.json", "metrics.jsonl", "checkpoint.pt", "model.safetensors"})
    EXPECT_TRUE(fs::exists(dir / "split" / f)) << f;
  const auto metadata = nlohmann::json::parse(read_safetensors(b.model).metadata.at("pconv"));
  EXPECT_EQ(metadata["training"]["loss"], "pixel: valid + hole + tv");
  EXPECT_EQ(metadata["training"]["iterations"], 6);
}

// bf16 autocast: the forward pass computes in bf16 (the weights end up different from an fp32
// run's), stays finite, and resumes bit for bit like fp32.
TEST(Train, Bf16StepsTrainAndResumeExactly) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 4, 64, 48);
  TrainOptions o = tiny(dir);
  o.precision = "bf16";
  const auto [a, b] = train_straight_and_resumed(dir.path(), o);
  TrainOptions fp32 = tiny(dir);
  fp32.out = (dir / "fp32").string();
  fp32.finetune_from = 4;
  const TrainResult c = train(fp32, false);
  const auto bf16_weights = weights(a.model), fp32_weights = weights(c.model);
  double largest = 0;
  for (const auto& [name, t] : bf16_weights) {
    ASSERT_TRUE(torch::isfinite(t).all().item<bool>()) << name;
    if (t.is_floating_point()) largest = std::max(largest, (t - fp32_weights.at(name)).abs().max().item<double>());
  }
  EXPECT_GT(largest, 0.0) << "the bf16 run computed exactly as fp32";
  EXPECT_LT(largest, 0.05) << "six small steps apart";
  const auto metadata = nlohmann::json::parse(read_safetensors(a.model).metadata.at("pconv"));
  EXPECT_EQ(metadata["training"]["precision"], "bf16");
}

TEST(Train, TextureLossesResumeExactly) {
  // Random-feature perceptual and style terms (on grey), the chroma term and the adversarial
  // critic: the critic's weights, power-iteration estimates and optimizer resume with the rest, so
  // the split run equals the straight one bit for bit.
  test::TempDir dir;
  test::write_photos(dir / "photos", 4, 64, 48);
  TrainOptions o = tiny(dir);
  o.pixel_loss = false;
  o.random_features = true;
  o.feature_seed = 7;
  o.feature_input = "grey";
  o.w_chroma = 5;
  o.w_adversarial = 0.1;
  o.d_width = 8;
  o.log_every = 1;
  const auto [a, b] = train_straight_and_resumed(dir.path(), o);
  const auto metadata = nlohmann::json::parse(read_safetensors(b.model).metadata.at("pconv"));
  EXPECT_EQ(metadata["training"]["loss"],
            "random features: valid + hole + perceptual + style + tv + chroma + adversarial (PatchGAN hinge)");
  EXPECT_EQ(metadata["training"]["features"]["seed"], 7);
  EXPECT_EQ(metadata["training"]["features"]["input"], "grey");
  EXPECT_EQ(metadata["training"]["weights"]["chroma"], 5.0);
  EXPECT_EQ(metadata["training"]["weights"]["adversarial"], 0.1);
  // Every step logged the new terms, and the critic learned (its loss moved).
  std::ifstream in(dir / "split" / "metrics.jsonl");
  std::set<double> critic;
  for (std::string line; std::getline(in, line);) {
    const auto loss = nlohmann::json::parse(line).at("loss");
    for (const char* term : {"perceptual", "style_out", "style_comp", "chroma", "adversarial", "critic"})
      EXPECT_TRUE(loss.contains(term)) << term << " in " << line;
    critic.insert(loss.at("critic").get<double>());
  }
  EXPECT_GT(critic.size(), 1u);
}

std::vector<int64_t> logged_steps(const fs::path& metrics) {
  std::vector<int64_t> steps;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) steps.push_back(nlohmann::json::parse(line).at("step"));
  return steps;
}

TEST(Train, AResumedLogKeepsItsStepsUniqueAndIncreasing) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 2, 48, 48);
  TrainOptions o = tiny(dir);
  o.log_every = 1;
  o.iterations = 3;
  train(o, false);
  // Lines written after the last checkpoint by a run that was then killed.
  std::ofstream(fs::path(o.out) / "metrics.jsonl", std::ios::app) << R"({"step":4,"stage":1,"loss":{"total":1.0}})"
                                                                  << "\n"
                                                                  << R"({"step":5,"stage":1,"lo)";
  o.iterations = 6;
  train(o, true);
  const std::vector<int64_t> steps = logged_steps(fs::path(o.out) / "metrics.jsonl");
  ASSERT_FALSE(steps.empty());
  for (size_t i = 1; i < steps.size(); ++i) EXPECT_LT(steps[i - 1], steps[i]) << "line " << i;
  EXPECT_EQ(steps.back(), 6);
}

TEST(Train, ADamagedCheckpointIsRefused) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 2, 48, 48);
  TrainOptions o = tiny(dir);
  o.iterations = 2;
  train(o, false);
  const fs::path checkpoint = fs::path(o.out) / "checkpoint.pt";
  const std::vector<uint8_t> good = read_file(checkpoint);
  o.iterations = 3;
  for (size_t at : {good.size() / 5, good.size() / 2, good.size() * 4 / 5, good.size() - 30}) {
    std::vector<uint8_t> bad = good;
    bad[at] ^= 0x10;
    write_file_atomic(checkpoint, bad);
    expect_error([&] { train(o, true); }, "checkpoint.pt");
  }
  write_file_atomic(checkpoint, good);
  EXPECT_EQ(train(o, true).steps_done, 3);
}

TEST(Train, RefusesToOverwriteAndResumesOnlyWhatExists) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 2, 48, 48);
  TrainOptions o = tiny(dir);
  o.iterations = 2;
  expect_error([&] { train(o, true); }, "no checkpoint to resume");
  train(o, false);
  expect_error([&] { train(o, false); }, "--resume");
  write_file_atomic(fs::path(o.out) / "checkpoint.pt", std::vector<uint8_t>(100, 1));
  expect_error([&] { train(o, true); }, "checkpoint.pt");
}

TEST(Train, SignalStopsWithACheckpointAndAModel) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 2, 48, 48);
  TrainOptions o = tiny(dir);
  stop_requested() = true;
  const TrainResult r = train(o, false);
  stop_requested() = false;
  EXPECT_TRUE(r.interrupted);
  EXPECT_TRUE(fs::exists(fs::path(o.out) / "checkpoint.pt"));
  ASSERT_EQ(r.model, fs::path(o.out) / "model.safetensors");
  EXPECT_EQ(load_model(r.model).info.training["iterations"], 0);
  EXPECT_EQ(train(o, true).steps_done, 6);
}

TEST(Train, TimeLimitStopsWithACheckpointAndAModelThatResumes) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 2, 48, 48);
  TrainOptions o = tiny(dir);
  o.iterations = 100000;
  o.time_limit = "0.2s";
  const TrainResult r = train(o, false);
  EXPECT_TRUE(r.interrupted);
  EXPECT_LT(r.steps_done, o.iterations);
  EXPECT_EQ(load_model(r.model).info.training["iterations"], r.steps_done);
  o.time_limit.clear();
  o.iterations = r.steps_done + 2;
  EXPECT_EQ(train(o, true).steps_done, r.steps_done + 2);
}

TEST(Train, NonFiniteLossStopsTheRunNamingTheStep) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 2, 48, 48);
  TrainOptions o = tiny(dir);
  o.lr = 1e30;
  o.iterations = 20;
  expect_error([&] { train(o, false); }, "loss is not finite at step");
  EXPECT_FALSE(fs::exists(fs::path(o.out) / "model.safetensors"));
}

TEST(Train, ValidationWritesGridsAndMetrics) {
  test::TempDir dir;
  test::write_photos(dir / "photos", 2, 48, 48);
  test::write_photos(dir / "val", 6, 48, 48);
  TrainOptions o = tiny(dir);
  o.val_dir = (dir / "val").string();
  o.val_images = 5;
  o.validate_every = 3;
  o.log_every = 1;
  train(o, false);
  // A band of column labels, then one row per validation image.
  const cv::Mat grid = load_image(fs::path(o.out) / "val" / "step_0000003.png");
  EXPECT_GT(grid.rows, 5 * o.image_size);
  EXPECT_LT(grid.rows, 6 * o.image_size);
  EXPECT_EQ(grid.cols, 4 * o.image_size);
  // The loss plot carries the validation PSNR in green beside the loss.
  const cv::Mat plot = load_image(fs::path(o.out) / "loss.png");
  cv::Mat green;
  cv::inRange(plot, cv::Scalar(30, 140, 30), cv::Scalar(50, 160, 50), green);
  EXPECT_GT(cv::countNonZero(green), 20);
  const auto bytes = read_file(fs::path(o.out) / "metrics.jsonl");
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_NE(text.find("\"psnr\""), std::string::npos);
  EXPECT_NE(text.find("\"texture\""), std::string::npos);
}

TEST(Metrics, PsnrAndSsimBasics) {
  const cv::Mat a(32, 32, CV_32FC3, cv::Scalar::all(0.5));
  cv::Mat b = a.clone();
  EXPECT_TRUE(std::isinf(psnr(a, b)));
  EXPECT_NEAR(ssim(a, b), 1.0, 1e-12);
  b += cv::Scalar::all(0.1);
  EXPECT_NEAR(psnr(a, b), 20.0, 1e-4);
  EXPECT_NEAR(mean_l1(a, b), 0.1, 1e-6);
  EXPECT_LT(ssim(a, b), 1.0);
}

}  // namespace
}  // namespace pconv
