#pragma once
// The training loader: photos paired with masks, batched on worker threads ahead of the loop.
//
// Every sample is a pure function of (seed, position in the run): epoch e visits the images in a
// permutation drawn from (seed, e), and sample p's crop, flip and mask come from (seed, p). A run
// resumed at step k therefore sees exactly the batches an uninterrupted run would, whatever the
// thread timing. In a data-parallel job of W ranks with batch B each, step s's global batch is
// positions s·W·B … (s+1)·W·B − 1 and rank r builds its B of them, so W ranks see exactly the
// samples of one process with batch W·B.
#include <torch/torch.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <opencv2/core.hpp>
#include <thread>
#include <vector>

#include "pconv/data/epoch_order.h"
#include "pconv/io/image.h"

namespace pconv {

/// A hole mask (CV_8U, 255 = hole) for sample `index`.
using MaskSource = std::function<cv::Mat(uint64_t index)>;

struct Batch {
  torch::Tensor image;  ///< (B,3,S,S) RGB in [0,1]
  torch::Tensor mask;   ///< (B,1,S,S), 1 = valid, 0 = hole
  uint64_t step = 0;
};

struct BatchLoaderOptions {
  int batch_size = 6;
  int image_size = 256;
  bool flip = true;
  uint64_t seed = 0;
  int workers = 2;                         ///< threads that decode and augment
  int prefetch = 4;                        ///< batches prepared ahead of the consumer
  size_t cache_mb = 2048;                  ///< decoded, reduced photos kept in memory (0: decode every time)
  int64_t max_pixels = kDefaultMaxPixels;  ///< larger photos are skipped with a warning
  int rank = 0;                            ///< this process's share of each global batch
  int world_size = 1;
};

class BatchLoader {
 public:
  /// Batches start at `first_step` (the step a resumed run continues from).
  BatchLoader(std::vector<std::filesystem::path> files, MaskSource masks, BatchLoaderOptions options,
              uint64_t first_step = 0);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// The next batch, in step order; blocks until it is ready.
  Batch next();

  /// Seconds the consumer spent waiting in next(), and files that could not be read (counted once each).
  double wait_seconds() const { return wait_seconds_; }
  size_t unreadable_files() const;

 private:
  Batch build(uint64_t step);
  cv::Mat base(uint64_t index);
  void work();

  std::vector<std::filesystem::path> files_;
  MaskSource masks_;
  BatchLoaderOptions options_;
  EpochOrder order_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::map<uint64_t, Batch> done_;
  std::map<uint64_t, std::exception_ptr> errors_;
  uint64_t next_to_build_, next_to_return_;
  bool stopping_ = false;
  std::vector<bool> unreadable_;
  std::map<uint64_t, cv::Mat> cache_;  // file index -> load_training_base
  size_t cache_bytes_ = 0;
  double wait_seconds_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace pconv
