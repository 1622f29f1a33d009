#include "pconv/train/batch_loader.h"

#include <algorithm>
#include <chrono>

#include "pconv/data/masks.h"
#include "pconv/data/photos.h"
#include "pconv/infer/normalization.h"
#include "pconv/io/error.h"
#include "pconv/io/log.h"
#include "pconv/io/progress.h"

namespace pconv {
namespace fs = std::filesystem;

BatchLoader::BatchLoader(std::vector<fs::path> files, MaskSource masks, BatchLoaderOptions options, uint64_t first_step)
    : files_(std::move(files)),
      masks_(std::move(masks)),
      options_(options),
      order_(files_.size(), options_.seed),
      next_to_build_(first_step),
      next_to_return_(first_step),
      unreadable_(files_.size(), false) {
  if (files_.empty()) throw Error("no training images");
  if (options_.batch_size < 1) throw Error("batch size must be at least 1");
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size)
    throw Error("rank " + std::to_string(options_.rank) + " is not within a world of " +
                std::to_string(options_.world_size));
  for (int i = 0; i < std::max(1, options_.workers); ++i) threads_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  space_.notify_all();
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

size_t BatchLoader::unreadable_files() const {
  return static_cast<size_t>(std::count(unreadable_.begin(), unreadable_.end(), true));
}

cv::Mat BatchLoader::base(uint64_t index) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = cache_.find(index);
    if (it != cache_.end()) return it->second;
  }
  cv::Mat photo = load_training_base(files_[index], options_.image_size, options_.max_pixels);
  const size_t bytes = photo.total() * photo.elemSize();
  std::lock_guard<std::mutex> lock(mutex_);
  // The cache only saves decoding: a photo is the same whether it comes from here or the file.
  if (!photo.empty() && cache_bytes_ + bytes <= options_.cache_mb * 1024 * 1024) {
    cache_.emplace(index, photo);
    cache_bytes_ += bytes;
  }
  return photo;
}

Batch BatchLoader::build(uint64_t step) {
  const int b = options_.batch_size, s = options_.image_size;
  const uint64_t n = files_.size();
  Batch batch;
  batch.step = step;
  batch.image = torch::empty({b, 3, s, s});
  batch.mask = torch::empty({b, 1, s, s});
  for (int j = 0; j < b; ++j) {
    const uint64_t position =
        (step * static_cast<uint64_t>(options_.world_size) + static_cast<uint64_t>(options_.rank)) *
            static_cast<uint64_t>(b) +
        static_cast<uint64_t>(j);
    uint64_t index = order_.at(position);

    std::mt19937_64 rng(mix_seed(options_.seed, position, 0xc0b));
    cv::Mat crop;
    for (int attempt = 0; attempt < 1000 && crop.empty(); ++attempt) {
      cv::Mat photo;
      std::string why;
      try {
        photo = base(index);
      } catch (const Error& e) {
        why = e.what();
      }
      if (!photo.empty()) crop = random_crop(photo, s, options_.flip, rng);
      if (crop.empty()) {
        bool first = false;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          first = !unreadable_[index];
          unreadable_[index] = true;
        }
        if (first) log_warning((why.empty() ? files_[index].string() + ": not a readable image" : why) + "; skipped");
        index = std::uniform_int_distribution<uint64_t>(0, n - 1)(rng);  // a deterministic stand-in
      }
    }
    if (crop.empty()) throw Error("no readable training image found");
    batch.image[j].copy_(torch::from_blob(crop.data, {s, s, 3}, torch::kFloat).permute({2, 0, 1}));
    const cv::Mat hole = masks_(position);
    if (hole.rows != s || hole.cols != s) throw Error("mask source gave a mask of the wrong size");
    batch.mask[j].copy_(valid_mask(hole)[0]);
  }
  return batch;
}

void BatchLoader::work() {
  for (;;) {
    uint64_t step;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_.wait(lock, [&] {
        return stopping_ || next_to_build_ < next_to_return_ + static_cast<uint64_t>(std::max(1, options_.prefetch));
      });
      if (stopping_) return;
      step = next_to_build_++;
    }
    Batch batch;
    std::exception_ptr error;
    try {
      batch = build(step);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error) {
        errors_[step] = error;
      } else {
        done_[step] = std::move(batch);
      }
    }
    ready_.notify_all();
  }
}

Batch BatchLoader::next() {
  const Stopwatch stopwatch;
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t step = next_to_return_;
  ready_.wait(lock, [&] { return done_.count(step) || errors_.count(step); });
  wait_seconds_ += stopwatch.seconds();
  if (errors_.count(step)) std::rethrow_exception(errors_[step]);
  Batch batch = std::move(done_[step]);
  done_.erase(step);
  ++next_to_return_;
  lock.unlock();
  space_.notify_all();
  return batch;
}

}  // namespace pconv
