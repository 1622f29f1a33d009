#include "pconv/infer/normalization.h"

namespace pconv {

torch::Tensor mean_tensor(const Normalization& norm) {
  return torch::tensor({norm.mean[0], norm.mean[1], norm.mean[2]}).view({1, 3, 1, 1});
}

torch::Tensor std_tensor(const Normalization& norm) {
  return torch::tensor({norm.std[0], norm.std[1], norm.std[2]}).view({1, 3, 1, 1});
}

torch::Tensor to_network(const cv::Mat& rgb, const Normalization& norm) {
  CV_Assert(rgb.type() == CV_32FC3);
  const cv::Mat src = rgb.isContinuous() ? rgb : rgb.clone();
  // from_blob does not own the Mat's memory: copy into a tensor that does.
  torch::Tensor out = torch::empty({1, 3, src.rows, src.cols});
  out[0].copy_(torch::from_blob(src.data, {src.rows, src.cols, 3}, torch::kFloat).permute({2, 0, 1}));
  return out.sub_(mean_tensor(norm)).div_(std_tensor(norm));
}

cv::Mat from_network(const torch::Tensor& output, const Normalization& norm) {
  TORCH_CHECK(output.dim() == 4 && output.size(0) == 1 && output.size(1) == 3, "expected a (1,3,H,W) network output");
  const torch::Tensor rgb = (output.detach().to(torch::kCPU, torch::kFloat) * std_tensor(norm) + mean_tensor(norm))
                                .clamp(0.0, 1.0)[0]
                                .permute({1, 2, 0})
                                .contiguous();
  cv::Mat mat(static_cast<int>(rgb.size(0)), static_cast<int>(rgb.size(1)), CV_32FC3, rgb.data_ptr<float>());
  return mat.clone();
}

torch::Tensor valid_mask(const cv::Mat& hole) {
  CV_Assert(hole.type() == CV_8UC1);
  const cv::Mat src = hole.isContinuous() ? hole : hole.clone();
  return torch::from_blob(src.data, {1, 1, src.rows, src.cols}, torch::kUInt8).eq(0).to(torch::kFloat);
}

}  // namespace pconv
