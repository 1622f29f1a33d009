#pragma once
// A training run's checkpoint: model, Adam's state, step and stage, and the critic of the
// adversarial term when the run has one, as one LibTorch archive.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "adversary.h"
#include "pconv/nn/unet.h"

namespace pconv {

/// Written atomically: a crash mid-write leaves the previous checkpoint intact.
void save_checkpoint(const std::filesystem::path& path, PConvUNet& net, torch::optim::Adam& optimizer, int64_t step,
                     int stage, const Adversary* adversary = nullptr);

/// Restores the model and optimizer (and the critic, when given and the checkpoint has one; a
/// checkpoint without one leaves it fresh) from a checkpoint's bytes (`what` names it in errors)
/// and returns its step.
int64_t load_checkpoint(const std::vector<uint8_t>& bytes, const std::string& what, PConvUNet& net,
                        torch::optim::Adam& optimizer, const torch::Device& device, Adversary* adversary = nullptr);

}  // namespace pconv
