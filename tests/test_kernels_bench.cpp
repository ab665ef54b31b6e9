// `dist2 bench loss --quick --json` through the built executable: valid JSON
// with the keys a report reads, numbers that make sense.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstring>
#include <cmath>
#include <regex>
#include <string>

#include "tests/support.h"

namespace {

// A strict JSON syntax check (RFC 8259 values), enough to reject what a
// hand-written printer gets wrong: NaN, trailing commas, bad escapes.
class JsonChecker {
 public:
  explicit JsonChecker(const std::string& s) : s_(s) {}
  bool valid() {
    ws();
    if (!value()) return false;
    ws();
    return i_ == s_.size();
  }

 private:
  bool value() {
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') return object();
    if (c == '[') return array();
    if (c == '"') return string();
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) return number();
    for (const char* lit : {"true", "false", "null"})
      if (s_.compare(i_, std::strlen(lit), lit) == 0) return (i_ += std::strlen(lit)), true;
    return false;
  }
  bool object() {
    ++i_;
    ws();
    if (eat('}')) return true;
    do {
      ws();
      if (!string()) return false;
      ws();
      if (!eat(':')) return false;
      ws();
      if (!value()) return false;
      ws();
    } while (eat(','));
    return eat('}');
  }
  bool array() {
    ++i_;
    ws();
    if (eat(']')) return true;
    do {
      ws();
      if (!value()) return false;
      ws();
    } while (eat(','));
    return eat(']');
  }
  bool string() {
    if (!eat('"')) return false;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (static_cast<unsigned char>(s_[i_]) < 0x20) return false;
      if (s_[i_] == '\\') {
        ++i_;
        if (i_ >= s_.size() || std::string("\"\\/bfnrtu").find(s_[i_]) == std::string::npos) return false;
      }
      ++i_;
    }
    return eat('"');
  }
  bool number() {
    static const std::regex num(R"(^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
    std::smatch m;
    const std::string rest = s_.substr(i_, 64);
    if (!std::regex_search(rest, m, num)) return false;
    i_ += static_cast<size_t>(m.length(0));
    return true;
  }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  const std::string& s_;
  size_t i_ = 0;
};

}  // namespace

TEST_CASE("the JSON checker rejects what it should", "[kernels]") {
  CHECK(JsonChecker(R"({"a": [1, -2.5e3, true, null, "x\n"], "b": {}})").valid());
  for (const char* bad : {"{\"a\": NaN}", "[1, 2,]", "{\"a\" 1}", "{\"a\": 01}", "[\"\\q\"]", "{} {}"})
    CHECK_FALSE(JsonChecker(bad).valid());
}

TEST_CASE("dist2 bench loss --quick --json prints valid JSON with the expected keys", "[kernels]") {
  auto r = dist2::test::run_dist2("--threads 2 bench loss --quick --json --repeat 1 --no-python");
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK(JsonChecker(r.out).valid());
  for (const char* key : {"device", "device_name", "threads", "memory_method", "python", "cases"})
    CHECK(r.out.find(std::string("\"") + key + "\"") != std::string::npos);
  CHECK(dist2::test::json_number(r.out, "threads") == 2);
  // Every case carries every measurement.
  const std::regex case_re(R"(\{"name": [^}]*\})");
  int cases = 0;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), case_re); it != std::sregex_iterator(); ++it) {
    const std::string c = it->str();
    ++cases;
    for (const char* key : {"composed_s", "fused_s", "speedup", "fused_kernel_s", "fused_gbps", "copy_gbps",
                            "floor_ratio", "composed_peak_bytes", "fused_peak_bytes", "python_s", "loss_rel_diff"})
      CHECK(c.find(std::string("\"") + key + "\"") != std::string::npos);
    const double composed = dist2::test::json_number(c, "composed_s");
    const double fused = dist2::test::json_number(c, "fused_s");
    CHECK(composed > 0);
    CHECK(fused > 0);
    CHECK(dist2::test::json_number(c, "speedup") == Approx(composed / fused).epsilon(1e-9));
    CHECK(dist2::test::json_number(c, "loss_rel_diff") < 1e-5);  // the fused loss is the reference's
    CHECK(c.find("\"python_s\": null") != std::string::npos);     // --no-python
  }
  CHECK(cases == 2);
}

TEST_CASE("dist2 bench: train is not built yet, a subcommand is required", "[kernels]") {
  auto t = dist2::test::run_dist2("bench train");
  CHECK(t.status == 2);
  CHECK(t.out.find("not built yet") != std::string::npos);
  CHECK(dist2::test::run_dist2("bench").status != 0);
  CHECK(dist2::test::run_dist2("bench loss --repeat 0").status != 0);
  CHECK(dist2::test::run_dist2("bench loss --device tpu").status != 0);
}
