#pragma once
// The benchmarks' network: the paper's PConv U-Net (depth 8, full width) with random weights and
// random BN statistics, in eval mode; speed does not depend on the weights.
#include <sys/resource.h>

#include "pconv/nn/model_file.h"

namespace pconv::bench {

inline Model paper_model() {
  torch::manual_seed(0);
  const auto options = PConvUNetOptions().depth(8).width(1.0);
  Model m{PConvUNet(options), {}};
  m.info.architecture = options;
  torch::NoGradGuard no_grad;
  for (const auto& item : m.net->named_buffers()) {
    if (item.key().find("running_mean") != std::string::npos) item.value().normal_(0.0, 0.1);
    if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.5, 2.0);
  }
  m.net->eval();
  return m;
}

/// The process's peak resident set so far, in MB.
inline double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace pconv::bench
