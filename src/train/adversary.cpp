#include "adversary.h"

#include <algorithm>

#include "pconv/io/error.h"
#include "pconv/train/gradient_reducer.h"

namespace pconv {

Adversary::Adversary(const AdversaryOptions& options, const torch::Device& device, ProcessGroup* group)
    : critic_(PatchDiscriminatorOptions().width(options.width)) {
  critic_->to(device);
  critic_->train();
  // β1 = 0.5, as GANs are usually trained: momentum lags behind a moving target.
  optimizer_ = std::make_unique<torch::optim::Adam>(critic_->parameters(),
                                                    torch::optim::AdamOptions(options.lr).betas({0.5, 0.999}));
  if (group) {
    torch::NoGradGuard no_grad;
    for (auto& t : critic_->parameters()) group->broadcast(t);
    for (auto& t : critic_->buffers()) group->broadcast(t);
    reducer_ = std::make_unique<GradientReducer>(*group, critic_->parameters());
  }
}

Adversary::~Adversary() = default;

void Adversary::set_trainable(bool on) {
  for (auto& p : critic_->parameters()) p.requires_grad_(on);
}

torch::Tensor Adversary::generator_loss(const torch::Tensor& composite, const torch::Tensor& mask) {
  // Evaluation mode: the power iteration runs once per step, in the critic's own update.
  critic_->eval();
  set_trainable(false);
  const torch::Tensor scores = critic_->forward(composite);
  set_trainable(true);
  critic_->train();
  return generator_hinge_loss(scores, hole_patches(mask, scores));
}

double Adversary::update(const torch::Tensor& real, const torch::Tensor& composite, const torch::Tensor& mask) {
  // One forward for both: each training forward moves the power iteration's u and v in place,
  // which a second forward would do under the first one's graph.
  const int64_t n = real.size(0);
  const torch::Tensor scores = critic_->forward(torch::cat({real, composite.detach()}));
  const torch::Tensor real_scores = scores.narrow(0, 0, n), fake_scores = scores.narrow(0, n, n);
  const torch::Tensor loss = discriminator_hinge_loss(real_scores, fake_scores, hole_patches(mask, fake_scores));
  optimizer_->zero_grad();
  loss.backward();
  if (reducer_) reducer_->finish();
  optimizer_->step();
  return loss.item<double>();
}

void Adversary::save(torch::serialize::OutputArchive& archive) const {
  for (const auto& p : critic_->named_parameters()) archive.write("critic." + p.key(), p.value().detach().cpu(), false);
  for (const auto& b : critic_->named_buffers()) archive.write("critic." + b.key(), b.value().detach().cpu(), true);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer_->save(optimizer_archive);
  archive.write("critic_optimizer", optimizer_archive);
}

bool Adversary::load(torch::serialize::InputArchive& archive) {
  std::vector<std::string> keys = archive.keys();
  if (std::find(keys.begin(), keys.end(), "critic_optimizer") == keys.end()) return false;
  torch::NoGradGuard no_grad;
  const auto restore = [&](const std::string& name, torch::Tensor& t, bool is_buffer) {
    torch::Tensor value;
    archive.read("critic." + name, value, is_buffer);
    if (value.sizes() != t.sizes())
      throw Error("the critic's tensor '" + name + "' does not match the configured critic (d_width)");
    t.copy_(value);
  };
  for (auto& p : critic_->named_parameters()) restore(p.key(), p.value(), false);
  for (auto& b : critic_->named_buffers()) restore(b.key(), b.value(), true);
  torch::serialize::InputArchive optimizer_archive;
  archive.read("critic_optimizer", optimizer_archive);
  optimizer_->load(optimizer_archive);
  return true;
}

}  // namespace pconv
