#pragma once
// An exclusive advisory lock on a file, held for the object's lifetime and
// released by the kernel on exit or crash: how concurrent sweep workers wait for
// one of them to build a shared cached object (a backbone, the image assets).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "dist2/util/error.h"

namespace dist2 {

class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT, 0644)) {
    DIST2_CHECK(fd_ >= 0, "cannot open lock file {}: {}", path, std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) DIST2_CHECK(errno == EINTR, "cannot lock {}: {}", path, std::strerror(errno));
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

}  // namespace dist2
