#pragma once
// What the benchmarks share: shell processes, the Python PyTorch peers
// (kernels/bench/*.py: a python3 that imports torch, the one JSON line a peer
// prints) and the machine (CPU model, the process's peak memory).
#include <string>
#include <vector>

#include "dist2/util/json.h"

namespace dist2::bench {

struct Shell {
  int status = -1;   // exit status, -1 when it did not exit normally
  std::string out;   // stdout (and whatever the command redirected into it)
};
Shell run_shell(const std::string& cmd);
std::string shell_quote(const std::string& s);

struct PythonPeer {
  std::string exe;      // empty: not available
  std::string script;   // kernels/bench/<name> in the source tree
  std::string version;  // "python3 (Python 3.11.2, torch 1.13.0)", or why it is skipped
};
// $DIST2_PYTHON, python3, then /usr/bin/python3: the first that imports torch.
PythonPeer find_python_peer(const std::string& script_name);

// The last line of `out` as a JSON object (peers print warnings before it);
// null when there is none.
json::Json last_json_line(const std::string& out);

// The median of xs, NaN entries left out; NaN when none is left.
double median(std::vector<double> xs);

// A field of /proc/self/status in bytes ("VmHWM": the resident-set high-water mark); NaN if absent.
double process_status_bytes(const std::string& field);

}  // namespace dist2::bench
