#pragma once
// A small deterministic tokenizer for the tasks: special tokens, number tokens,
// and one token per printable ASCII character. Number tokens form the metric
// sub-vocabulary V_d, and their values come from here, never typed by hand.
//
// Number splitting (paper appendix A; DESIGN "which tokens are in V_d"):
//   digits  one token per decimal digit, values 0-9.
//   chunk3  one token per base-1000 digit, values 0-999 (Llama-3 style chunks of
//           three). Chunks align with place value: the integer part is cut from
//           the right ("1234" -> "1" "234"), the fraction from the left and
//           right-padded ("0.05" -> "0" "." "050"), so every chunk after the
//           first is exactly three digits and its value is its base-1000 digit.
//
// A task may add whole-word tokens (e.g. VQ code tokens "<c17>"), appended after
// the built-in ones so the ids of every built-in token never move (stored
// checkpoints and backbones stay readable). Encoding matches them literally,
// longest first, before falling back to characters.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dist2 {

enum class NumberSplit { digits, chunk3 };
NumberSplit parse_number_split(const std::string& name);  // "digits" | "chunk3"
std::string to_string(NumberSplit split);

class Tokenizer {
 public:
  static constexpr int64_t kPad = 0, kBos = 1, kEos = 2, kSep = 3, kUnk = 4;

  explicit Tokenizer(NumberSplit split = NumberSplit::digits, std::vector<std::string> added_tokens = {});

  // One encoded text. For each token: whether it is a number token (a metric
  // position) and its place-value weight, the position from the right inside
  // its number counted over number tokens only (1234 -> 4 3 2 1; 12.34 ->
  // 4 3 2 1 under digits, 2 1 under chunk3); 0 for other tokens.
  struct Encoding {
    std::vector<int64_t> ids;
    std::vector<uint8_t> is_number;
    std::vector<float> place;
  };

  Encoding encode(std::string_view text) const;
  std::vector<int64_t> encode_ids(std::string_view text) const { return encode(text).ids; }
  // Special tokens are skipped; chunk3 chunks are re-padded by their position.
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t vocab_size() const { return static_cast<int64_t>(texts_.size()); }
  NumberSplit split() const { return split_; }
  // V_d in id order, with the numeric value of each token.
  const std::vector<int64_t>& number_token_ids() const { return number_ids_; }
  const std::vector<double>& number_token_values() const { return number_values_; }
  bool is_number_token(int64_t id) const { return id >= first_number_ && id < first_number_ + n_numbers_; }
  double number_value(int64_t id) const { return static_cast<double>(id - first_number_); }
  int64_t number_token(int64_t value) const { return first_number_ + value; }
  // Printable form of one token ("<eos>", "7", "a").
  const std::string& token_text(int64_t id) const;
  // The tokens a task added, in id order, and the id of one of them (throws if absent).
  const std::vector<std::string>& added_tokens() const { return added_; }
  int64_t added_token_id(const std::string& text) const;

 private:
  void encode_number(std::string_view digits_int, std::string_view digits_frac, bool has_point,
                     Encoding& out) const;
  void push_char(char c, Encoding& out) const;
  // Length of the longest added token at text[i], and its id; 0 when none matches.
  size_t match_added(std::string_view text, size_t i, int64_t& id) const;

  NumberSplit split_;
  int64_t first_number_ = 0, n_numbers_ = 0;
  std::vector<std::string> texts_;
  std::vector<int64_t> char_to_id_;  // 256 entries, kUnk where none
  std::vector<int64_t> number_ids_;
  std::vector<double> number_values_;
  std::vector<std::string> added_;
  int64_t first_added_ = 0;
};

}  // namespace dist2
