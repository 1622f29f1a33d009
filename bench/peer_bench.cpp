// pconv's forward pass at 512×512 on the paper's network, prepared as Inpainter prepares a model:
// the pconv side of bench/peer.sh (against naoto0804's PyTorch port) and bench/onnx.sh.
//   peer_bench mask FILE             writes the benchmarks' stroke mask, raw float32 512×512, 1 = valid
//   peer_bench time REPS THREADS [PRECISION]
//                                    times REPS forward passes after a warm-up (fp32, or bf16 as
//                                    --precision bf16 runs it); prints one JSON line
//   peer_bench model FILE            writes that network as a model file (130 MB, for bench/end_to_end.sh)
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "paper_model.h"
#include "pconv/infer/device.h"
#include "pconv/infer/inpainter.h"
#include "pconv/io/files.h"
#include "stroke_mask.h"

using namespace pconv;

int main(int argc, char** argv) try {
  const std::string mode = argc >= 2 ? argv[1] : "";
  constexpr int kSize = 512;
  if (mode == "mask" && argc == 3) {
    const torch::Tensor m = bench::stroke_mask(kSize);
    write_file_atomic(argv[2], m.data_ptr(), static_cast<size_t>(m.numel()) * sizeof(float));
    return 0;
  }
  if (mode == "model" && argc == 3) {
    Model model = bench::paper_model();
    save_model(argv[2], model.net, model.info);
    return 0;
  }
  if (mode != "time" || (argc != 4 && argc != 5)) {
    std::cerr << "usage: peer_bench mask FILE | peer_bench time REPS THREADS [PRECISION] | peer_bench model FILE"
              << std::endl;
    return 2;
  }
  const int reps = std::stoi(argv[2]);
  set_threads(std::stoi(argv[3]));
  const torch::Dtype precision = parse_precision(argc == 5 ? argv[4] : "fp32", torch::kCPU);
  Model model = bench::paper_model();
  prepare_for_inference(model, torch::kCPU, precision);
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({1, 3, kSize, kSize}).to(precision), m = bench::stroke_mask(kSize).to(precision);
  c10::InferenceMode inference;
  model.net->forward(x, m);  // warm-up: first-call allocations and oneDNN primitives
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const torch::Tensor out = model.net->forward(x, m);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::cout << nlohmann::json({{"median_ms", ms[ms.size() / 2]}, {"peak_rss_mb", bench::peak_rss_mb()}}).dump()
            << std::endl;
  return 0;
} catch (const std::exception& e) {
  std::cerr << "peer_bench: " << e.what() << std::endl;
  return 1;
}
