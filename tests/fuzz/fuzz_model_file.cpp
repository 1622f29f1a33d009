// libFuzzer: any bytes as a model file. load_model must answer with pconv::Error or a model,
// never crash, hang or allocate more than the file can justify.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "pconv/io/error.h"
#include "pconv/nn/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // load_model reads a path (it also checks a .sha256 beside it); one file per process.
  // In memory-backed /dev/shm where there is one, and without write_file_atomic's sync.
  static const std::filesystem::path dir =
      std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  static const std::filesystem::path path = dir / ("pconv-fuzz-model-" + std::to_string(getpid()) + ".safetensors");
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    pconv::load_model(path);
  } catch (const pconv::Error&) {
  }
  return 0;
}
