#pragma once
// The way images and masks enter and leave the network: OpenCV's RGB float images in [0,1] and
// CV_8U hole masks (255 = hole) on one side; NCHW tensors, normalised per the model's input
// (Normalization, stored in the model file) and masks with 1 = valid, on the other.
#include <torch/torch.h>

#include <opencv2/core.hpp>

#include "pconv/nn/model_file.h"

namespace pconv {

/// The normalisation's mean and std as (1,3,1,1) tensors, to broadcast over image batches.
torch::Tensor mean_tensor(const Normalization& norm);
torch::Tensor std_tensor(const Normalization& norm);

/// cv::Mat CV_32FC3 RGB [0,1] -> normalised tensor (1,3,H,W) on the CPU, owning its memory.
torch::Tensor to_network(const cv::Mat& rgb, const Normalization& norm);

/// A (1,3,H,W) network output -> CV_32FC3 RGB, clamped to [0,1].
cv::Mat from_network(const torch::Tensor& output, const Normalization& norm);

/// A hole mask (CV_8U, 255 = hole) as the network's mask: (1,1,H,W) float on the CPU, 1 = valid,
/// 0 = hole, owning its memory.
torch::Tensor valid_mask(const cv::Mat& hole);

}  // namespace pconv
