#pragma once
// Test helpers: run the built dist2 executable, read numbers out of its JSON.
#include <cstdio>
#include <regex>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <vector>

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

inline std::vector<double> json_number_array(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\"\\s*:\\s*\\[([^\\]]*)\\]")))
    throw std::runtime_error("no array '" + key + "' in: " + json);
  std::vector<double> out;
  std::string body = m[1];
  std::regex num("[-+0-9.eE]+");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), num); it != std::sregex_iterator(); ++it)
    out.push_back(std::stod(it->str()));
  return out;
}

inline double json_number(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\"\\s*:\\s*([-+0-9.eE]+)")))
    throw std::runtime_error("no number '" + key + "' in: " + json);
  return std::stod(m[1]);
}

}  // namespace dist2::test
