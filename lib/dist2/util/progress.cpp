#include "dist2/util/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace dist2 {

std::string format_duration(double s) {
  if (s < 0 || s != s) return "?";
  const auto t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0) {
  start_ = last_print_ = std::chrono::steady_clock::now();
}

void Progress::update(int64_t done, const std::string& status) {
  if (!enabled_ || total_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : -1;
  const double frac = static_cast<double>(done) / static_cast<double>(total_);
  if (tty_) {
    if (std::chrono::duration<double>(now - last_print_).count() < 0.1 && done < total_) return;
    const int width = 24, filled = static_cast<int>(frac * width);
    fmt::print(stderr, "\r{} [{}{}] {}/{} {} eta {}   ", label_, std::string(static_cast<size_t>(filled), '#'),
               std::string(static_cast<size_t>(width - filled), '.'), done, total_, status, format_duration(eta));
    std::fflush(stderr);
  } else {
    const int64_t decile = static_cast<int64_t>(frac * 10);
    if (decile == last_decile_ && std::chrono::duration<double>(now - last_print_).count() < 30) return;
    last_decile_ = decile;
    fmt::print(stderr, "{} {}/{} ({:.0f}%) {} elapsed {} eta {}\n", label_, done, total_, 100 * frac, status,
               format_duration(elapsed), format_duration(eta));
  }
  last_print_ = now;
}

void Progress::finish(const std::string& status) {
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (tty_) fmt::print(stderr, "\r\033[K");
  fmt::print(stderr, "{} done in {} {}\n", label_, format_duration(elapsed), status);
}

}  // namespace dist2
