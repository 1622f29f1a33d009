#pragma once
// The adversarial term of a training run: a PatchGAN critic (nn/discriminator.h) trained beside
// the network with its own Adam, one critic step per network step.
#include <torch/torch.h>

#include <memory>
#include <string>

#include "pconv/nn/discriminator.h"

namespace pconv {

class GradientReducer;
class ProcessGroup;

struct AdversaryOptions {
  double lr = 2e-4;
  int64_t width = 16;
};

class Adversary {
 public:
  /// With a process group, the critic's gradients are averaged over ranks like the network's.
  Adversary(const AdversaryOptions& options, const torch::Device& device, ProcessGroup* group);
  ~Adversary();

  /// The generator's hinge term for `composite` (N,3,H,W) in [0,1]: its gradient reaches the
  /// composite, never the critic's weights.
  torch::Tensor generator_loss(const torch::Tensor& composite, const torch::Tensor& mask);
  /// One critic step on the photos and (detached) composites; returns its loss.
  double update(const torch::Tensor& real, const torch::Tensor& composite, const torch::Tensor& mask);

  /// Weights, u/v estimates and optimizer state, under `prefix` in a checkpoint archive.
  void save(torch::serialize::OutputArchive& archive) const;
  /// False when the archive holds no critic (a run that had none): the critic stays fresh.
  bool load(torch::serialize::InputArchive& archive);

  PatchDiscriminator& critic() { return critic_; }

 private:
  void set_trainable(bool on);

  PatchDiscriminator critic_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::unique_ptr<GradientReducer> reducer_;
};

}  // namespace pconv
