#include "pconv/data/epoch_order.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace pconv {
namespace {

TEST(EpochOrder, EachEpochIsAPermutationDrawnFromSeedAndEpoch) {
  const uint64_t n = 7;
  EpochOrder order(n, /*seed=*/3);
  for (uint64_t epoch = 0; epoch < 3; ++epoch) {
    const std::vector<uint64_t> expected = EpochOrder::permutation(n, 3, epoch);
    std::vector<bool> seen(n, false);
    for (uint64_t place = 0; place < n; ++place) {
      const uint64_t index = order.at(epoch * n + place);
      EXPECT_EQ(index, expected[place]);
      seen[index] = true;
    }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), true), static_cast<long>(n));
  }
  EXPECT_NE(EpochOrder::permutation(n, 3, 0), EpochOrder::permutation(n, 3, 1));
  EXPECT_NE(EpochOrder::permutation(n, 3, 0), EpochOrder::permutation(n, 4, 0));
  // A fresh order (a resumed run) starting mid-epoch finds the same files.
  EpochOrder resumed(n, 3);
  EXPECT_EQ(resumed.at(2 * n + 4), order.at(2 * n + 4));
}

TEST(EpochOrder, DrawingFromAMillionFilesBuildsEachPermutationOnce) {
  // Places2 has 1.8 M photos; the loader drew every sample by shuffling a list of all of them.
  const uint64_t n = 1'000'000;
  EpochOrder order(n, /*seed=*/11);
  for (uint64_t p = 0; p < 50'000; ++p) order.at(p);
  EXPECT_EQ(order.permutations_built(), 1u);
  // Loader threads straddling the end of an epoch draw from both, in any interleaving.
  for (uint64_t p = n - 1000; p < n + 1000; ++p) order.at(p % 2 ? p : 2 * n - p);
  EXPECT_EQ(order.permutations_built(), 2u);
  EXPECT_EQ(order.at(n + 5), EpochOrder::permutation(n, 11, 1)[5]);
  EXPECT_EQ(order.permutations_built(), 2u);
}

TEST(EpochOrder, ThreadsDrawTheSameOrder) {
  const uint64_t n = 1000;
  EpochOrder shared(n, 5), alone(n, 5);
  std::vector<uint64_t> drawn(4 * n);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (uint64_t p = static_cast<uint64_t>(t); p < drawn.size(); p += 4) drawn[p] = shared.at(p);
    });
  for (auto& t : threads) t.join();
  for (uint64_t p = 0; p < drawn.size(); ++p) ASSERT_EQ(drawn[p], alone.at(p)) << "position " << p;
}

TEST(EpochOrder, NoFilesIsAnError) { EXPECT_ANY_THROW(EpochOrder(0, 1)); }

}  // namespace
}  // namespace pconv
