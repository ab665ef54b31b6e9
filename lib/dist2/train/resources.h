#pragma once
// What a run used, logged under split "system" when it finishes (the paper's
// Tables 9 and 10: the backbone per experiment, and the compute per run).
#include <map>
#include <string>

#include "dist2/config/config.h"
#include "dist2/model/gpt.h"

namespace dist2 {

// system.parameters, n_layer, d_model, pretrain_steps (the model), and
// system.wall_s (this process, from start to the end of evaluation), cores,
// threads (LibTorch's intra-op threads) and peak_rss_mb (this process's peak
// resident memory).
std::map<std::string, double> run_resources(const config::Config& cfg, Gpt& model, double wall_s);

}  // namespace dist2
