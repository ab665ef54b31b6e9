#include "dist2/tasks/dataset_cache.h"

#include <cmath>
#include <sstream>
#include <tuple>

#include "dist2/image/image_file.h"

#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "dist2/util/hash.h"
#include "dist2/util/json.h"

namespace dist2 {

std::string dataset_id(const config::Config& cfg) {
  std::string canonical = "seed=" + cfg.value_string("seed") + "\n";
  for (const auto& [key, value] : cfg.values())
    if (key.rfind("task.", 0) == 0) canonical += key + "=" + cfg.value_string(key) + "\n";
  return cfg.get_string("task.name") + "-" + hex16(fnv1a64(canonical));
}

std::string example_to_json(const Example& e) {
  json::Json j;
  j["prompt"] = e.prompt;
  j["completion"] = e.completion;
  j["values"] = e.values;  // NaN is written as null
  j["group"] = e.group;
  // "images" (a count) only when there are some, so text-only splits keep their bytes and checksums.
  if (!e.images.empty()) j["images"] = e.images.size();
  return json::dump(j);
}

Example example_from_json(const std::string& line) {
  const json::Json v = json::parse(line);
  DIST2_CHECK(v.is_object(), "JSON: an example must be an object");
  return json::reading([&] {
    Example e;
    e.prompt = json::text(v.at("prompt"), "prompt");
    e.completion = json::text(v.at("completion"), "completion");
    const json::Json& values = v.at("values");
    DIST2_CHECK(values.is_array(), "JSON: 'values' must be an array");
    for (const auto& x : values) {
      DIST2_CHECK(x.is_null() || x.is_number(), "JSON: 'values' must hold numbers or null");
      e.values.push_back(x.is_null() ? NAN : x.get<double>());
    }
    if (v.contains("group")) e.group = json::text(v.at("group"), "group");
    if (v.contains("images")) {
      const json::Json& n = v.at("images");
      DIST2_CHECK(n.is_number_unsigned() && n.get<uint64_t>() <= 64, "'images' must be a count from 0 to 64");
      e.images.resize(n.get<size_t>());  // pixels come from the split's image file
    }
    return e;
  });
}

namespace {

std::string split_text(const std::vector<Example>& xs) {
  std::string s;
  for (const auto& e : xs) s += example_to_json(e) + "\n";
  return s;
}

std::vector<Example> parse_split(const std::string& text, const std::string& path) {
  std::vector<Example> out;
  std::istringstream in(text);
  std::string line;
  for (int64_t no = 1; std::getline(in, line); ++no) {
    try {
      out.push_back(example_from_json(line));
    } catch (const Error& e) {
      throw Error(fmt::format("{}:{}: {}", path, no, e.what()));
    }
  }
  return out;
}

// Split name -> examples, in a fixed order.
std::vector<std::pair<std::string, const std::vector<Example>*>> splits_of(const Dataset& d) {
  std::vector<std::pair<std::string, const std::vector<Example>*>> s{{"train", &d.train}, {"test", &d.test}};
  for (const auto& [name, xs] : d.extra) s.emplace_back("extra-" + name, &xs);
  return s;
}

// The images of a split, every example's in order, in one checksummed file.
std::vector<Image> images_of(const std::vector<Example>& xs) {
  std::vector<Image> out;
  for (const auto& e : xs) out.insert(out.end(), e.images.begin(), e.images.end());
  return out;
}

void attach_images(std::vector<Example>& xs, std::vector<Image> images, const std::string& path) {
  size_t k = 0;
  for (auto& e : xs)
    for (auto& img : e.images) {
      DIST2_CHECK(k < images.size(), "image file '{}' holds {} images, fewer than its split needs", path, images.size());
      img = std::move(images[k++]);
    }
  DIST2_CHECK(k == images.size(), "image file '{}' holds {} images, its split needs {}", path, images.size(), k);
}

bool read_cached(const std::string& dir, Dataset& d) {
  const std::string manifest_path = dir + "/manifest.json";
  if (!file_exists(manifest_path)) return false;
  json::Json manifest;
  try {
    manifest = json::parse(read_file(manifest_path));
    DIST2_CHECK(manifest.is_object() && manifest.contains("splits") && manifest["splits"].is_object(),
                "'splits' is not an object");
  } catch (const Error& e) {
    throw Error(fmt::format("dataset manifest '{}' is damaged ({}); delete {} to regenerate it", manifest_path,
                            e.what(), dir));
  }
  for (const auto& [name, entry] : manifest["splits"].items()) {
    const std::string path = dir + "/" + name + ".jsonl";
    const std::string text = read_file(path);
    const auto [checksum, count, n_images] = json::reading([&, &entry = entry] {
      return std::tuple(entry.at("checksum").get<std::string>(), entry.at("count").get<size_t>(),
                        entry.value("images", static_cast<size_t>(0)));
    });
    DIST2_CHECK(hex16(fnv1a64(text)) == checksum,
                "dataset file '{}' is corrupted (checksum mismatch); delete {} to regenerate it", path, dir);
    auto xs = parse_split(text, path);
    DIST2_CHECK(xs.size() == count, "dataset file '{}' is truncated", path);
    if (n_images > 0) {
      const std::string image_path = dir + "/" + name + ".images";
      auto images = read_image_file(image_path);
      DIST2_CHECK(images.size() == n_images, "image file '{}' is truncated", image_path);
      attach_images(xs, std::move(images), image_path);
    }
    if (name == "train") d.train = std::move(xs);
    else if (name == "test") d.test = std::move(xs);
    else d.extra[name.substr(6)] = std::move(xs);
  }
  return true;
}

}  // namespace

CachedDataset load_or_generate(const Task& task, const config::Config& cfg, const std::string& cache_root) {
  CachedDataset out;
  out.dir = cache_root + "/" + dataset_id(cfg);
  if (read_cached(out.dir, out.data)) {
    out.from_cache = true;
    return out;
  }
  out.data = task.generate(cfg);
  make_dirs(out.dir);
  json::Json manifest;
  manifest["task"] = task.name();
  manifest["splits"] = json::Json::object();
  for (const auto& [name, xs] : splits_of(out.data)) {
    const std::string text = split_text(*xs);
    write_file_atomic(out.dir + "/" + name + ".jsonl", text);
    const auto images = images_of(*xs);
    if (!images.empty()) write_image_file(out.dir + "/" + name + ".images", images);
    json::Json entry;
    entry["count"] = xs->size();
    entry["checksum"] = hex16(fnv1a64(text));
    if (!images.empty()) entry["images"] = images.size();
    manifest["splits"][name] = entry;
  }
  write_file_atomic(out.dir + "/manifest.json", json::dump(manifest) + "\n");
  return out;
}

}  // namespace dist2
