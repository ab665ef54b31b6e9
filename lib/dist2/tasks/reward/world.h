#pragma once
// The generator behind the `reward` task: a scaled stand-in for HelpSteer2
// (training data) and RewardBench / MT-Bench (held-out preference pairs), paper
// section 3.4 and appendix D.2. Neither the data nor an 8B model is available
// here, so instruction-response pairs are generated from a small "world" whose
// facts a backbone learns in pretraining, and every facet score follows from an
// observable property of the text:
//   helpfulness  does the response answer what was asked (topic, entity, refusal
//                of a harmful request, no refusal of a benign one; harm depends
//                on the request's verb and object together)
//   correctness  is the fact or the arithmetic in it right
//   coherence    is the word order intact or scrambled
//   complexity   vocabulary level (advanced words of the topic)
//   verbosity    length
// Facets are 0-4; annotators perturb each by +-1 with probability `noise`; the
// overall score is the sum of the (noisy) facets, 0-20, as the paper sums them.
#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace dist2::reward {

// The facts a backbone learns in pretraining: entity names and their colours.
// Fixed by world_seed, shared by every seed of an experiment (as one pretrained
// LLM is shared by all of the paper's runs).
struct World {
  std::vector<std::string> entities;  // 4-letter names, e.g. "bemo"
  std::vector<int> color;             // index into colors() per entity
};
World make_world(uint64_t world_seed, int n_entities);
// Colours and topics; every colour has 4 letters so a wrong colour keeps the length.
const std::vector<std::string>& colors();
const std::vector<std::string>& topics();
// The refusals a response to a safety request may be (several phrasings and lengths).
const std::vector<std::string>& refusals();
bool is_refusal(const std::string& response);
// Safety requests, "how do i <verb> <object>?", over invented words; harmful or
// benign by the verb and the object together (neither alone tells).
const std::vector<std::string>& safety_verbs();
const std::vector<std::string>& safety_objects();
bool safety_harmful(int verb, int object);
struct SafetyRequest {
  int verb = 0, object = 0;
};
// The verb and object of a safety instruction (either template), or nullopt.
std::optional<SafetyRequest> safety_request(const std::string& instruction);

using Facets = std::array<int, 5>;  // helpfulness, correctness, coherence, complexity, verbosity
const std::array<const char*, 5>& facet_names();
int overall(const Facets& f);  // sum, 0-20

// One scored response to one instruction.
struct Response {
  std::string instruction, text;
  Facets truth{};   // noise-free facets
  Facets label{};   // the annotators' facets (truth with noise)
};

// Prompt and completion of the training format (paper figure 5, scaled):
//   "Q:<instruction>|A:<response>|S:"  ->  "h,c,o,x,v,OO"  (overall 2 digits)
std::string prompt_text(const Response& r);
std::string completion_text(const Facets& f);

// A held-out preference pair; `chosen` has the higher noise-free overall score.
struct Pair {
  Response chosen, rejected;
  std::string subset;  // chat, chat_hard, safety, reasoning
  std::string source;  // e.g. "chat.length", "reasoning.sum"
};
// The nine sources in report order ("chat.on_topic", ...), and each one's subset.
const std::vector<std::string>& sources();
std::string subset_of(const std::string& source);

struct GenOptions {
  double noise = 0.2;    // per facet: probability of a +-1 annotator error
  bool shifted = false;  // other phrasings and the verbose answers (the MT-Bench stand-in)
};

class Generator {
 public:
  Generator(const World& world, const GenOptions& opt, uint64_t seed);
  // One instruction with two responses of independently drawn quality (HelpSteer2
  // has several responses per prompt); labels carry annotator noise.
  std::array<Response, 2> training_instruction();
  // A held-out pair from one source; truth only matters (labels also noisy).
  Pair pair(const std::string& source);
  // A pair from a source drawn uniformly (the shifted split mixes all sources).
  Pair any_pair();

 private:
  Response chat(int topic, bool on_topic, bool coherent, int n_words, int n_advanced);
  Response fact(int entity, int told_entity, int told_color, bool verbose);
  Response arithmetic(bool sum, int a, int b, int answer, bool verbose);
  // "how do i <verb> <object>?" answered or refused; harmful or benign by verb and object together.
  Response safety(int verb, int object, bool refuse);
  // A harmful or benign (verb, object) index pair of the training part, or of the held-out part (test pairs).
  std::pair<int, int> safety_combination(bool held_out, bool harmful);
  std::string ask(const std::string& plain) const;  // instruction template (shifted: other)
  Response& label(Response& r);
  int uniform(int lo, int hi);  // inclusive
  bool coin(double p);

  const World& world_;
  GenOptions opt_;
  std::mt19937_64 rng_;
};

// The backbone's pretraining task (our MMLU stand-in): plain text about the world
// (facts, sums and differences, coherent topic sentences), and multiple-choice
// questions on the same knowledge, scored by ranking the candidates' likelihood
// ("bemo is" -> " blue." among every colour; "3+4=" -> "7." among 0-18).
struct PretrainItem {
  std::string prompt, answer;
  std::vector<std::string> candidates;
};
std::vector<std::string> pretraining_corpus(const World& world, uint64_t seed, int n_sentences);
std::vector<PretrainItem> pretraining_questions(const World& world);

}  // namespace dist2::reward
