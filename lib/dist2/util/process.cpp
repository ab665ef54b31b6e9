#include "dist2/util/process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "dist2/util/error.h"

namespace dist2 {

pid_t spawn_child(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                  const std::string& log_path) {
  DIST2_CHECK(!args.empty(), "spawn_child: no program");
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<std::string> a = args;
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  DIST2_CHECK(pid >= 0, "cannot start a child process: {}", std::strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(143);  // the parent died before prctl
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    if (!log_path.empty()) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) dup2(fd, STDOUT_FILENO), dup2(fd, STDERR_FILENO), close(fd);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

CommandResult run_command(const std::vector<std::string>& args) {
  DIST2_CHECK(!args.empty(), "run_command: no program");
  std::vector<std::string> a = args;
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  int fds[2];
  DIST2_CHECK(::pipe(fds) == 0, "cannot create a pipe: {}", std::strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(fds[0]), close(fds[1]);
    throw Error(fmt::format("cannot start {}: {}", args[0], std::strerror(err)));
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO), dup2(fds[1], STDERR_FILENO);
    close(fds[0]), close(fds[1]);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  CommandResult r;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r.out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::string dirs = path;
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
    if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

std::string this_host() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "unknown";
  return name;
}

bool pid_alive(int64_t pid) {
  if (pid <= 0) return true;  // unknown: never declare it dead
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

std::string self_executable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  DIST2_CHECK(!ec, "cannot find this executable (/proc/self/exe): {}", ec.message());
  return path.string();
}

}  // namespace dist2
