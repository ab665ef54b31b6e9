#pragma once
// Child processes that die with their parent: sweep workers and the ranks of a
// data-parallel run.
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace dist2 {

// Starts args[0] (a path) with args, and with `env` added to this process's
// environment; stdout and stderr go to `log_path` (appended) unless it is empty.
// The child gets SIGTERM when this process dies, so no orphan outlives it.
pid_t spawn_child(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                  const std::string& log_path);

// This executable's path (/proc/self/exe).
std::string self_executable();

}  // namespace dist2
