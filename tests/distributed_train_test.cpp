// `pconv train` on several processes, launched as a launcher would (RANK, WORLD_SIZE, ...) on
// loopback: the same model as one process with the whole batch, a killed rank, a stopped and
// resumed job, a rank that fails at start.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "pconv/io/files.h"
#include "pconv/nn/model_file.h"
#include "pconv/train/distributed.h"
#include "test_util.h"

namespace pconv {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One `pconv train` process with its own environment; stdout and stderr go to files.
class Rank {
 public:
  Rank(const std::vector<std::string>& args, const std::map<std::string, std::string>& env, const fs::path& log)
      : log_(log) {
    pid_ = fork();
    if (pid_ == 0) {
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      const std::string out = log.string() + ".out", err = log.string() + ".err";
      freopen(out.c_str(), "w", stdout);
      freopen(err.c_str(), "w", stderr);
      std::vector<char*> argv{const_cast<char*>(PCONV_BINARY), const_cast<char*>("train")};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(PCONV_BINARY, argv.data());
      _exit(127);
    }
  }
  ~Rank() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void signal(int sig) const { kill(pid_, sig); }
  /// The exit status, or -1 if the process is still running after `limit`.
  int wait(std::chrono::seconds limit = std::chrono::seconds(120)) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  std::string err() const { return read_text(log_.string() + ".err"); }
  std::string out() const { return read_text(log_.string() + ".out"); }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

class DistributedTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!distributed_available()) GTEST_SKIP() << "built without c10d/Gloo";
    test::write_photos(dir_ / "photos", 6, 80, 72);
  }

  // A tiny network and pixel loss; `changes` replaces or adds flags ("--flag" → value, "" for a
  // flag without one).
  std::vector<std::string> args(const std::string& out, int batch, int iterations,
                                std::map<std::string, std::string> changes = {}) const {
    std::map<std::string, std::string> flags{{"--train", (dir_ / "photos").string()},
                                             {"--out", (dir_ / out).string()},
                                             {"--image-size", "32"},
                                             {"--depth", "3"},
                                             {"--width", "0.25"},
                                             {"--pixel-loss", ""},
                                             {"--batch-size", std::to_string(batch)},
                                             {"--iterations", std::to_string(iterations)},
                                             {"--lr", "1e-3"},
                                             {"--seed", "7"},
                                             {"--threads", "1"},
                                             {"--workers", "1"},
                                             {"--log-every", "1"},
                                             {"--dist-timeout", "20"},
                                             {"--quiet", ""}};
    for (const auto& [k, v] : changes) flags[k] = v;
    std::vector<std::string> a;
    for (const auto& [k, v] : flags) {
      a.push_back(k);
      if (!v.empty()) a.push_back(v);
    }
    return a;
  }

  std::unique_ptr<Rank> start_rank(int rank, int world, int port, const std::vector<std::string>& a,
                                   const std::string& name) const {
    return std::make_unique<Rank>(a,
                                  std::map<std::string, std::string>{{"RANK", std::to_string(rank)},
                                                                     {"LOCAL_RANK", std::to_string(rank)},
                                                                     {"WORLD_SIZE", std::to_string(world)},
                                                                     {"MASTER_ADDR", "127.0.0.1"},
                                                                     {"MASTER_PORT", std::to_string(port)}},
                                  dir_ / (name + "." + std::to_string(rank)));
  }

  // Starts the `world` ranks of one job.
  std::vector<std::unique_ptr<Rank>> launch(int world, const std::vector<std::string>& a,
                                            const std::string& name) const {
    const int port = test::free_port();
    std::vector<std::unique_ptr<Rank>> ranks;
    for (int r = 0; r < world; ++r) ranks.push_back(start_rank(r, world, port, a, name));
    return ranks;
  }

  void run_job(int world, const std::vector<std::string>& a, const std::string& name) const {
    auto ranks = launch(world, a, name);
    for (auto& r : ranks) ASSERT_EQ(r->wait(), 0) << r->err();
  }

  // Largest absolute difference between the tensors of two model files.
  static double max_difference(const fs::path& a, const fs::path& b) {
    auto ma = load_model(a), mb = load_model(b);
    const auto sa = model_state(ma.net), sb = model_state(mb.net);
    double worst = 0;
    for (const auto& [name, t] : sa)  // weights and BN statistics; BN's step counters are not weights
      if (t.is_floating_point()) worst = std::max(worst, (t - sb.at(name)).abs().max().item<double>());
    return worst;
  }

  // How far training moved the weights from where it started (the scale of the comparison).
  double movement(const fs::path& model) const { return max_difference(model, dir_ / "start" / "model.safetensors"); }

  test::TempDir dir_;
};

TEST_F(DistributedTrain, TwoRanksGiveTheModelOfOneProcessWithTheWholeBatch) {
  run_job(1, args("start", 4, 1, {{"--lr", "1e-12"}}), "start");  // about the initial weights
  run_job(1, args("one", 4, 8), "one");
  run_job(2, args("two", 2, 8, {{"--sync-bn", ""}}), "two");
  run_job(2, args("two-own-bn", 2, 8), "two-own-bn");
  const double moved = movement(dir_ / "one" / "model.safetensors");
  const double synced = max_difference(dir_ / "one" / "model.safetensors", dir_ / "two" / "model.safetensors");
  const double own_bn = max_difference(dir_ / "one" / "model.safetensors", dir_ / "two-own-bn" / "model.safetensors");
  RecordProperty("moved", std::to_string(moved));
  RecordProperty("synced", std::to_string(synced));
  RecordProperty("own_bn", std::to_string(own_bn));
  EXPECT_GT(moved, 1e-3);
  EXPECT_LT(synced, 1e-4) << "moved " << moved << ", own BN " << own_bn;
  // Per-rank BN statistics really are a different computation, which the comparison can see.
  EXPECT_GT(own_bn, 10 * synced) << "moved " << moved;
}

TEST_F(DistributedTrain, AKilledRankEndsTheJobWithAClearError) {
  auto ranks = launch(2, args("killed", 2, 1000000, {{"--dist-timeout", "15"}}), "killed");
  const fs::path metrics = dir_ / "killed" / "metrics.jsonl";
  for (auto end = Clock::now() + std::chrono::seconds(60); Clock::now() < end && read_text(metrics).size() < 200;)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GE(read_text(metrics).size(), 200u) << ranks[0]->err();
  ranks[1]->signal(SIGKILL);
  const auto start = Clock::now();
  const int status = ranks[0]->wait(std::chrono::seconds(60));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(20));
  EXPECT_NE(status, 0);
  EXPECT_NE(status, -1) << "rank 0 still running after its peer died";
  EXPECT_NE(ranks[0]->err().find("rank 0 of 2: "), std::string::npos) << ranks[0]->err();
  EXPECT_NE(ranks[0]->err().find("another rank has stopped, died or is unreachable"), std::string::npos)
      << ranks[0]->err();
}

TEST_F(DistributedTrain, ASignalToOneRankStopsAllAndTheJobResumesExactly) {
  auto ranks = launch(2, args("stopped", 2, 1000000, {{"--checkpoint-every", "1000000"}}), "stopped");
  const fs::path metrics = dir_ / "stopped" / "metrics.jsonl";
  for (auto end = Clock::now() + std::chrono::seconds(60); Clock::now() < end && read_text(metrics).size() < 300;)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ranks[1]->signal(SIGTERM);  // only rank 1: the per-step agreement stops rank 0 at the same step
  EXPECT_EQ(ranks[0]->wait(), 0) << ranks[0]->err();
  EXPECT_EQ(ranks[1]->wait(), 0) << ranks[1]->err();
  ASSERT_TRUE(fs::exists(dir_ / "stopped" / "checkpoint.pt"));
  const auto out = nlohmann::json::parse(ranks[0]->out());
  const int64_t stopped_at = out["steps"];
  EXPECT_TRUE(out["interrupted"].get<bool>());
  EXPECT_TRUE(ranks[1]->out().empty()) << "only rank 0 reports";

  // Resume to stopped_at + 3 and compare with a job that ran there without stopping.
  const std::string total = std::to_string(stopped_at + 3);
  run_job(2, {"--out", (dir_ / "stopped").string(), "--resume", "--iterations", total, "--quiet"}, "resumed");
  run_job(2, args("straight", 2, static_cast<int>(stopped_at + 3)), "straight");
  EXPECT_EQ(max_difference(dir_ / "stopped" / "model.safetensors", dir_ / "straight" / "model.safetensors"), 0.0);
}

TEST_F(DistributedTrain, ARankThatCannotStartStopsTheOthers) {
  const int port = test::free_port();
  auto first = start_rank(0, 2, port, args("bad", 2, 4), "bad");
  auto second = start_rank(1, 2, port, args("bad", 2, 4, {{"--train", (dir_ / "nowhere").string()}}), "bad");
  EXPECT_EQ(second->wait(), 1);
  EXPECT_EQ(first->wait(), 1);
  EXPECT_NE(second->err().find("nowhere: training folder does not exist"), std::string::npos) << second->err();
  EXPECT_NE(first->err().find("rank 1 stopped: "), std::string::npos) << first->err();
  EXPECT_NE(first->err().find("nowhere: training folder does not exist"), std::string::npos) << first->err();
  EXPECT_FALSE(fs::exists(dir_ / "bad" / "checkpoint.pt"));
}

TEST_F(DistributedTrain, AMissingRankIsReportedNotWaitedForForever) {
  auto alone = launch(2, args("alone", 2, 4, {{"--dist-timeout", "3"}}), "alone");
  alone.pop_back();  // rank 1 never comes (killed at once)
  const int status = alone[0]->wait(std::chrono::seconds(60));
  EXPECT_EQ(status, 1);
  EXPECT_NE(alone[0]->err().find("could not join the other ranks at 127.0.0.1:"), std::string::npos) << alone[0]->err();
}

}  // namespace
}  // namespace pconv
