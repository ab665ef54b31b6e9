#pragma once
// The config keys the pipeline itself understands (model, train, loss, eval,
// tokenizer, seed), and the schema of a whole experiment: these plus the keys
// of its task (task.name picks the adapter).
#include "dist2/config/config.h"
#include "dist2/loss/loss.h"
#include "dist2/loss/metric.h"
#include "dist2/tasks/task.h"
#include "dist2/tokenizer/tokenizer.h"

namespace dist2 {

config::Schema pipeline_schema();
// pipeline_schema() merged with make_task(task_name)->schema().
config::Schema experiment_schema(const std::string& task_name);

// The loss options a config asks for; tau resolved from loss.tau, loss.sigma
// (tau = 2 sigma^2) or loss.entropy (entropy matching over `metric`).
LossOptions loss_options(const config::Config& cfg, const MetricSpace& metric);
// How the config spells its temperature: "tau=2", "sigma=1 (tau=2)" or "entropy=1.2 (tau=...)".
std::string tau_spelling(const config::Config& cfg, double tau);
// The task's V_d (Task::metric_tokens) with the metric of loss.metric: sq, abs
// or random over token values, mse or cosine over token embeddings.
MetricSpace metric_space(const config::Config& cfg, const Tokenizer& tok);
MetricSpace metric_space(const config::Config& cfg, const MetricTokens& tokens);
// The number splitting of tokenizer.numbers plus the task's added tokens.
Tokenizer tokenizer_for(const config::Config& cfg);

}  // namespace dist2
