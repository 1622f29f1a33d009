#pragma once
// Logs go to stderr, one line each, so that stdout stays free for results.
#include <string>

namespace pconv {

/// What is logged: warnings always; info (the default) adds progress and request lines; debug
/// adds per-job timings.
enum class LogLevel { kWarning, kInfo, kDebug };

void log_warning(const std::string& message);
void log_info(const std::string& message);
void log_debug(const std::string& message);

void set_log_level(LogLevel level);
/// Whether messages of `level` are logged; callers skip building a costly message otherwise.
bool log_enabled(LogLevel level);
/// Warnings only when true, info when false; for --quiet.
void set_quiet(bool quiet);

/// "warning", "info" or "debug"; throws pconv::Error naming anything else.
LogLevel parse_log_level(const std::string& name);

}  // namespace pconv
