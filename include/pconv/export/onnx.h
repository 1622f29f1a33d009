#pragma once
// A pconv network as an ONNX graph of standard operators, so that ONNX Runtime, OpenCV's dnn
// module, TensorRT, OpenVINO or onnxruntime-web run pconv models (docs/export.md).
//
// Inputs `image` (N,3,H,W), normalised as the model's metadata says, holes may hold anything,
// and `mask` (N,1,H,W), binary, 1 = valid; output `prediction` (N,3,H,W) in the same space as
// the image. N, H and W are dynamic; H and W must be multiples of 2^depth. Batch-norm is folded
// into the convolutions, and each partial convolution's sum(M) is a convolution of the valid-
// channel count with a window of ones, so the graph needs nothing beyond opset 13's Conv, Mul,
// Add, Sub, Div, Relu, LeakyRelu, Resize (nearest), Concat, Tanh and Sigmoid.
//
//   Model m = load_model("pconv.safetensors");
//   write_onnx("pconv.onnx", m);
#include <filesystem>
#include <string>

#include "pconv/nn/model_file.h"

namespace pconv {

/// The ONNX operator set the graph is written for: supported by ONNX Runtime, OpenCV 4.6's dnn,
/// TensorRT 8 and OpenVINO; the first in which Resize takes no region of interest.
constexpr int kOnnxOpset = 13;

/// Whether this build links the ONNX protobuf definitions (Debian: libonnx-dev).
bool onnx_export_available();

/// The serialized ONNX ModelProto of the model's network (in evaluation mode), with pconv's
/// metadata and the input conventions as metadata properties. Throws pconv::Error when the
/// network cannot be expressed (beyond the 2 GiB a protobuf message holds) or the build has no
/// ONNX support.
std::string onnx_model_bytes(const Model& model);

/// Writes onnx_model_bytes atomically to `path`.
void write_onnx(const std::filesystem::path& path, const Model& model);

}  // namespace pconv
