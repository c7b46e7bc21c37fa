#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, without systemd: for `loopcheck
# campaign --slurm` and the `slurm` test tier (tests/campaign/slurm_campaign_test.sh).
#
#   scripts/slurm-local.sh start  [STATE_DIR]   munged + slurmctld + slurmd, wait until idle
#   scripts/slurm-local.sh stop   [STATE_DIR]   kill what `start` started
#   scripts/slurm-local.sh status [STATE_DIR]   exit 0 when the controller answers
#
# STATE_DIR (default /var/tmp/loopcheck-slurm) holds slurm.conf, pid files, logs,
# the controller's state and slurmd's spool. Clients find the cluster through
#   export SLURM_CONF=STATE_DIR/slurm.conf
# which `start` prints; STATE_DIR/slurm.conf.path holds that path for programs.
#
# Quirks this works around (found on Debian 12, Slurm 22.05, in a container):
# - no systemd: munged needs /run/munge (owned by munge) created by hand, and
#   runs as the munge user, as its unit would (it refuses a key it does not own);
# - no cgroup hierarchy Slurm may manage: proctrack/linuxproc and task/none; slurmd
#   still loads a cgroup plugin (22.05 has no "disabled"), so a cgroup.conf beside
#   slurm.conf asks for autodetect instead of the system's /etc/slurm settings;
# - hostnames need not resolve: both daemons are addressed as 127.0.0.1;
# - a node restarted after a crash comes back DOWN: ReturnToService=2 revives it.
set -euo pipefail

readonly action=${1:-}
# Absolute: the daemons chdir, and slurmstepd rereads slurm.conf by this path.
state_dir=$(realpath -m "${2:-/var/tmp/loopcheck-slurm}")
readonly state_dir
readonly conf=$state_dir/slurm.conf
readonly ctld_pid=$state_dir/slurmctld.pid
readonly slurmd_pid=$state_dir/slurmd.pid
readonly munged_ours=$state_dir/munged.started-here
readonly munge_socket=/run/munge/munge.socket.2
readonly munge_key=/etc/munge/munge.key
readonly ready_timeout_seconds=60

say() { echo "slurm-local: $*"; }
die() {
  echo "slurm-local: error: $*" >&2
  exit 1
}

# Whether the pid in file $1 names a live process called $2 (a stale pid file's
# number may belong to something else by now).
alive() {
  [[ -s $1 ]] || return 1
  local pid
  pid=$(cat "$1")
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]]
}

require_programs() {
  local missing=()
  for p in munged munge slurmctld slurmd sinfo scontrol; do
    command -v "$p" >/dev/null || missing+=("$p")
  done
  ((${#missing[@]} == 0)) ||
    die "not installed: ${missing[*]} (apt-get install munge slurmctld slurmd slurm-client)"
}

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  if munge_works; then
    say "munged already running"
    return
  fi
  # munged refuses a key that is not the munge user's, or that others may read.
  if [[ ! -s $munge_key ]]; then
    say "creating $munge_key"
    mkdir -p /etc/munge
    chown munge:munge /etc/munge
    chmod 0700 /etc/munge
    (umask 077 && dd if=/dev/urandom of="$munge_key" bs=1 count=1024 status=none)
  fi
  if [[ $(stat -c %U "$munge_key") != munge ]]; then
    say "chown munge:munge $munge_key"
    chown munge:munge "$munge_key"
  fi
  if (($(stat -c %a "$munge_key") % 100 != 0)); then
    say "chmod 0400 $munge_key (others could read it)"
    chmod 0400 "$munge_key"
  fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge  # clients (root, job users) must reach the socket
  rm -f "$munge_socket" "$munge_socket.lock"
  runuser -u munge -- munged
  touch "$munged_ours"
  for _ in $(seq 50); do
    munge_works && break
    sleep 0.1
  done
  munge_works || die "munged started but munge -n | unmunge fails (see /var/log/munge/munged.log)"
  say "started munged (pid $(cat /run/munge/munged.pid 2>/dev/null || echo '?'))"
}

# "CPUs=2 Boards=1 ..." from `slurmd -C`, without NodeName and UpTime.
node_hardware() {
  slurmd -C | head -n 1 | tr ' ' '\n' |
    grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=' |
    tr '\n' ' '
}

write_config() {
  local host hardware
  host=$(hostname -s)
  hardware=$(node_hardware)
  mkdir -p "$state_dir/ctld" "$state_dir/spool" "$state_dir/log"
  cat >"$conf.tmp" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster on localhost.
ClusterName=loopcheck
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
StateSaveLocation=$state_dir/ctld
SlurmdSpoolDir=$state_dir/spool
SlurmctldPidFile=$ctld_pid
SlurmdPidFile=$slurmd_pid
SlurmctldLogFile=$state_dir/log/slurmctld.log
SlurmdLogFile=$state_dir/log/slurmd.log
PlugStackConfig=$state_dir/plugstack.conf
NodeName=$host NodeAddr=127.0.0.1 ${hardware}State=UNKNOWN
PartitionName=loopcheck Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$conf.tmp" "$conf"
  # Slurm reads these beside slurm.conf; empty ones keep the system's
  # /etc/slurm copies (spank plugins, cgroup settings) out of this cluster.
  : >"$state_dir/plugstack.conf"
  echo "CgroupPlugin=autodetect" >"$state_dir/cgroup.conf"
  echo "$conf" >"$conf.path"
  say "wrote $conf"
}

controller_answers() { SLURM_CONF=$conf scontrol ping 2>/dev/null | grep -q 'is UP'; }

node_state() { SLURM_CONF=$conf sinfo -h -N -o '%T' 2>/dev/null | head -n 1; }

log_tails() {
  for log in "$state_dir/log/slurmctld.log" "$state_dir/log/slurmd.log"; do
    echo "--- last lines of $log:" >&2
    tail -n 20 "$log" >&2 2>/dev/null || true
  done
}

wait_until_idle() {
  local state=""
  for ((i = 0; i < ready_timeout_seconds * 2; i++)); do
    state=$(node_state || true)
    [[ $state == idle || $state == mixed || $state == allocated ]] && return 0
    sleep 0.5
  done
  log_tails
  die "node not idle after ${ready_timeout_seconds} s (state: '${state:-no answer}')"
}

start() {
  require_programs
  mkdir -p "$state_dir"
  start_munge
  if alive "$ctld_pid" slurmctld && alive "$slurmd_pid" slurmd && controller_answers; then
    say "slurmctld and slurmd already running"
  else
    write_config
    export SLURM_CONF=$conf
    if ! alive "$ctld_pid" slurmctld; then
      slurmctld -f "$conf" || { log_tails; die "slurmctld did not start"; }
      say "started slurmctld"
    fi
    if ! alive "$slurmd_pid" slurmd; then
      slurmd -f "$conf" || { log_tails; die "slurmd did not start"; }
      say "started slurmd"
    fi
  fi
  wait_until_idle
  say "node $(hostname -s) is $(node_state) in partition loopcheck"
  echo "export SLURM_CONF=$conf"
}

# Sends TERM to daemon $1 (pid in file $2) and waits for it to go.
stop_daemon() {
  local name=$1 pid_file=$2
  if ! alive "$pid_file" "$name"; then
    say "$name not running"
    return
  fi
  local pid
  pid=$(cat "$pid_file")
  kill "$pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    say "killed $name (pid $pid) after 10 s"
  else
    say "stopped $name (pid $pid)"
  fi
  rm -f "$pid_file"
}

stop() {
  stop_daemon slurmd "$slurmd_pid"
  stop_daemon slurmctld "$ctld_pid"
  if [[ -e $munged_ours ]]; then
    stop_daemon munged /run/munge/munged.pid
    rm -f "$munged_ours"
  else
    say "munged not started here: left alone"
  fi
}

status() {
  if [[ -s $conf ]] && controller_answers; then
    say "slurmctld up; node $(hostname -s): $(node_state)"
    echo "export SLURM_CONF=$conf"
  else
    say "not running (state dir $state_dir)"
    return 1
  fi
}

case $action in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status [STATE_DIR]" >&2
    exit 2
    ;;
esac
