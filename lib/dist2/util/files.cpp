#include "dist2/util/files.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string_view>

#include "dist2/util/error.h"
#include "dist2/util/hash.h"

namespace dist2 {

namespace {
// Makes a rename in `path`'s folder durable: the new directory entry survives a
// power loss. Best effort: some file systems cannot fsync a directory.
void sync_parent_dir(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string checksum_line(const std::string& content) {
  return fmt::format("fnv1a64={} bytes={}", hex16(fnv1a64(content)), content.size());
}

// This host's name as temporary names carry it: letters, digits, '-' and '.'.
const std::string& host_in_names() {
  static const std::string host = [] {
    char name[256] = {};
    std::string h = gethostname(name, sizeof(name) - 1) == 0 && name[0] ? name : "unknown";
    for (char& c : h)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
    return h;
  }();
  return host;
}

struct Writer {
  std::string host;  // empty: a name from an older build, without the host
  long pid = 0;
};

bool is_number(std::string_view s, size_t max_digits) {
  return !s.empty() && s.size() <= max_digits &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool is_host(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

// The writer a temporary file name names (PATH.tmp.HOST.PID.RANDOM, or
// PATH.tmp.PID.RANDOM from older builds); nullopt for any other file. Read from
// the right, since PATH and HOST may hold dots.
std::optional<Writer> writer_of(std::string_view name) {
  const size_t random_at = name.rfind('.');
  if (random_at == std::string_view::npos || !is_number(name.substr(random_at + 1), 20)) return std::nullopt;
  name = name.substr(0, random_at);
  const size_t pid_at = name.rfind('.');
  if (pid_at == std::string_view::npos || !is_number(name.substr(pid_at + 1), 9)) return std::nullopt;
  const long pid = std::stol(std::string(name.substr(pid_at + 1)));
  name = name.substr(0, pid_at);  // PATH.tmp or PATH.tmp.HOST
  constexpr std::string_view tmp = ".tmp";
  if (name.size() > tmp.size() && name.substr(name.size() - tmp.size()) == tmp) return Writer{"", pid};
  const size_t host_at = name.rfind(".tmp.");
  if (host_at == std::string_view::npos || host_at == 0 || !is_host(name.substr(host_at + 5))) return std::nullopt;
  return Writer{std::string(name.substr(host_at + 5)), pid};
}

// A process with this pid exists on this host (EPERM: it exists, owned by another user).
bool process_exists(long pid) { return pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH; }

bool is_stale(const std::filesystem::path& file, const Writer& w, std::chrono::seconds other_host_after) {
  if (w.host == host_in_names()) return !process_exists(w.pid);
  std::error_code ec;
  const auto modified = std::filesystem::last_write_time(file, ec);
  return !ec && std::filesystem::file_time_type::clock::now() - modified > other_host_after;
}
}  // namespace

std::string temporary_path(const std::string& path, long pid) {
  return fmt::format("{}.tmp.{}.{}.{}", path, host_in_names(), pid, std::random_device{}());
}

int remove_stale_temporary_files(const std::string& dir, std::chrono::seconds other_host_after) {
  namespace fs = std::filesystem;
  int removed = 0;
  try {
    std::error_code ec, file_ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const auto writer = writer_of(it->path().filename().string());
      if (writer && it->is_regular_file(file_ec) && is_stale(it->path(), *writer, other_host_after) &&
          fs::remove(it->path(), file_ec))
        ++removed;
    }
  } catch (const std::exception&) {
  }
  return removed;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = temporary_path(path, static_cast<long>(getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  DIST2_CHECK(fd >= 0, "cannot write '{}': {}", tmp, std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw Error(fmt::format("cannot write '{}': {}", path, std::strerror(synced ? errno : err)));
  }
  sync_parent_dir(path);
}

void write_file_checksummed(const std::string& path, const std::string& content) {
  const std::string sum_path = path + ".checksum", line = checksum_line(content);
  // While the file is swapped both its old and its new content verify, so a crash
  // between the two renames leaves a pair that still reads.
  std::string previous = file_exists(sum_path) ? read_file(sum_path) : "";
  previous = previous.substr(0, previous.find('\n'));
  write_file_atomic(sum_path, line + "\n" + (previous.empty() ? "" : previous + "\n"));
  write_file_atomic(path, content);
  write_file_atomic(sum_path, line + "\n");
}

std::string read_file_checksummed(const std::string& path) {
  DIST2_CHECK(file_exists(path), "no file '{}'", path);
  std::string content = read_file(path);
  const std::string sum_path = path + ".checksum";
  if (!file_exists(sum_path)) return content;
  const std::string sums = read_file(sum_path), got = checksum_line(content);
  std::istringstream lines(sums);
  for (std::string line; std::getline(lines, line);)
    if (line == got) return content;
  throw Error(fmt::format("'{}' is truncated or corrupted: it has {}, its checksum file {} says {}", path, got,
                          sum_path, sums.substr(0, sums.find('\n'))));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DIST2_CHECK(in.good(), "cannot read '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

void make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  DIST2_CHECK(!ec, "cannot create folder '{}': {}", path, ec.message());
}

}  // namespace dist2
