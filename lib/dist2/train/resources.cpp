#include "dist2/train/resources.h"

#include <sys/resource.h>

#include <thread>

#include <torch/torch.h>

namespace dist2 {

namespace {

double peak_rss_mb() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return std::nan("");
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

}  // namespace

std::map<std::string, double> run_resources(Gpt& model) {
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  return {{"parameters", static_cast<double>(parameters)},
          {"cores", static_cast<double>(std::thread::hardware_concurrency())},
          {"threads", static_cast<double>(torch::get_num_threads())},
          {"peak_rss_mb", peak_rss_mb()}};
}

}  // namespace dist2
