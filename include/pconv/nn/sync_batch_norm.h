#pragma once
// Synchronised batch normalisation: in a data-parallel job, BN layers in training mode normalise
// with the statistics of the global batch (every rank's samples) instead of their own.
#include <torch/torch.h>

#include <functional>

namespace pconv {

/// Sums a tensor over the ranks of a job, as an autograd operation (ProcessGroup::sum_across).
using SumAcrossRanks = std::function<torch::Tensor(const torch::Tensor&)>;

/// `bn`'s training-mode forward over the global batch: mean and biased variance from sums over
/// ranks (two passes, for accuracy), running statistics updated with the unbiased variance as
/// torch's BatchNorm does. With `sum` the identity it equals `bn->forward(x)`.
torch::Tensor sync_batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x, const SumAcrossRanks& sum);

}  // namespace pconv
