#pragma once
// The network's forward pass in a lower precision during training: LibTorch's autocast casts each
// convolution's inputs and weights to bf16 and keeps precision-sensitive operations in float,
// while the weights, their gradients and the optimiser stay float. (Partial convolutions count
// their masks outside it; see PartialConv2dImpl::mask_update.)
#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

namespace pconv {

/// Autocast to `dtype` on `device`'s type for its lifetime; nothing for float32. Not nestable
/// with other code that changes autocast on the same thread.
class Autocast {
 public:
  Autocast(const torch::Device& device, torch::Dtype dtype) : on_(dtype != torch::kFloat32), type_(device.type()) {
    if (!on_) return;
    set(type_, dtype, true);
    at::autocast::increment_nesting();
  }
  ~Autocast() {
    if (!on_) return;
    // The casts of the weights are cached for one forward pass; the next step's weights differ.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set(type_, torch::kFloat32, false);
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  // LibTorch 2.4 made autocast's switches take the device type; the per-device names of 1.x
  // remain there only as deprecated wrappers that warn on every call.
  static void set(torch::DeviceType type, torch::Dtype dtype, bool enabled) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    if (enabled) at::autocast::set_autocast_dtype(type, dtype);
    at::autocast::set_autocast_enabled(type, enabled);
#else
    if (type == torch::kCUDA) {
      if (enabled) at::autocast::set_autocast_gpu_dtype(dtype);
      at::autocast::set_enabled(enabled);
    } else {
      if (enabled) at::autocast::set_autocast_cpu_dtype(dtype);
      at::autocast::set_cpu_enabled(enabled);
    }
#endif
  }

  bool on_;
  torch::DeviceType type_;
};

}  // namespace pconv
