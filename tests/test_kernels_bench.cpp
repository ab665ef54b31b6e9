// `dist2 bench loss --quick --json` through the built executable: valid JSON
// with the keys a report reads, numbers that make sense.
#include <catch2/catch.hpp>

#if __has_include(<malloc.h>)
#include <malloc.h>  // mallinfo2, glibc
#endif

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dist2/train/distributed.h"
#include "dist2/util/allocator.h"
#include "dist2/util/blas_kernels.h"
#include "dist2/util/env.h"
#include "dist2/util/threads.h"
#include "tests/support.h"

TEST_CASE("dist2 bench loss --quick --json prints valid JSON with the expected keys", "[kernels]") {
  auto r = dist2::test::run_dist2("--threads 2 bench loss --quick --json --repeat 1 --no-python");
  INFO(r.out);
  REQUIRE(r.status == 0);
  const nlohmann::json j = dist2::test::parse_json_output(r.out);  // strict RFC 8259: no NaN, no trailing comma
  for (const char* key : {"device", "device_name", "threads", "memory_method", "python", "cases"})
    CHECK(j.contains(key));
  CHECK(j.at("threads") == 2);
  // Every case carries every measurement.
  REQUIRE(j.at("cases").size() == 2);
  for (const auto& c : j.at("cases")) {
    INFO(c.dump());
    for (const char* key : {"composed_s", "fused_s", "speedup", "fused_kernel_s", "fused_gbps", "copy_gbps",
                            "floor_ratio", "composed_peak_bytes", "fused_peak_bytes", "python_s", "loss_rel_diff"})
      CHECK(c.contains(key));
    const double composed = c.at("composed_s").get<double>();
    const double fused = c.at("fused_s").get<double>();
    CHECK(composed > 0);
    CHECK(fused > 0);
    CHECK(c.at("speedup").get<double>() == Approx(composed / fused).epsilon(1e-9));
    CHECK(c.at("loss_rel_diff").get<double>() < 1e-5);  // the fused loss is the reference's
    CHECK(c.at("python_s").is_null());                   // --no-python
  }
}

TEST_CASE("dist2 bench loss --fused-linear --quick --json: three paths, one loss, every measurement", "[kernels]") {
  auto r = dist2::test::run_dist2("--threads 2 bench loss --fused-linear --quick --json --repeat 1");
  INFO(r.out);
  REQUIRE(r.status == 0);
  const nlohmann::json j = dist2::test::parse_json_output(r.out);
  CHECK(j.at("bench") == "fused_linear");
  REQUIRE(j.at("cases").size() == 1);
  for (const auto& c : j.at("cases")) {
    INFO(c.dump());
    for (const char* key : {"composed_libtorch_s", "composed_fused_s", "fused_linear_s"}) CHECK(c.at(key).get<double>() > 0);
    for (const char* key : {"composed_libtorch_peak_bytes", "composed_fused_peak_bytes", "fused_linear_peak_bytes"})
      CHECK(c.contains(key));
    CHECK(c.at("loss_rel_diff").get<double>() < 1e-5);  // the fused linear loss is the composed one's
    CHECK(c.at("chunk_rows").get<int64_t>() >= 1);
  }
}

TEST_CASE("dist2 bench train --quick --json: every split measured, best split and ratios consistent", "[kernels]") {
  auto r = dist2::test::run_dist2("bench train --quick --json --no-python --splits 1x1 --splits 1x2");
  INFO(r.out);
  REQUIRE(r.status == 0);
  const nlohmann::json j = dist2::test::parse_json_output(r.out);
  CHECK(j.at("model").at("n_layer") == 1);
  CHECK(j.at("model").at("params").get<int64_t>() > 0);
  REQUIRE(j.at("splits").size() == 2);
  double best = 0;
  for (const auto& s : j.at("splits")) {
    INFO(s.dump());
    const double ms = s.at("cpp_ms_per_step").get<double>(), tps = s.at("cpp_tokens_per_s").get<double>();
    CHECK(ms > 0);
    CHECK(tps == Approx(8 * 16 / (ms / 1e3)).epsilon(1e-9));  // quick: batch 8 x 16 tokens
    CHECK(s.at("cpp_peak_rss_mb").get<double>() > 10);
    CHECK(s.at("python_ms_per_step").is_null());  // --no-python
    best = std::max(best, tps);
  }
  const auto& b = j.at("best_cpp");
  for (const auto& s : j.at("splits"))
    if (s.at("intra_threads") == b.at(0) && s.at("blas_threads") == b.at(1)) CHECK(s.at("cpp_tokens_per_s") == best);
  CHECK(j.at("best_ratio").is_null());
  CHECK(j.at("ranks_cpp_ms_per_step").is_null());  // no --ranks
  // The malloc comparison at the best split: C++ once more under glibc's default, no Python (--no-python).
  CHECK(j.at("allocator") == "dist2");
  CHECK(j.at("malloc_split") == b);
  CHECK(j.at("cpp_default_malloc_ms_per_step").get<double>() > 0);
  CHECK(j.at("python_dist2_malloc_ms_per_step").is_null());
  // The BLAS comparison: measured exactly when dist2 raised OpenBLAS's core
  // (this suite passes its own choice on to the executable, tests/main.cpp).
  const std::string core = dist2::blas_core(), own = dist2::blas_core_raised_from();
  CHECK(j.at("blas_core") == core);
  CHECK(j.at("blas_core_openblas") == (own.empty() ? core : own));
  if (own.empty()) CHECK(j.at("cpp_openblas_core_ms_per_step").is_null());
  else CHECK(j.at("cpp_openblas_core_ms_per_step").get<double>() > 0);
}

TEST_CASE("env: a variable set to the empty string counts as unset, as for the knobs below", "[kernels]") {
  const char* name = "DIST2_TEST_ENV_KNOB";
  unsetenv(name);
  CHECK_FALSE(dist2::env_set(name));
  CHECK(dist2::env_value(name).empty());
  setenv(name, "", 1);
  CHECK_FALSE(dist2::env_set(name));
  setenv(name, "default", 1);
  CHECK(dist2::env_set(name));
  CHECK(dist2::env_value(name) == "default");
  unsetenv(name);
}

TEST_CASE("dist2's malloc setting: on by default, off under DIST2_MALLOC=default, the user's own knobs win",
          "[kernels]") {
  for (const auto& [env, expected] : std::vector<std::pair<std::string, std::string>>{
           {"", "dist2"}, {"DIST2_MALLOC=default", "default"}, {"MALLOC_TRIM_THRESHOLD_=1000000", "environment"}}) {
    auto r = dist2::test::run_dist2("bench train --quick --json --no-python --splits 1x1", env);
    INFO(env << "\n" << r.out);
    REQUIRE(r.status == 0);
    const nlohmann::json j = dist2::test::parse_json_output(r.out);
    CHECK(j.at("allocator") == expected);
    CHECK(j.at("malloc_split").is_null() == (expected != "dist2"));  // compared only against dist2's setting
  }
}

TEST_CASE("BLAS kernels: a core OpenBLAS fell back to is raised to what the CPU's instructions allow", "[kernels]") {
  const std::set<std::string> avx512{"avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"};
  const std::set<std::string> avx2{"avx2", "fma"};
  CHECK(dist2::better_blas_core("Prescott", avx512) == "SkylakeX");
  CHECK(dist2::better_blas_core("Prescott", avx2) == "Haswell");
  CHECK(dist2::better_blas_core("Sandybridge", avx2) == "Haswell");
  CHECK(dist2::better_blas_core("Haswell", avx512) == "SkylakeX");
  CHECK(dist2::better_blas_core("Prescott", {"avx2"}).empty());  // AVX2 without FMA
  CHECK(dist2::better_blas_core("Haswell", {"avx2", "fma", "avx512f"}).empty());  // AVX-512 in part
  CHECK(dist2::better_blas_core("Prescott", {}).empty());
  for (const char* own : {"SkylakeX", "Cooperlake", "SapphireRapids"}) CHECK(dist2::better_blas_core(own, avx512).empty());
  CHECK(dist2::better_blas_core("Zen", avx2).empty());
  CHECK(dist2::better_blas_core("", avx512).empty());  // not OpenBLAS
}

TEST_CASE("BLAS kernels: the executable starts again with the better core, unless told not to", "[kernels]") {
  // OpenBLAS prints "Core: <name>" as it loads under OPENBLAS_VERBOSE=2. This
  // suite runs with OPENBLAS_CORETYPE set (tests/main.cpp), so it is removed.
  const auto cores_printed = [](const std::string& env) {
    auto r = dist2::test::run_dist2("--version", "env -u OPENBLAS_CORETYPE OPENBLAS_VERBOSE=2 " + env);
    INFO(r.out);
    REQUIRE(r.status == 0);
    std::vector<std::string> cores;
    for (size_t at = r.out.find("Core: "); at != std::string::npos; at = r.out.find("Core: ", at + 1))
      cores.push_back(r.out.substr(at + 6, r.out.find('\n', at) - at - 6));
    return cores;
  };
  const auto plain = cores_printed("");
  if (plain.empty()) {
    WARN("skipped: the BLAS here is not OpenBLAS");
    return;
  }
  const std::string better = dist2::better_blas_core(plain.front(), dist2::cpu_vector_flags());
  INFO("OpenBLAS chose " << plain.front() << "; better: " << better);
  if (better.empty()) {
    CHECK(plain.size() == 1);
  } else {
    REQUIRE(plain.size() == 2);
    CHECK(plain.back() == better);
  }
  CHECK(cores_printed("DIST2_BLAS_CORE=default") == std::vector<std::string>{plain.front()});
  CHECK(cores_printed("OPENBLAS_CORETYPE=Sandybridge") == std::vector<std::string>{"Sandybridge"});
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
TEST_CASE("dist2's malloc setting keeps a step-sized block on the heap, and the heap in the process after free",
          "[kernels]") {
  // tests/main.cpp applies the setting as the executable's main() does.
  REQUIRE(dist2::allocator_setting() == "dist2");
  const size_t bytes = size_t{8} << 20;  // an activation of the models here; glibc's default would mmap it
  const auto before = mallinfo2();
  void* block = std::malloc(bytes);
  REQUIRE(block != nullptr);
  std::memset(block, 1, bytes);
  const auto during = mallinfo2();
  CHECK(during.hblkhd == before.hblkhd);  // no mmap of its own
  CHECK(during.arena >= before.arena);
  std::free(block);
  const auto after = mallinfo2();
  CHECK(after.arena == during.arena);  // nothing trimmed: the next step reuses the pages it faulted in
}
#endif

TEST_CASE("dist2 bench train --ranks 2 times the data-parallel step", "[kernels][distributed]") {
  if (!dist2::distributed_available()) {
    WARN("skipped: dist2 was built without c10d's Gloo process group");
    return;
  }
  auto r = dist2::test::run_dist2("bench train --quick --json --no-python --splits 1x1 --ranks 2");
  INFO(r.out);
  REQUIRE(r.status == 0);
  const nlohmann::json j = dist2::test::parse_json_output(r.out);
  CHECK(j.at("ranks") == 2);
  const double ms = j.at("ranks_cpp_ms_per_step").get<double>();
  CHECK(ms > 0);
  CHECK(j.at("ranks_cpp_tokens_per_s").get<double>() == Approx(8 * 16 / (ms / 1e3)).epsilon(1e-9));
}

TEST_CASE("dist2 bench train: the Python peer builds the same model, where python3-torch is installed", "[kernels]") {
  if (dist2::test::run_shell_status("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    WARN("skipped: /usr/bin/python3 cannot import torch (make bench-setup installs python3-torch)");
    return;
  }
  auto r = dist2::test::run_dist2("bench train --quick --json --splits 1x1");
  INFO(r.out);
  REQUIRE(r.status == 0);
  const nlohmann::json j = dist2::test::parse_json_output(r.out);
  CHECK(j.at("model").at("python_params") == j.at("model").at("params"));
  CHECK(j.at("splits").at(0).at("python_ms_per_step").get<double>() > 0);
  CHECK(j.at("best_ratio").get<double>() > 0);
}

TEST_CASE("dist2 bench: bad input is a one-line error, a subcommand is required", "[kernels]") {
  for (const char* bad : {"bench train --splits 0x1", "bench train --splits 2", "bench train --splits 1x2x3"}) {
    auto t = dist2::test::run_dist2(bad);
    INFO(bad << ": " << t.out);
    CHECK(t.status != 0);
    CHECK(t.out.find("bad thread split") != std::string::npos);
  }
  CHECK(dist2::test::run_dist2("bench").status != 0);
  CHECK(dist2::test::run_dist2("bench loss --repeat 0").status != 0);
  CHECK(dist2::test::run_dist2("bench loss --device tpu").status != 0);
}

TEST_CASE("bench train --save records the fastest split per core count; --threads N follows it on this machine",
          "[kernels]") {
  char tmpl[] = "/tmp/dist2-threads-XXXXXX";
  const std::string file = std::string(mkdtemp(tmpl)) + "/threads.json";
  auto r = dist2::test::run_dist2("bench train --quick --no-python --splits 1x1 --save", "DIST2_THREADS_FILE=" + file);
  INFO(r.out);
  REQUIRE(r.status == 0);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  REQUIRE(dist2::saved_thread_split(1, dist2::cpu_model(), cores) == std::nullopt);  // not this process's file yet
  setenv("DIST2_THREADS_FILE", file.c_str(), 1);
  CHECK(dist2::saved_thread_split(1, dist2::cpu_model(), cores) == std::pair<int, int>{1, 1});
  // A split for 2 cores, written by hand: --threads 2 takes it; another machine's file is ignored.
  const int before = dist2::threads();
  dist2::save_thread_splits({{2, {1, 2}}}, dist2::cpu_model(), cores);
  dist2::set_threads(2);
  CHECK(dist2::threads() == 1);
  dist2::save_thread_splits({{2, {1, 2}}}, "another CPU", cores);
  dist2::set_threads(2);
  CHECK(dist2::threads() == 2);
  unsetenv("DIST2_THREADS_FILE");
  dist2::set_threads(before);
}
