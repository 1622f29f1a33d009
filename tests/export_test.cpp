// pconv export --onnx: the graph runs in OpenCV's dnn module and gives pconv's output.
#include <onnx/onnx_pb.h>

#include <opencv2/dnn.hpp>

#include "onnx/export_cases.h"
#include "pconv/export/onnx.h"
#include "pconv/io/files.h"
#include "test_util.h"

namespace pconv {
namespace {

cv::Mat to_blob(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  std::vector<int> sizes(c.sizes().begin(), c.sizes().end());
  return cv::Mat(sizes, CV_32F, c.data_ptr<float>()).clone();
}

torch::Tensor from_blob(const cv::Mat& m) {
  std::vector<int64_t> sizes(m.size.p, m.size.p + m.dims);
  return torch::from_blob(const_cast<float*>(m.ptr<float>()), sizes, torch::kFloat32).clone();
}

TEST(OnnxExport, OpenCvDnnGivesPConvsOutputForEveryModelKind) {
  double worst = 0;
  for (auto& kind : test::onnx_kinds()) {
    SCOPED_TRACE(kind.name);
    const std::string bytes = onnx_model_bytes(kind.model);
    cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    for (const auto& c : test::onnx_cases(kind.model.info.architecture.size_multiple())) {
      SCOPED_TRACE(c.name);
      torch::Tensor expected;
      {
        torch::NoGradGuard no_grad;
        expected = kind.model.net->forward(c.image, c.mask);
      }
      net.setInput(to_blob(c.image), "image");
      net.setInput(to_blob(c.mask), "mask");
      const torch::Tensor got = from_blob(net.forward("prediction"));
      ASSERT_EQ(got.sizes(), expected.sizes());
      const double diff = (got - expected).abs().max().item<double>();
      EXPECT_LE(diff, 1e-4) << "max |OpenCV dnn - pconv|";
      worst = std::max(worst, diff);
      // Where no valid pixel reaches a layer, the paper's network outputs 0 (imported variants their bias).
      if (c.name != "all_hole") {
        EXPECT_GT(expected.abs().max().item<double>(), 0.05) << "a case whose output is all but zero proves little";
      }
    }
  }
  std::cout << "largest |OpenCV dnn - pconv| over every kind and case: " << worst << std::endl;
}

TEST(OnnxExport, GraphDeclaresItsInputsOutputsAndConventions) {
  const auto kinds = test::onnx_kinds();
  const Model& model = kinds.front().model;
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(onnx_model_bytes(model)));
  ASSERT_EQ(proto.opset_import_size(), 1);
  EXPECT_EQ(proto.opset_import(0).version(), kOnnxOpset);
  EXPECT_EQ(proto.producer_name(), "pconv");
  const auto& g = proto.graph();
  ASSERT_EQ(g.input_size(), 2);
  EXPECT_EQ(g.input(0).name(), "image");
  EXPECT_EQ(g.input(1).name(), "mask");
  ASSERT_EQ(g.output_size(), 1);
  EXPECT_EQ(g.output(0).name(), "prediction");
  const auto& dims = g.input(0).type().tensor_type().shape().dim();
  ASSERT_EQ(dims.size(), 4);
  EXPECT_EQ(dims[0].dim_param(), "N");
  EXPECT_EQ(dims[1].dim_value(), 3);
  EXPECT_EQ(dims[2].dim_param(), "H");
  EXPECT_EQ(dims[3].dim_param(), "W");

  std::map<std::string, std::string> props;
  for (const auto& p : proto.metadata_props()) props[p.key()] = p.value();
  EXPECT_EQ(props.at("size_multiple"), "8");
  EXPECT_EQ(nlohmann::json::parse(props.at("normalization_mean")), nlohmann::json({0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(nlohmann::json::parse(props.at("pconv")), model_metadata_json(model.info));
  EXPECT_NE(props.at("mask").find("1 = valid"), std::string::npos);

  // Standard operators only, and no batch-norm left: it is folded into the convolutions.
  const std::set<std::string> allowed{"Conv",      "Mul",    "Add",    "Sub",  "Div",    "Relu",
                                      "LeakyRelu", "Resize", "Concat", "Tanh", "Sigmoid"};
  for (const auto& kind : kinds) {
    ASSERT_TRUE(proto.ParseFromString(onnx_model_bytes(kind.model)));
    for (const auto& node : proto.graph().node()) {
      EXPECT_TRUE(node.domain().empty()) << node.op_type();
      EXPECT_TRUE(allowed.count(node.op_type())) << kind.name << ": " << node.op_type();
    }
  }
}

TEST(OnnxExport, WritesAtomicallyAndNamesAnUnwritablePath) {
  test::TempDir dir;
  const auto kinds = test::onnx_kinds();
  write_onnx(dir / "model.onnx", kinds.front().model);
  EXPECT_EQ(read_file(dir / "model.onnx").size(), onnx_model_bytes(kinds.front().model).size());
  const std::string message =
      test::error_message([&] { write_onnx(dir / "no" / "such" / "model.onnx", kinds.front().model); });
  EXPECT_NE(message.find("model.onnx"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir / "no"));
}

}  // namespace
}  // namespace pconv
