#pragma once
// Elapsed time and progress as pconv shows them: one home for the clock and for the line on
// stderr that a terminal redraws in place.
#include <chrono>
#include <cstddef>
#include <string>

namespace pconv {

/// Seconds since construction, on the steady clock.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// A progress line on stderr. On a terminal each show() redraws the line in place; elsewhere (a
/// log file, a pipe) show() prints nothing, and count() logs every `log_every`-th count and the
/// last, so logs stay short. Quiet: nothing at all.
class ProgressLine {
 public:
  explicit ProgressLine(bool quiet = false, size_t log_every = 0);
  ~ProgressLine() { finish(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  /// Whether show() draws anything (stderr is a terminal and not quiet).
  bool drawing() const { return drawing_; }

  /// Replaces the line with `text`.
  void show(const std::string& text);

  /// "pconv: <label> done/total", ended with a newline when done == total.
  void count(const std::string& label, size_t done, size_t total);

  /// Ends an open line with a newline, so that the next message starts on its own line.
  void finish();

 private:
  bool drawing_, quiet_, open_ = false;
  size_t log_every_;
};

}  // namespace pconv
