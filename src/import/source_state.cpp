#include "source_state.h"

#include <sstream>

#include "pconv/io/error.h"

namespace pconv::import_detail {
using pickle::Value;

namespace {
std::string shape_text(torch::IntArrayRef shape) {
  std::ostringstream s;
  s << shape;
  return s.str();
}
}  // namespace

SourceState::SourceState(const Value& checkpoint, std::string what) : what_(std::move(what)) {
  const Value* dict = checkpoint.find("model");
  if (!dict) dict = &checkpoint;
  if (!dict->is(Value::Kind::dict) || dict->entries().empty())
    throw Error("holds no state dict (expected a dict of tensors, or one under 'model', as " + what_ + " saves)");
  for (const auto& [key, value] : dict->entries()) {
    if (!key.is(Value::Kind::string)) throw Error("its state dict has a key that is not a name");
    if (!value.is(Value::Kind::tensor))
      throw Error("its state dict holds a " + value.kind_name() + " under '" + key.text + "', not a tensor");
    tensors_[key.text] = value.tensor;
  }
}

std::vector<int64_t> SourceState::shape(const std::string& name) const { return tensors_.at(name).sizes().vec(); }

std::vector<std::string> SourceState::names_with_prefix(const std::string& prefix) const {
  std::vector<std::string> names;
  for (auto it = tensors_.lower_bound(prefix); it != tensors_.end() && it->first.rfind(prefix, 0) == 0; ++it)
    names.push_back(it->first);
  return names;
}

int64_t SourceState::count(const std::string& prefix, const std::string& suffix) const {
  int64_t n = 0;
  while (has(prefix + std::to_string(n + 1) + suffix)) ++n;
  return n;
}

torch::Tensor SourceState::take(const std::string& name, const std::vector<int64_t>& shape) {
  const auto it = tensors_.find(name);
  if (it == tensors_.end())
    throw Error("tensor '" + name + "' is missing (not a " + what_ + " checkpoint of this depth?)");
  const torch::Tensor& t = it->second;
  if (t.sizes() != torch::IntArrayRef(shape))
    throw Error("tensor '" + name + "' has shape " + shape_text(t.sizes()) + ", expected " + shape_text(shape) +
                " in the " + what_ + " layout");
  if (!t.is_floating_point() && !name.empty() && name.find("num_batches_tracked") == std::string::npos)
    throw Error("tensor '" + name + "' is not floating-point");
  taken_.insert(name);
  return t.is_floating_point() ? t.to(torch::kFloat32).contiguous() : t;
}

void SourceState::finish() const {
  for (const auto& [name, tensor] : tensors_)
    if (!taken_.count(name)) throw Error("unexpected tensor '" + name + "' for the " + what_ + " layout");
}

}  // namespace pconv::import_detail
