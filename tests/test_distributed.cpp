// Data-parallel training over c10d (Gloo): shards, the rendezvous from the
// environment, two ranks in one process against one rank, and `dist2 train
// --nproc 2` / an external launcher through the executable, a rank that dies
// included.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "dist2/store/store.h"
#include "dist2/tasks/regression/task.h"
#include "dist2/train/distributed.h"
#include "dist2/train/schema.h"
#include "dist2/train/trainer.h"
#include "dist2/util/error.h"
#include "tests/support.h"

using namespace dist2;
using dist2::test::run_dist2;

namespace {

config::Config dp_config() {
  config::Config cfg(experiment_schema("regression"));
  cfg.set("seed", config::Value(int64_t{3}));
  cfg.set("task.n_train", config::Value(int64_t{60}));
  cfg.set("task.n_test", config::Value(int64_t{10}));
  cfg.set("model.d_model", config::Value(int64_t{16}));
  cfg.set("model.n_head", config::Value(int64_t{2}));
  cfg.set("model.n_layer", config::Value(int64_t{1}));
  cfg.set("train.steps", config::Value(int64_t{20}));
  cfg.set("train.batch_size", config::Value(int64_t{9}));  // odd: shards of 5 and 4
  cfg.set("train.log_every", config::Value(int64_t{1}));
  cfg.set("loss.kind", config::Value(std::string("dist")));
  cfg.set("loss.place_weighting", config::Value(true));  // weighted L_aux: the global weight sum matters
  cfg.set("loss.contrastive", config::Value(true));      // candidates drawn per example, the same in any shard
  return cfg;
}

// The logged losses of one trainer; `pg` makes it one rank of a group.
std::vector<double> logged_losses(const config::Config& cfg, ProcessGroup* pg) {
  RegressionTask task;
  const auto data = task.generate(cfg);
  Tokenizer tok = tokenizer_for(cfg);
  MetricSpace metric = metric_space(cfg, tok);
  // The ranks here are threads of one process: the Trainer seeds LibTorch's
  // global generator and draws its initial weights from it, so two ranks
  // constructing at once would interleave their draws (separate processes,
  // as `dist2 train --nproc` starts them, each have their own).
  static std::mutex init_mutex;
  std::unique_lock<std::mutex> init_lock(init_mutex);
  Trainer trainer(cfg, tok, metric, loss_options(cfg, metric));
  init_lock.unlock();
  trainer.set_process_group(pg);
  std::vector<double> losses;
  TrainHooks hooks;
  hooks.show_progress = false;
  hooks.on_log = [&](int64_t, const std::map<std::string, double>& v) { losses.push_back(v.at("loss")); };
  trainer.train(data.train, hooks);
  return losses;
}

// Two ranks of one group, each on its own thread of this process.
struct RankResults {
  std::vector<double> losses[2];
  std::string errors[2];
};
RankResults train_two_ranks(const config::Config& cfg) {
  RankResults out;
  const int port = free_local_port();
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.emplace_back([&, r] {
      try {
        auto pg = ProcessGroup::connect(Rendezvous{r, 2, "127.0.0.1", port}, std::chrono::seconds(60));
        out.losses[r] = logged_losses(cfg, pg.get());
      } catch (const std::exception& e) {
        out.errors[r] = e.what();
      }
    });
  for (auto& t : ranks) t.join();
  return out;
}

// A bash loop that returns once some run of `store` has written its first
// checkpoint (training is under way), or after 120 s.
std::string wait_for_checkpoint(const std::string& store) {
  return "for i in $(seq 1200); do ls " + store + "/runs/*/checkpoint.pt >/dev/null 2>&1 && break; sleep 0.1; done; ";
}

std::string temp_dir() {
  char tmpl[] = "/tmp/dist2-dp-XXXXXX";
  return mkdtemp(tmpl);
}

const std::string kExp = std::string(DIST2_SOURCE_DIR) + "/experiments/table11_regression.yaml";

}  // namespace

// `make setup` installs libgloo-dev, so Debian builds always have the process
// group; a LibTorch without Gloo's headers (some pip builds) skips, saying so.
#define SKIP_WITHOUT_GLOO()                                                                  \
  do {                                                                                       \
    if (!distributed_available()) {                                                          \
      WARN("data-parallel tests skipped: dist2 was built without c10d's Gloo process group"); \
      return;                                                                                \
    }                                                                                        \
  } while (0)

TEST_CASE("shards cover the batch contiguously, sizes differing by at most one", "[distributed]") {
  for (int64_t n : {1, 7, 9, 64})
    for (int world : {1, 2, 3}) {
      if (n < world) continue;
      int64_t next = 0;
      for (int r = 0; r < world; ++r) {
        const auto [b, e] = shard_range(n, r, world);
        CHECK(b == next);
        CHECK((e - b == n / world || e - b == n / world + 1));
        next = e;
      }
      CHECK(next == n);
    }
}

TEST_CASE("the rendezvous comes from RANK/WORLD_SIZE/MASTER_* (or SLURM_*), bad values are one line",
          "[distributed]") {
  for (const char* k : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "SLURM_PROCID", "SLURM_NTASKS"})
    unsetenv(k);
  Rendezvous alone = rendezvous_from_env();
  CHECK(alone.world == 1);
  CHECK(alone.rank == 0);
  setenv("SLURM_PROCID", "1", 1);
  setenv("SLURM_NTASKS", "4", 1);
  CHECK(rendezvous_from_env().rank == 1);
  CHECK(rendezvous_from_env().world == 4);
  setenv("RANK", "0", 1);  // torchrun's variables win
  setenv("WORLD_SIZE", "2", 1);
  setenv("MASTER_ADDR", "10.0.0.7", 1);
  setenv("MASTER_PORT", "29611", 1);
  const Rendezvous rz = rendezvous_from_env();
  CHECK((rz.rank == 0 && rz.world == 2 && rz.addr == "10.0.0.7" && rz.port == 29611));
  setenv("RANK", "2", 1);
  CHECK_THROWS_WITH(rendezvous_from_env(), Catch::Contains("RANK must lie in [0, WORLD_SIZE)"));
  setenv("RANK", "x", 1);
  CHECK_THROWS_WITH(rendezvous_from_env(), Catch::Contains("RANK='x' is not a non-negative integer"));
  for (const char* k : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "SLURM_PROCID", "SLURM_NTASKS"})
    unsetenv(k);
}

TEST_CASE("two ranks follow one process on the same global batch: 20 logged losses to 1e-5", "[distributed]") {
  SKIP_WITHOUT_GLOO();
  const config::Config cfg = dp_config();
  const std::vector<double> one = logged_losses(cfg, nullptr);
  REQUIRE(one.size() == 20);
  const RankResults two = train_two_ranks(cfg);
  INFO(two.errors[0] << " | " << two.errors[1]);
  REQUIRE(two.errors[0].empty());
  REQUIRE(two.errors[1].empty());
  REQUIRE(two.losses[0].size() == 20);
  CHECK(two.losses[0] == two.losses[1]);  // every rank logs the global loss
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("step " << i + 1 << ": one process " << one[i] << ", two ranks " << two.losses[0][i]);
    CHECK(std::fabs(two.losses[0][i] - one[i]) <= 1e-5 * std::max(1.0, std::fabs(one[i])));
  }
  // More ranks than items per step is refused.
  config::Config tiny = dp_config();
  tiny.set("train.batch_size", config::Value(int64_t{1}));
  const RankResults refused = train_two_ranks(tiny);
  CHECK(refused.errors[0] == "2 ranks need at least 2 items per step, and train.batch_size gives 1");
}

TEST_CASE("dist2 train --nproc 2 records one run whose losses are the single process's", "[distributed]") {
  SKIP_WITHOUT_GLOO();
  const std::string store = temp_dir();
  const std::string args = kExp + " --profile smoke --store " + store +
                           " --no-progress train.steps=20 train.log_every=1 train.batch_size=9 seed=2";
  auto one = run_dist2("train " + args);
  INFO(one.out);
  REQUIRE(one.status == 0);
  auto two = run_dist2("train " + args + " --nproc 2");
  INFO(two.out);
  REQUIRE(two.status == 0);
  store::Store st(store);
  const auto runs = st.list_runs({});
  REQUIRE(runs.size() == 2);  // rank 1 recorded nothing
  const auto& pair = runs[0];  // newest first
  const auto& single = runs[1];
  CHECK(pair.status == "finished");
  CHECK(st.tags(pair.id).at("world_size") == "2");
  CHECK(st.tags(single.id).count("world_size") == 0);
  // Where it ran is a tag, not a param: runs of one trial on two devices are one configuration.
  CHECK(st.tags(pair.id).at("device") == "cpu");
  CHECK(pair.params.count("train.device") == 0);
  CHECK(pair.params.count("train.steps") == 1);
  const auto a = st.metrics(single.id, "train", "loss"), b = st.metrics(pair.id, "train", "loss");
  REQUIRE(a.size() == 20);
  REQUIRE(b.size() == 20);
  for (size_t i = 0; i < a.size(); ++i) CHECK(std::fabs(a[i].value - b[i].value) <= 1e-5 * std::max(1.0, a[i].value));
  // Bad input: more ranks than sequences per step; --nproc under a launcher.
  auto many = run_dist2("train " + kExp + " --profile smoke --store " + store + " --no-progress train.batch_size=2 --nproc 3");
  CHECK(many.status != 0);
  CHECK(many.out.find("3 ranks need at least 3 items per step") != std::string::npos);
  CHECK(many.out.find("terminate") == std::string::npos);
  auto nested = run_dist2("train " + args + " --nproc 2", "RANK=0 WORLD_SIZE=2");
  CHECK(nested.status != 0);
  CHECK(nested.out.find("under a launcher that already set WORLD_SIZE=2") != std::string::npos);
}

TEST_CASE("an unreachable rendezvous and a rank that dies fail the run in one line, never finished",
          "[distributed]") {
  SKIP_WITHOUT_GLOO();
  const std::string store = temp_dir();
  const int port = free_local_port();
  // Rank 1 alone, nobody serving the store: a one-line error within the timeout.
  auto lonely = run_dist2("train " + kExp + " --profile smoke --store " + store + " --no-progress",
                          "RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
                              " DIST2_RENDEZVOUS_TIMEOUT_S=2");
  INFO(lonely.out);
  CHECK(lonely.status != 0);
  CHECK(lonely.out.find("rank 1 of 2 cannot join the others at 127.0.0.1:" + std::to_string(port)) !=
        std::string::npos);
  // Two ranks started by hand (as srun would); rank 1 is killed while they train.
  const std::string port2 = std::to_string(free_local_port());
  const std::string env = "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port2 + " DIST2_RENDEZVOUS_TIMEOUT_S=60";
  const std::string train = std::string(DIST2_EXE) + " train " + kExp + " --profile smoke --store " + store +
                            " --no-progress train.steps=200000 train.log_every=10 train.checkpoint_every=10";
  const std::string script = "(" + env + " RANK=1 " + train + " >/dev/null 2>&1 & r1=$!; " + env + " RANK=0 " + train +
                             " > " + store + "/rank0.out 2>&1 & r0=$!; " + wait_for_checkpoint(store) + "kill -9 $r1; wait $r0; echo rc=$? >> " +
                             store + "/rank0.out)";
  REQUIRE(dist2::test::run_shell_status("bash -c '" + script + "'") == 0);
  std::ifstream in(store + "/rank0.out");
  const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(out);
  CHECK(out.find("rc=0") == std::string::npos);
  CHECK(out.find("terminate") == std::string::npos);
  store::Store st(store);
  const auto runs = st.list_runs({});
  REQUIRE(runs.size() == 1);  // the lonely rank 1 recorded nothing
  CHECK(runs[0].status == "failed");
  CHECK(runs[0].error.find("ranks failed on rank 0") != std::string::npos);
}

TEST_CASE("a 2-rank run stopped with SIGTERM resumes with 2 ranks and ends where an unstopped one does",
          "[distributed]") {
  SKIP_WITHOUT_GLOO();
  const std::string store = temp_dir();
  const std::string args = kExp + " --profile smoke --store " + store +
                           " --no-progress train.steps=400 train.log_every=20 train.checkpoint_every=40 seed=4 --nproc 2";
  // Stopped: SIGTERM to rank 0 alone; every rank stops at the same step.
  const std::string out = store + "/stopped.out";
  const std::string script = "(" + std::string(DIST2_EXE) + " train " + args + " > " + out +
                             " 2>&1 & r0=$!; " + wait_for_checkpoint(store) + "kill -TERM $r0; wait $r0; echo rc=$? >> " + out + ")";
  REQUIRE(dist2::test::run_shell_status("bash -c '" + script + "'") == 0);
  std::string stopped_out;
  {
    std::ifstream in(out);
    stopped_out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  INFO(stopped_out);
  REQUIRE(stopped_out.find("rc=130") != std::string::npos);
  std::string id;
  {
    store::Store st(store);
    const auto runs = st.list_runs({});
    REQUIRE(runs.size() == 1);
    REQUIRE(runs[0].status == "interrupted");
    id = runs[0].id;
  }
  auto resumed = run_dist2("train " + kExp + " --store " + store + " --no-progress --resume " + id + " --nproc 2");
  INFO(resumed.out);
  REQUIRE(resumed.status == 0);
  auto whole = run_dist2("train " + args);
  INFO(whole.out);
  REQUIRE(whole.status == 0);
  store::Store st(store);
  const auto runs = st.list_runs({});
  REQUIRE(runs.size() == 2);
  const auto a = st.metrics(id, "train", "loss"), b = st.metrics(runs[0].id, "train", "loss");
  REQUIRE(a.size() == 20);  // every logged step once, none twice
  REQUIRE(b.size() == 20);
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].step == b[i].step);
    CHECK(a[i].value == b[i].value);  // bit for bit: the same shards, sums and steps
  }
  CHECK(st.run(id).status == "finished");
}
