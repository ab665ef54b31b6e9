#include "dist2/tokenizer/tokenizer.h"

#include <algorithm>
#include <cctype>

#include "dist2/util/error.h"

namespace dist2 {

NumberSplit parse_number_split(const std::string& name) {
  if (name == "digits") return NumberSplit::digits;
  if (name == "chunk3") return NumberSplit::chunk3;
  throw Error(fmt::format("unknown number splitting '{}' (valid: digits, chunk3)", name));
}

std::string to_string(NumberSplit split) { return split == NumberSplit::digits ? "digits" : "chunk3"; }

Tokenizer::Tokenizer(NumberSplit split, std::vector<std::string> added_tokens)
    : split_(split), added_(std::move(added_tokens)) {
  texts_ = {"<pad>", "<bos>", "<eos>", "<sep>", "<unk>"};
  first_number_ = static_cast<int64_t>(texts_.size());
  n_numbers_ = split == NumberSplit::digits ? 10 : 1000;
  for (int64_t v = 0; v < n_numbers_; ++v) {
    number_ids_.push_back(first_number_ + v);
    number_values_.push_back(static_cast<double>(v));
    texts_.push_back(std::to_string(v));
  }
  char_to_id_.assign(256, kUnk);
  auto add_char = [&](char c) {
    char_to_id_[static_cast<unsigned char>(c)] = static_cast<int64_t>(texts_.size());
    texts_.push_back(std::string(1, c));
  };
  add_char('\n');
  add_char('\t');
  for (int c = 32; c < 127; ++c)
    if (!std::isdigit(c)) add_char(static_cast<char>(c));
  first_added_ = static_cast<int64_t>(texts_.size());
  for (const auto& t : added_) {
    DIST2_CHECK(t.size() >= 2, "an added token needs at least two characters, got '{}'", t);
    DIST2_CHECK(std::find(texts_.begin() + first_added_, texts_.end(), t) == texts_.end(), "token '{}' added twice", t);
    texts_.push_back(t);
  }
}

int64_t Tokenizer::added_token_id(const std::string& text) const {
  const auto it = std::find(added_.begin(), added_.end(), text);
  DIST2_CHECK(it != added_.end(), "no token '{}' in this vocabulary", text);
  return first_added_ + (it - added_.begin());
}

size_t Tokenizer::match_added(std::string_view text, size_t i, int64_t& id) const {
  size_t best = 0;
  for (size_t k = 0; k < added_.size(); ++k) {
    const auto& t = added_[k];
    if (t.size() > best && text.compare(i, t.size(), t) == 0) best = t.size(), id = first_added_ + static_cast<int64_t>(k);
  }
  return best;
}

const std::string& Tokenizer::token_text(int64_t id) const {
  DIST2_CHECK(id >= 0 && id < vocab_size(), "token id {} outside the vocabulary [0, {})", id, vocab_size());
  return texts_[static_cast<size_t>(id)];
}

void Tokenizer::push_char(char c, Encoding& out) const {
  out.ids.push_back(char_to_id_[static_cast<unsigned char>(c)]);
  out.is_number.push_back(0);
  out.place.push_back(0.f);
}

void Tokenizer::encode_number(std::string_view int_part, std::string_view frac_part, bool has_point,
                              Encoding& out) const {
  // Chunks of the number as values, in reading order; '.' marked by -1.
  std::vector<int64_t> chunks;
  if (split_ == NumberSplit::digits) {
    for (char c : int_part) chunks.push_back(c - '0');
    if (has_point) chunks.push_back(-1);
    for (char c : frac_part) chunks.push_back(c - '0');
  } else {
    const size_t lead = int_part.size() % 3 == 0 ? 3 : int_part.size() % 3;
    for (size_t i = 0; i < int_part.size(); i += (i == 0 ? lead : 3)) {
      const size_t len = i == 0 ? lead : 3;
      chunks.push_back(std::stoll(std::string(int_part.substr(i, len))));
    }
    if (has_point) chunks.push_back(-1);
    for (size_t i = 0; i < frac_part.size(); i += 3) {
      std::string c(frac_part.substr(i, 3));
      c.resize(3, '0');  // right-pad: "05" -> "050", same value
      chunks.push_back(std::stoll(c));
    }
  }
  int64_t n_tokens = 0;
  for (int64_t c : chunks) n_tokens += c >= 0;
  int64_t rank = n_tokens;
  for (int64_t c : chunks) {
    if (c < 0) {
      push_char('.', out);
      continue;
    }
    out.ids.push_back(number_token(c));
    out.is_number.push_back(1);
    out.place.push_back(static_cast<float>(rank--));
  }
}

Tokenizer::Encoding Tokenizer::encode(std::string_view text) const {
  Encoding out;
  size_t i = 0;
  auto is_digit = [&](size_t k) { return k < text.size() && std::isdigit(static_cast<unsigned char>(text[k])); };
  while (i < text.size()) {
    int64_t added_id = 0;
    if (const size_t len = added_.empty() ? 0 : match_added(text, i, added_id)) {
      out.ids.push_back(added_id);
      out.is_number.push_back(0);
      out.place.push_back(0.f);
      i += len;
      continue;
    }
    if (!is_digit(i)) {
      push_char(text[i++], out);
      continue;
    }
    size_t j = i;
    while (is_digit(j)) ++j;
    std::string_view int_part = text.substr(i, j - i), frac_part;
    bool has_point = false;
    if (j < text.size() && text[j] == '.' && is_digit(j + 1)) {
      size_t k = j + 1;
      while (is_digit(k)) ++k;
      frac_part = text.substr(j + 1, k - j - 1);
      has_point = true;
      j = k;
    }
    encode_number(int_part, frac_part, has_point, out);
    i = j;
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  // prev: 0 = other, 1 = number token, 2 = '.' right after a number token.
  int prev = 0;
  for (int64_t id : ids) {
    if (id < first_number_ && id >= 0) continue;  // special tokens
    if (is_number_token(id)) {
      std::string s = token_text(id);
      if (split_ == NumberSplit::chunk3 && prev != 0) s.insert(0, 3 - s.size(), '0');
      out += s;
      prev = 1;
    } else {
      const std::string& s = token_text(id);
      out += s;
      prev = (prev == 1 && s == ".") ? 2 : 0;
    }
  }
  return out;
}

}  // namespace dist2
