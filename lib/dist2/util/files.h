#pragma once
// Files written so that a crash never leaves a half-written one under the final
// name: write to a temporary name in the same folder, flush, fsync, rename.
#include <chrono>
#include <string>

namespace dist2 {

void write_file_atomic(const std::string& path, const std::string& content);
// The name write_file_atomic gives `path` while process `pid` of this host writes
// it: PATH.tmp.HOST.PID.RANDOM. A writer killed mid-write leaves it behind.
std::string temporary_path(const std::string& path, long pid);
// Removes from `dir` (not its subfolders) the temporary files whose writer is
// surely gone, and returns how many. Best effort: never throws.
// - Written on this host: when no process has the pid in its name any more. A
//   live writer's file is kept (a reused pid keeps a stale one, for a while).
// - Written on another host (a store on a shared file system), or by an older
//   build whose names carry no host: its pid means nothing here, so when it has
//   not been modified for `other_host_after` (no write of a file takes that long).
int remove_stale_temporary_files(const std::string& dir, std::chrono::seconds other_host_after);
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
