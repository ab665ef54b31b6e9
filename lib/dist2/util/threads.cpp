#include "dist2/util/threads.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <ATen/Parallel.h>

#include "dist2/util/env.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "dist2/util/json.h"

namespace dist2 {

namespace {
// OpenBLAS is reached through the BLAS alternative LibTorch links, so its setter
// is looked up at run time rather than linked: with another BLAS it is absent.
void set_blas_threads(int n) {
  using Setter = void (*)(int);
  for (const char* name : {"openblas_set_num_threads", "goto_set_num_threads"}) {
    if (auto fn = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, name))) {
      fn(n);
      return;
    }
  }
}
}  // namespace

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown CPU";
}

std::string thread_splits_path() {
  if (const auto file = env_value("DIST2_THREADS_FILE"); !file.empty()) return std::string(file);
  if (const auto xdg = env_value("XDG_CONFIG_HOME"); !xdg.empty()) return std::string(xdg) + "/dist2/threads.json";
  const auto home = env_value("HOME");
  return std::string(home.empty() ? "." : home) + "/.config/dist2/threads.json";
}

void save_thread_splits(const std::map<int, std::pair<int, int>>& best_by_cores, const std::string& cpu, int cores) {
  json::Json splits = json::Json::object();
  for (const auto& [n, s] : best_by_cores) splits[std::to_string(n)] = {s.first, s.second};
  const json::Json j = {{"cpu", cpu}, {"cores", cores}, {"splits", splits},
                        {"measured_by", "dist2 bench train --save (intra-op threads, BLAS threads)"}};
  const std::string path = thread_splits_path();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  write_file_atomic(path, json::dump(j, 2) + "\n");
}

std::optional<std::pair<int, int>> saved_thread_split(int n, const std::string& cpu, int cores) {
  std::ifstream in(thread_splits_path());
  if (!in) return std::nullopt;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    const json::Json j = json::parse(text);
    if (j.value("cpu", "") != cpu || j.value("cores", 0) != cores) return std::nullopt;  // another machine's
    const auto& s = j.at("splits").at(std::to_string(n));
    return std::pair<int, int>{s.at(0).get<int>(), s.at(1).get<int>()};
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable or without this n: the default split
  }
}

namespace {
int g_requested = 1;
}  // namespace

int threads_requested() { return g_requested; }

int machine_cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

void set_threads(int n) {
  DIST2_CHECK(n >= 0, "--threads must be >= 0 (0 = all cores), got {}", n);
  const int cores = machine_cores();
  if (n == 0) n = cores;
  g_requested = n;
  // The measured split for n cores; else n intra-op threads and one BLAS
  // thread: never more than n busy threads (n and n nest, n x n threads
  // fighting over n cores: 2.3x slower than the best split on 2 cores,
  // results/BENCH.md).
  const auto split = saved_thread_split(n, cpu_model(), cores).value_or(std::pair<int, int>{n, 1});
  set_thread_split(split.first, split.second);
}

void set_thread_split(int intra, int blas) {
  DIST2_CHECK(intra >= 1 && blas >= 1, "thread counts must be >= 1, got intra {} and BLAS {}", intra, blas);
  setenv("OMP_NUM_THREADS", std::to_string(intra).c_str(), 1);
  setenv("OPENBLAS_NUM_THREADS", std::to_string(blas).c_str(), 1);
  at::set_num_threads(intra);
  set_blas_threads(blas);
}

int threads() { return at::get_num_threads(); }

}  // namespace dist2
