#pragma once
// PyTorch checkpoints (torch.save) read without Python and without running anything: the zip
// format of torch >= 1.6 and the legacy format of torch 0.4-1.5 (a stream of pickles followed by
// the raw storages). The pickles go through pconv's restricted reader (io/pickle.h), so a file
// that asks for any function other than torch's tensor rebuilding is refused.
//
//   pickle::Value ckpt = read_torch_checkpoint("model.pth");   // e.g. {'model': OrderedDict, ...}
#include <filesystem>

#include "pconv/io/pickle.h"

namespace pconv {

/// The object a checkpoint holds, its tensors on the CPU. Throws pconv::Error naming the file on a
/// file that is not a checkpoint, is truncated or corrupt, or refers to anything but plain data.
pickle::Value read_torch_checkpoint(const std::filesystem::path& path);

}  // namespace pconv
