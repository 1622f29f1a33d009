#pragma once
// The models and inputs on which an exported ONNX graph must match pconv's own network: every
// architecture the model format holds, with random weights and BN statistics (so that folding
// BN into the convolutions is exercised), and masks that reach the border, cover almost all,
// or everything. Shared by export_test (OpenCV's dnn) and make_onnx_cases (ONNX Runtime, checker).
#include <string>
#include <vector>

#include "pconv/nn/model_file.h"

namespace pconv::test {

struct OnnxKind {
  std::string name;
  Model model;
};

/// The paper's network, the plain U-Net, and the imported variants (SneakySketchers' double
/// re-weighting, SunnerLi's bias in holes and tanh, PConv-Keras's head and sigmoid), small.
std::vector<OnnxKind> onnx_kinds();

struct OnnxCase {
  std::string name;
  torch::Tensor image, mask;  // (N,3,H,W) normalised, (N,1,H,W) binary
};

/// Inputs for a network whose sizes are multiples of `multiple`: several sizes, a batch of two,
/// holes touching the border, an all-valid, an almost all-hole and an all-hole mask.
std::vector<OnnxCase> onnx_cases(int64_t multiple);

}  // namespace pconv::test
