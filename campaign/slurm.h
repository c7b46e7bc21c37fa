// `loopcheck campaign --slurm`: a campaign's shards as one Slurm job array, and
// the merge as a job that depends on it (afterany: it runs even when shards
// failed, and reruns what they did not finish).
//
// Both scripts are written to OUT/slurm/ (array.sbatch, merge.sbatch) and submit
// from there: sbatch runs a job in the directory it was submitted from, so the
// #SBATCH output paths are relative (shard-%a.out, merge.out) and no user path
// ever appears where sbatch's own #SBATCH parser, or its %-patterns, would
// reinterpret it. Paths appear only in shell lines, single-quoted.
//
// Retries: Slurm requeues a job only when its node fails or it is preempted
// (`--requeue`), never because its script exited non-zero. So each array task
// runs its shard up to 1 + `retries` times itself, stopping at the first exit 0
// (a shard exits 0 whenever it ran, whatever its tasks found); `--requeue` covers
// lost nodes. Whatever a shard still left unfinished, the merge reruns.
//
// Waiting: the merge script writes "<exit code> <job id>" to OUT/slurm/merge.exit
// (via a rename, so it is whole; with the id, so another merge's file never
// counts). Without an accounting database the controller forgets a job MinJobAge
// (300 s) after it ends, and a poller may be slower than that, so the file, not
// the controller, is the authority on the exit code; `squeue` says when the job
// has left the queue, `scontrol show job` its final state while still known.
#pragma once

#include <string>

namespace loopcheck::campaign {

struct SlurmSubmission {
  std::string loopcheck;    // absolute path of the loopcheck binary the jobs run
  std::string config_path;  // absolute
  std::string out_dir;      // absolute
  unsigned shards = 4;
  std::string partition;              // "" = the cluster's default
  unsigned time_limit_minutes = 120;  // per job (each shard, the merge); 0 = no limit
  unsigned retries = 1;  // extra runs of a shard whose loopcheck exited non-zero (see above)
  bool wait = false;     // block until the merge job has finished
};

struct SlurmJobs {
  // Submitted, and when waiting: the merge job ended having written its exit code.
  bool ok = false;
  std::string error;  // why not, with what to do about it
  std::string array_job_id, merge_job_id;
  int merge_exit_code = -1;  // loopcheck's exit code in the merge job (when waited for)
  std::string merge_state;   // COMPLETED, FAILED, CANCELLED, TIMEOUT... (when waited for)
};

// Writes the scripts, submits both jobs and, when `wait`, polls until the merge
// job ends. Clear errors when sbatch is missing, no controller answers, or sbatch
// rejects a job (its stderr).
SlurmJobs submit_campaign(const SlurmSubmission& submission);

// The sbatch scripts' text (public for tests). Run outside Slurm with bash they
// do the same work (the #SBATCH lines are comments); the array script then needs
// SLURM_ARRAY_TASK_ID.
std::string array_job_script(const SlurmSubmission& submission);
std::string merge_job_script(const SlurmSubmission& submission);

}  // namespace loopcheck::campaign
