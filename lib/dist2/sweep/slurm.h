#pragma once
// Slurm, as the sweep uses it: submit a batch script (sbatch), poll the queue
// (squeue, one line per array task), cancel (scancel). Only the commands every
// Slurm installation has: no slurmdbd, so no sacct; a task that has left the
// queue is judged by the run its shard recorded.
#include <cstddef>
#include <string>
#include <vector>

namespace dist2::slurm {

struct JobOptions {
  std::string job_name, output;  // output: sbatch's --output pattern (%A array job, %a task)
  std::string partition, time;   // empty: the cluster's defaults
  int cpus_per_task = 1;
  std::string array;             // "0-9%2": an array of 10 tasks, at most 2 running; empty: one job
  std::string after_ok;          // a job id the job waits for (afterok)
};

// Submits `script` and returns the job id. A missing sbatch or a refusal is a
// one-line error with sbatch's own words.
std::string submit(const std::string& script, const JobOptions& opt);

struct QueuedTask {
  std::string id;      // "1234" or, for an array task, "1234_5"
  std::string state;   // squeue's short state: PD, R, CG, ...
  std::string reason;  // "None", "Dependency", "DependencyNeverSatisfied", ...
  std::string job() const;            // "1234" of "1234_5"
  std::vector<size_t> tasks() const;  // {5} of "1234_5"; empty for a plain job
};

// The tasks of these jobs (array job ids, or plain job ids) still in the queue:
// pending, running, completing.
std::vector<QueuedTask> queue(const std::vector<std::string>& job_ids);
// Parses `squeue -h -r -o '%i|%t|%r'` output (exposed for tests).
std::vector<QueuedTask> parse_queue(const std::string& squeue_output);

// The array task indices of squeue's task field: "5", or a pending range as
// squeue writes it without -r, "[4-7%2]" or "[1,3-5]"; empty when unreadable.
std::vector<size_t> task_indices(const std::string& field);

void cancel(const std::vector<std::string>& job_ids);

// "" when sbatch, squeue and scancel are on PATH, else what is missing.
std::string missing_commands();

}  // namespace dist2::slurm
