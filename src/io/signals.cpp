#include "pconv/io/signals.h"

#include <csignal>

namespace pconv {
namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }
}  // namespace

std::atomic<bool>& stop_requested() { return g_stop; }

void install_stop_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

}  // namespace pconv
