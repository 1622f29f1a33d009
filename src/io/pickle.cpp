#include "pconv/io/pickle.h"

#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "pconv/io/error.h"

namespace pconv::pickle {

namespace {
// Deeper than any state dict or optimizer state; keeps the recursive destruction of values shallow.
constexpr int kMaxDepth = 64;

const std::vector<Value> kNoItems;
const std::vector<std::pair<Value, Value>> kNoEntries;

const std::map<std::string, torch::ScalarType>& storage_types() {
  static const std::map<std::string, torch::ScalarType> types{
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  return types;
}

// The functions a state dict is rebuilt with. Nothing else may be called.
const std::set<std::string>& callables() {
  static const std::set<std::string> names{"collections.OrderedDict", "torch._utils._rebuild_tensor",
                                           "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
                                           "torch._utils._rebuild_parameter_with_state"};
  return names;
}

Value make(Value::Kind kind) {
  Value v;
  v.kind = kind;
  if (kind == Value::Kind::list || kind == Value::Kind::tuple || kind == Value::Kind::dict)
    v.container = std::make_shared<Container>();
  return v;
}

bool is_container(const Value& v) { return v.container != nullptr; }

class Machine {
 public:
  Machine(const uint8_t* data, size_t size, const PersistentLoad& persistent_load)
      : data_(data), size_(size), persistent_load_(persistent_load) {}

  Value run(size_t* consumed) {
    for (;;) {
      const size_t at = pos_;
      const uint8_t op = byte();
      if (op == '.') break;
      step(op, at);
    }
    if (stack_.size() != 1 || !marks_.empty())
      fail("the pickle ends with " + std::to_string(stack_.size()) + " values on its stack");
    *consumed = pos_;
    return std::move(stack_.back());
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("pickle: " + what + " (byte " + std::to_string(pos_) + ")");
  }

  const uint8_t* take(size_t n) {
    if (n > size_ - pos_) fail("truncated");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint8_t byte() { return *take(1); }
  uint64_t unsigned_le(size_t n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
  }
  std::string bytes(size_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string line() {
    const size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ == size_) fail("truncated");
    std::string s(reinterpret_cast<const char*>(data_ + start), pos_ - start);
    ++pos_;
    return s;
  }

  Value pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() == marks_.back())) fail("pickle stack underflow");
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() == marks_.back())) fail("pickle stack underflow");
    return stack_.back();
  }
  std::vector<Value> pop_mark() {
    if (marks_.empty()) fail("no MARK on the pickle stack");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(mark)),
                             std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }
  void push(Value v) {
    // The file's bytes bound the number of values anyway; this keeps a hostile file from
    // turning a few bytes into a large stack through DUP.
    if (stack_.size() > size_) fail("pickle stack overflow");
    stack_.push_back(std::move(v));
  }
  // A copy of a value already read (DUP, memo): strings are copied, so a few bytes that fetch a
  // long string many times could otherwise fill the memory.
  Value copy(const Value& v) {
    copied_ += v.text.size();
    if (copied_ > 16 * size_ + (1u << 20)) fail("the pickle copies far more text than it holds");
    return v;
  }

  // A container about to change: refused once it is inside another (so no cycle can form).
  Container& open(Value& v, Value::Kind kind) {
    if (v.kind != kind) fail("expected a " + make(kind).kind_name() + " on the stack, found a " + v.kind_name());
    if (v.container->sealed) fail("the pickle changes a " + v.kind_name() + " after placing it in another");
    return *v.container;
  }
  // `child` goes into `parent`: seal it and update the parent's depth.
  void adopt(Container& parent, Value& child) {
    if (!is_container(child)) return;
    if (child.container.get() == &parent) fail("a container cannot hold itself");
    child.container->sealed = true;
    parent.depth = std::max(parent.depth, child.container->depth + 1);
    if (parent.depth > kMaxDepth) fail("values nested deeper than " + std::to_string(kMaxDepth));
  }
  Value sequence(Value::Kind kind, std::vector<Value> items) {
    Value v = make(kind);
    for (auto& item : items) adopt(*v.container, item);
    v.container->items = std::move(items);
    return v;
  }
  void set_items(Value& dict, std::vector<Value> flat) {
    if (flat.size() % 2 != 0) fail("odd number of values for SETITEMS");
    Container& c = open(dict, Value::Kind::dict);
    for (size_t i = 0; i < flat.size(); i += 2) {
      adopt(c, flat[i]);
      adopt(c, flat[i + 1]);
      c.entries.emplace_back(std::move(flat[i]), std::move(flat[i + 1]));
    }
  }
  void append(Value& list, std::vector<Value> items) {
    Container& c = open(list, Value::Kind::list);
    for (auto& item : items) {
      adopt(c, item);
      c.items.push_back(std::move(item));
    }
  }

  void memo_put(uint64_t key) { memo_[key] = top(); }
  Value memo_get(uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo entry " + std::to_string(key) + " is not defined");
    return copy(it->second);
  }

  Value global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    if (!callables().count(full) && !storage_types().count(full))
      fail("refusing the global " + full +
           ": a state dict holds only tensors, numbers, strings and containers, "
           "and reading it must not run code");
    Value v = make(Value::Kind::global);
    v.text = full;
    return v;
  }

  int64_t integer_of(const Value& v, const char* what) {
    if (v.kind != Value::Kind::integer) fail(std::string(what) + " must be an integer, found a " + v.kind_name());
    return v.integer;
  }
  std::vector<int64_t> integers_of(const Value& v, const char* what) {
    if (v.kind != Value::Kind::tuple && v.kind != Value::Kind::list)
      fail(std::string(what) + " must be a tuple, found a " + v.kind_name());
    std::vector<int64_t> out;
    for (const Value& i : v.items()) out.push_back(integer_of(i, what));
    return out;
  }

  // torch._utils._rebuild_tensor(_v2)(storage, offset, size, stride, ...): a strided view of the
  // storage, checked to lie inside it.
  Value rebuild_tensor(const std::vector<Value>& args) {
    if (args.size() < 4) fail("a tensor needs storage, offset, size and stride");
    if (args[0].kind != Value::Kind::storage)
      fail("a tensor must be built on a storage, found a " + args[0].kind_name());
    const torch::Tensor& storage = args[0].tensor;
    const int64_t offset = integer_of(args[1], "a tensor's offset");
    const std::vector<int64_t> sizes = integers_of(args[2], "a tensor's size");
    const std::vector<int64_t> strides = integers_of(args[3], "a tensor's stride");
    if (sizes.size() != strides.size()) fail("a tensor's size and stride differ in length");
    // The last element a view reaches, computed without overflow: sizes may exceed the
    // storage where a stride is 0 (an expanded tensor).
    int64_t last = offset, count = 1;
    bool empty = false, overflow = false;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] < 0 || strides[i] < 0) fail("a tensor has a negative size or stride");
      if (sizes[i] == 0) {
        empty = true;
        continue;
      }
      int64_t reach = 0;
      if (__builtin_mul_overflow(sizes[i] - 1, strides[i], &reach) || __builtin_add_overflow(last, reach, &last) ||
          __builtin_mul_overflow(count, sizes[i], &count))
        overflow = true;
    }
    // An expanded view (stride 0) may name more elements than its storage holds, but not
    // beyond what any later copy of it could allocate.
    if (!empty && count > (int64_t{1} << 40)) overflow = true;
    if (offset < 0 || (!empty && (overflow || last >= storage.numel())))
      fail("a tensor reaches outside its storage (" + std::to_string(storage.numel()) + " elements)");
    Value v = make(Value::Kind::tensor);
    v.tensor = storage.as_strided(sizes, strides, offset);
    return v;
  }

  Value call(const Value& callable, const Value& args) {
    if (callable.kind != Value::Kind::global || !callables().count(callable.text))
      fail("refusing to call a " + (callable.kind == Value::Kind::global ? callable.text : callable.kind_name()));
    if (args.kind != Value::Kind::tuple) fail("call arguments must be a tuple");
    const auto& a = args.items();
    if (callable.text == "collections.OrderedDict") {
      if (!a.empty()) fail("OrderedDict with arguments");
      return make(Value::Kind::dict);
    }
    if (callable.text == "torch._utils._rebuild_parameter" ||
        callable.text == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0].kind != Value::Kind::tensor) fail("a parameter must wrap a tensor");
      return a[0];
    }
    return rebuild_tensor(a);
  }

  void step(uint8_t op, size_t at) {
    switch (op) {
      case 0x80:
        byte();
        break;  // PROTO
      case 0x95:
        unsigned_le(8);
        break;  // FRAME: a length hint only
      case '(':
        marks_.push_back(stack_.size());
        break;
      case '0':
        pop();
        break;
      case '1':
        pop_mark();
        break;
      case '2':
        push(copy(top()));
        break;
      case 'N':
        push(make(Value::Kind::none));
        break;
      case 0x88:
      case 0x89: {
        Value v = make(Value::Kind::boolean);
        v.boolean = op == 0x88;
        push(std::move(v));
        break;
      }
      case 'J':
        push(integer(static_cast<int32_t>(unsigned_le(4))));
        break;
      case 'K':
        push(integer(byte()));
        break;
      case 'M':
        push(integer(static_cast<int64_t>(unsigned_le(2))));
        break;
      case 0x8a:
        push(long_integer(byte()));
        break;
      case 0x8b:
        push(long_integer(unsigned_le(4)));
        break;
      case 'I': {
        const std::string text = line();
        if (text == "00" || text == "01") {
          Value v = make(Value::Kind::boolean);
          v.boolean = text == "01";
          push(std::move(v));
        } else {
          try {
            size_t used = 0;
            const long long n = std::stoll(text, &used);
            if (used != text.size()) throw std::invalid_argument(text);
            push(integer(n));
          } catch (const std::exception&) {
            fail("bad INT '" + text + "'");
          }
        }
        break;
      }
      case 'G': {
        uint64_t bits = 0;
        for (const uint8_t *p = take(8), *e = p + 8; p != e; ++p) bits = (bits << 8) | *p;  // big-endian
        Value v = make(Value::Kind::real);
        std::memcpy(&v.real, &bits, sizeof bits);
        push(std::move(v));
        break;
      }
      case 'X':
        push(text(Value::Kind::string, unsigned_le(4)));
        break;
      case 0x8c:
        push(text(Value::Kind::string, byte()));
        break;
      case 0x8d:
        push(text(Value::Kind::string, unsigned_le(8)));
        break;
      // Python 2's str, as old checkpoints hold their keys.
      case 'T':
        push(text(Value::Kind::string, unsigned_le(4)));
        break;
      case 'U':
        push(text(Value::Kind::string, byte()));
        break;
      case 'B':
        push(text(Value::Kind::bytes, unsigned_le(4)));
        break;
      case 'C':
        push(text(Value::Kind::bytes, byte()));
        break;
      case 0x8e:
        push(text(Value::Kind::bytes, unsigned_le(8)));
        break;
      case ']':
        push(make(Value::Kind::list));
        break;
      case 'l':
        push(sequence(Value::Kind::list, pop_mark()));
        break;
      case 'a': {
        Value item = pop();
        append(top(), {std::move(item)});
        break;
      }
      case 'e': {
        std::vector<Value> items = pop_mark();
        append(top(), std::move(items));
        break;
      }
      case ')':
        push(make(Value::Kind::tuple));
        break;
      case 't':
        push(sequence(Value::Kind::tuple, pop_mark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<Value> items(static_cast<size_t>(op - 0x84));
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push(sequence(Value::Kind::tuple, std::move(items)));
        break;
      }
      case '}':
        push(make(Value::Kind::dict));
        break;
      case 'd': {
        Value dict = make(Value::Kind::dict);
        set_items(dict, pop_mark());
        push(std::move(dict));
        break;
      }
      case 's': {
        Value value = pop(), key = pop();
        set_items(top(), {std::move(key), std::move(value)});
        break;
      }
      case 'u': {
        std::vector<Value> flat = pop_mark();
        set_items(top(), std::move(flat));
        break;
      }
      case 'c': {
        const std::string module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: {
        const Value name = pop(), module = pop();
        if (name.kind != Value::Kind::string || module.kind != Value::Kind::string)
          fail("STACK_GLOBAL needs two strings");
        push(global(module.text, name.text));
        break;
      }
      case 'R': {
        const Value args = pop(), callable = pop();
        push(call(callable, args));
        break;
      }
      case 'b': {
        // State set on an object after it is built: the _metadata attribute of a state dict's
        // OrderedDict, the hooks of a parameter. pconv reads neither.
        pop();
        const Value& target = top();
        if (target.kind != Value::Kind::dict && target.kind != Value::Kind::tensor)
          fail("BUILD on a " + target.kind_name());
        break;
      }
      case 'Q': {
        const Value id = pop();
        if (!persistent_load_) fail("a persistent id outside a checkpoint");
        push(persistent_load_(id));
        break;
      }
      case 'p':
        memo_put(text_index());
        break;
      case 'q':
        memo_put(byte());
        break;
      case 'r':
        memo_put(unsigned_le(4));
        break;
      case 0x94:
        memo_put(memo_.size());
        break;
      case 'g':
        push(memo_get(text_index()));
        break;
      case 'h':
        push(memo_get(byte()));
        break;
      case 'j':
        push(memo_get(unsigned_le(4)));
        break;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        pos_ = at;
        fail(std::string("unsupported opcode ") + hex);
      }
    }
  }

  static Value integer(int64_t n) {
    Value v = make(Value::Kind::integer);
    v.integer = n;
    return v;
  }
  // LONG1/LONG4: little-endian two's complement of n bytes; checkpoints use them for large
  // integers such as the legacy format's magic number, which does not fit 64 bits.
  Value long_integer(uint64_t n) {
    const uint8_t* p = take(n);
    if (n > 8) {
      Value v = make(Value::Kind::big_integer);  // only ever compared, never computed with
      v.text = std::string(reinterpret_cast<const char*>(p), n);
      return v;
    }
    uint64_t bits = 0;
    for (size_t i = 0; i < n; ++i) bits |= static_cast<uint64_t>(p[i]) << (8 * i);
    if (n > 0 && n < 8 && (p[n - 1] & 0x80)) bits |= ~uint64_t{0} << (8 * n);
    return integer(static_cast<int64_t>(bits));
  }
  uint64_t text_index() {
    const std::string digits = line();
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos)
      fail("bad memo index '" + digits + "'");
    return std::stoull(digits);
  }
  Value text(Value::Kind kind, uint64_t n) {
    if (n > size_ - pos_) fail("truncated");
    Value v = make(kind);
    v.text = bytes(n);
    return v;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const PersistentLoad& persistent_load_;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, Value> memo_;
  size_t copied_ = 0;
};
}  // namespace

const Value* Value::find(const std::string& key) const {
  for (const auto& [k, v] : entries())
    if (k.kind == Kind::string && k.text == key) return &v;
  return nullptr;
}

const std::vector<Value>& Value::items() const {
  return (kind == Kind::list || kind == Kind::tuple) ? container->items : kNoItems;
}

const std::vector<std::pair<Value, Value>>& Value::entries() const {
  return kind == Kind::dict ? container->entries : kNoEntries;
}

std::string Value::kind_name() const {
  switch (kind) {
    case Kind::none:
      return "None";
    case Kind::boolean:
      return "bool";
    case Kind::integer:
    case Kind::big_integer:
      return "int";
    case Kind::real:
      return "float";
    case Kind::string:
      return "str";
    case Kind::bytes:
      return "bytes";
    case Kind::list:
      return "list";
    case Kind::tuple:
      return "tuple";
    case Kind::dict:
      return "dict";
    case Kind::tensor:
      return "tensor";
    case Kind::storage:
      return "storage";
    case Kind::global:
      return "global " + text;
  }
  return "value";
}

std::optional<torch::ScalarType> storage_dtype(const std::string& global) {
  const auto it = storage_types().find(global);
  if (it == storage_types().end()) return std::nullopt;
  return it->second;
}

Value load(const uint8_t* data, size_t size, size_t* consumed, const PersistentLoad& persistent_load) {
  return Machine(data, size, persistent_load).run(consumed);
}

}  // namespace pconv::pickle
