#include "pconv/train/distributed.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "pconv/io/error.h"
#include "pconv/io/progress.h"

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace pconv {
namespace {

std::string getenv_string(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

int read_int(const char* name, int fallback, int lo, int hi) {
  const std::string text = getenv_string(name);
  if (text.empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0')
    throw Error(std::string(name) + "=" + text + ": not a whole number");
  if (value < lo || value > hi)
    throw Error(std::string(name) + "=" + text + ": must be between " + std::to_string(lo) + " and " +
                std::to_string(hi));
  return static_cast<int>(value);
}

// The first line of an exception's text, without c10's backtrace.
std::string short_message(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  text = text.substr(0, text.find('\n'));
  return text.size() > 300 ? text.substr(0, 300) + "..." : text;
}

}  // namespace

DistributedEnv DistributedEnv::from_environment() {
  DistributedEnv env;
  env.world_size = read_int("WORLD_SIZE", 1, 1, 1 << 20);
  env.rank = read_int("RANK", 0, 0, 1 << 20);
  if (env.rank >= env.world_size)
    throw Error("RANK=" + std::to_string(env.rank) + ": must be below WORLD_SIZE=" + std::to_string(env.world_size));
  env.local_rank = read_int("LOCAL_RANK", 0, 0, 1 << 20);
  env.agent_store = getenv_string("TORCHELASTIC_USE_AGENT_STORE") == "True";
  if (!env.enabled()) return env;
  env.master_addr = getenv_string("MASTER_ADDR");
  if (env.master_addr.empty())
    throw Error("MASTER_ADDR is not set: with WORLD_SIZE=" + std::to_string(env.world_size) +
                ", every rank needs the address of rank 0's machine");
  if (getenv_string("MASTER_PORT").empty())
    throw Error("MASTER_PORT is not set: with WORLD_SIZE=" + std::to_string(env.world_size) +
                ", every rank needs the port of the rendezvous on rank 0's machine");
  env.master_port = read_int("MASTER_PORT", 0, 1, 65535);
  return env;
}

#ifdef USE_C10D_GLOO

bool distributed_available() { return true; }

struct ProcessGroup::Impl {
  int rank = 0, size = 1;
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  std::mutex mutex;
  double wait_seconds = 0;
  int64_t agreements = 0;

  [[noreturn]] void fail(const std::string& during, const std::exception& e) const {
    throw Error("rank " + std::to_string(rank) + " of " + std::to_string(size) + ": " + during +
                " failed, so another rank has stopped, died or is unreachable (timeout " +
                std::to_string(timeout.count() / 1000) + " s): " + short_message(e));
  }

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& during) {
    const Stopwatch stopwatch;
    try {
      work->wait(timeout);
    } catch (const std::exception& e) {
      fail(during, e);
    }
    const double seconds = stopwatch.seconds();
    std::lock_guard<std::mutex> lock(mutex);
    wait_seconds += seconds;
  }

  c10::intrusive_ptr<c10d::Work> start_all_reduce(torch::Tensor& tensor, const std::string& during) {
    std::vector<torch::Tensor> tensors{tensor};
    try {
      return group->allreduce(tensors);
    } catch (const std::exception& e) {
      fail(during, e);
    }
  }
};

namespace {
std::shared_ptr<::gloo::transport::Device> gloo_device(const DistributedEnv& env) {
  // As PyTorch does: GLOO_SOCKET_IFNAME picks the interface; a loopback rendezvous stays on
  // loopback; otherwise the interface this host's name resolves to.
  const std::string interface = getenv_string("GLOO_SOCKET_IFNAME");
  if (!interface.empty()) return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  if (env.master_addr == "localhost" || env.master_addr.rfind("127.", 0) == 0)
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
}  // namespace

ProcessGroup::ProcessGroup(const DistributedEnv& env, std::chrono::seconds timeout) : impl_(std::make_unique<Impl>()) {
  impl_->rank = env.rank;
  impl_->size = env.world_size;
  impl_->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(env.master_port);
    options.isServer = env.rank == 0 && !env.agent_store;
    options.numWorkers = env.world_size;
    options.waitWorkers = false;
    options.timeout = impl_->timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    // A fresh key space per torchrun restart, apart from the agent's own keys.
    impl_->store = c10::make_intrusive<c10d::PrefixStore>(
        "pconv/" +
            (getenv_string("TORCHELASTIC_RESTART_COUNT").empty() ? "0" : getenv_string("TORCHELASTIC_RESTART_COUNT")),
        store);
    auto gloo = c10d::ProcessGroupGloo::Options::create(impl_->timeout);
    gloo->devices.push_back(gloo_device(env));
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, gloo);
  } catch (const std::exception& e) {
    throw Error(
        "rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
        ": could not join the other ranks at " + where + " within " + std::to_string(timeout.count()) +
        " s (is every rank started, with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE?): " + short_message(e));
  }
}

ProcessGroup::~ProcessGroup() = default;

int ProcessGroup::rank() const { return impl_->rank; }
int ProcessGroup::size() const { return impl_->size; }

void ProcessGroup::all_reduce_sum(torch::Tensor& tensor) {
  impl_->wait(impl_->start_all_reduce(tensor, "an all-reduce"), "an all-reduce");
}

std::function<void()> ProcessGroup::all_reduce_sum_async(torch::Tensor& tensor) {
  auto work = impl_->start_all_reduce(tensor, "an all-reduce");
  return [impl = impl_.get(), work] { impl->wait(work, "an all-reduce"); };
}

void ProcessGroup::broadcast(torch::Tensor& tensor, int root) {
  std::vector<torch::Tensor> tensors{tensor};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = impl_->group->broadcast(tensors, options);
  } catch (const std::exception& e) {
    impl_->fail("a broadcast", e);
  }
  impl_->wait(work, "a broadcast");
}

std::vector<uint8_t> ProcessGroup::broadcast_bytes(const std::vector<uint8_t>& bytes, int root) {
  torch::Tensor size = torch::tensor({static_cast<int64_t>(bytes.size())});
  broadcast(size, root);
  torch::Tensor data = torch::empty({size.item<int64_t>()}, torch::kUInt8);
  if (rank() == root) std::memcpy(data.data_ptr(), bytes.data(), bytes.size());
  broadcast(data, root);
  const auto* p = data.data_ptr<uint8_t>();
  return {p, p + data.numel()};
}

namespace {
struct SumAcross : torch::autograd::Function<SumAcross> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, int64_t group) {
    ctx->saved_data["group"] = group;
    ctx->saved_data["sizes"] = x.sizes().vec();
    torch::Tensor sum = x.contiguous().clone();
    // autograd's saved data holds no pointers: the group travels as an integer.
    reinterpret_cast<ProcessGroup*>(group)->all_reduce_sum(sum);  // NOLINT(performance-no-int-to-ptr)
    return sum;
  }
  // d(Σ_r L_r)/dx_r = Σ_r' dL_r'/dS: the gradient of a sum over ranks is the sum of gradients.
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* group =
        reinterpret_cast<ProcessGroup*>(ctx->saved_data["group"].toInt());  // NOLINT(performance-no-int-to-ptr)
    // Every rank takes part, even one whose own gradient is undefined (zero).
    torch::Tensor grad =
        grads[0].defined() ? grads[0].contiguous().clone() : torch::zeros(ctx->saved_data["sizes"].toIntVector());
    group->all_reduce_sum(grad);
    return {grad, torch::Tensor()};
  }
};
}  // namespace

torch::Tensor ProcessGroup::sum_across(const torch::Tensor& tensor) {
  return SumAcross::apply(tensor, reinterpret_cast<int64_t>(this));
}

void ProcessGroup::run_everywhere(const std::function<void()>& step) {
  std::string error;
  try {
    step();
  } catch (const std::exception& e) {
    error = short_message(e);
  }
  const std::string key = "error/" + std::to_string(impl_->agreements++) + "/";
  if (!error.empty()) impl_->store->set(key + std::to_string(rank()), std::vector<uint8_t>(error.begin(), error.end()));
  torch::Tensor failed = torch::zeros({size()}, torch::kInt32);
  failed[rank()] = error.empty() ? 0 : 1;
  all_reduce_sum(failed);
  if (!error.empty()) throw Error(error);
  for (int r = 0; r < size(); ++r) {
    if (failed[r].item<int>() == 0) continue;
    const std::vector<uint8_t> message = impl_->store->get(key + std::to_string(r));
    throw Error("rank " + std::to_string(r) + " stopped: " + std::string(message.begin(), message.end()));
  }
}

double ProcessGroup::wait_seconds() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->wait_seconds;
}

#else  // no c10d with Gloo in this LibTorch

bool distributed_available() { return false; }

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(const DistributedEnv& env, std::chrono::seconds) {
  throw Error("WORLD_SIZE=" + std::to_string(env.world_size) +
              ": this build of pconv cannot train on several processes (LibTorch's c10d with Gloo was not "
              "found when it was built; install the Gloo headers, e.g. Debian's libgloo-dev, and rebuild)");
}
ProcessGroup::~ProcessGroup() = default;
int ProcessGroup::rank() const { return 0; }
int ProcessGroup::size() const { return 1; }
void ProcessGroup::all_reduce_sum(torch::Tensor&) {}
std::function<void()> ProcessGroup::all_reduce_sum_async(torch::Tensor&) {
  return [] {};
}
void ProcessGroup::broadcast(torch::Tensor&, int) {}
std::vector<uint8_t> ProcessGroup::broadcast_bytes(const std::vector<uint8_t>& bytes, int) { return bytes; }
torch::Tensor ProcessGroup::sum_across(const torch::Tensor& tensor) { return tensor; }
void ProcessGroup::run_everywhere(const std::function<void()>& step) { step(); }
double ProcessGroup::wait_seconds() const { return 0; }

#endif

}  // namespace pconv
