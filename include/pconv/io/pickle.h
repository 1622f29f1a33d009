#pragma once
// A restricted reader of Python pickles, for the state dicts inside PyTorch checkpoints.
//
// It runs the pickle machine on the opcodes that plain data needs (protocols 0-4 in their binary
// forms: None, booleans, integers, floats, strings, bytes, lists, tuples, dicts, the memo) and
// knows exactly the globals a state dict refers to: collections.OrderedDict, torch's tensor
// rebuild functions and its storage types. Any other global, and any call of something that is
// not one of those functions, stops it with an error naming what the file asked for: unlike
// Python's pickle module, reading a file never runs code from it.
//
//   pickle::Value v = pickle::load(bytes, &used, [&](const pickle::Value& id) { return storage(id); });
//   const pickle::Value* model = v.find("model");
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pconv::pickle {

struct Container;

struct Value {
  enum class Kind {
    none,
    boolean,
    integer,
    big_integer,
    real,
    string,
    bytes,
    list,
    tuple,
    dict,
    tensor,
    storage,
    global
  };
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  /// string and bytes: the content; big_integer: its little-endian two's complement bytes
  /// (wider than 64 bits); global: "module.name".
  std::string text;
  /// tensor: the tensor; storage: its flat storage (1-D).
  torch::Tensor tensor;
  /// list, tuple, dict: the elements.
  std::shared_ptr<Container> container;

  bool is(Kind k) const { return kind == k; }
  /// The entry of a dict under a string key, or nullptr (also when this is not a dict).
  const Value* find(const std::string& key) const;
  /// Elements of a list or tuple (empty for anything else).
  const std::vector<Value>& items() const;
  /// Entries of a dict in the file's order (empty for anything else).
  const std::vector<std::pair<Value, Value>>& entries() const;
  /// "dict", "tensor", ... for messages.
  std::string kind_name() const;
};

struct Container {
  std::vector<Value> items;
  std::vector<std::pair<Value, Value>> entries;
  /// Nesting below this container, 1 for one holding no container.
  int depth = 1;
  /// Set once the container is inside another: it may no longer change, so no cycle can form.
  bool sealed = false;
};

/// Turns a persistent id (torch: a tuple ('storage', type, key, location, numel, ...)) into a
/// Value of kind storage. Throws pconv::Error when the id does not name data the file holds.
using PersistentLoad = std::function<Value(const Value& id)>;

/// The storage dtype a torch storage global names (torch.FloatStorage -> float32), or nullopt.
std::optional<torch::ScalarType> storage_dtype(const std::string& global);

/// Runs the pickle in data[0, size) up to its STOP opcode. `consumed` receives the bytes read.
/// Throws pconv::Error (without a file name: the caller adds it) on anything it refuses.
Value load(const uint8_t* data, size_t size, size_t* consumed, const PersistentLoad& persistent_load = {});

}  // namespace pconv::pickle
