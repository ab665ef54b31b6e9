#pragma once
// Shared by the fuzz targets: the input as a file (the readers under test take
// paths), and a stand-in schema with every kind of key and check the real one has.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "dist2/config/schema.h"

namespace dist2::fuzz {

// Writes the bytes to a per-process scratch file (overwritten on each call) and
// returns its path, with `suffix` as its extension.
inline std::string scratch_file(const uint8_t* data, size_t size, const std::string& suffix) {
  const std::string path = "/tmp/dist2-fuzz-" + std::to_string(getpid()) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// Integers, floats (inclusive and exclusive minimum, a maximum), booleans,
// strings with and without choices, and a task whose schema adds a key.
inline config::Schema schema_for(const std::string& task) {
  config::Schema s;
  s.add_int("seed", 1, 0, {}, "seed");
  s.add_string("task.name", "regression", {"regression", "text"}, "task adapter");
  s.add_int("task.n_train", 1024, 1, {}, "training examples");
  s.add_string("tokenizer.numbers", "digits", {"digits", "chunk3"}, "number splitting");
  s.add_int("model.d_model", 64, 8, {}, "width");
  s.add_float("model.dropout", 0.0, 0.0, 0.9, "dropout");
  s.add_int("train.steps", 1000, 1, {}, "steps");
  s.add_int("train.batch_size", 64, 1, 4096, "batch");
  s.add_float("train.lr", 1e-3, 0.0, {}, "lr", true);
  s.add_float("loss.alpha", 0.1, 0.0, {}, "alpha");
  s.add_float("loss.tau", 2.0, 0.0, {}, "tau", true);
  s.add_string("loss.kind", "dist", {"sft", "vocab", "label_smoothing", "dist"}, "loss");
  s.add_bool("loss.contrastive", false, "contrastive");
  s.add_string("note", "", {}, "free text");
  if (task == "text") s.add_string("task.path", "", {}, "data file");
  return s;
}

}  // namespace dist2::fuzz
