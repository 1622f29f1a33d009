// Data-parallel pieces in one process: the launcher's variables, synchronised BN, and two ranks
// as two threads on loopback (collectives, error agreement, gradient averaging, global BN).
#include "pconv/train/distributed.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <future>

#include "pconv/nn/sync_batch_norm.h"
#include "pconv/train/gradient_reducer.h"
#include "test_util.h"

namespace pconv {
namespace {

using test::expect_error;

// Sets launcher variables for one test and clears them afterwards.
using Vars = std::map<std::string, std::string>;
class Environment {
 public:
  explicit Environment(const Vars& vars) {
    for (const auto& [k, v] : vars) setenv(k.c_str(), v.c_str(), 1);
  }
  ~Environment() {
    for (const char* k : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(k);
  }
};

TEST(DistributedEnv, NoVariablesMeansOneProcess) {
  Environment env(Vars{});
  const DistributedEnv d = DistributedEnv::from_environment();
  EXPECT_EQ(d.world_size, 1);
  EXPECT_EQ(d.rank, 0);
  EXPECT_FALSE(d.enabled());
}

TEST(DistributedEnv, ReadsTheLauncherVariables) {
  Environment env(Vars{
      {"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29400"}});
  const DistributedEnv d = DistributedEnv::from_environment();
  EXPECT_EQ(d.rank, 3);
  EXPECT_EQ(d.world_size, 4);
  EXPECT_EQ(d.local_rank, 1);
  EXPECT_EQ(d.master_addr, "node7");
  EXPECT_EQ(d.master_port, 29400);
}

TEST(DistributedEnv, ClearErrors) {
  {
    Environment env(Vars{{"RANK", "one"}, {"WORLD_SIZE", "2"}});
    expect_error([] { DistributedEnv::from_environment(); }, "RANK=one: not a whole number");
  }
  {
    Environment env(Vars{{"RANK", "2"}, {"WORLD_SIZE", "2"}});
    expect_error([] { DistributedEnv::from_environment(); }, "RANK=2: must be below WORLD_SIZE=2");
  }
  {
    Environment env(Vars{{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "29500"}});
    expect_error([] { DistributedEnv::from_environment(); }, "MASTER_ADDR is not set");
  }
  {
    Environment env(Vars{{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "70000"}});
    expect_error([] { DistributedEnv::from_environment(); }, "MASTER_PORT=70000: must be between 1 and 65535");
  }
  {
    Environment env(Vars{{"WORLD_SIZE", "0"}});
    expect_error([] { DistributedEnv::from_environment(); }, "WORLD_SIZE=0");
  }
}

TEST(SyncBatchNorm, WithOneRankEqualsBatchNorm) {
  torch::manual_seed(0);
  torch::nn::BatchNorm2d reference(5), synced(5);
  {
    torch::NoGradGuard no_grad;
    reference->weight.uniform_(0.5, 1.5);
    reference->bias.uniform_(-0.5, 0.5);
    synced->weight.copy_(reference->weight);
    synced->bias.copy_(reference->bias);
  }
  const torch::Tensor x = torch::randn({3, 5, 6, 7}) * 2 + 1;
  const torch::Tensor xa = x.clone().requires_grad_(), xb = x.clone().requires_grad_();
  const torch::Tensor weights = torch::randn({3, 5, 6, 7});
  const torch::Tensor ya = reference->forward(xa),
                      yb = sync_batch_norm(*synced, xb, [](const torch::Tensor&t) { return t * 1.0; });
  EXPECT_TRUE(torch::allclose(ya, yb, 1e-5, 1e-5));
  (ya * weights).sum().backward();
  (yb * weights).sum().backward();
  EXPECT_TRUE(torch::allclose(xa.grad(), xb.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(reference->weight.grad(), synced->weight.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(reference->bias.grad(), synced->bias.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(reference->running_mean, synced->running_mean, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(reference->running_var, synced->running_var, 1e-5, 1e-6));
  EXPECT_EQ(synced->num_batches_tracked.item<int64_t>(), 1);
}

// Runs body(group) as ranks 0 and 1 on two threads and returns what each returned.
template <typename Body>
auto two_ranks(Body body, int timeout_s = 20) {
  const int port = test::free_port();
  auto rank = [&](int r) {
    DistributedEnv env;
    env.rank = r;
    env.world_size = 2;
    env.master_port = port;
    ProcessGroup group(env, std::chrono::seconds(timeout_s));
    return body(group);
  };
  auto second = std::async(std::launch::async, rank, 1);
  auto first = rank(0);
  return std::make_pair(first, second.get());
}

class TwoRanks : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!distributed_available()) GTEST_SKIP() << "built without c10d/Gloo";
  }
};

TEST_F(TwoRanks, SumBroadcastAndBytes) {
  auto [a, b] = two_ranks([](ProcessGroup& g) {
    torch::Tensor t = torch::full({3}, g.rank() + 1.0);
    g.all_reduce_sum(t);
    torch::Tensor c = torch::full({2}, 10.0 * g.rank() + 7);
    g.broadcast(c, 0);
    const std::vector<uint8_t> bytes =
        g.broadcast_bytes(g.rank() == 0 ? std::vector<uint8_t>{1, 2, 3} : std::vector<uint8_t>{});
    return std::make_tuple(t[0].item<double>(), c[1].item<double>(), bytes);
  });
  for (const auto& result : {a, b}) {
    EXPECT_EQ(std::get<0>(result), 3.0);
    EXPECT_EQ(std::get<1>(result), 7.0);
    EXPECT_EQ(std::get<2>(result), (std::vector<uint8_t>{1, 2, 3}));
  }
}

TEST_F(TwoRanks, AnErrorOnOneRankStopsBoth) {
  auto [a, b] = two_ranks([](ProcessGroup& g) {
    try {
      g.run_everywhere([&] {
        if (g.rank() == 1) throw Error("photos/: training folder does not exist");
      });
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  });
  EXPECT_EQ(a, "rank 1 stopped: photos/: training folder does not exist");
  EXPECT_EQ(b, "photos/: training folder does not exist");
}

TEST_F(TwoRanks, GradientsAreTheAverageOfTheRanks) {
  // Each rank a different batch; after finish() both hold the mean of the two ranks' gradients.
  // The weights and batches are drawn here: the ranks are threads, and LibTorch's generator is
  // one per process, so seeding it inside them would race.
  torch::manual_seed(5);
  const auto make_net = [] {
    return torch::nn::Sequential(torch::nn::Linear(6, 8), torch::nn::ReLU(), torch::nn::Linear(8, 2));
  };
  const torch::nn::Sequential reference = make_net();
  const std::vector<torch::Tensor> batches = {torch::randn({4, 6}), torch::randn({4, 6})};
  const auto copy_of_reference = [&] {
    torch::nn::Sequential net = make_net();
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < net->parameters().size(); ++i) net->parameters()[i].copy_(reference->parameters()[i]);
    return net;
  };
  auto local_grads = [&](int rank) {
    torch::nn::Sequential net = copy_of_reference();
    net->forward(batches[rank]).pow(2).mean().backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : net->parameters()) grads.push_back(p.grad().clone());
    return grads;
  };
  const auto g0 = local_grads(0), g1 = local_grads(1);
  auto [a, b] = two_ranks([&](ProcessGroup& g) {
    torch::nn::Sequential net = copy_of_reference();
    GradientReducer reducer(g, net->parameters(), 100);  // small buckets: several all-reduces
    EXPECT_GT(reducer.buckets(), 1u);
    std::vector<torch::Tensor> grads;
    for (int step = 0; step < 2; ++step) {  // twice: buckets reset between steps
      for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
      net->forward(batches[g.rank()]).pow(2).mean().backward();
      reducer.finish();
    }
    for (const auto& p : net->parameters()) grads.push_back(p.grad().clone());
    return grads;
  });
  ASSERT_EQ(a.size(), g0.size());
  for (size_t i = 0; i < g0.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i], (g0[i] + g1[i]) / 2, 1e-6, 1e-7)) << i;
    EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
  }
}

TEST_F(TwoRanks, SyncBatchNormEqualsBatchNormOfTheWholeBatch) {
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({4, 3, 5, 5}) * 3 - 1, w = torch::randn({4, 3, 5, 5});
  torch::nn::BatchNorm2d reference(3);
  const torch::Tensor xr = x.clone().requires_grad_();
  const torch::Tensor expected = reference->forward(xr);
  (expected * w).sum().backward();

  auto [a, b] = two_ranks([&](ProcessGroup& g) {
    torch::nn::BatchNorm2d bn(3);
    const torch::Tensor half = x.narrow(0, 2 * g.rank(), 2).clone().requires_grad_();
    const torch::Tensor y = sync_batch_norm(*bn, half, [&](const torch::Tensor& t) { return g.sum_across(t); });
    (y * w.narrow(0, 2 * g.rank(), 2)).sum().backward();
    torch::Tensor weight_grad = bn->weight.grad().clone();
    g.all_reduce_sum(weight_grad);
    return std::make_tuple(y.detach(), half.grad(), weight_grad, bn->running_var.clone());
  });
  EXPECT_TRUE(torch::allclose(torch::cat({std::get<0>(a), std::get<0>(b)}), expected.detach(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(torch::cat({std::get<1>(a), std::get<1>(b)}), xr.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(std::get<2>(a), reference->weight.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(std::get<3>(a), reference->running_var, 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(std::get<3>(a), std::get<3>(b)));
}

TEST_F(TwoRanks, AMissingRankIsReportedWithinTheTimeout) {
  DistributedEnv env;
  env.rank = 0;
  env.world_size = 2;
  env.master_port = test::free_port();
  const auto start = std::chrono::steady_clock::now();
  expect_error([&] { ProcessGroup group(env, std::chrono::seconds(2)); },
               "could not join the other ranks at 127.0.0.1:");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

}  // namespace
}  // namespace pconv
