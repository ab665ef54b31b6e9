#pragma once
// Shards: on a cluster each trial's `dist2 train` records its run in its own
// SQLite database, DIR/shards/<config hash>/runs.db, not in the sweep's store:
// SQLite's locks (and WAL's shared memory) do not work across hosts on a network
// file system, while one writer per database on one host is safe. The caches the
// trials share (datasets, backbones) stay in DIR. The sweep merges the shards into
// DIR/runs.db by run id (Store::merge_shard), which is safe to repeat: any
// `dist2 sweep` of the store merges first. One shard per trial means a requeued
// or restarted trial finds its interrupted run there and resumes it.
#include <string>
#include <vector>

#include "dist2/store/store.h"

namespace dist2 {

// DIR/shards/<hash>, absolute: the trial writes artifact paths under it, and the
// merge recognises them by this exact prefix.
std::string shard_dir_for(const std::string& store_dir, const std::string& config_hash);

struct ShardMerge {
  int shards = 0;            // shards with a database, merged
  int64_t runs = 0, files = 0;
  std::vector<std::string> problems;  // "DIR: why", one per shard that could not be merged
};

// Merges every shard under the store's DIR/shards into it. A shard without a
// database yet (its job has not started) is skipped; one that cannot be read is
// reported in `problems` and the rest are merged.
ShardMerge merge_shards(store::Store& st);

}  // namespace dist2
