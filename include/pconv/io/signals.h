#pragma once
// SIGINT and SIGTERM as a request to stop cleanly: long-running commands (train, serve) poll the
// flag, finish or checkpoint their work, and exit 0.
#include <atomic>

namespace pconv {

/// Set by SIGINT / SIGTERM once install_stop_signals() has run.
std::atomic<bool>& stop_requested();
void install_stop_signals();

}  // namespace pconv
