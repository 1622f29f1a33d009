// Inference as Inpainter runs it (batch-norm folded into the convolutions, channels-last memory
// on the CPU) gives the network's output within float rounding, and the bundled model's output
// stays what it was when these optimisations came in (tests/data/reference/, raw float32).
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

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

TEST(Inference, PreparedNetworkGivesTheSameOutput) {
  for (const bool partial : {true, false}) {
    Model model = random_model(partial);
    torch::manual_seed(3);
    const torch::Tensor image = torch::randn({2, 3, 64, 96});
    const torch::Tensor mask = (torch::rand({2, 1, 64, 96}) > 0.3).to(torch::kFloat);
    c10::InferenceMode inference;
    const torch::Tensor expected = model.net->forward(image, mask);
    prepare_for_inference(model, torch::kCPU);
    EXPECT_TRUE(model.net->batch_norm_folded());
    const torch::Tensor got = model.net->forward(image, mask);
    EXPECT_TRUE(got.is_contiguous());
    EXPECT_LT(max_difference(got, expected), 1e-4) << (partial ? "PConv U-Net" : "plain U-Net");
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

}  // namespace
}  // namespace pconv
