#pragma once
// Where the time of one job goes, stage by stage: `pconv inpaint --timings` prints it, and
// `pconv serve --log-level debug` logs it for each request.
//
//   Timings timings;
//   { Timings::Scope scope(&timings, "decode"); image = load_image(path); }
//   std::cerr << timings.report();
#include <chrono>
#include <string>
#include <vector>

namespace pconv {

class Timings {
 public:
  /// Adds `seconds` to `stage`; stages keep the order in which they first appear, and a stage
  /// added several times (one per network pass) shows its count.
  void add(const std::string& stage, double seconds);

  /// Times its own lifetime into `stage`; does nothing when `timings` is null, so that callers
  /// time unconditionally and only pay when someone asked.
  class Scope {
   public:
    Scope(Timings* timings, std::string stage);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Timings* timings_;
    std::string stage_;
    std::chrono::steady_clock::time_point start_;
  };

  double seconds(const std::string& stage) const;
  double total_seconds() const;
  /// One line per stage (milliseconds, count when more than one, share of the total), then the
  /// total; every line starts with `indent`.
  std::string report(const std::string& indent = "  ") const;
  /// The same on one line, for a log: "decode image 12.0 ms, network pass 480.5 ms (8x), ..., total 530.1 ms".
  std::string summary() const;

 private:
  struct Stage {
    std::string name;
    double seconds = 0;
    int count = 0;
  };
  std::vector<Stage> stages_;
};

/// Seconds from the start of this process to now (Linux: /proc/self/stat), which before main's
/// own work is the cost of loading and initialising the libraries; 0 where it cannot be read.
double seconds_since_process_start();

}  // namespace pconv
