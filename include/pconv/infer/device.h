#pragma once
#include <torch/torch.h>

#include <string>

namespace pconv {

/// "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N". Throws pconv::Error for an
/// unknown name or a CUDA device this build or machine does not have.
torch::Device parse_device(const std::string& name);

/// Sets LibTorch's intra-op threads; 0 means every core (LibTorch may default to fewer).
void set_threads(int threads);

}  // namespace pconv
