#include "pconv/io/progress.h"

#include <unistd.h>

#include <cstdio>

#include "pconv/io/log.h"

namespace pconv {

ProgressLine::ProgressLine(bool quiet, size_t log_every)
    : drawing_(!quiet && isatty(STDERR_FILENO)), quiet_(quiet), log_every_(log_every) {}

void ProgressLine::show(const std::string& text) {
  if (!drawing_) return;
  // \033[K clears what a longer previous line left to the right.
  std::fprintf(stderr, "\r%s\033[K", text.c_str());
  std::fflush(stderr);
  open_ = true;
}

void ProgressLine::count(const std::string& label, size_t done, size_t total) {
  const std::string text = label + " " + std::to_string(done) + "/" + std::to_string(total);
  if (drawing_) {
    show("pconv: " + text);  // log_info adds the same prefix to logged counts
    if (done == total) finish();
  } else if (!quiet_ && log_every_ > 0 && (done == total || done % log_every_ == 0)) {
    log_info(text);
  }
}

void ProgressLine::finish() {
  if (!open_) return;
  std::fputc('\n', stderr);
  std::fflush(stderr);
  open_ = false;
}

}  // namespace pconv
