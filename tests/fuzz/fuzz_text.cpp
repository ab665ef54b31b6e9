// Fuzz target: the text task's readers. The first input line is a CSV prompt
// template, the second the target column, the rest the data file, read once as
// JSONL and once as CSV (read_text_examples), and each line also through
// parse_csv_line. Any input must read or raise dist2::Error.
#include <cstdint>
#include <string>

#include "dist2/tasks/text/task.h"
#include "dist2/util/error.h"
#include "tests/fuzz/fuzz_support.h"

using namespace dist2;

namespace {
std::string take_line(std::string& s) {
  const size_t nl = s.find('\n');
  std::string line = s.substr(0, nl);
  s = nl == std::string::npos ? "" : s.substr(nl + 1);
  return line;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string rest(reinterpret_cast<const char*>(data), size);
  const std::string tmpl = take_line(rest), target = take_line(rest);
  const std::string path = fuzz::scratch_file(reinterpret_cast<const uint8_t*>(rest.data()), rest.size(), ".data");
  for (const char* format : {"jsonl", "csv"}) {
    try {
      for (const auto& e : read_text_examples(path, format, tmpl, target))
        if (e.prompt.size() > size * size + 64) std::abort();  // a template cannot grow a row without bound
    } catch (const Error&) {
    }
  }
  std::string lines = rest;
  while (!lines.empty()) {
    const std::string line = take_line(lines);
    try {
      const auto fields = parse_csv_line(line);
      if (fields.empty()) std::abort();  // always at least one field
      (void)fill_template(tmpl, fields, fields);
    } catch (const Error&) {
    }
  }
  return 0;
}
