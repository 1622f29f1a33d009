// Inference as Inpainter runs it (batch-norm folded into the convolutions, channels-last memory
// on the CPU) gives the network's output within float rounding, and the bundled model's output
// stays what it was when these optimisations came in (tests/data/reference/, raw float32).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <thread>

#include "pconv/infer/device.h"
#include "pconv/infer/inpainter.h"
#include "pconv/infer/normalization.h"
#include "pconv/io/files.h"
#include "test_util.h"

namespace pconv {
namespace {

const std::filesystem::path kBundled = std::filesystem::path(PCONV_SOURCE_DIR) / "models/pconv.safetensors";
const std::filesystem::path kReference = std::filesystem::path(PCONV_TEST_DATA) / "reference/bundled-128.f32";

// A textured image and an irregular hole of the kind the model fills: a square and a stroke.
std::pair<cv::Mat, cv::Mat> reference_case() {
  const cv::Mat bgr = test::test_image(128, 128);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  rgb.convertTo(rgb, CV_32FC3, 1.0 / 255.0);
  cv::Mat hole = test::rect_hole(128, 128, {40, 30, 36, 28});
  cv::line(hole, {10, 100}, {110, 80}, cv::Scalar(255), 9);
  return {rgb, hole};
}

float max_difference(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<float>(); }

// A network with BN statistics far from the identity, so that folding them has something to get wrong.
Model random_model(bool partial) {
  Model model{test::tiny_net(4, 0.25, partial, 7), {}};
  model.info.architecture = model.net->options();
  torch::NoGradGuard no_grad;
  for (const auto& item : model.net->named_buffers()) {
    if (item.key().find("running_mean") != std::string::npos) item.value().normal_(0.0, 0.5);
    if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.2, 3.0);
  }
  for (const auto& item : model.net->named_parameters())
    if (item.key().rfind("bn", 0) == 0) item.value().normal_(0.5, 0.5);
  model.net->eval();
  return model;
}

// In fp32 within float rounding; in bf16 (8 significant bits, masks counted in float) within a
// few percent of the output's range.
TEST(Inference, PreparedNetworkGivesTheSameOutput) {
  for (const torch::Dtype precision : {torch::kFloat32, torch::kBFloat16})
    for (const bool partial : {true, false}) {
      Model model = random_model(partial);
      torch::manual_seed(3);
      const torch::Tensor image = torch::randn({2, 3, 64, 96});
      const torch::Tensor mask = (torch::rand({2, 1, 64, 96}) > 0.3).to(torch::kFloat);
      c10::InferenceMode inference;
      const torch::Tensor expected = model.net->forward(image, mask);
      prepare_for_inference(model, torch::kCPU, precision);
      EXPECT_TRUE(model.net->batch_norm_folded());
      const torch::Tensor got = model.net->forward(image.to(precision), mask.to(precision));
      EXPECT_TRUE(got.is_contiguous());
      EXPECT_EQ(got.scalar_type(), precision);
      const double tolerance = precision == torch::kFloat32 ? 1e-4 : 0.05 * expected.abs().max().item<double>();
      EXPECT_LT(max_difference(got.to(torch::kFloat32), expected), tolerance)
          << (partial ? "PConv U-Net " : "plain U-Net ") << precision_name(precision);
    }
}

TEST(Inference, AFoldedNetworkIsNeitherTrainedNorSaved) {
  Model model = random_model(true);
  prepare_for_inference(model, torch::kCPU);
  EXPECT_THROW(model.net->train(true), c10::Error);
  const test::TempDir dir;
  EXPECT_NE(test::error_message([&] { save_model(dir / "m.safetensors", model.net, model.info); }).find("folded"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "m.safetensors"));
}

TEST(Inference, BundledModelGivesItsReferenceOutput) {
  const auto [rgb, hole] = reference_case();
  const Inpainter inpainter = Inpainter::from_file(kBundled);
  const cv::Mat prediction = inpainter.predict(rgb, hole, 1);
  ASSERT_EQ(prediction.type(), CV_32FC3);
  const size_t bytes = prediction.total() * prediction.elemSize();
  if (std::getenv("PCONV_WRITE_REFERENCE")) {
    std::filesystem::create_directories(kReference.parent_path());
    write_file_atomic(kReference, prediction.data, bytes);
  }
  std::vector<uint8_t> stored = read_file(kReference);
  ASSERT_EQ(stored.size(), bytes) << kReference;
  const cv::Mat reference(prediction.size(), CV_32FC3, stored.data());
  EXPECT_LT(cv::norm(prediction, reference, cv::NORM_INF), 1e-4);
}

// bf16 computes the network in 8 significant bits but counts the masks exactly: the bundled
// model's fill stays within a few 8-bit levels of fp32's.
TEST(Inference, Bf16FillStaysCloseToFp32) {
  const auto [rgb, hole] = reference_case();
  const Inpainter fp32 = Inpainter::from_file(kBundled);
  const Inpainter bf16 = Inpainter::from_file(kBundled, torch::kCPU, parse_precision("bf16", torch::kCPU));
  EXPECT_EQ(bf16.precision(), torch::kBFloat16);
  const cv::Mat expected = fp32.predict(rgb, hole, 2), got = bf16.predict(rgb, hole, 2);
  ASSERT_EQ(got.type(), CV_32FC3);
  cv::Mat difference;
  cv::absdiff(got, expected, difference);
  const cv::Scalar mean = cv::mean(difference, hole);
  const double largest = cv::norm(got, expected, cv::NORM_INF, hole);
  // Measured: largest 0.0042 (about one 8-bit level), mean 0.00063.
  EXPECT_LT(largest, 4.0 / 255) << "largest difference in the hole";
  EXPECT_LT((mean[0] + mean[1] + mean[2]) / 3, 0.5 / 255) << "mean difference in the hole";
}

TEST(Inference, PrecisionNamesAndTheirDevices) {
  EXPECT_EQ(parse_precision("fp32", torch::kCPU), torch::kFloat32);
  EXPECT_EQ(parse_precision("bf16", torch::kCPU), torch::kBFloat16);
  EXPECT_EQ(precision_name(torch::kBFloat16), "bf16");
  EXPECT_EQ(precision_name(torch::kFloat16), "fp16");
  EXPECT_EQ(test::error_message([] { parse_precision("fp16", torch::kCPU); }),
            "precision fp16: LibTorch has no half-precision convolution on the CPU; use bf16 there (or a CUDA device)");
  EXPECT_EQ(test::error_message([] { parse_precision("int8", torch::kCPU); }),
            "precision 'int8': expected fp32, bf16 or fp16");
}

TEST(Inference, SetThreadsLeavesOpenBlasOneThread) {
  // LibTorch's own threads do the parallel work; OpenBLAS's pool spinning beside them cost a tenth
  // of every pass on two cores (see set_threads).
  using GetThreads = int (*)();
  const auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (!get) GTEST_SKIP() << "the BLAS of this LibTorch is not OpenBLAS";
  set_threads(0);
  EXPECT_EQ(get(), 1);
  EXPECT_EQ(torch::get_num_threads(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace pconv
