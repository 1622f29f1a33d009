#pragma once
// The network's forward pass in a lower precision during training: LibTorch's autocast casts each
// convolution's inputs and weights to bf16 and keeps precision-sensitive operations in float,
// while the weights, their gradients and the optimiser stay float. (Partial convolutions count
// their masks outside it; see PartialConv2dImpl::mask_update.)
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

namespace pconv {

/// Autocast to `dtype` on `device`'s type for its lifetime; nothing for float32. Not nestable
/// with other code that changes autocast on the same thread.
class Autocast {
 public:
  Autocast(const torch::Device& device, torch::Dtype dtype) : on_(dtype != torch::kFloat32), cuda_(device.is_cuda()) {
    if (!on_) return;
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(dtype);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(dtype);
      at::autocast::set_cpu_enabled(true);
    }
    at::autocast::increment_nesting();
  }
  ~Autocast() {
    if (!on_) return;
    // The casts of the weights are cached for one forward pass; the next step's weights differ.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    if (cuda_)
      at::autocast::set_enabled(false);
    else
      at::autocast::set_cpu_enabled(false);
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool on_, cuda_;
};

}  // namespace pconv
