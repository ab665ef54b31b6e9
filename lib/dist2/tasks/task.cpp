// What the Task and Predictor interfaces provide themselves.
#include "dist2/tasks/task.h"

#include <algorithm>
#include <cmath>

#include "dist2/util/error.h"

namespace dist2 {

double knowledge_accuracy(const std::vector<KnowledgeItem>& items, Predictor& model) {
  if (items.empty()) return NAN;
  std::vector<std::string> prompts;
  int64_t longest = 1;
  for (const auto& q : items) {
    prompts.push_back(q.prompt);
    longest = std::max<int64_t>(longest, static_cast<int64_t>(model.tokenizer().encode_ids(q.answer).size()));
  }
  const auto gens = model.generate(prompts, longest);
  int64_t right = 0;
  for (size_t i = 0; i < items.size(); ++i) right += gens[i].text.rfind(items[i].answer, 0) == 0;
  return static_cast<double>(right) / static_cast<double>(items.size());
}

std::vector<double> Predictor::scalar_scores(const std::vector<std::string>&) {
  throw Error("this model has no scalar head (only loss.kind=binary trains one)");
}

}  // namespace dist2
