// libFuzzer: any bytes as a PyTorch checkpoint (zip or legacy format, through the restricted
// pickle reader). read_torch_checkpoint must answer with pconv::Error or a value, never crash,
// hang, run anything, or allocate more than the file can justify.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "pconv/io/error.h"
#include "pconv/io/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path dir =
      std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  static const std::filesystem::path path = dir / ("pconv-fuzz-checkpoint-" + std::to_string(getpid()) + ".pth");
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    pconv::read_torch_checkpoint(path);
  } catch (const pconv::Error&) {
  }
  return 0;
}
