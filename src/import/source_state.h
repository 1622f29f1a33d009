#pragma once
// A source checkpoint's tensors, taken one by one under the source's names: each take checks the
// name and shape, and finish() refuses whatever the source's layout does not hold.
#include <torch/torch.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "pconv/io/pickle.h"

namespace pconv::import_detail {

class SourceState {
 public:
  /// The state dict inside a checkpoint: the value under "model" (the layout naoto0804's and
  /// SneakySketchers' save_ckpt write), else the checkpoint itself when it maps names to tensors.
  /// `what`: the source's name, for messages.
  SourceState(const pickle::Value& checkpoint, std::string what);

  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  /// The tensor as float32, checked to have `shape`; throws naming it when missing or misshapen.
  torch::Tensor take(const std::string& name, const std::vector<int64_t>& shape);
  /// Marks a tensor as read without converting it (tensors the conversion drops on purpose).
  void drop(const std::string& name) { taken_.insert(name); }
  /// Throws naming the first tensor no take() or drop() asked for.
  void finish() const;
  /// The shape of a tensor the file holds (which must exist).
  std::vector<int64_t> shape(const std::string& name) const;
  /// Names of the tensors that start with `prefix`.
  std::vector<std::string> names_with_prefix(const std::string& prefix) const;
  /// How many of `prefix`1, `prefix`2, ... followed by `suffix` exist, counting from 1.
  int64_t count(const std::string& prefix, const std::string& suffix) const;

 private:
  std::map<std::string, torch::Tensor> tensors_;
  std::set<std::string> taken_;
  std::string what_;
};

}  // namespace pconv::import_detail
