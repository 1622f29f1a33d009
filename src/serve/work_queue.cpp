#include "pconv/serve/work_queue.h"

#include <algorithm>

#include "pconv/io/error.h"

namespace pconv {

WorkQueue::WorkQueue(int running, int waiting) : max_running_(running), max_waiting_(waiting) {
  if (running < 1) throw Error("concurrency " + std::to_string(running) + ": must be at least 1");
  if (waiting < 0) throw Error("queue length " + std::to_string(waiting) + ": must not be negative");
}

WorkQueue::Admission WorkQueue::enter(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) return Admission::kClosed;
  if (line_.empty() && running_ < max_running_) {
    ++running_;
    return Admission::kAdmitted;
  }
  if (static_cast<int>(line_.size()) >= max_waiting_) return Admission::kFull;
  const uint64_t ticket = next_ticket_++;
  line_.push_back(ticket);
  const bool my_turn = changed_.wait_until(
      lock, deadline, [&] { return closed_ || (line_.front() == ticket && running_ < max_running_); });
  line_.erase(std::find(line_.begin(), line_.end(), ticket));
  changed_.notify_all();  // the next in line may now be at the front
  if (closed_) return Admission::kClosed;
  if (!my_turn) return Admission::kTimedOut;
  ++running_;
  return Admission::kAdmitted;
}

void WorkQueue::leave() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
  }
  changed_.notify_all();
}

void WorkQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

int WorkQueue::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_;
}

int WorkQueue::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(line_.size());
}

}  // namespace pconv
