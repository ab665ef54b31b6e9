#pragma once
// Test helpers: run the built dist2 executable, read the JSON it prints.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <vector>

#include <nlohmann/json.hpp>

namespace dist2::test {

struct Result {
  int status = -1;
  std::string out;  // stdout and stderr together
};

// Runs `dist2 ARGS` (through the shell) and returns its exit status and output.
inline Result run_dist2(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + (env.empty() ? "" : " ") + std::string(DIST2_EXE) + " " + args + " 2>&1";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// The exit status of a shell command.
inline int run_shell_status(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// The JSON document a command printed (its whole output); a parse error names the output.
inline nlohmann::json parse_json_output(const std::string& out) {
  try {
    return nlohmann::json::parse(out);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string(e.what()) + " in: " + out);
  }
}

}  // namespace dist2::test
