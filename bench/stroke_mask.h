#pragma once
// The benchmarks' mask: the same irregular strokes in every run, so timings compare.
#include <torch/torch.h>

#include <opencv2/imgproc.hpp>

namespace pconv::bench {

/// Irregular strokes covering about a fifth of a size×size image, (1,1,size,size), 1 = valid.
inline torch::Tensor stroke_mask(int size) {
  cv::Mat hole = cv::Mat::zeros(size, size, CV_8U);
  cv::RNG rng(12345);
  for (int i = 0; i < 12; ++i)
    cv::line(hole, {rng.uniform(0, size), rng.uniform(0, size)}, {rng.uniform(0, size), rng.uniform(0, size)},
             cv::Scalar(255), rng.uniform(10, 40));
  torch::Tensor m = torch::from_blob(hole.data, {1, 1, size, size}, torch::kUInt8).to(torch::kFloat);
  return (1.0 - m / 255.0).contiguous();
}

}  // namespace pconv::bench
