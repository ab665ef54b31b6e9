#include "dist2/tasks/dataset_cache.h"

#include <cmath>
#include <sstream>

#include "dist2/image/image_file.h"

#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "dist2/util/hash.h"
#include "dist2/util/json.h"
#include "dist2/util/json_value.h"

namespace dist2 {

std::string dataset_id(const config::Config& cfg) {
  std::string canonical = "seed=" + cfg.value_string("seed") + "\n";
  for (const auto& [key, value] : cfg.values())
    if (key.rfind("task.", 0) == 0) canonical += key + "=" + cfg.value_string(key) + "\n";
  return cfg.get_string("task.name") + "-" + hex16(fnv1a64(canonical));
}

std::string example_to_json(const Example& e) {
  // "images" (a count) only when there are some, so text-only splits keep their bytes and checksums.
  const std::string images = e.images.empty() ? "" : fmt::format(", \"images\": {}", e.images.size());
  return fmt::format("{{\"prompt\": {}, \"completion\": {}, \"values\": {}, \"group\": {}{}}}", json::quote(e.prompt),
                     json::quote(e.completion), json::array(e.values), json::quote(e.group), images);
}

Example example_from_json(const std::string& line) {
  const auto v = json::parse(line);
  Example e;
  e.prompt = v.at("prompt").as_text();
  e.completion = v.at("completion").as_text();
  for (const auto& x : v.at("values").items) e.values.push_back(x.type == json::Value::Type::null ? NAN : x.num);
  if (const auto* g = v.find("group")) e.group = g->as_text();
  if (const auto* n = v.find("images")) {
    DIST2_CHECK(n->type == json::Value::Type::number && n->num >= 0 && n->num <= 64 && n->num == std::floor(n->num),
                "'images' must be a count from 0 to 64");
    e.images.resize(static_cast<size_t>(n->num));  // pixels come from the split's image file
  }
  return e;
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
  json::Value manifest;
  try {
    manifest = json::parse(read_file(manifest_path));
    DIST2_CHECK(manifest.at("splits").is_object(), "'splits' is not an object");
  } catch (const Error& e) {
    throw Error(fmt::format("dataset manifest '{}' is damaged ({}); delete {} to regenerate it", manifest_path,
                            e.what(), dir));
  }
  for (const auto& [name, entry] : manifest.at("splits").fields) {
    const std::string path = dir + "/" + name + ".jsonl";
    const std::string text = read_file(path);
    DIST2_CHECK(hex16(fnv1a64(text)) == entry.at("checksum").as_text(),
                "dataset file '{}' is corrupted (checksum mismatch); delete {} to regenerate it", path, dir);
    auto xs = parse_split(text, path);
    DIST2_CHECK(static_cast<double>(xs.size()) == entry.at("count").num, "dataset file '{}' is truncated", path);
    if (const auto* n = entry.find("images")) {
      const std::string image_path = dir + "/" + name + ".images";
      auto images = read_image_file(image_path);
      DIST2_CHECK(static_cast<double>(images.size()) == n->num, "image file '{}' is truncated", image_path);
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
  std::string manifest = "{\"task\": " + json::quote(task.name()) + ", \"splits\": {";
  bool first = true;
  for (const auto& [name, xs] : splits_of(out.data)) {
    const std::string text = split_text(*xs);
    write_file_atomic(out.dir + "/" + name + ".jsonl", text);
    const auto images = images_of(*xs);
    if (!images.empty()) write_image_file(out.dir + "/" + name + ".images", images);
    manifest += fmt::format("{}{}: {{\"count\": {}, \"checksum\": {}{}}}", first ? "" : ", ", json::quote(name),
                            xs->size(), json::quote(hex16(fnv1a64(text))),
                            images.empty() ? "" : fmt::format(", \"images\": {}", images.size()));
    first = false;
  }
  write_file_atomic(out.dir + "/manifest.json", manifest + "}}\n");
  return out;
}

}  // namespace dist2
