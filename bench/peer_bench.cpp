// pconv's forward pass at 512×512 on the paper's network, prepared as Inpainter prepares a model:
// the pconv side of bench/peer.sh (against naoto0804's PyTorch port), bench/onnx.sh and, on a GPU,
// scripts/gpu-check.sh (against the same network in PyTorch, tools/pconv_torch.py).
//   peer_bench mask FILE             writes the benchmarks' stroke mask, raw float32 512×512, 1 = valid
//   peer_bench time REPS THREADS [PRECISION [DEVICE [LAYOUT]]]
//                                    times REPS forward passes after a warm-up (fp32, or bf16/fp16 as
//                                    --precision runs them; cpu or cuda; layout nhwc or nchw, by
//                                    default what Inpainter uses on that device); prints one JSON line
//   peer_bench train REPS BATCH SIZE LOSS [PRECISION [DEVICE]]
//                                    times REPS training steps of the paper's depth-7 network on one
//                                    batch in memory (LOSS pixel, or full: VGG-16 perceptual and style
//                                    terms with random VGG weights), as bench/train_bench.py does
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
#include "train_step.h"

using namespace pconv;

namespace {
constexpr int kSize = 512;

// Milliseconds of each of `reps` calls of `run` after one warm-up call, the device idle at both
// ends of each (CUDA runs asynchronously), as the median and the fastest.
template <typename Run>
nlohmann::json time_calls(int reps, const torch::Device& device, Run run) {
  const auto idle = [&device] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  run();  // warm-up: first-call allocations, oneDNN primitives, cuDNN's algorithm choice
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    idle();
    const auto start = std::chrono::steady_clock::now();
    run();
    idle();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  nlohmann::json out{{"median_ms", ms[ms.size() / 2]}, {"min_ms", ms.front()}, {"peak_rss_mb", bench::peak_rss_mb()}};
  if (device.is_cuda()) out["device"] = "cuda";
  return out;
}

nlohmann::json time_forward(int reps, torch::Dtype precision, const torch::Device& device, const std::string& layout) {
  Model model = bench::paper_model();
  prepare_for_inference(model, device, precision);
  if (layout != "auto") {
    if (layout != "nhwc" && layout != "nchw")
      throw std::runtime_error("layout '" + layout + "': expected nhwc or nchw");
    model.net->set_channels_last(layout == "nhwc");
  }
  torch::manual_seed(1);
  const auto options = torch::TensorOptions(device).dtype(precision);
  const torch::Tensor x = torch::randn({1, 3, kSize, kSize}).to(options), m = bench::stroke_mask(kSize).to(options);
  c10::InferenceMode inference;
  return time_calls(reps, device, [&] { model.net->forward(x, m); });
}

nlohmann::json time_training(int reps, int batch, int size, const std::string& loss_name, torch::Dtype precision,
                             const torch::Device& device) {
  if (loss_name != "pixel" && loss_name != "full")
    throw std::runtime_error("loss '" + loss_name + "': expected pixel or full");
  torch::manual_seed(0);
  bench::TrainStep step(loss_name == "full", precision, device);
  const torch::Tensor image = torch::rand({batch, 3, size, size}, device);
  // Holes in 8×8 blocks, a quarter of them, as bench/train_bench.py makes them.
  const torch::Tensor mask = torch::upsample_nearest2d(
      (torch::rand({batch, 1, size / 8, size / 8}, device) > 0.25).to(torch::kFloat32), {size, size});
  nlohmann::json out = time_calls(reps, device, [&] { step(image, mask); });
  out["samples_per_s"] = batch * 1000.0 / out["median_ms"].get<double>();
  return out;
}
}  // namespace

int main(int argc, char** argv) try {
  const std::string mode = argc >= 2 ? argv[1] : "";
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
  const auto arg = [&](int i, const char* fallback) { return std::string(argc > i ? argv[i] : fallback); };
  if (mode == "time" && argc >= 4 && argc <= 7) {
    set_threads(std::stoi(argv[3]));
    const torch::Device device = parse_device(arg(5, "cpu"));
    std::cout
        << time_forward(std::stoi(argv[2]), parse_precision(arg(4, "fp32"), device), device, arg(6, "auto")).dump()
        << std::endl;
    return 0;
  }
  if (mode == "train" && argc >= 6 && argc <= 8) {
    set_threads(0);
    const torch::Device device = parse_device(arg(7, "cpu"));
    std::cout << time_training(std::stoi(argv[2]), std::stoi(argv[3]), std::stoi(argv[4]), argv[5],
                               parse_precision(arg(6, "fp32"), device), device)
                     .dump()
              << std::endl;
    return 0;
  }
  std::cerr << "usage: peer_bench mask FILE | peer_bench model FILE |\n"
               "       peer_bench time REPS THREADS [PRECISION [DEVICE [LAYOUT]]] |\n"
               "       peer_bench train REPS BATCH SIZE pixel|full [PRECISION [DEVICE]]"
            << std::endl;
  return 2;
} catch (const std::exception& e) {
  std::cerr << "peer_bench: " << e.what() << std::endl;
  return 1;
}
