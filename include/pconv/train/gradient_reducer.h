#pragma once
// Data-parallel gradient averaging: the gradients of every rank's parameters, summed over ranks
// in buckets while the backward pass is still running, then divided by the number of ranks.
//
// Buckets hold parameters in reverse registration order (roughly the order backward produces
// their gradients) and are launched in bucket order only, so every rank issues its collectives
// in the same order whatever the timing.
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "pconv/train/distributed.h"

namespace pconv {

class GradientReducer {
 public:
  /// Hooks every parameter; `bucket_bytes` bounds the size of one all-reduce.
  GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters, size_t bucket_bytes = size_t{2} << 20);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// Waits for the sums started during backward, starts the rest (a parameter that received no
  /// gradient counts as zero), and leaves the average over ranks in every parameter's grad.
  void finish();

  size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into parameters_
    std::vector<int64_t> offsets;
    torch::Tensor flat;
    size_t pending = 0;
    std::function<void()> wait;
  };

  void on_gradient(size_t parameter, const torch::Tensor& grad);
  void launch_ready();
  void reset();

  ProcessGroup& group_;
  std::vector<torch::Tensor> parameters_;
  std::vector<unsigned> hooks_;
  std::vector<std::pair<size_t, size_t>> place_;  // parameter -> (bucket, slot)
  std::vector<bool> arrived_;
  std::vector<Bucket> buckets_;
  size_t next_launch_ = 0;
};

}  // namespace pconv
