#include "pconv/nn/sync_batch_norm.h"

namespace pconv {

torch::Tensor sync_batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x, const SumAcrossRanks& sum) {
  const int64_t channels = x.size(1);
  const std::vector<int64_t> dims{0, 2, 3};
  const auto per_channel = [&](const torch::Tensor& t) { return t.view({1, channels, 1, 1}); };
  // [Σx per channel, count] in one all-reduce; the count is a constant, so no gradient flows to it.
  const torch::Tensor local =
      torch::cat({x.sum(dims), torch::full({1}, static_cast<double>(x.numel()) / static_cast<double>(channels),
                                           x.options().requires_grad(false))});
  const torch::Tensor total = sum(local);
  const torch::Tensor count = total.narrow(0, channels, 1).detach();
  const torch::Tensor mean = total.narrow(0, 0, channels) / count;
  const torch::Tensor centred = x - per_channel(mean);
  const torch::Tensor var = sum(centred.pow(2).sum(dims)) / count;

  const auto& o = bn.options;
  if (o.track_running_stats()) {
    torch::NoGradGuard no_grad;
    const double n = count.item<double>();
    bn.num_batches_tracked.add_(1);
    // No momentum means a cumulative average, as in torch's BatchNorm.
    const double momentum = o.momentum() ? *o.momentum() : 1.0 / bn.num_batches_tracked.item<double>();
    bn.running_mean.mul_(1 - momentum).add_(mean.detach(), momentum);
    bn.running_var.mul_(1 - momentum).add_(var.detach() * (n / std::max(n - 1, 1.0)), momentum);
  }
  torch::Tensor y = centred * per_channel(torch::rsqrt(var + o.eps()));
  if (o.affine()) y = y * per_channel(bn.weight) + per_channel(bn.bias);
  return y;
}

}  // namespace pconv
