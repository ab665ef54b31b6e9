#pragma once
// Backbone pretraining (our stand-in for the paper's pretrained LLMs, appendix
// D.3 table 9): a Gpt trained with plain next-token prediction on the task's
// pretraining corpus, once per (model shape, tokenizer, backbone.*, corpus), and
// cached in the run store so every run and seed fine-tunes the same weights.
#include <string>

#include "dist2/config/config.h"
#include "dist2/tasks/task.h"

namespace dist2 {

struct Backbone {
  std::string id;            // "<task>-<hash>"
  std::string weights_path;  // checksummed weights
  double knowledge_accuracy = 0;  // on the task's knowledge questions (Table 7 "backbone")
  bool from_cache = false;
};

// Whether the config fine-tunes from a pretrained backbone (backbone.pretrain_steps > 0).
bool uses_backbone(const config::Config& cfg);

// The cached backbone for cfg, pretrained first when missing. Concurrent callers
// (sweep workers) wait on a lock file instead of training it twice.
Backbone load_or_pretrain_backbone(const config::Config& cfg, const Task& task, const std::string& store_dir,
                                   bool show_progress);

// The backbones of every config that uses one, pretrained when missing, one
// printed line per backbone ("backbone <id>: pretrained|cached (knowledge
// accuracy x)"); for `prepare`, and for a sweep before its workers start.
void prepare_backbones(const std::vector<config::Config>& configs, const std::string& store_dir);

// Everything the configs' runs share and would otherwise train in their first
// run: each task's shared models (Task::prepare_shared, cached under
// <store_dir>/assets), then the backbones; a line per model trained or found.
void prepare_shared_models(const std::vector<config::Config>& configs, const std::string& store_dir);
// Whether prepare_shared_models has anything to do for cfg: a backbone, or the task's shared models.
bool uses_shared_models(const config::Config& cfg);

}  // namespace dist2
