#pragma once
// Files written so that a crash never leaves a half-written one under the final
// name: write to a temporary name in the same folder, flush, fsync, rename.
#include <string>

namespace dist2 {

void write_file_atomic(const std::string& path, const std::string& content);
// A file with its checksum beside it in PATH.checksum (FNV-1a 64 and size), both
// written atomically, so that a truncated or corrupted file is detected when read.
void write_file_checksummed(const std::string& path, const std::string& content);
// The content of a file written by write_file_checksummed; dist2::Error naming the
// file when it does not match its checksum. A file with no checksum beside it is
// returned as it is (nothing to check against).
std::string read_file_checksummed(const std::string& path);
std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
void make_dirs(const std::string& path);

}  // namespace dist2
