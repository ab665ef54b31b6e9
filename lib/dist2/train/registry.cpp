// The task registry: every adapter the pipeline can run, by name. It lives in
// dist2core because some tasks (imagegen) use LibTorch.
#include "dist2/imagegen/task.h"
#include "dist2/tasks/grounding/task.h"
#include "dist2/tasks/manipulation/task.h"
#include "dist2/tasks/regression/task.h"
#include "dist2/tasks/reward/task.h"
#include "dist2/tasks/task.h"
#include "dist2/tasks/text/task.h"
#include "dist2/util/error.h"

namespace dist2 {

std::vector<std::string> task_names() { return {"grounding", "imagegen", "manipulation", "regression", "reward", "text"}; }

std::unique_ptr<Task> make_task(const std::string& name) {
  if (name == "grounding") return std::make_unique<GroundingTask>();
  if (name == "imagegen") return std::make_unique<ImageGenTask>();
  if (name == "manipulation") return std::make_unique<ManipulationTask>();
  if (name == "regression") return std::make_unique<RegressionTask>();
  if (name == "reward") return std::make_unique<RewardTask>();
  if (name == "text") return std::make_unique<TextTask>();
  std::string valid;
  for (const auto& n : task_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw Error(fmt::format("unknown task '{}' (valid: {})", name, valid));
}

}  // namespace dist2
