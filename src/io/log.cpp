#include "pconv/io/log.h"

#include <atomic>
#include <iostream>
#include <mutex>

#include "pconv/io/error.h"

namespace pconv {
namespace {
std::atomic<LogLevel> current{LogLevel::kInfo};
std::mutex mutex;

void write(const std::string& prefix, const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex);
  std::cerr << prefix << message << std::endl;
}
}  // namespace

void set_log_level(LogLevel level) { current = level; }
bool log_enabled(LogLevel level) { return level <= current.load(); }
void set_quiet(bool quiet) { current = quiet ? LogLevel::kWarning : LogLevel::kInfo; }

LogLevel parse_log_level(const std::string& name) {
  if (name == "warning") return LogLevel::kWarning;
  if (name == "info") return LogLevel::kInfo;
  if (name == "debug") return LogLevel::kDebug;
  throw Error("log level '" + name + "': expected warning, info or debug");
}

void log_warning(const std::string& message) { write("pconv: warning: ", message); }

void log_info(const std::string& message) {
  if (log_enabled(LogLevel::kInfo)) write("pconv: ", message);
}

void log_debug(const std::string& message) {
  if (log_enabled(LogLevel::kDebug)) write("pconv: debug: ", message);
}

}  // namespace pconv
