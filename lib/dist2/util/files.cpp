#include "dist2/util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

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
}  // namespace

void write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(std::random_device{}());
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
