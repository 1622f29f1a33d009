#include "pconv/io/log.h"

#include <atomic>
#include <iostream>
#include <mutex>

namespace pconv {
namespace {
std::atomic<bool> quiet{false};
std::mutex mutex;
}  // namespace

void set_quiet(bool q) { quiet = q; }

void log_info(const std::string& message) {
  if (quiet) return;
  std::lock_guard<std::mutex> lock(mutex);
  std::cerr << "pconv: " << message << std::endl;
}

void log_warning(const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex);
  std::cerr << "pconv: warning: " << message << std::endl;
}

}  // namespace pconv
