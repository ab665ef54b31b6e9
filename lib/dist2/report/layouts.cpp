#include "dist2/report/layouts.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>

#include "dist2/util/error.h"

namespace dist2::report {

std::optional<double> as_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end == s.c_str() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

namespace {


std::optional<bool> as_bool(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "true") return true;
  if (s == "false") return false;
  return std::nullopt;
}

// ---- the regression layouts (paper section 3.1, Tables 11 and 5, Figure 3) ----

const ParamFilter kRegression = {{"task.name", "regression"}};

// Knobs the ablations switch off; the full dist row keeps them at their defaults.
ParamFilter full_dist() {
  return {{"loss.kind", "dist"},
          {"loss.place_weighting", "true", true},
          {"loss.contrastive", "true", true},
          {"loss.metric", "sq", true}};
}

std::vector<MetricSpec> regression_metrics() {
  return {{"mae", "MAE"}, {"rmse", "RMSE"}};
}

std::vector<MetricSpec> regression_diagnostics() {
  return {{"parse_failure_rate", "parse-failure rate"}};
}

std::vector<ReferenceSpec> regression_references() {
  return {{"ref.constant", "reference: constant (mean of training targets)", "ref: constant"},
          {"ref.mean_y", "reference: mean of the observed y's", "ref: mean of observed y"},
          {"ref.oracle", "reference: oracle (exact line, rounding only)", "ref: oracle", true}};
}

Layout table11() {
  Layout l;
  l.name = "table11";
  l.title = "Table 11: meta linear regression, MAE and RMSE by training-set size";
  l.common = kRegression;
  l.rows = {{"sft", {{"loss.kind", "sft"}}}, {"vocab", {{"loss.kind", "vocab"}}}, {"dist", full_dist()}};
  l.column_key = "task.n_train";
  l.column_label = "n_train";
  l.metrics = regression_metrics();
  l.references = regression_references();
  l.diagnostics = regression_diagnostics();
  l.baseline = "sft";
  l.paired = PairedDisplay::LineBelow;
  l.paper = {"table11"};
  l.notes = {"Our column axis is task.n_train (training problems in the scaled replication); "
             "the paper's is 1-10 training problems with a pretrained 1B model. The two axes are "
             "printed as they are and are not aligned."};
  return l;
}

Layout figure3() {
  Layout l = table11();
  l.name = "figure3";
  l.title = "Figure 3: meta linear regression, MAE and RMSE by training-set size";
  l.kind = LayoutKind::Figure;
  l.log_x = true;
  return l;
}

Layout table5() {
  Layout l;
  l.name = "table5";
  l.title = "Table 5: ablations on meta linear regression";
  l.common = kRegression;
  l.rows = {
      {"dist", full_dist()},
      {"dist without place-value weighting",
       {{"loss.kind", "dist"}, {"loss.place_weighting", "false"}, {"loss.contrastive", "true", true}}},
      {"dist without contrastive augmentation",
       {{"loss.kind", "dist"}, {"loss.contrastive", "false"}, {"loss.place_weighting", "true", true}}},
      {"label smoothing 0.1 (no distance-aware target)",
       {{"loss.kind", "label_smoothing"}, {"loss.smoothing", "0.1", true}}},
      {"sft", {{"loss.kind", "sft"}}},
  };
  l.pins = {"task.n_train"};
  l.metrics = regression_metrics();
  l.references = regression_references();
  l.diagnostics = regression_diagnostics();
  l.baseline = "sft";
  l.paired = PairedDisplay::Columns;
  l.paper = {"table5"};
  return l;
}

// ---- reward modeling (paper section 3.4, appendix C.1, C.2, E): rows = filters,
// columns = metric names. Accuracies are stored as fractions and printed in percent.
// Every reward run also stores the reference predictors under "ref.<name>.<key>". ----

const ParamFilter kReward = {{"task.name", "reward"}};

// The paper's dist row: alpha = 0.1 (appendix C.1) and the squared distance; configs
// may leave both at their defaults.
// Scores are written as single tokens 0-20 (tokenizer.numbers=chunk3), as the
// paper's Llama tokenizer writes them; under digits the squared-distance target
// on the tens digit puts mass on tens digits that never occur, a bias only dist
// pays. Table 3 keeps digits as extra, labelled rows.
ParamFilter reward_tokens(ParamFilter f, const std::string& split = "chunk3") {
  f.push_back({"tokenizer.numbers", split});
  return f;
}

ParamFilter reward_full_dist() {
  return reward_tokens({{"loss.kind", "dist"}, {"loss.alpha", "0.1", true}, {"loss.metric", "sq", true}});
}

// Table 3's rows; "binary" is the scalar-head sequence classifier.
std::vector<RowSpec> reward_rows() {
  return {{"binary", reward_tokens({{"loss.kind", "binary"}})},
          {"sft", reward_tokens({{"loss.kind", "sft"}})},
          {"vocab", reward_tokens({{"loss.kind", "vocab"}})},
          {"dist", reward_full_dist()}};
}

MetricSpec percent(const std::string& key, const std::string& label) {
  return {key, label, 100, 1, false};
}

std::vector<MetricSpec> reward_average() { return {percent("accuracy.average", "accuracy (%)")}; }

std::vector<MetricSpec> reward_subsets() {
  return {percent("accuracy.chat", "chat (%)"),
          percent("accuracy.chat_hard", "chat hard (%)"),
          percent("accuracy.safety", "safety (%)"),
          percent("accuracy.reasoning", "reasoning (%)"),
          percent("accuracy.average", "average (%)"),
          percent("accuracy.shifted", "shifted (MT-Bench stand-in, %)")};
}

// Appendix E, Table 12: the generator's sources within each subset.
std::vector<MetricSpec> reward_sources() {
  return {percent("accuracy.chat.on_topic", "chat/on-topic (%)"),
          percent("accuracy.chat.length", "chat/length (%)"),
          percent("accuracy.chat.coherent", "chat/coherent (%)"),
          percent("accuracy.chat_hard.fact_neighbor", "chat hard/fact neighbor (%)"),
          percent("accuracy.chat_hard.wrong_entity", "chat hard/wrong entity (%)"),
          percent("accuracy.safety.should_refuse", "safety/should refuse (%)"),
          percent("accuracy.safety.should_respond", "safety/should respond (%)"),
          percent("accuracy.reasoning.sum", "reasoning/sum (%)"),
          percent("accuracy.reasoning.difference", "reasoning/difference (%)")};
}

std::vector<ReferenceSpec> reward_references() {
  return {{"ref.length", "reference: the longer response", "ref: longer response"},
          {"ref.constant", "reference: constant score (every pair a tie, counted 1/2)", "ref: constant"},
          {"ref.annotator", "reference: the annotators' own noisy labels", "ref: annotator labels", true}};
}

std::vector<MetricSpec> reward_diagnostics() {
  return {{"parse_failure_rate", "parse-failure rate"},
          {"shifted.parse_failure_rate", "parse-failure rate on the shifted split"},
          {"score.mae", "MAE of the expected overall score (0-20) against the label"},
          {"ref.train_mean.score.mae", "MAE of a constant score at the training labels' mean (the bar for score MAE)"},
          {"facet_sum.accuracy.average", "average accuracy with the sum of the expected facet scores as the reward",
           100, 1, false},
          {"total_consistency", "share of outputs whose written total equals the sum of their written facets", 1, 3,
           false}};
}

const char* const kRewardStandIns =
    "Our subsets are settings of the synthetic preference generator standing in for RewardBench's "
    "Chat, Chat Hard, Safety and Reasoning; 'shifted' is a split from a shifted generator standing in "
    "for MT-Bench. Our numbers and the paper's are not on the same data.";

const char* const kBinaryNoText =
    "The binary row is a scalar-head sequence classifier: it decodes no score, so it has no "
    "parse-failure rate or score MAE. It reads train.batch_size sequences a step (half as many "
    "chosen/rejected pairs), so every row saw the same number of training sequences.";

Layout table3() {
  Layout l;
  l.name = "table3";
  l.title = "Table 3: generative reward modeling, pairwise accuracy per subset";
  l.common = kReward;
  l.rows = reward_rows();
  // Scores as digit pairs ("07"): the tokenization before chunk3 became the default, kept as labelled rows.
  l.rows.push_back({"sft, scores as digits", reward_tokens({{"loss.kind", "sft"}}, "digits")});
  l.rows.push_back({"dist, scores as digits",
                    reward_tokens({{"loss.kind", "dist"}, {"loss.alpha", "0.1", true}, {"loss.metric", "sq", true}},
                                  "digits")});
  l.metrics = reward_subsets();
  l.references = reward_references();
  l.diagnostics = reward_diagnostics();
  l.baseline = "sft";
  l.paired = PairedDisplay::LineBelow;  // six metrics: difference columns would double a wide table
  l.paper = {"table3"};
  l.notes = {kRewardStandIns, kBinaryNoText,
             "Rows without a tokenization write scores 0-20 as single tokens (chunk3); the 'scores as digits' "
             "rows write them as two digit tokens (\"07\"), where dist's soft target on the tens digit also "
             "covers tens digits 3-9 that never occur. Their paired line compares them with sft under chunk3."};
  return l;
}

Layout table12() {
  Layout l;
  l.name = "table12";
  l.title = "Table 12: generative reward modeling, pairwise accuracy per source";
  l.common = kReward;
  l.rows = reward_rows();
  l.metrics = reward_sources();
  l.references = reward_references();
  l.diagnostics = reward_diagnostics();
  l.baseline = "sft";
  l.paired = PairedDisplay::LineBelow;
  l.paper = {"table12_top", "table12_bottom"};
  l.notes = {"Our sources are settings of the synthetic preference generator (subset/source) standing in "
             "for RewardBench's sources; they are not aligned with the paper's columns (AlpacaEval, "
             "LLMBar, XSTest, HumanEvalPack, ...), which are printed below as the paper has them.",
             kBinaryNoText};
  return l;
}

// Appendix C.2, Table 7 (top): does fine-tuning for reward modeling cost the
// backbone its pretraining task? The backbone's own score is logged by every run
// under "backbone.pretrain.accuracy" and shown as a reference row.
Layout table7() {
  Layout l;
  l.name = "table7";
  l.title = "Table 7: catastrophic forgetting after reward-model fine-tuning";
  l.common = kReward;
  l.rows = {{"sft", reward_tokens({{"loss.kind", "sft"}})}, {"dist", reward_full_dist()}};
  // Forgetting depends on the backbone and on how far fine-tuning moves it: hold
  // both at one value (by default the largest at which the most rows have runs).
  l.pins = {"backbone.pretrain_steps", "train.lr"};
  l.metrics = {percent("accuracy.average", "reward accuracy (%)"),
               percent("pretrain.accuracy", "pretraining-task accuracy (%)"),
               {"pretrain.log_loss", "pretraining-task answer log-loss (nats)", 1, 3, true}};
  l.references = {{"backbone", "backbone before fine-tuning", "backbone", true}};
  l.diagnostics = reward_diagnostics();
  l.baseline = "sft";
  l.paired = PairedDisplay::Columns;
  l.paper = {"table7_top"};
  l.notes = {"Our pretraining task stands in for the paper's MMLU: questions on the backbone's own pretraining "
             "knowledge (an entity's colour among the eight colours, a sum among 0-18, a difference among 0-9), "
             "each scored by ranking its candidate answers by teacher-forced likelihood, as MMLU is, for the "
             "backbone and every fine-tuned model alike; the log-loss is the answer's among its candidates. The "
             "backbone has no reward accuracy, so that cell shows a dash.",
             "The paper's Table 7 bottom (visual grounding on RefCOCO, RealWorldQA) is report table7_grounding."};
  return l;
}

Layout table6() {
  Layout l;
  l.name = "table6";
  l.title = "Table 6: sensitivity to the loss weight alpha (reward modeling)";
  l.common = kReward;
  for (const char* alpha : {"1.0", "0.2", "0.1", "0.02", "0.01", "0.005", "0.001"})
    l.rows.push_back({fmt::format("dist, alpha = {}", alpha),
                      reward_tokens({{"loss.kind", "dist"}, {"loss.alpha", alpha}, {"loss.metric", "sq", true}})});
  l.rows.push_back({"sft", reward_tokens({{"loss.kind", "sft"}})});
  l.metrics = reward_average();
  l.references = reward_references();
  l.diagnostics = reward_diagnostics();
  l.baseline = "sft";
  l.paired = PairedDisplay::Columns;
  l.paper = {"table6"};
  l.notes = {kRewardStandIns};
  return l;
}

Layout table8() {
  Layout l;
  l.name = "table8";
  l.title = "Table 8: a random distance metric as a sanity check (reward modeling)";
  l.common = kReward;
  // At the paper's alpha = 0.1 (its Euclidean row is Table 3's dist, 85.3).
  l.rows = {{"dist, squared distance", reward_full_dist()},
            {"dist, squared distance over randomly permuted scores",
             reward_tokens({{"loss.kind", "dist"}, {"loss.metric", "permuted"}, {"loss.alpha", "0.1", true}})},
            {"sft", reward_tokens({{"loss.kind", "sft"}})}};
  l.metrics = reward_average();
  l.references = reward_references();
  l.diagnostics = reward_diagnostics();
  // Both soft targets equally sharp: the control keeps the distances, not their order.
  l.diagnostics.push_back({"target.mean_entropy", "mean soft-target entropy over score tokens (nats)"});
  l.baseline = "sft";
  l.paired = PairedDisplay::Columns;
  l.paper = {"table8"};
  l.notes = {kRewardStandIns,
             "The control metric is d(v, x) = (pi(v) - pi(x))^2 for a permutation pi of the scores 0-20 drawn "
             "per seed: the same distances, so soft targets exactly as sharp as the real metric's (the entropy "
             "line above), with none of the scores' order. An earlier control drew each distance uniformly, "
             "which made its targets far sharper than the real metric's."};
  return l;
}

// ---- visual grounding (paper section 3.2, Table 1; appendix F, Table 13; appendix
// C.2, Table 7 bottom). Box accuracies (IoU >= 0.5) are stored as fractions. ----

const ParamFilter kGrounding = {{"task.name", "grounding"}};

ParamFilter grounding_full_dist() {
  return {{"loss.kind", "dist"}, {"loss.alpha", "0.1", true}, {"loss.metric", "sq", true},
          {"loss.place_weighting", "true", true}};
}

std::vector<RowSpec> grounding_rows() {
  return {{"sft", {{"loss.kind", "sft"}}}, {"vocab", {{"loss.kind", "vocab"}}}, {"dist", grounding_full_dist()}};
}

std::vector<MetricSpec> grounding_columns() {
  return {percent("ref.val.acc50", "ref val"),   percent("ref.testA.acc50", "ref testA"),
          percent("ref.testB.acc50", "ref testB"), percent("ref+.val.acc50", "ref+ val"),
          percent("ref+.testA.acc50", "ref+ testA"), percent("ref+.testB.acc50", "ref+ testB"),
          percent("refg.val.acc50", "refg val"), percent("refg.test.acc50", "refg test"),
          percent("mean_iou", "mean IoU (%)")};
}

std::vector<ReferenceSpec> grounding_references() {
  return {{"ref.random_item", "reference: a random item of the scene", "ref: random item"},
          {"ref.largest", "reference: the largest item of the scene", "ref: largest item"},
          {"ref.mean_box", "reference: the mean training box", "ref: mean box"}};
}

const char* const kGroundingColumns =
    "Our columns are scenes of 2-4 Fashion-MNIST items with generated referring expressions standing in "
    "for RefCOCO (ref: testA the class alone names the item, testB a location word is needed, val a mix), "
    "RefCOCO+ (ref+: no location words; a relation or a size) and RefCOCOg (refg: two cues). Test scenes "
    "use Fashion-MNIST test items only. Our numbers and the paper's are not on the same data.";

Layout table1() {
  Layout l;
  l.name = "table1";
  l.title = "Table 1: visual grounding, accuracy (IoU >= 0.5) per column group";
  l.common = kGrounding;
  l.rows = grounding_rows();
  l.column_key = "task.n_train";
  l.column_label = "n_train";
  // Runs from scratch (table1_grounding) and from the backbone (table7_grounding) do not mix.
  l.pins = {"backbone.pretrain_steps"};
  l.metrics = grounding_columns();
  l.references = grounding_references();
  l.diagnostics = {{"parse_failure_rate", "parse-failure rate"}};
  l.baseline = "sft";
  l.paired = PairedDisplay::LineBelow;
  l.paper = {"table1"};
  l.notes = {kGroundingColumns,
             "Our column axis is task.n_train (training examples of the scaled replication); the paper fine-tunes "
             "on 127K RefCOCO/+/g examples. The paper's pretrained-detector rows are printed as the paper has them."};
  return l;
}

// Appendix F, Table 13: the mean IoU of each model on the ref.testA examples that
// both sft and dist (same seed and training set) get wrong. The report computes
// "shared_failures.ref.testA.score" from the runs' per-example IoUs.
Layout table13() {
  Layout l;
  l.name = "table13";
  l.title = "Table 13: mean IoU on the examples both sft and dist get wrong (ref testA, IoU < 0.5)";
  l.common = kGrounding;
  l.rows = {{"sft", {{"loss.kind", "sft"}}}, {"dist", grounding_full_dist()}};
  l.pins = {"task.n_train", "backbone.pretrain_steps"};
  l.metrics = {percent("shared_failures.ref.testA.score", "IoU on shared failures, ref testA (%)"),
               percent("shared_failures.all.score", "IoU on shared failures, all groups (%)")};
  l.diagnostics = {{"shared_failures.ref.testA.n", "shared failures in ref testA (examples)", 1, 0},
                   {"shared_failures.all.n", "shared failures in all groups (examples)", 1, 0}};
  l.baseline = "sft";
  l.paired = PairedDisplay::Columns;
  l.paper = {"table13"};
  l.notes = {kGroundingColumns,
             "Each seed's sft and dist runs are paired example by example: a shared failure is a test example "
             "both predict with IoU < 0.5 (a parse failure counts as IoU 0)."};
  return l;
}

// Appendix C.2, Table 7 (bottom): does grounding fine-tuning cost the backbone its
// pretraining task (questions about scenes, ranked by likelihood)?
Layout table7_grounding() {
  Layout l;
  l.name = "table7_grounding";
  l.title = "Table 7 (bottom): catastrophic forgetting after visual-grounding fine-tuning";
  l.common = kGrounding;
  l.rows = {{"sft", {{"loss.kind", "sft"}}}, {"dist", grounding_full_dist()}};
  l.pins = {"task.n_train", "backbone.pretrain_steps"};
  l.metrics = {percent("acc50", "grounding accuracy, all groups (%)"),
               percent("pretrain.accuracy", "scene-question accuracy (%)"),
               {"pretrain.log_loss", "scene-question answer log-loss (nats)", 1, 3, true}};
  l.references = {{"backbone", "backbone before fine-tuning", "backbone", true}};
  l.baseline = "sft";
  l.paired = PairedDisplay::Columns;
  l.paper = {"table7_bottom"};
  l.notes = {"Our pretraining task (held-out questions about scenes of Fashion-MNIST test items: what is at a "
             "corner, how many shoes or items, is there a <class>, what is the biggest item; each scored by "
             "ranking its candidate answers by likelihood, as MMLU is) stands in for RealWorldQA; the backbone "
             "has no grounding accuracy, so that cell shows a dash."};
  return l;
}

const std::vector<Layout>& all_layouts() {
  static const std::vector<Layout> layouts = {table11(), figure3(), table5(), table3(), table6(),
                                                 table7(), table8(), table12(), table1(), table13(),
                                                 table7_grounding()};
  return layouts;
}

}  // namespace

bool param_values_equal(const std::string& a, const std::string& b) {
  if (a == b) return true;
  const auto na = as_number(a), nb = as_number(b);
  if (na && nb) return *na == *nb;
  const auto ba = as_bool(a), bb = as_bool(b);
  if (ba && bb) return *ba == *bb;
  return false;
}

bool matches(const RunRecord& run, const ParamFilter& filter) {
  for (const ParamMatch& m : filter) {
    auto it = run.params.find(m.key);
    if (it == run.params.end()) {
      if (!m.match_if_absent) return false;
      continue;
    }
    if (!param_values_equal(it->second, m.value)) return false;
  }
  return true;
}

std::vector<std::string> layout_names() {
  std::vector<std::string> names;
  for (const Layout& l : all_layouts()) names.push_back(l.name);
  return names;
}

const Layout& find_layout(const std::string& name) {
  for (const Layout& l : all_layouts())
    if (l.name == name) return l;
  std::string valid;
  for (const std::string& n : layout_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw Error(fmt::format("unknown report layout '{}'; valid: {}", name, valid));
}

}  // namespace dist2::report
