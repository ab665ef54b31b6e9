// The paper's numbers, transcribed from paper/dist2loss-paper.md (DIST²Loss, the
// Markdown rendering of the paper shipped with the design card). Values are kept
// as the paper prints them (e.g. "0.2", not "0.200"). Each table names the section
// and table it was read from; rows keep the paper's order.
#include "dist2/report/paper_numbers.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

#include "dist2/util/error.h"

namespace dist2::report {

namespace {

// Appendix E, Table 11 (the numbers behind Figure 3, section 3.1). The paper prints
// two blocks (1-5 and 6-10 training problems); here each row runs 1..10, four
// values per column group.
PaperTable table11() {
  PaperTable t;
  t.id = "table11";
  t.caption = "Meta linear regression on one to ten training problems and 1,000 test problems, "
              "scores averaged over five random seeds";
  t.source = "paper appendix E, Table 11 (data of Figure 3, section 3.1)";
  t.model = "Llama-3.2 1B";
  t.axis_label = "training problems";
  t.axis_values = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"};
  t.value_labels = {"MAE mean", "MAE std", "RMSE mean", "RMSE std"};
  t.rows = {
      {"Llama-3.2 1B-sft", "sft", "",
       {
           "0.2", "0.039", "0.243", "0.05",     // 1
           "0.182", "0.014", "0.221", "0.02",   // 2
           "0.17", "0.039", "0.216", "0.056",   // 3
           "0.152", "0.018", "0.2", "0.035",    // 4
           "0.159", "0.03", "0.211", "0.042",   // 5
           "0.144", "0.024", "0.185", "0.032",  // 6
           "0.129", "0.011", "0.173", "0.02",   // 7
           "0.119", "0.017", "0.154", "0.019",  // 8
           "0.115", "0.012", "0.154", "0.022",  // 9
           "0.113", "0.016", "0.154", "0.025",  // 10
       }},
      {"Llama-3.2 1B-vocab", "vocab", "",
       {
           "0.2", "0.039", "0.243", "0.05",     // 1
           "0.157", "0.022", "0.202", "0.023",  // 2
           "0.167", "0.031", "0.215", "0.05",   // 3
           "0.127", "0.007", "0.166", "0.016",  // 4
           "0.133", "0.006", "0.172", "0.009",  // 5
           "0.122", "0.016", "0.162", "0.017",  // 6
           "0.141", "0.034", "0.189", "0.046",  // 7
           "0.122", "0.029", "0.164", "0.035",  // 8
           "0.122", "0.014", "0.163", "0.023",  // 9
           "0.111", "0.008", "0.151", "0.014",  // 10
       }},
      {"Llama-3.2 1B-dist", "dist", "",
       {
           "0.21", "0.032", "0.259", "0.037",   // 1
           "0.17", "0.006", "0.212", "0.008",   // 2
           "0.147", "0.032", "0.198", "0.035",  // 3
           "0.114", "0.017", "0.146", "0.022",  // 4
           "0.122", "0.023", "0.165", "0.032",  // 5
           "0.113", "0.018", "0.153", "0.021",  // 6
           "0.104", "0.013", "0.148", "0.031",  // 7
           "0.104", "0.035", "0.15", "0.081",   // 8
           "0.112", "0.053", "0.163", "0.093",  // 9
           "0.092", "0.017", "0.124", "0.026",  // 10
       }},
  };
  t.note = "the paper's column axis is 1-10 training problems (each a distinct regression "
           "function), with the pretrained 1B backbone; it is not our n_train axis";
  return t;
}

// Section 3.6, Table 5 ("Ablation results on meta linear regression over 10 random
// seeds"). The paper does not state the number of training problems for it; its
// dist and sft rows equal Table 11 at 10 training problems (which says five seeds).
PaperTable table5() {
  PaperTable t;
  t.id = "table5";
  t.caption = "Ablation results on meta linear regression over 10 random seeds";
  t.source = "paper section 3.6, Table 5";
  t.model = "Llama-3.2 1B";
  t.value_labels = {"MAE mean", "MAE std", "RMSE mean", "RMSE std"};
  t.rows = {
      {"Llama-dist", "dist", "", {"0.092", "0.017", "0.124", "0.026"}},
      {"- Place value weighting", "dist", "", {"0.098", "0.016", "0.137", "0.032"}},
      {"- Contrastive loss", "dist", "", {"0.099", "0.015", "0.139", "0.020"}},
      {"- Distance-aware target", "label_smoothing", "", {"0.099", "0.016", "0.142", "0.035"}},
      {"Llama-sft", "sft", "", {"0.113", "0.016", "0.154", "0.025"}},
  };
  t.note = "'- Distance-aware target' is label smoothing 0.1 in place of the distance target "
           "(section 3.6); the paper does not state the number of training problems, and its "
           "dist and sft rows equal Table 11 at 10 training problems";
  return t;
}

// Section 3.4, Table 3 (reward modeling on RewardBench and MT-Bench, accuracy %).
// The dist row's "(↑ x)" annotations are the printed differences from sft and are
// left out here; the note column holds the paper's Type and #Data columns.
PaperTable table3() {
  PaperTable t;
  t.id = "table3";
  t.caption = "Reward modeling on RewardBench and MT-Bench, classification accuracy (%)";
  t.source = "paper section 3.4, Table 3";
  t.model = "Llama-3.1-8B";
  t.value_labels = {"RewardBench Chat", "RewardBench Chat Hard", "RewardBench Safety",
                    "RewardBench Reasoning", "RewardBench Average", "MT-Bench"};
  t.rows = {
      {"UltraRM-13B (Cui et al., 2024)", "", "Seq. Classifier; 64K (Cui et al., 2024)",
       {"96.4", "55.5", "59.9", "62.4", "68.5", "91.4"}},
      {"Tulu-v2.5-RM-13B (Iverson et al., 2024)", "", "Seq. Classifier; 64K (Cui et al., 2024)",
       {"39.4", "42.3", "55.5", "47.4", "46.1", "56.2"}},
      {"Tulu-v2.5-RM-13B (Iverson et al., 2024)", "", "Seq. Classifier; 2M (Iverson et al., 2024)",
       {"93.6", "68.2", "77.3", "88.5", "81.9", "91.4"}},
      {"GPT-3.5 (Brown et al., 2020)", "", "Generative; -",
       {"92.2", "44.5", "65.5", "59.1", "65.3", "83.3"}},
      {"Claude-3-haiku (Anthropic, 2024)", "", "Generative; -",
       {"73.7", "92.7", "52.0", "79.5", "70.6", "82.9"}},
      {"Prometheus-2-7B (Kim et al., 2024b)", "", "Generative; 300K (Kim et al., 2024a)",
       {"85.5", "49.1", "77.1", "76.5", "72.0", "75.8"}},
      {"Llama (AI@Meta, 2024)-binary", "binary", "Seq. Classifier; 21K (Wang et al., 2024b)",
       {"83.8", "34.7", "39.9", "73.5", "58.0", "62.8"}},
      {"Llama-sft", "sft", "Generative; 21K (Wang et al., 2024b)",
       {"89.1", "49.3", "79.2", "83.9", "75.3", "87.3"}},
      {"Llama-dist", "dist", "Generative; 21K (Wang et al., 2024b)",
       {"95.0", "69.1", "86.5", "90.4", "85.3", "88.1"}},
  };
  t.note = "backbone meta-llama/Llama-3.1-8B-Instruct (footnote 3, Table 9)";
  return t;
}

// Appendix C.1, Table 6 (sensitivity to the loss weight alpha, reward modeling).
PaperTable table6() {
  PaperTable t;
  t.id = "table6";
  t.caption = "Hyperparameter sensitivity to the loss weight alpha, reward modeling";
  t.source = "paper appendix C.1, Table 6";
  t.model = "Llama-3.1-8B";
  t.value_labels = {"Accuracy (%)"};
  t.rows = {
      {"alpha = 1.0", "dist", "", {"77.3"}},   {"alpha = 0.2", "dist", "", {"77.8"}},
      {"alpha = 0.1", "dist", "", {"85.3"}},   {"alpha = 0.02", "dist", "", {"80.7"}},
      {"alpha = 0.01", "dist", "", {"79.9"}},  {"alpha = 0.005", "dist", "", {"76.7"}},
      {"alpha = 0.001", "dist", "", {"75.6"}}, {"SFT", "sft", "", {"75.4"}},
  };
  t.note = "the paper's SFT here reads 75.4; Tables 3, 7, 8 and 12 print 75.3";
  return t;
}

// Appendix C.2, Table 7, top half (catastrophic forgetting, reward modeling).
PaperTable table7_top() {
  PaperTable t;
  t.id = "table7_top";
  t.caption = "Catastrophic forgetting: reward modeling, MMLU";
  t.source = "paper appendix C.2, Table 7 (top)";
  t.model = "Llama-3.1-8B";
  t.value_labels = {"Reward Accuracy (%)", "MMLU Accuracy (%)"};
  t.rows = {
      {"Backbone (Llama-3.1-8B)", "", "", {"-", "44.5"}},
      {"SFT", "sft", "", {"75.3", "42.8"}},
      {"DIST2 Loss", "dist", "", {"85.3", "43.9"}},
  };
  return t;
}

// Appendix C.2, Table 7, bottom half (visual grounding, RealWorldQA).
PaperTable table7_bottom() {
  PaperTable t;
  t.id = "table7_bottom";
  t.caption = "Catastrophic forgetting: visual grounding, RealWorldQA";
  t.source = "paper appendix C.2, Table 7 (bottom)";
  t.model = "Phi-3.5V";
  t.value_labels = {"RealWorldQA Accuracy (%)"};
  t.rows = {
      {"Backbone (Phi-3.5V)", "", "", {"54.4"}},
      {"DIST2 Loss on RefCOCO", "dist", "", {"54.3"}},
  };
  return t;
}

// Appendix C.2, Table 8 (a random distance metric as a sanity check, reward modeling).
PaperTable table8() {
  PaperTable t;
  t.id = "table8";
  t.caption = "Sanity check with a contradictory (random) metric, reward modeling";
  t.source = "paper appendix C.2, Table 8";
  t.model = "Llama-3.1-8B";
  t.value_labels = {"Accuracy (%)"};
  t.rows = {
      {"DIST2 Loss (Euclidean)", "dist", "", {"85.3"}},
      {"DIST2 Loss (Random)", "dist", "", {"76.0"}},
      {"SFT", "sft", "", {"75.3"}},
  };
  return t;
}

// Appendix E, Table 12, first block (RewardBench subsets). Column labels as the
// paper's header prints them; the eleventh value column sits under "Refusal" with
// no sub-header there, and the two trailing columns print "-" for every row.
PaperTable table12_top() {
  PaperTable t;
  t.id = "table12_top";
  t.caption = "Fine-grained RewardBench accuracy (%), first block";
  t.source = "paper appendix E, Table 12 (first block)";
  t.model = "Llama-3.1-8B";
  t.value_labels = {"Average", "AlpacaEval Easy", "AlpacaEval Hard", "AlpacaEval Length",
                    "Do-Not-Answer", "HumanEvalPack CPP", "HumanEvalPack GO",
                    "HumanEvalPack Java", "HumanEvalPack JavaScript", "HumanEvalPack Python",
                    "Refusal", "Should Refuse", "Should Respond"};
  t.rows = {
      {"Llama-3.1-8B (AI@Meta, 2024)-binary", "binary", "Seq. Classifier",
       {"58", "94.5", "94.7", "76.3", "16.9", "54.9", "55.8", "56.1", "52.4", "48.5", "56.7", "-", "-"}},
      {"Llama-3.1-8B-sft", "sft", "Generative",
       {"75.3", "89.0", "97.9", "77.9", "44.9", "84.1", "80.5", "89.0", "83.5", "84.1", "81.1", "-", "-"}},
      {"Llama-3.1-8B-dist", "dist", "Generative",
       {"85.3", "97.0", "98.9", "88.4", "78.7", "89.6", "90.2", "89.6", "87.8", "90.2", "85.4", "-", "-"}},
  };
  t.note = "the column printed under 'Refusal' follows the five HumanEvalPack languages; "
           "RewardBench's HumanEvalPack also has a Rust subset, which it may be";
  return t;
}

// Appendix E, Table 12, second block (RewardBench subsets, continued).
PaperTable table12_bottom() {
  PaperTable t;
  t.id = "table12_bottom";
  t.caption = "Fine-grained RewardBench accuracy (%), second block";
  t.source = "paper appendix E, Table 12 (second block)";
  t.model = "Llama-3.1-8B";
  t.value_labels = {"LLMBar Adver. GPTInst", "LLMBar Adver. GPTOut", "LLMBar Adver. Manual",
                    "LLMBar Adver. Neighbor", "LLMBar Natural", "MATH PRM", "MT-Bench Easy",
                    "MT-Bench Hard", "MT-Bench Medium", "Refusal Dangerous", "Refusal Offensive",
                    "XSTest Should Refuse", "XSTest Should Respond"};
  t.rows = {
      {"Llama-3.1-8B-binary", "binary", "",
       {"13.6", "36.2", "23.9", "24.6", "61.5", "92.8", "64.3", "62.1", "62.5", "0.4", "0.3", "22.7", "92.0"}},
      {"Llama-3.1-8B-sft", "sft", "",
       {"32.6", "63.8", "32.6", "29.1", "82.0", "84.1", "96.4", "78.3", "90.0", "93.0", "99.0", "92.9", "76.0"}},
      {"Llama-3.1-8B-dist", "dist", "",
       {"57.6", "72.3", "67.4", "63.4", "84.0", "84.1", "100.0", "75.7", "92.5", "96.0", "100", "94.8", "88.0"}},
  };
  return t;
}

// Section 3.2, Table 1 (visual grounding on RefCOCO, RefCOCO+, RefCOCOg).
PaperTable table1() {
  PaperTable t;
  t.id = "table1";
  t.caption = "RefCOCO/RefCOCO+/RefCOCOg visual grounding, accuracy (IoU >= 0.5, %); Phi3V fine-tuned without "
              "grounding pretraining, the other models pretrained on detection data";
  t.source = "paper section 3.2, Table 1";
  t.model = "Phi-3.5V";
  t.value_labels = {"RefCOCO val", "RefCOCO test-A", "RefCOCO test-B", "RefCOCO+ val", "RefCOCO+ test-A",
                    "RefCOCO+ test-B", "RefCOCOg val", "RefCOCOg test"};
  t.rows = {
      {"UNINEXT (Yan et al., 2023)", "", "#PT 600K; #FT 127K",
       {"92.6", "94.3", "91.5", "85.2", "89.6", "79.8", "88.7", "89.4"}},
      {"Ferret (You et al., 2024)", "", "#PT 1.1M; #FT 127K",
       {"89.5", "92.4", "84.4", "82.8", "88.1", "75.2", "85.8", "86.3"}},
      {"Ferretv2 (Zhang et al., 2024a)", "", "#PT 1.1M; #FT 127K",
       {"92.8", "94.7", "88.7", "87.4", "92.8", "79.3", "89.4", "89.3"}},
      {"Florence-2-B (Xiao et al., 2024)", "", "#PT 126M; #FT 127K",
       {"92.6", "94.8", "91.5", "86.8", "91.7", "82.2", "89.8", "82.2"}},
      {"Florence-2-L (Xiao et al., 2024)", "", "#PT 126M; #FT 127K",
       {"93.4", "95.3", "92.0", "88.3", "92.9", "83.6", "91.2", "91.7"}},
      {"Phi3V (Abdin et al., 2024)-sft", "sft", "#PT 0; #FT 127K",
       {"94.3", "93.5", "86.0", "85.9", "91.6", "78.7", "92.2", "87.4"}},
      {"Phi3V-vocab", "vocab", "#PT 0; #FT 127K", {"94.5", "93.2", "86.0", "85.9", "90.6", "78.2", "92.4", "87.6"}},
      {"Phi3V-dist", "dist", "#PT 0; #FT 127K", {"94.8", "94.5", "87.3", "87.1", "92.2", "81.4", "92.8", "88.0"}},
  };
  t.note = "the paper prints each vocab/dist value with its change from sft in parentheses; only the values are kept "
           "(its arrows are garbled in the source: vocab's RefCOCO+ test-B reads \"78.2 (up 0.5)\" beside sft's 78.7)";
  return t;
}

// Appendix F, Table 13 (visual grounding: IoU on the examples both models get wrong).
PaperTable table13() {
  PaperTable t;
  t.id = "table13";
  t.caption = "Metric sensitivity on hard cases: mean IoU on RefCOCO testA examples where both models predict the "
              "wrong box (IoU < 0.5)";
  t.source = "paper appendix F, Table 13";
  t.model = "Phi-3.5V";
  t.value_labels = {"IoU (RefCOCO testA, hard cases)"};
  t.rows = {
      {"SFT", "sft", "", {"31.0"}},
      {"DIST2 Loss", "dist", "", {"40.3"}},
  };
  return t;
}

const std::map<std::string, PaperTable>& all_tables() {
  static const std::map<std::string, PaperTable> tables = [] {
    std::map<std::string, PaperTable> m;
    for (PaperTable t : {table1(), table3(), table5(), table6(), table7_top(), table7_bottom(), table8(),
                         table11(), table12_top(), table12_bottom(), table13()})
      m.emplace(t.id, std::move(t));
    return m;
  }();
  return tables;
}

}  // namespace

const PaperTable& paper_table(const std::string& id) {
  const auto& tables = all_tables();
  auto it = tables.find(id);
  if (it == tables.end()) {
    std::string valid;
    for (const auto& [name, _] : tables) valid += (valid.empty() ? "" : ", ") + name;
    throw Error(fmt::format("unknown paper table '{}'; valid: {}", id, valid));
  }
  return it->second;
}

std::vector<std::string> paper_table_ids() {
  std::vector<std::string> ids;
  for (const auto& [name, _] : all_tables()) ids.push_back(name);
  return ids;
}

double paper_value(const std::string& printed) {
  if (printed.empty()) return std::numeric_limits<double>::quiet_NaN();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(printed.c_str(), &end);
  if (errno != 0 || end == printed.c_str() || *end != '\0') return std::numeric_limits<double>::quiet_NaN();
  return v;
}

}  // namespace dist2::report
