// libFuzzer: any bytes as a model file. load_model must answer with pconv::Error or a model,
// never crash, hang or allocate more than the file can justify.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "pconv/error.h"
#include "pconv/files.h"
#include "pconv/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // load_model reads a path (it also checks a .sha256 beside it); one file per process.
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("pconv-fuzz-model-" + std::to_string(getpid()) + ".safetensors");
  pconv::write_file_atomic(path, data, size);
  try {
    pconv::load_model(path);
  } catch (const pconv::Error&) {
  }
  return 0;
}
