#pragma once
// The PConv U-Net of the paper's Table 2, and the same network with ordinary convolutions
// (the "U-Net" baseline).
//
// Encoder: PConv1 7×7/64 (no BN), PConv2 5×5/128, PConv3 5×5/256, then 3×3/512 layers, all stride 2,
// BN + ReLU. Decoder, per stage: nearest ×2 upsampling of features and masks, concatenation with
// the encoder stage of the same size, 3×3 PConv, BN, LeakyReLU(0.2). The last layer also takes the
// input image and its mask and outputs 3 channels with no BN and no activation.
//
// Layers are named as in the paper: pconv1 … pconv{2·depth} (conv1 … in the plain variant) and
// bn2 … bn{2·depth−1}, so the 512×512 network of the paper has pconv1 … pconv16.
//
//   PConvUNet net(PConvUNetOptions().depth(7).width(0.5));
//   torch::Tensor out = net(image, mask);   // image (N,3,H,W) normalised; mask (N,1,H,W), 1 = valid
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "pconv/nn/partial_conv.h"
#include "pconv/nn/sync_batch_norm.h"

namespace pconv {

struct PConvUNetOptions {
  enum class Activation { none, tanh, sigmoid };

  /// Encoder layers: 8 for 512×512 as in the paper, 7 for 256×256. Inputs must be multiples of 2^depth.
  TORCH_ARG(int64_t, depth) = 8;
  /// Multiplier of every layer's channel count (0.5 halves them) for compact models.
  TORCH_ARG(double, width) = 1.0;
  /// Partial convolutions (the paper's network); false gives the plain-convolution U-Net, which
  /// sees the masked image with the mask as a fourth input channel.
  TORCH_ARG(bool, partial) = true;
  /// Keep the encoder's BN in evaluation mode while training (the paper's fine-tuning stage).
  TORCH_ARG(bool, freeze_encoder_bn) = false;
  /// The last layer multiplies its output, bias included, by sum(1)/sum(M) once more: a quirk of
  /// SneakySketchers' models, kept so that imported ones compute what they were trained with.
  TORCH_ARG(bool, reweight_output_twice) = false;
  /// The last layer outputs its bias, not 0, where no valid input reaches it (SunnerLi's models).
  TORCH_ARG(bool, output_bias_in_holes) = false;
  /// After the last layer: LeakyReLU(0.2), then a biased 1×1 convolution from 3 to 3 channels
  /// ("head"), as PConv-Keras's network ends.
  TORCH_ARG(bool, output_head) = false;
  /// Applied to the network's output (none in the paper; tanh for SunnerLi's sigmoid·2-1, which
  /// is tanh of half the input, the halving folded into the last layer; sigmoid for PConv-Keras).
  TORCH_ARG(Activation, output_activation) = Activation::none;
  /// Draw random initial weights for the partial convolutions; off when a model file's weights
  /// replace them at once (for the paper's network the draw alone takes a third of a second).
  TORCH_ARG(bool, initialize) = true;

 public:
  /// Whether anything beyond model format version 1 is in use.
  bool needs_format_2() const {
    return reweight_output_twice() || output_bias_in_holes() || output_head() ||
           output_activation() != Activation::none;
  }

 public:
  /// Throws pconv::Error on a depth or width out of range.
  void check() const;
  /// Output channels of encoder layer i (1-based), after the width multiplier.
  int64_t encoder_channels(int64_t i) const;
  /// Side lengths of network inputs must be multiples of this (2^depth).
  int64_t size_multiple() const { return int64_t{1} << depth(); }

  struct Layer {
    int64_t in, out, kernel, stride;
    bool bn;  ///< batch-norm after the convolution (then the convolution has no bias)
  };
  /// The shape of layer 1 … 2·depth: encoder layers first, then the decoder's.
  Layer layer(int64_t index) const;
  /// The name and shape of every tensor the network's state holds (as model_state names them),
  /// computed without building it: a model file is checked against it before anything is allocated.
  std::map<std::string, std::vector<int64_t>> state_shapes() const;
};

class PConvUNetImpl : public torch::nn::Module {
 public:
  explicit PConvUNetImpl(PConvUNetOptions options = {});

  /// `image` (N,3,H,W), normalised, holes may hold anything; `mask` (N,1,H,W), 1 = valid, 0 = hole.
  /// Returns the prediction (N,3,H,W) in the same normalised space. H and W: multiples of 2^depth.
  torch::Tensor forward(const torch::Tensor& image, const torch::Tensor& mask);

  /// The masks after each encoder layer (for inspection and tests), 1 = valid.
  std::vector<torch::Tensor> encoder_masks(const torch::Tensor& mask);

  /// Training mode, except that encoder BN stays in evaluation mode when freeze_encoder_bn is set.
  void train(bool on = true) override;
  void set_freeze_encoder_bn(bool freeze);
  /// BN layers in training mode normalise over the batches of all ranks (nullptr: their own).
  void set_batch_norm_sync(SumAcrossRanks sum) { sync_bn_ = std::move(sum); }

  const PConvUNetOptions& options() const { return options_; }

  /// For inference only: each batch-norm is folded into the convolution before it (weights scaled,
  /// shift as bias), so a layer is one convolution and one fused multiply-add. Equal to the
  /// unfolded network within float rounding on every pixel the network keeps: the shift now
  /// reaches hole pixels only through the mask, which zeroes them after the activation anyway.
  /// A folded network refuses training mode, and save_model refuses it.
  void fold_batch_norm();
  bool batch_norm_folded() const { return folded_; }

  /// Keep features in channels-last (NHWC) memory, with the weights to match: oneDNN's fast
  /// convolutions on the CPU. Inputs and the output stay in the usual layout.
  void set_channels_last(bool on);
  bool channels_last() const { return channels_last_; }

  /// Parameters, buffers and folded biases in `dtype` (bf16 or fp16 for faster inference); the
  /// inputs must then be given in it too. Partial convolutions count the mask in float anyway.
  void set_dtype(torch::Dtype dtype);

 private:
  torch::Tensor forward_partial(const torch::Tensor& image, const torch::Tensor& mask);
  torch::Tensor forward_plain(const torch::Tensor& image, const torch::Tensor& mask);
  torch::Tensor batch_norm(int64_t layer, const torch::Tensor& x);
  /// Decoder layer `layer` on cat(upsample(low), skip): one partial (with the valid-channel count)
  /// or plain convolution, computed without the joined map when no gradient is recorded.
  std::tuple<torch::Tensor, torch::Tensor> decoder_conv(int64_t layer, const torch::Tensor& low,
                                                        const torch::Tensor& skip, const torch::Tensor& valid);
  torch::Tensor decoder_conv(int64_t layer, const torch::Tensor& low, const torch::Tensor& skip);

  /// The output head and activation of the options (nothing in the paper's network).
  torch::Tensor finish_output(const torch::Tensor& x);
  bool has_bn(int64_t layer) const { return layer != 1 && layer != 2 * options_.depth(); }

  PConvUNetOptions options_;
  std::vector<PartialConv2d> pconvs_;        // index 0 is pconv1
  std::vector<torch::nn::Conv2d> convs_;     // plain variant
  std::vector<torch::nn::BatchNorm2d> bns_;  // index 0 is bn1 (empty module handle)
  torch::nn::Conv2d head_{nullptr};          // output_head only
  SumAcrossRanks sync_bn_;
  bool folded_ = false;
  bool channels_last_ = false;
};
TORCH_MODULE(PConvUNet);

}  // namespace pconv
