#pragma once
// What a run used, logged under split "system" when it finishes (the paper's
// Tables 9 and 10: the backbone per experiment, and the compute per run).
#include <map>
#include <string>

#include "dist2/model/gpt.h"

namespace dist2 {

// What only the process knows (the config has the model's shape, the store the
// run's span): parameters (the model's), cores, threads (LibTorch's intra-op
// threads) and peak_rss_mb (this process's peak resident memory).
std::map<std::string, double> run_resources(Gpt& model);

}  // namespace dist2
