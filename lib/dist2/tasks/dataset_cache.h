#pragma once
// Dataset splits cached on disk by the hash of the keys that define them (task.*,
// seed), so `prepare` writes them once and every run of a sweep reads the same
// bytes. Each split is JSONL, and the images of its examples (if any) one
// checksummed binary file beside it (image/image_file.h); a manifest with counts
// and checksums is written last, so a crash mid-write or a corrupted file is
// detected, never used.
#include <string>

#include "dist2/tasks/task.h"

namespace dist2 {

// "regression-1f2e3d4c5b6a7980"
std::string dataset_id(const config::Config& cfg);

struct CachedDataset {
  Dataset data;
  std::string dir;
  bool from_cache = false;
};

// Reads the splits from cache_root/<dataset_id>/ when present and intact,
// otherwise generates them with the task and writes them there.
CachedDataset load_or_generate(const Task& task, const config::Config& cfg, const std::string& cache_root);

std::string example_to_json(const Example& e);
Example example_from_json(const std::string& line);

}  // namespace dist2
