#pragma once
// Processes: children that die with their parent (sweep workers, the ranks of
// a data-parallel run), this executable, this host, whether a pid lives.
#include <sys/types.h>

#include <cstdint>

#include <string>
#include <utility>
#include <vector>

namespace dist2 {

// Starts args[0] (a path) with args, and with `env` added to this process's
// environment; stdout and stderr go to `log_path` (appended) unless it is empty.
// The child gets SIGTERM when this process dies, so no orphan outlives it.
pid_t spawn_child(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                  const std::string& log_path);

// Runs a program found on PATH (args[0]) to its end and returns its exit status
// (127 when it could not be started, 128 + N for signal N) and its stdout and
// stderr together. For short commands (sbatch, squeue), not for training.
struct CommandResult {
  int status = 127;
  std::string out;
};
CommandResult run_command(const std::vector<std::string>& args);

// Whether `program` is an executable file on PATH.
bool on_path(const std::string& program);

// This executable's path (/proc/self/exe).
std::string self_executable();

// This machine's host name, as runs and claims record it ("unknown" if none).
std::string this_host();

// Whether process `pid` exists on this host (a process of another user counts;
// an unknown pid, <= 0, is never declared dead).
bool pid_alive(int64_t pid);

}  // namespace dist2
