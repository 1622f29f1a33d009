#pragma once
// The benchmarks' training step: the paper's 256×256 network (depth 7, full width), Adam, the
// pixel loss or the full loss (VGG-16 perceptual and style terms; random VGG weights, the speed is
// the same), the forward pass under autocast in `precision` as `pconv train --precision` runs it.
// Shared by train_bench (CPU, data pipeline) and peer_bench train (any device, batch in memory).
#include <memory>

#include "pconv/nn/loss.h"
#include "pconv/nn/unet.h"
#include "pconv/nn/vgg16.h"
#include "pconv/train/autocast.h"

namespace pconv::bench {

class TrainStep {
 public:
  TrainStep(bool full_loss, torch::Dtype precision, const torch::Device& device, bool channels_last = false)
      : net_(PConvUNetOptions().depth(7)),
        vgg_(full_loss ? VGG16Features().ptr() : nullptr),
        loss_({}, vgg_),
        opt_(net_->parameters(), torch::optim::AdamOptions(2e-4)),
        precision_(precision),
        device_(device) {
    net_->to(device);
    net_->train();
    net_->set_channels_last(channels_last);
    if (vgg_) {
      vgg_->to(device);
      vgg_->eval();
    }
  }

  /// One step on images in [0,1] (N,3,H,W) and masks (N,1,H,W), 1 = valid.
  void operator()(const torch::Tensor& image, const torch::Tensor& mask) {
    torch::Tensor out;
    {
      const Autocast autocast(device_, precision_);
      out = net_(image * 2 - 1, mask);
    }
    out = out.to(torch::kFloat32) * 0.5 + 0.5;
    const auto terms = loss_(out, image, mask);
    opt_.zero_grad();
    terms.total.backward();
    opt_.step();
  }

 private:
  PConvUNet net_;
  std::shared_ptr<FeatureExtractor> vgg_;
  InpaintingLoss loss_;
  torch::optim::Adam opt_;
  torch::Dtype precision_;
  torch::Device device_;
};

}  // namespace pconv::bench
