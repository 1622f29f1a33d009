#include "pconv/io/timings.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace pconv {

void Timings::add(const std::string& stage, double seconds) {
  for (Stage& s : stages_)
    if (s.name == stage) {
      s.seconds += seconds;
      ++s.count;
      return;
    }
  stages_.push_back({stage, seconds, 1});
}

Timings::Scope::Scope(Timings* timings, std::string stage)
    : timings_(timings), stage_(std::move(stage)), start_(std::chrono::steady_clock::now()) {}

Timings::Scope::~Scope() {
  if (timings_) timings_->add(stage_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

double Timings::seconds(const std::string& stage) const {
  for (const Stage& s : stages_)
    if (s.name == stage) return s.seconds;
  return 0;
}

double Timings::total_seconds() const {
  double total = 0;
  for (const Stage& s : stages_) total += s.seconds;
  return total;
}

std::string Timings::report(const std::string& indent) const {
  size_t width = 5;
  for (const Stage& s : stages_) width = std::max(width, s.name.size());
  const double total = total_seconds();
  std::ostringstream out;
  out << std::fixed;
  for (const Stage& s : stages_) {
    out << indent << std::left << std::setw(static_cast<int>(width)) << s.name << std::right << std::setw(10)
        << std::setprecision(1) << 1000.0 * s.seconds << " ms";
    out << std::setw(6) << std::setprecision(1) << (total > 0 ? 100.0 * s.seconds / total : 0.0) << " %";
    if (s.count > 1)
      out << "   (" << s.count << " times, " << std::setprecision(1) << 1000.0 * s.seconds / s.count << " ms each)";
    out << "\n";
  }
  out << indent << std::left << std::setw(static_cast<int>(width)) << "total" << std::right << std::setw(10)
      << std::setprecision(1) << 1000.0 * total << " ms\n";
  return out.str();
}

std::string Timings::summary() const {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1);
  for (const Stage& s : stages_) {
    out << s.name << " " << 1000.0 * s.seconds << " ms";
    if (s.count > 1) out << " (" << s.count << "x)";
    out << ", ";
  }
  out << "total " << 1000.0 * total_seconds() << " ms";
  return out.str();
}

double seconds_since_process_start() {
  // Field 22 of /proc/self/stat is the start time in clock ticks since boot; the command name
  // (field 2) may hold spaces, so fields are counted after its closing parenthesis.
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 3; i < 22 && fields >> field;) ++i;
  unsigned long long start_ticks = 0;
  if (!(fields >> start_ticks)) return 0;
  timespec now{};
  if (clock_gettime(CLOCK_BOOTTIME, &now) != 0) return 0;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double since = static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec) -
                       static_cast<double>(start_ticks) / ticks;
  return since > 0 ? since : 0;
}

}  // namespace pconv
