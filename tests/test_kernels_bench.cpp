// `dist2 bench loss --quick --json` through the built executable: valid JSON
// with the keys a report reads, numbers that make sense.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstring>
#include <cmath>
#include <string>

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

TEST_CASE("dist2 bench: train is not built yet, a subcommand is required", "[kernels]") {
  auto t = dist2::test::run_dist2("bench train");
  CHECK(t.status == 2);
  CHECK(t.out.find("not built yet") != std::string::npos);
  CHECK(dist2::test::run_dist2("bench").status != 0);
  CHECK(dist2::test::run_dist2("bench loss --repeat 0").status != 0);
  CHECK(dist2::test::run_dist2("bench loss --device tpu").status != 0);
}
