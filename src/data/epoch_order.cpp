#include "pconv/data/epoch_order.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "pconv/data/masks.h"
#include "pconv/io/error.h"

namespace pconv {

EpochOrder::EpochOrder(uint64_t files, uint64_t seed) : files_(files), seed_(seed) {
  if (files == 0) throw Error("no training images");
}

std::vector<uint64_t> EpochOrder::permutation(uint64_t files, uint64_t seed, uint64_t epoch) {
  std::vector<uint64_t> order(files);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(mix_seed(seed, epoch, 0x5eed));
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

uint64_t EpochOrder::at(uint64_t position) {
  const uint64_t epoch = position / files_, place = position % files_;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Epoch& e : recent_)
    if (e.order && e.number == epoch) return (*e.order)[place];
  // Built under the lock: the other threads need the same epoch and would only build it again.
  auto order = std::make_shared<const std::vector<uint64_t>>(permutation(files_, seed_, epoch));
  ++built_;
  recent_[1] = recent_[0];
  recent_[0] = {epoch, order};
  return (*order)[place];
}

uint64_t EpochOrder::permutations_built() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return built_;
}

}  // namespace pconv
