#pragma once
// Logs go to stderr, one line each, so that stdout stays free for results.
#include <string>

namespace pconv {

void log_info(const std::string& message);
void log_warning(const std::string& message);
/// Silences log_info (warnings still show); for --quiet.
void set_quiet(bool quiet);

}  // namespace pconv
