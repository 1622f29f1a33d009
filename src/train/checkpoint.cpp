#include "checkpoint.h"

#include <algorithm>

#include "pconv/io/error.h"
#include "pconv/io/files.h"
#include "pconv/io/log.h"
#include "pconv/nn/model_file.h"

namespace pconv {
namespace {
// The archive is followed by this tag and the SHA-256 of the archive in hex: LibTorch's zip reader
// does not notice every flipped byte, and a damaged checkpoint would resume silently.
constexpr char kTag[] = "pconv-checkpoint-sha256:";
constexpr size_t kTagSize = sizeof kTag - 1, kTrailerSize = kTagSize + 64;

bool ends_with(const std::vector<uint8_t>& bytes, size_t from_end, const std::string& text) {
  return bytes.size() >= from_end && std::equal(text.begin(), text.end(), bytes.end() - from_end);
}

// The archive's bytes, checked against the trailer. Checkpoints written before the trailer existed
// end with the zip archive's end record and are taken as they are.
size_t verified_archive_size(const std::vector<uint8_t>& bytes, const std::string& what) {
  if (ends_with(bytes, kTrailerSize, kTag)) {
    const size_t size = bytes.size() - kTrailerSize;
    const std::string stored(bytes.end() - 64, bytes.end());
    if (sha256_hex(bytes.data(), size) != stored)
      throw Error(what + ": the checkpoint is damaged (its checksum does not match)");
    return size;
  }
  if (bytes.size() >= 22 && ends_with(bytes, 22, "PK\x05\x06")) return bytes.size();
  throw Error(what + ": the checkpoint is damaged or cut short (no checksum, no end of archive)");
}
}  // namespace

void save_checkpoint(const std::filesystem::path& path, PConvUNet& net, torch::optim::Adam& optimizer, int64_t step,
                     int stage, const Adversary* adversary) {
  torch::serialize::OutputArchive archive;
  for (const auto& [name, tensor] : model_state(net)) archive.write("model." + name, tensor.detach().cpu(), true);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("step", torch::tensor(step), true);
  archive.write("stage", torch::tensor(static_cast<int64_t>(stage)), true);
  if (adversary) adversary->save(archive);
  std::vector<uint8_t> bytes;
  archive.save_to([&](const void* data, size_t size) {
    bytes.insert(bytes.end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
    return size;
  });
  const std::string trailer = kTag + sha256_hex(bytes);
  bytes.insert(bytes.end(), trailer.begin(), trailer.end());
  write_file_atomic(path, bytes);
}

int64_t load_checkpoint(const std::vector<uint8_t>& bytes, const std::string& what, PConvUNet& net,
                        torch::optim::Adam& optimizer, const torch::Device& device, Adversary* adversary) {
  const size_t size = verified_archive_size(bytes, what);
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(reinterpret_cast<const char*>(bytes.data()), size, device);
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
    if (adversary && !adversary->load(archive))
      log_info(what + " has no critic (a run without the adversarial term): the critic starts fresh");
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
