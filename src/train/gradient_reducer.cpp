#include "pconv/train/gradient_reducer.h"

#include "pconv/io/error.h"

namespace pconv {

GradientReducer::GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters, size_t bucket_bytes)
    : group_(group), parameters_(std::move(parameters)), place_(parameters_.size()), arrived_(parameters_.size()) {
  size_t bytes = bucket_bytes;  // start a new bucket at once
  for (size_t i = parameters_.size(); i-- > 0;) {
    const torch::Tensor& p = parameters_[i];
    const size_t size = static_cast<size_t>(p.numel()) * p.element_size();
    if (bytes + size > bucket_bytes && (buckets_.empty() || !buckets_.back().members.empty())) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& bucket = buckets_.back();
    place_[i] = {buckets_.size() - 1, bucket.members.size()};
    bucket.offsets.push_back(
        bucket.members.empty() ? 0 : bucket.offsets.back() + parameters_[bucket.members.back()].numel());
    bucket.members.push_back(i);
    bytes += size;
  }
  for (Bucket& bucket : buckets_) {
    const auto& last = parameters_[bucket.members.back()];
    bucket.flat = torch::zeros({bucket.offsets.back() + last.numel()}, last.options().requires_grad(false));
  }
  for (size_t i = 0; i < parameters_.size(); ++i)
    hooks_.push_back(parameters_[i].register_hook([this, i](const torch::Tensor& grad) { on_gradient(i, grad); }));
  reset();
}

GradientReducer::~GradientReducer() {
  for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].remove_hook(hooks_[i]);
}

void GradientReducer::reset() {
  std::fill(arrived_.begin(), arrived_.end(), false);
  for (Bucket& bucket : buckets_) {
    bucket.pending = bucket.members.size();
    bucket.wait = nullptr;
  }
  next_launch_ = 0;
}

void GradientReducer::on_gradient(size_t parameter, const torch::Tensor& grad) {
  if (arrived_[parameter]) throw Error("GradientReducer: a parameter received two gradients in one backward pass");
  arrived_[parameter] = true;
  auto [b, slot] = place_[parameter];
  Bucket& bucket = buckets_[b];
  bucket.flat.narrow(0, bucket.offsets[slot], grad.numel()).copy_(grad.reshape({-1}));
  if (--bucket.pending == 0) launch_ready();
}

void GradientReducer::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& bucket = buckets_[next_launch_++];
    bucket.wait = group_.all_reduce_sum_async(bucket.flat);
  }
}

void GradientReducer::finish() {
  for (Bucket& bucket : buckets_) {
    for (size_t slot = 0; slot < bucket.members.size(); ++slot) {
      const size_t i = bucket.members[slot];
      if (arrived_[i]) continue;
      bucket.flat.narrow(0, bucket.offsets[slot], parameters_[i].numel()).zero_();
      arrived_[i] = true;
      --bucket.pending;
    }
  }
  launch_ready();
  const double scale = 1.0 / group_.size();
  torch::NoGradGuard no_grad;
  for (Bucket& bucket : buckets_) {
    bucket.wait();
    bucket.flat.mul_(scale);
    for (size_t slot = 0; slot < bucket.members.size(); ++slot) {
      torch::Tensor& p = parameters_[bucket.members[slot]];
      const torch::Tensor average = bucket.flat.narrow(0, bucket.offsets[slot], p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(average);
      } else {
        p.mutable_grad() = average.clone();
      }
    }
  }
  reset();
}

}  // namespace pconv
