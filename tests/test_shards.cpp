// Shards: a cluster task's own run database, merged into the sweep's store by
// run id (Store::merge_shard, merge_shards), and the Slurm queue parsing the
// sweep's --wait relies on. The end-to-end Slurm sweep is tests/slurm/sweep_test.sh.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "dist2/store/store.h"
#include "dist2/sweep/shards.h"
#include "dist2/sweep/slurm.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "tests/support.h"

using namespace dist2;
using Catch::Matchers::Contains;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/dist2-shards-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A run in `st` as a trial's `dist2 train` leaves it: params, a tag, `steps`
// train rows, a checkpoint file logged as an artifact.
std::string make_run(store::Store& st, const std::string& hash, int steps) {
  const std::string id = st.create_run("exp", "regression", "smoke", "a: 1\n", hash, {{"seed", "1"}}, "dist seed=1");
  for (int s = 1; s <= steps; ++s) st.log_metric(id, "train", "loss", s, 1.0 / s);
  st.set_tag(id, "device", "cpu");
  const std::string ckpt = st.run_dir(id) + "/checkpoint.pt";
  write_file_atomic(ckpt, "weights of " + id);
  st.log_artifact(id, "checkpoint", ckpt);
  st.log_artifact(id, "dataset", "/elsewhere/datasets/abc");  // outside the run folder: kept as it is
  return id;
}

}  // namespace

TEST_CASE("shards: a shard's finished run merges with its rows and files; merging again changes nothing",
          "[shards]") {
  TempDir dir;
  const std::string main_dir = dir.path + "/store";
  store::Store st(main_dir);
  const std::string shard = shard_dir_for(main_dir, "h1");
  std::string id;
  {
    store::Store sh(shard);
    id = make_run(sh, "h1", 3);
    sh.log_metric(id, "test", "mae", 3, 0.25);
    sh.finish_run(id, "finished");
  }
  for (int round = 0; round < 2; ++round) {
    INFO("merge " << round + 1);
    const auto m = st.merge_shard(shard);
    REQUIRE(m.runs == 1);
    REQUIRE(m.metric_rows == 4);
    REQUIRE(m.files == 1);  // the checkpoint
    const auto run = st.run(id);
    REQUIRE(run.status == "finished");
    REQUIRE(run.config_hash == "h1");
    REQUIRE(run.variant == "dist seed=1");
    REQUIRE(run.params.at("seed") == "1");
    REQUIRE(st.metrics(id).size() == 4);  // not doubled by the second merge
    REQUIRE(st.final_metrics(id, "test").at("mae") == 0.25);
    REQUIRE(st.tags(id).at("device") == "cpu");
    REQUIRE(st.find_finished("h1").has_value());
    const auto arts = st.artifacts(id);
    REQUIRE(arts.size() == 2);
    for (const auto& a : arts) {
      if (a.kind == "dataset") REQUIRE(a.path == "/elsewhere/datasets/abc");
      if (a.kind != "checkpoint") continue;
      // The artifact now points into this store's run folder, and the file is there.
      REQUIRE(a.path == st.run_dir(id) + "/checkpoint.pt");
      REQUIRE(slurp(a.path) == "weights of " + id);
    }
  }
  REQUIRE_THROWS_WITH(st.merge_shard(main_dir), Contains("into itself"));
  REQUIRE_THROWS_WITH(st.merge_shard(dir.path + "/nothing"), Contains("runs.db is missing"));
}

TEST_CASE("shards: a run still training merges its rows so far, and its final state on the next merge",
          "[shards]") {
  TempDir dir;
  const std::string main_dir = dir.path + "/store";
  store::Store st(main_dir);
  const std::string shard = shard_dir_for(main_dir, "h2");
  store::Store sh(shard);
  const std::string id = make_run(sh, "h2", 2);  // running, by this (live) process
  auto m = st.merge_shard(shard);
  REQUIRE(m.metric_rows == 2);
  REQUIRE(m.files == 0);  // a running run's files come over when it stops
  REQUIRE(st.run(id).status == "running");
  REQUIRE(!std::filesystem::exists(st.run_dir(id) + "/checkpoint.pt"));
  REQUIRE(!st.find_finished("h2"));

  for (int s = 3; s <= 5; ++s) sh.log_metric(id, "train", "loss", s, 1.0 / s);
  sh.finish_run(id, "finished");
  m = st.merge_shard(shard);
  REQUIRE(m.metric_rows == 5);
  REQUIRE(st.metrics(id, "train", "loss").size() == 5);  // 2 + 5 would be a merge that appends
  REQUIRE(st.run(id).status == "finished");
  REQUIRE(std::filesystem::exists(st.run_dir(id) + "/checkpoint.pt"));
}

TEST_CASE("shards: merge_shards takes every shard, once per run even from a copied shard, and reports a broken one",
          "[shards]") {
  TempDir dir;
  const std::string main_dir = dir.path + "/store";
  store::Store st(main_dir);
  std::string a, b;
  {
    store::Store sa(shard_dir_for(main_dir, "ha"));
    a = make_run(sa, "ha", 4);
    sa.finish_run(a, "finished");
    store::Store sb(shard_dir_for(main_dir, "hb"));
    b = make_run(sb, "hb", 1);
    sb.finish_run(b, "interrupted", "stopped by signal 15 at step 1");
  }
  // The same run in two shards (a shard copied by hand), a shard whose job has
  // not started (no database yet), and a database that is not one.
  std::filesystem::copy(shard_dir_for(main_dir, "ha"), shard_dir_for(main_dir, "ha-copy"),
                        std::filesystem::copy_options::recursive);
  make_dirs(shard_dir_for(main_dir, "pending"));
  make_dirs(shard_dir_for(main_dir, "broken"));
  write_file_atomic(shard_dir_for(main_dir, "broken") + "/runs.db", std::string(4096, 'x'));

  for (int round = 0; round < 2; ++round) {
    INFO("round " << round + 1);
    const auto m = merge_shards(st);
    REQUIRE(m.shards == 3);  // ha, ha-copy, hb
    REQUIRE(m.problems.size() == 1);
    REQUIRE_THAT(m.problems[0], Contains("broken"));
    REQUIRE(st.list_runs().size() == 2);
    REQUIRE(st.metrics(a).size() == 4);
    REQUIRE(st.run(b).status == "interrupted");
    REQUIRE(st.run(b).error == "stopped by signal 15 at step 1");
  }
}

TEST_CASE("slurm: squeue's task fields and lines are read as the sweep needs them", "[shards][slurm]") {
  using slurm::task_indices;
  REQUIRE(task_indices("5") == std::vector<size_t>{5});
  REQUIRE(task_indices("[4-7%2]") == std::vector<size_t>{4, 5, 6, 7});
  REQUIRE(task_indices("[1,3-5]") == std::vector<size_t>{1, 3, 4, 5});
  REQUIRE(task_indices("[0]") == std::vector<size_t>{0});
  REQUIRE(task_indices("x").empty());
  REQUIRE(task_indices("[3-]").empty());

  const auto q = slurm::parse_queue("101_0|R|None\n101_[1-3%2]|PD|JobArrayTaskLimit\n102_0|PD|DependencyNeverSatisfied\n"
                                    "garbage\n");
  REQUIRE(q.size() == 3);
  REQUIRE(q[0].id == "101_0");
  REQUIRE(q[0].state == "R");
  REQUIRE(q[1].reason == "JobArrayTaskLimit");
  REQUIRE(q[2].reason == "DependencyNeverSatisfied");
}

namespace {

// Stand-ins for sbatch, squeue and scancel: sbatch logs its arguments and
// prints job 101 for a plain job, 102 for an array; squeue prints FAKE/queue.txt;
// scancel logs its arguments. The sweep's Slurm logic, with no cluster.
struct FakeSlurm {
  TempDir dir;
  std::string bin = dir.path + "/bin";
  FakeSlurm() {
    make_dirs(bin);
    write(bin + "/sbatch", "echo \"$@\" >> " + dir.path + "/sbatch.log\n"
                           "case \"$*\" in *--array*) echo 102 ;; *) echo 101 ;; esac\n");
    write(bin + "/squeue", "cat " + dir.path + "/queue.txt 2>/dev/null; exit 0\n");
    write(bin + "/scancel", "echo \"$@\" >> " + dir.path + "/scancel.log\n");
  }
  static void write(const std::string& path, const std::string& body) {
    write_file_atomic(path, "#!/bin/sh\n" + body);
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  }
  void queue(const std::string& text) { write_file_atomic(dir.path + "/queue.txt", text); }
  std::string log(const std::string& name) { return slurp(dir.path + "/" + name + ".log"); }
  std::string env() { return fmt::format("PATH={}:$PATH DIST2_SLURM_POLL_S=0.05", bin); }
};

// The job array's script the sweep wrote (DIR/slurm/*.sh, not the prepare job's).
std::string array_script(const std::string& store) {
  for (const auto& e : std::filesystem::directory_iterator(store + "/slurm")) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".sh" && name.find("prepare") == std::string::npos) return e.path().string();
  }
  return "";
}

const std::string kRewardExperiment = std::string(DIST2_SOURCE_DIR) + "/experiments/table3_reward.yaml";

}  // namespace

TEST_CASE("slurm: a prepare job first, the array after it; a failed prepare job cancels the array", "[slurm]") {
  FakeSlurm fake;
  const std::string store = fake.dir.path + "/store";
  fake.queue("102_0|PD|DependencyNeverSatisfied\n102_1|PD|DependencyNeverSatisfied\n");
  const auto r = test::run_dist2(
      fmt::format("sweep {} --profile smoke --store {} --launcher slurm --wait --cpus-per-task 2 --partition cpu",
                  kRewardExperiment, store),
      fake.env());
  INFO(r.out);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.out, Contains("submitted job array 102"));
  REQUIRE_THAT(r.out, Contains("after prepare job 101"));
  REQUIRE_THAT(r.out, Contains("prepare job 101 failed"));
  REQUIRE_THAT(r.out, Contains("cancelled job array 102"));
  REQUIRE_THAT(fake.log("scancel"), Contains("102"));
  const std::string sbatch = fake.log("sbatch");
  REQUIRE_THAT(sbatch, Contains("--dependency afterok:101"));
  REQUIRE_THAT(sbatch, Contains("--partition cpu"));
  REQUIRE_THAT(sbatch, Contains("--cpus-per-task 2"));
  // The array script: task k runs trial k's train into its shard, with the task's cores.
  const std::string script = slurp(array_script(store));
  REQUIRE_THAT(script, Contains("0) exec"));
  REQUIRE_THAT(script, Contains("'--threads' '2' 'train'"));
  REQUIRE_THAT(script, Contains("'--shard' '" + shard_dir_for(store, "")));
  REQUIRE(store::Store(store).list_runs().empty());
}

TEST_CASE("slurm: the image task's tokenizer and classifier get a prepare job of their own", "[slurm]") {
  FakeSlurm fake;
  const std::string store = fake.dir.path + "/store";
  const std::string exp = std::string(DIST2_SOURCE_DIR) + "/experiments/table4_imagegen.yaml";
  const auto r = test::run_dist2(
      fmt::format("sweep {} --profile smoke --store {} --launcher slurm --cpus-per-task 2", exp, store), fake.env());
  INFO(r.out);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.out, Contains("submitted job array 102"));
  REQUIRE_THAT(r.out, Contains("after prepare job 101"));
  REQUIRE_THAT(fake.log("sbatch"), Contains("--dependency afterok:101"));
  std::string prepare;
  for (const auto& e : std::filesystem::directory_iterator(store + "/slurm"))
    if (e.path().filename().string().find("-prepare.sh") != std::string::npos) prepare = slurp(e.path().string());
  REQUIRE_THAT(prepare, Contains("'--prepare-only'"));
  REQUIRE_THAT(prepare, Contains("'--threads' '2'"));
}

TEST_CASE("slurm: trials still queued in an earlier sweep's array are not submitted again", "[slurm]") {
  FakeSlurm fake;
  const std::string store = fake.dir.path + "/store";
  const std::string sweep =
      fmt::format("sweep {} --profile smoke --store {} --launcher slurm sweep.seed=[1]", kRewardExperiment, store);
  const auto first = test::run_dist2(sweep, fake.env());
  INFO(first.out);
  REQUIRE(first.status == 0);
  REQUIRE_THAT(first.out, Contains("submitted job array 102"));
  const auto n_submits = [&] {
    const std::string log = fake.log("sbatch");
    return std::count(log.begin(), log.end(), '\n');
  };
  const auto submits = n_submits();

  // Pending in Slurm (squeue without -r would write the range): nothing new is submitted.
  fake.queue("102_[0-9%2]|PD|Dependency\n");
  const auto second = test::run_dist2(sweep, fake.env());
  INFO(second.out);
  REQUIRE(second.status == 0);
  REQUIRE_THAT(second.out, Contains("queued in an earlier sweep's Slurm job array"));
  REQUIRE_THAT(second.out, !Contains("submitted"));
  REQUIRE(n_submits() == submits);

  // Gone from the queue without a run (cancelled before it started): submitted again.
  fake.queue("");
  const auto third = test::run_dist2(sweep, fake.env());
  INFO(third.out);
  REQUIRE_THAT(third.out, Contains("submitted job array 102"));
  REQUIRE(n_submits() > submits);
}

TEST_CASE("shards: reading commands (runs, report) see a shard's runs without a sweep merging first", "[shards]") {
  TempDir dir;
  const std::string main_dir = dir.path + "/store";
  { store::Store create(main_dir); }
  std::string id;
  {
    store::Store sh(shard_dir_for(main_dir, "h9"));
    id = make_run(sh, "h9", 2);
    sh.finish_run(id, "finished");
  }
  const auto r = test::run_dist2("runs --store " + main_dir);
  INFO(r.out);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.out, Contains(id));
  REQUIRE(store::Store(main_dir).run(id).status == "finished");
}
