#include "checkpoint.h"

#include "pconv/error.h"
#include "pconv/files.h"
#include "pconv/model_file.h"

namespace pconv {

void save_checkpoint(const std::filesystem::path& path, PConvUNet& net, torch::optim::Adam& optimizer, int64_t step,
                     int stage) {
  torch::serialize::OutputArchive archive;
  for (const auto& [name, tensor] : model_state(net)) archive.write("model." + name, tensor.detach().cpu(), true);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("step", torch::tensor(step), true);
  archive.write("stage", torch::tensor(static_cast<int64_t>(stage)), true);
  std::vector<uint8_t> bytes;
  archive.save_to([&](const void* data, size_t size) {
    bytes.insert(bytes.end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
    return size;
  });
  write_file_atomic(path, bytes);
}

int64_t load_checkpoint(const std::vector<uint8_t>& bytes, const std::string& what, PConvUNet& net,
                        torch::optim::Adam& optimizer, const torch::Device& device) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(reinterpret_cast<const char*>(bytes.data()), bytes.size(), device);
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : model_state(net)) {
      torch::Tensor value;
      archive.read("model." + name, value, true);
      if (value.sizes() != tensor.sizes()) throw Error("tensor '" + name + "' does not match the configured network");
      tensor.copy_(value);
    }
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    torch::Tensor step;
    archive.read("step", step, true);
    return step.item<int64_t>();
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  } catch (const c10::Error& e) {
    throw Error(what + ": not a readable checkpoint (" + std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  }
}

}  // namespace pconv
