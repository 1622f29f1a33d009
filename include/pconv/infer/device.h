#pragma once
#include <torch/torch.h>

#include <string>

namespace pconv {

/// "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N". Throws pconv::Error for an
/// unknown name or a CUDA device this build or machine does not have.
torch::Device parse_device(const std::string& name);

/// "fp32", "bf16" or "fp16": the type a network computes in on `device` (--precision). Throws
/// pconv::Error naming the value for anything else, and for fp16 on the CPU, where LibTorch has no
/// half-precision convolution (bf16 runs there, on oneDNN).
torch::Dtype parse_precision(const std::string& name, const torch::Device& device);

/// "fp32", "bf16" or "fp16".
std::string precision_name(torch::Dtype dtype);

/// Sets LibTorch's intra-op threads; 0 means every core (LibTorch may default to fewer). OpenBLAS,
/// where it is the BLAS, gets one thread: its own pool would spin against LibTorch's.
void set_threads(int threads);

}  // namespace pconv
