#pragma once
// The methods an evaluation compares: learned models through Inpainter, and the classical ones
// people already have (OpenCV's Telea and Navier-Stokes, xphoto's FSR).
#include <torch/torch.h>

#include <memory>
#include <opencv2/core.hpp>
#include <string>

#include "pconv/infer/inpainter.h"

namespace pconv {

/// A way to fill holes: 8-bit BGR image and CV_8U hole mask (255 = hole) in, filled BGR out.
class InpaintMethod {
 public:
  virtual ~InpaintMethod() = default;
  virtual std::string name() const = 0;
  virtual cv::Mat fill(const cv::Mat& bgr, const cv::Mat& hole) const = 0;
};

/// "telea", "ns" (cv::inpaint, with `radius`), "fsr" (cv::xphoto FSR, when this OpenCV has it),
/// or a model file (filled with `model_options`, computing in `precision`), or NAME=FILE for a
/// model named NAME in reports. A model's default name has its file name, or for pconv train's
/// <run>/model.safetensors the run folder's.
std::unique_ptr<InpaintMethod> make_method(const std::string& spec, const torch::Device& device, int radius = 3,
                                           const InpaintOptions& model_options = {},
                                           torch::Dtype precision = torch::kFloat32);
bool have_fsr();

}  // namespace pconv
