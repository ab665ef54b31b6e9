#pragma once
// CUDA events and a device-to-device copy for benchmarks (plain C++ API).
#include <cstddef>

namespace dist2::cuda {

// Times GPU work on a stream with a pair of CUDA events.
class EventTimer {
 public:
  EventTimer();
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  void start(void* stream = nullptr);
  // Records the stop event, waits for it and returns the seconds in between.
  double stop(void* stream = nullptr);

 private:
  void* start_ = nullptr;
  void* stop_ = nullptr;
};

// Median seconds of `repeats` device-to-device copies of `bytes` bytes (after
// one warm-up copy): the bandwidth floor of a kernel that reads and writes as much.
double device_copy_seconds(size_t bytes, int repeats);

void synchronize();

}  // namespace dist2::cuda
