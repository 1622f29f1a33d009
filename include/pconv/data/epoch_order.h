#pragma once
// The order in which a training run visits its photos: epoch e is a permutation of the n files
// drawn from (seed, e) alone, so a resumed run, or another rank, finds the same order. Sample
// position p lies in epoch p / n at place p % n.
//
// A permutation is built once per epoch and kept (the current and the previous one, since loader
// threads may straddle an epoch's end): drawing a sample costs O(1), not O(n) as shuffling a
// list of every file for every sample did (1.8 M photos for Places2).
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace pconv {

class EpochOrder {
 public:
  EpochOrder(uint64_t files, uint64_t seed);

  /// The file index at sample position `position`; safe to call from several threads.
  uint64_t at(uint64_t position);

  /// Permutations built so far (each epoch's once, unless three epochs are in use at once).
  uint64_t permutations_built() const;

  /// Epoch `epoch`'s permutation of 0 … files-1, as at() uses it.
  static std::vector<uint64_t> permutation(uint64_t files, uint64_t seed, uint64_t epoch);

 private:
  struct Epoch {
    uint64_t number;
    std::shared_ptr<const std::vector<uint64_t>> order;
  };
  uint64_t files_, seed_;
  mutable std::mutex mutex_;
  Epoch recent_[2];  // the two epochs used last; [0] the newer
  uint64_t built_ = 0;
};

}  // namespace pconv
