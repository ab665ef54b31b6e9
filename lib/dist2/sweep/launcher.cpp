#include "dist2/sweep/launcher.h"

#include <algorithm>

#include <fmt/format.h>

#include "dist2/util/error.h"

namespace dist2 {

std::unique_ptr<Launcher> make_launcher(const SweepRequest& req) {
  if (req.launcher == "local") return local_launcher();
  if (req.launcher == "slurm") return slurm_launcher();
  throw Error(fmt::format("--launcher must be local or slurm, got '{}'", req.launcher));
}

std::string final_metric_text(store::Store& st, const std::string& hash) {
  const auto run = st.find_finished(hash);
  if (!run) return "";
  // Headline metrics first: the fewer the dots, the broader the metric ("success"
  // before "l1.success" before "l1.put.success"); references are left out.
  std::vector<std::pair<std::string, double>> metrics;
  for (const auto& [name, value] : st.final_metrics(run->id, "test"))
    if (name.rfind("ref.", 0) != 0) metrics.emplace_back(name, value);
  const auto dots = [](const std::string& n) { return std::count(n.begin(), n.end(), '.'); };
  std::stable_sort(metrics.begin(), metrics.end(), [&](const auto& a, const auto& b) { return dots(a.first) < dots(b.first); });
  std::string s;
  for (const auto& [name, value] : metrics)
    if (s.size() < 60) s += fmt::format(" {}={:.4g}", name, value);
  return s;
}

}  // namespace dist2
