#pragma once
// Progress with an ETA for long work: a redrawn bar on a terminal, plain log
// lines (every ~10 % or 30 s) otherwise, so logs of batch jobs stay readable.
#include <chrono>
#include <cstdint>
#include <string>

namespace dist2 {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled = true);
  // Reports that `done` units are finished; `status` is shown after the bar (e.g. "loss 0.213").
  void update(int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");

 private:
  std::string label_;
  int64_t total_;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_, last_print_;
  int64_t last_decile_ = -1;
};

// "1h02m", "3m05s", "12s"
std::string format_duration(double seconds);

}  // namespace dist2
