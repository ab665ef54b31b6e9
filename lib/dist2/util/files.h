#pragma once
// Files written so that a crash never leaves a half-written one under the final
// name: write to a temporary name in the same folder, flush, fsync, rename.
#include <string>

namespace dist2 {

void write_file_atomic(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
void make_dirs(const std::string& path);

}  // namespace dist2
