#include "dist2/sweep/shards.h"

#include <algorithm>
#include <filesystem>

#include "dist2/util/error.h"

namespace dist2 {

namespace fs = std::filesystem;

std::string shard_dir_for(const std::string& store_dir, const std::string& config_hash) {
  return (fs::absolute(store_dir).lexically_normal() / "shards" / config_hash).string();
}

ShardMerge merge_shards(store::Store& st) {
  ShardMerge out;
  const fs::path root = fs::path(st.dir()) / "shards";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs) {
    // The same absolute spelling the trial was given (shard_dir_for).
    const std::string shard = shard_dir_for(st.dir(), d.filename().string());
    if (!store::Store::exists(shard)) continue;
    try {
      const auto m = st.merge_shard(shard);
      ++out.shards;
      out.runs += m.runs;
      out.files += m.files;
    } catch (const std::exception& e) {
      out.problems.push_back(fmt::format("{}: {}", shard, e.what()));
    }
  }
  return out;
}

}  // namespace dist2
