#pragma once
// Admission for expensive work: at most `running` jobs at once, at most `waiting` more in line
// (first come, first served); anything beyond is refused at once rather than left to pile up.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

namespace pconv {

class WorkQueue {
 public:
  enum class Admission { kAdmitted, kFull, kTimedOut, kClosed };

  WorkQueue(int running, int waiting);

  /// Waits for a free slot until `deadline`. Only kAdmitted must be followed by leave().
  Admission enter(std::chrono::steady_clock::time_point deadline);
  void leave();

  /// Refuses every waiting and later enter() with kClosed; running jobs are left to finish.
  void close();

  int running() const;
  int waiting() const;

 private:
  const int max_running_, max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int running_ = 0;
  std::deque<uint64_t> line_;  // tickets of the waiting, in arrival order
  uint64_t next_ticket_ = 0;
  bool closed_ = false;
};

}  // namespace pconv
