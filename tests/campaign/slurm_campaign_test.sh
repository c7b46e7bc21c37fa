#!/usr/bin/env bash
# The `slurm` tier: campaigns/smoke.toml run twice, once as Slurm jobs on a one-node
# cluster started on localhost (scripts/slurm-local.sh; 4 shards as an array job,
# then the merge) and once in-process, must agree: the same `results_digest` in
# both summary.json files. Skips (exit 77) when Slurm or munge is not installed.
#
#   tests/campaign/slurm_campaign_test.sh LOOPCHECK_BINARY SOURCE_DIR
#
# A cluster already running (scripts/slurm-local.sh status) is used and left
# running; one this test started is stopped at exit.
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 LOOPCHECK_BINARY SOURCE_DIR" >&2
  exit 2
fi
loopcheck=$(realpath "$1")
src=$(realpath "$2")
config=$src/campaigns/smoke.toml

skip() {
  echo "SKIPPED: $*"
  exit 77
}
for program in munged slurmctld slurmd sbatch squeue scontrol python3; do
  command -v "$program" >/dev/null ||
    skip "$program not installed (apt-get install munge slurmctld slurmd slurm-client)"
done
# munged runs as the munge user and slurmd as root: starting them needs root.
((EUID == 0)) || skip "starting munged/slurmd needs root"
[[ -x $loopcheck ]] || {
  echo "FAIL: $loopcheck is not an executable" >&2
  exit 1
}
[[ -f $config ]] || {
  echo "FAIL: no $config" >&2
  exit 1
}

cluster=$src/scripts/slurm-local.sh
state_dir=/var/tmp/loopcheck-slurm
work=$(mktemp -d /tmp/slurm_campaign_test.XXXXXX)
started_cluster=false
passed=false
cleanup() {
  if $started_cluster; then "$cluster" stop "$state_dir" || true; fi
  if $passed; then rm -rf "$work"; else echo "kept $work for a look" >&2; fi
}
trap cleanup EXIT

if "$cluster" status "$state_dir" >/dev/null 2>&1; then
  echo "using the running cluster in $state_dir"
else
  started_cluster=true
  "$cluster" start "$state_dir"
fi
export SLURM_CONF=$state_dir/slurm.conf

# Everything Slurm said about the jobs, for a failure's reader.
show_job_logs() {
  for log in "$work"/slurm/slurm/*.out; do
    [[ -e $log ]] || continue
    echo "--- $log:" >&2
    tail -n 30 "$log" >&2
  done
}

echo "== campaign as Slurm jobs (4 shards, --wait)"
code=0
"$loopcheck" campaign --config "$config" --out "$work/slurm" --slurm --shards 4 --wait || code=$?
if ((code != 0)); then
  echo "FAIL: loopcheck campaign --slurm --wait exited $code" >&2
  show_job_logs
  exit 1
fi
for shard in 0 1 2 3; do
  [[ -e $work/slurm/slurm/shard-$shard.out ]] || {
    echo "FAIL: array task $shard left no $work/slurm/slurm/shard-$shard.out" >&2
    show_job_logs
    exit 1
  }
done

echo "== the same campaign in one process"
code=0
"$loopcheck" campaign --config "$config" --out "$work/local" || code=$?
if ((code != 0)); then
  echo "FAIL: loopcheck campaign (local) exited $code" >&2
  exit 1
fi

# Compares the digests; on a difference prints both task lists (id, status and
# whatever digest a task carries), which says where the runs parted.
python3 - "$work/slurm/summary.json" "$work/local/summary.json" <<'EOF'
import json
import sys

def load(path):
    with open(path) as f:
        return json.load(f)

def task_lines(summary):
    tasks = summary.get("tasks", [])
    if isinstance(tasks, dict):
        tasks = [dict(id=k, **v) if isinstance(v, dict) else {"id": k, "value": v}
                 for k, v in tasks.items()]
    for t in tasks:
        if not isinstance(t, dict):
            yield json.dumps(t)
            continue
        keys = [k for k in t if k in ("id", "status", "state", "retried") or "digest" in k]
        yield "  " + " ".join(f"{k}={json.dumps(t[k])}" for k in keys or t)

slurm_path, local_path = sys.argv[1:]
slurm, local = load(slurm_path), load(local_path)
for name, s in (("slurm", slurm), ("local", local)):
    if "results_digest" not in s:
        sys.exit(f"FAIL: {name} summary.json has no results_digest")
if slurm["results_digest"] == local["results_digest"]:
    print(f"PASS: results_digest {slurm['results_digest']} on Slurm and locally")
    sys.exit(0)
print(f"FAIL: results_digest differs: slurm {slurm['results_digest']}, "
      f"local {local['results_digest']}", file=sys.stderr)
for name, s, path in (("slurm", slurm, slurm_path), ("local", local, local_path)):
    print(f"--- {name} tasks ({path}):", file=sys.stderr)
    for line in task_lines(s):
        print(line, file=sys.stderr)
sys.exit(1)
EOF
passed=true
