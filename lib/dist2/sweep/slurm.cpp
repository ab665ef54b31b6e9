#include "dist2/sweep/slurm.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>

#include "dist2/util/error.h"
#include "dist2/util/process.h"

namespace dist2::slurm {

namespace {

std::string first_line(const std::string& s) {
  size_t start = s.find_first_not_of(" \n\r\t");
  if (start == std::string::npos) return "";
  const size_t end = s.find('\n', start);
  return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// Runs one of Slurm's commands; one that cannot start or fails is a one-line
// error with the command's own first line.
std::string run_slurm(const std::vector<std::string>& args, const std::string& what) {
  const CommandResult r = run_command(args);
  DIST2_CHECK(r.status != 127, "cannot run {} (is Slurm's client installed and on PATH?)", args[0]);
  DIST2_CHECK(r.status == 0, "{} failed: {}", what, first_line(r.out));
  return r.out;
}

}  // namespace

std::string missing_commands() {
  std::vector<std::string> missing;
  for (const char* c : {"sbatch", "squeue", "scancel"})
    if (!on_path(c)) missing.push_back(c);
  return fmt::format("{}", fmt::join(missing, ", "));
}

std::string submit(const std::string& script, const JobOptions& opt) {
  std::vector<std::string> args{"sbatch", "--parsable", "--job-name", opt.job_name, "--output", opt.output,
                                "--open-mode=append", "--cpus-per-task", std::to_string(opt.cpus_per_task),
                                // A preempted or cancelled-for-requeue task runs again; its trial resumes.
                                "--requeue"};
  if (!opt.partition.empty()) args.insert(args.end(), {"--partition", opt.partition});
  if (!opt.time.empty()) args.insert(args.end(), {"--time", opt.time});
  if (!opt.array.empty()) args.insert(args.end(), {"--array", opt.array});
  // Slurm cancels the array itself when the prepare job fails; the sweep also
  // watches for DependencyNeverSatisfied, for clusters that ignore the flag.
  if (!opt.after_ok.empty()) args.insert(args.end(), {"--dependency", "afterok:" + opt.after_ok, "--kill-on-invalid-dep=yes"});
  args.push_back(script);
  // --parsable prints "jobid" or "jobid;cluster".
  const std::string line = first_line(run_slurm(args, "sbatch " + script));
  const std::string id = line.substr(0, line.find(';'));
  DIST2_CHECK(!id.empty() && id.find_first_not_of("0123456789") == std::string::npos,
              "sbatch printed no job id for {}: '{}'", script, line);
  return id;
}

std::vector<QueuedTask> parse_queue(const std::string& out) {
  std::vector<QueuedTask> tasks;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(pos, end - pos);
    pos = end + 1;
    const size_t a = line.find('|'), b = a == std::string::npos ? a : line.find('|', a + 1);
    if (b == std::string::npos) continue;
    tasks.push_back({line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)});
  }
  return tasks;
}

std::vector<QueuedTask> queue(const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return {};
  // This user's jobs, filtered here: `squeue -j` fails outright when one of the
  // ids has been forgotten by the controller. -r: one line per array task, pending
  // ones too (else "1234_[3-9%2]").
  std::vector<QueuedTask> mine;
  for (auto& t : parse_queue(run_slurm({"squeue", "-h", "-r", "--me", "-o", "%i|%t|%r"}, "squeue")))
    for (const auto& job : job_ids)
      if (t.id == job || t.id.rfind(job + "_", 0) == 0) {
        mine.push_back(std::move(t));
        break;
      }
  return mine;
}

std::vector<size_t> task_indices(const std::string& field) {
  std::string f = field;
  if (!f.empty() && f.front() == '[') f = f.substr(1, f.find(']') == std::string::npos ? std::string::npos : f.find(']') - 1);
  f = f.substr(0, f.find('%'));  // the running limit
  std::vector<size_t> out;
  size_t pos = 0;
  while (pos < f.size()) {
    size_t end = f.find(',', pos);
    if (end == std::string::npos) end = f.size();
    const std::string part = f.substr(pos, end - pos);
    pos = end + 1;
    unsigned long a = 0, b = 0;
    char extra = 0;
    if (std::sscanf(part.c_str(), "%lu-%lu%c", &a, &b, &extra) == 2 && a <= b && b - a < 1000000) {
      for (unsigned long k = a; k <= b; ++k) out.push_back(k);
    } else if (std::sscanf(part.c_str(), "%lu%c", &a, &extra) == 1) {
      out.push_back(a);
    } else {
      return {};
    }
  }
  return out;
}

std::string QueuedTask::job() const { return id.substr(0, id.find('_')); }

std::vector<size_t> QueuedTask::tasks() const {
  const size_t us = id.find('_');
  return us == std::string::npos ? std::vector<size_t>{} : task_indices(id.substr(us + 1));
}

void cancel(const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return;
  std::vector<std::string> args{"scancel"};
  args.insert(args.end(), job_ids.begin(), job_ids.end());
  run_slurm(args, fmt::format("scancel {}", fmt::join(job_ids, " ")));
}

}  // namespace dist2::slurm
