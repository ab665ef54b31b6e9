#include "dist2/bench/harness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sys/wait.h>
#include <vector>

#include <fmt/format.h>

#include "dist2/util/error.h"

namespace dist2::bench {

Shell run_shell(const std::string& cmd) {
  Shell r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

PythonPeer find_python_peer(const std::string& script_name) {
  PythonPeer peer;
  peer.script = std::string(DIST2_SOURCE_DIR) + "/kernels/bench/" + script_name;
  if (!std::ifstream(peer.script).good()) {
    peer.version = "skipped: " + peer.script + " not found";
    return peer;
  }
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("DIST2_PYTHON")) candidates.emplace_back(env);
  candidates.emplace_back("python3");
  candidates.emplace_back("/usr/bin/python3");
  for (const auto& exe : candidates) {
    auto r = run_shell(shell_quote(exe) +
                       " -c 'import sys, torch; print(sys.version.split()[0], torch.__version__)' 2>/dev/null");
    if (r.status == 0 && !r.out.empty()) {
      peer.exe = exe;
      std::string v = r.out.substr(0, r.out.find('\n'));
      const auto sp = v.find(' ');
      peer.version = fmt::format("{} (Python {}, torch {})", exe, v.substr(0, sp), v.substr(sp + 1));
      return peer;
    }
  }
  peer.version = "skipped: no python3 that imports torch (`make bench-setup` installs python3-torch; or set DIST2_PYTHON)";
  return peer;
}

json::Json last_json_line(const std::string& out) {
  const auto last = out.find_last_not_of("\n");
  const auto start = last == std::string::npos ? std::string::npos : out.rfind('\n', last);
  const std::string line = start == std::string::npos ? out : out.substr(start + 1);
  try {
    json::Json j = json::parse(line);
    return j.is_object() ? j : json::Json();
  } catch (const Error&) {
    return json::Json();
  }
}

double median(std::vector<double> xs) {
  xs.erase(std::remove_if(xs.begin(), xs.end(), [](double x) { return std::isnan(x); }), xs.end());
  if (xs.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(xs.begin(), xs.end());
  const size_t h = xs.size() / 2;
  return xs.size() % 2 ? xs[h] : 0.5 * (xs[h - 1] + xs[h]);
}

double process_status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return 1024.0 * std::stod(line.substr(field.size() + 1));
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace dist2::bench
