#include "dist2/util/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "dist2/util/env.h"

namespace dist2 {

namespace {
// The vector level of an OpenBLAS x86-64 core name: 3 = AVX-512, 2 = AVX2 and
// FMA, 1 = AVX, 0 = anything older (the Prescott fallback among them).
int core_level(const std::string& core) {
  static const std::map<std::string, int, std::less<>> levels{
      {"SkylakeX", 3}, {"Cooperlake", 3}, {"SapphireRapids", 3}, {"Haswell", 2}, {"Zen", 2},
      {"Excavator", 2}, {"Sandybridge", 1}, {"Bulldozer", 1}, {"Piledriver", 1}, {"Steamroller", 1}};
  const auto it = levels.find(core);
  return it == levels.end() ? 0 : it->second;
}
}  // namespace

std::string blas_core() {
  // Looked up at run time like the thread setter (util/threads.cpp): LibTorch
  // links whichever BLAS the system's alternative names.
  using CoreName = char* (*)();
  if (auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"))) {
    const char* name = fn();
    return name ? name : "";
  }
  return "";
}

std::string better_blas_core(const std::string& chosen, const std::set<std::string>& cpu_flags) {
  if (chosen.empty()) return "";
  const auto has = [&](const char* f) { return cpu_flags.count(f) > 0; };
  int level = 0;
  if (has("avx2") && has("fma")) level = 2;
  if (level == 2 && has("avx512f") && has("avx512bw") && has("avx512dq") && has("avx512vl")) level = 3;
  if (level <= core_level(chosen)) return "";
  return level == 3 ? "SkylakeX" : "Haswell";
}

std::set<std::string> cpu_vector_flags() {
  std::set<std::string> flags;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // __builtin_cpu_supports also checks that the OS saves the vector registers.
  if (__builtin_cpu_supports("avx2")) flags.insert("avx2");
  if (__builtin_cpu_supports("fma")) flags.insert("fma");
  if (__builtin_cpu_supports("avx512f")) flags.insert("avx512f");
  if (__builtin_cpu_supports("avx512bw")) flags.insert("avx512bw");
  if (__builtin_cpu_supports("avx512dq")) flags.insert("avx512dq");
  if (__builtin_cpu_supports("avx512vl")) flags.insert("avx512vl");
#endif
  return flags;
}

void select_blas_kernels(char** argv) {
  if (env_set("OPENBLAS_CORETYPE")) return;  // the user's choice, or this process's second start
  if (env_value("DIST2_BLAS_CORE") == "default") return;
  const std::string chosen = blas_core(), core = better_blas_core(chosen, cpu_vector_flags());
  if (core.empty()) return;
  setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  setenv("DIST2_BLAS_CORE_RAISED_FROM", chosen.c_str(), 1);
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with OpenBLAS's choice
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("DIST2_BLAS_CORE_RAISED_FROM");
}

std::string blas_core_raised_from() {
  return env_set("OPENBLAS_CORETYPE") ? std::string(env_value("DIST2_BLAS_CORE_RAISED_FROM")) : "";
}

std::string openblas_own_core_env_prefix() {
  return "env -u OPENBLAS_CORETYPE -u DIST2_BLAS_CORE_RAISED_FROM DIST2_BLAS_CORE=default ";
}

}  // namespace dist2
