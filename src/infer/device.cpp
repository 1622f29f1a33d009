#include "pconv/infer/device.h"

#include <dlfcn.h>

#include <thread>

#include "pconv/io/error.h"

namespace pconv {

torch::Device parse_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (name.size() > 5) {
      const std::string digits = name.substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 3)
        throw Error("device '" + name + "': expected cuda:N with N a GPU index");
      index = std::stoi(digits);
    }
    if (!torch::cuda::is_available())
      throw Error("device '" + name + "': CUDA is not available in this build or on this machine");
    const int count = static_cast<int>(torch::cuda::device_count());
    if (index >= count) throw Error("device '" + name + "': only " + std::to_string(count) + " CUDA device(s) present");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error("device '" + name + "': expected auto, cpu, cuda or cuda:N");
}

torch::Dtype parse_precision(const std::string& name, const torch::Device& device) {
  if (name == "fp32") return torch::kFloat32;
  if (name == "bf16") return torch::kBFloat16;
  if (name == "fp16") {
    if (device.is_cpu())
      throw Error(
          "precision fp16: LibTorch has no half-precision convolution on the CPU; use bf16 there (or a CUDA "
          "device)");
    return torch::kFloat16;
  }
  throw Error("precision '" + name + "': expected fp32, bf16 or fp16");
}

std::string precision_name(torch::Dtype dtype) {
  if (dtype == torch::kBFloat16) return "bf16";
  if (dtype == torch::kFloat16) return "fp16";
  return "fp32";
}

void set_threads(int threads) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // More threads than cores only adds contention, and each costs a stack.
  if (threads < 0 || threads > cores)
    throw Error("threads " + std::to_string(threads) + ": must be 0 (all cores) or 1.." + std::to_string(cores) +
                " (this machine's cores)");
  const int n = threads > 0 ? threads : cores;
  torch::set_num_threads(n);
  // LibTorch gives the convolutions of small maps (the deepest layers) to BLAS. OpenBLAS (Debian's)
  // then wakes a thread pool of its own, which spins for a while after each call against the
  // OpenMP threads running the next convolution: a tenth of a 512x512 pass on two cores. With one
  // BLAS thread the cores stay LibTorch's; training steps measured the same either way. Looked up
  // at run time, so builds on other BLAS libraries (MKL, which LibTorch sets itself) skip it.
  using SetBlasThreads = void (*)(int);
  if (auto* openblas = reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) openblas(1);
}

}  // namespace pconv
