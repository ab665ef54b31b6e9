#!/usr/bin/env bash
# A throwaway single-node Slurm cluster on localhost, for tests.
#
#   cluster.sh available    exit 0 if a cluster can be started here, else print why, exit 1
#   cluster.sh start DIR    start one whose files all live in DIR; on success print
#                           exactly one line on stdout: export SLURM_CONF=DIR/slurm.conf
#   cluster.sh stop DIR     cancel its jobs, stop its daemons (idempotent)
#
# Needs root and the Debian packages slurmctld slurmd slurm-client munge (Slurm 22.05):
#   make setup PACKAGES="slurmctld slurmd slurm-client munge"
# Everything but the export line goes to stderr. munged is shared by all clusters on the
# host and is left running by `stop` (another cluster may still use it).
set -u

die() { echo "cluster.sh: $*" >&2; exit 1; }

# Prints the reason the cluster cannot run here, or nothing.
why_unavailable() {
  [ "$(id -u)" = 0 ] || { echo "not root (the test cluster runs its daemons as root)"; return; }
  local b pkg
  for b in slurmctld:slurmctld slurmd:slurmd slurmstepd:slurmd sbatch:slurm-client \
           squeue:slurm-client sinfo:slurm-client scontrol:slurm-client scancel:slurm-client \
           munged:munge munge:munge unmunge:munge runuser:util-linux; do
    pkg=${b#*:}; b=${b%%:*}
    command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] ||
      { echo "$b not found (install Debian package $pkg)"; return; }
  done
}

# Prints a TCP port on 127.0.0.1 that nothing listens on, outside the ephemeral range
# (32768-60999) so that outgoing connections do not take it between now and bind().
free_port() {
  local p i
  for i in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    [ "$p" = "${1:-}" ] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

# Pid from a pid file if that process is still one of this cluster's daemons (the
# check on the command line avoids killing an unrelated process that reused the pid).
daemon_pid() {
  local pid
  pid=$(cat "$DIR/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$DIR/slurm.conf" &&
    echo "$pid"
}

# Prints a pid and all its descendants.
descendants() {
  local c; echo "$1"
  for c in $(pgrep -P "$1"); do descendants "$c"; done
}

# Sends TERM to the pids, waits up to ~5 s for them to exit, then KILL.
kill_wait() {
  local i
  [ $# -gt 0 ] || return 0
  kill "$@" 2>/dev/null
  for i in $(seq 50); do kill -0 "$@" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$@" 2>/dev/null; sleep 0.2
}

start_munge() {
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged >&2 || die "munged failed to start (see /var/log/munge/munged.log)"
  local i
  for i in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0; sleep 0.1
  done
  die "munged started but 'munge -n | unmunge' still fails"
}

write_conf() {
  local ctld_port slurmd_port
  ctld_port=$(free_port) && slurmd_port=$(free_port "$ctld_port") || die "no free TCP port found"
  # ClusterName: lower case (Slurm folds it), unique to DIR so that state from another
  # cluster is never mistaken for ours.
  cat >"$DIR/slurm.conf" <<EOF
ClusterName=t$(printf %s "$DIR" | md5sum | cut -c1-12)
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job may start again only after the credential lifetime (default 120 s).
AuthInfo=cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
MailProg=/bin/true
# No systemd or cgroups in containers: track job processes by parent pid, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# There is no slurmdbd (so no sacct); completions go to a text file instead.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# A node that was down (e.g. slurmd restarted) comes back by itself.
ReturnToService=2
# Let slurm.conf's CPUs/RealMemory win over what slurmd detects (else state "inval").
SlurmdParameters=config_overrides
# Retry pending jobs every 2 s rather than every 60 s (jobs also start on submit/end).
SchedulerParameters=sched_interval=2,bf_interval=2
# Finished jobs stay visible to squeue/scontrol for at least this many seconds.
MinJobAge=${SLURM_TEST_MIN_JOB_AGE:-120}
# Seconds between SIGTERM and SIGKILL when a job is cancelled or hits its limit
# (default 30: too slow for tests).
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

do_stop() {
  [ -f "$DIR/slurm.conf" ] || return 0
  export SLURM_CONF="$DIR/slurm.conf"
  local pid i
  # slurmd leaves running job steps alone when it exits: kill the jobs' processes first
  # (SIGKILL at once; a plain scancel would wait KillWait for jobs that ignore SIGTERM).
  if daemon_pid slurmctld >/dev/null; then
    scancel --signal=KILL --full --quiet --user=root 2>/dev/null
    for i in $(seq 50); do
      [ -z "$(squeue -h -t R,CG -o %i 2>/dev/null)" ] && break; sleep 0.1
    done
  fi
  # Both at once: each takes 1-2 s to shut down.
  kill_wait $(daemon_pid slurmd) $(daemon_pid slurmctld)
  # Steps left over (e.g. slurmctld was dead, so no scancel): a slurmstepd of this
  # cluster keeps DIR/slurmd.log open. Kill it and the job processes below it.
  for pid in $(pgrep -x slurmstepd); do
    ls -l "/proc/$pid/fd" 2>/dev/null | grep -qF -- "-> $DIR/slurmd.log" &&
      kill -9 $(descendants "$pid") 2>/dev/null
  done
  rm -f "$DIR/slurmd.pid" "$DIR/slurmctld.pid"
  return 0
}

do_start() {
  local reason; reason=$(why_unavailable)
  [ -z "$reason" ] || die "$reason"
  case "$DIR" in *[[:space:]]*) die "DIR must not contain white space: $DIR";; esac
  mkdir -p "$DIR" || die "cannot create $DIR"
  DIR=$(cd "$DIR" && pwd -P)
  do_stop  # a previous cluster in the same DIR
  # Always a fresh cluster: no jobs recovered from an earlier run in this DIR.
  rm -rf "$DIR/state" "$DIR/spool" "$DIR/jobcomp.txt"
  mkdir -p "$DIR/state" "$DIR/spool" || die "cannot create $DIR/state"
  start_munge
  write_conf
  export SLURM_CONF="$DIR/slurm.conf"
  local t0=$SECONDS state=""
  slurmctld -f "$SLURM_CONF" >&2 ||
    { do_stop; die "slurmctld failed to start: $(tail -n1 "$DIR/slurmctld.log" 2>/dev/null)"; }
  slurmd -f "$SLURM_CONF" -N localhost >&2 ||
    { do_stop; die "slurmd failed to start: $(tail -n1 "$DIR/slurmd.log" 2>/dev/null)"; }
  while [ $((SECONDS - t0)) -lt 30 ]; do
    state=$(sinfo -h -o %t 2>/dev/null)
    case "$state" in idle*) echo "export SLURM_CONF=$SLURM_CONF"; return 0;; esac
    sleep 0.2
  done
  do_stop
  die "node not idle after 30 s (state '${state:-no answer}'); logs in $DIR"
}

case "${1:-}" in
  available) reason=$(why_unavailable); [ -z "$reason" ] || { echo "$reason"; exit 1; } ;;
  start|stop)
    [ -n "${2:-}" ] || die "usage: $0 $1 DIR"
    DIR=$2
    if [ "$1" = start ]; then do_start; else
      [ -d "$DIR" ] && DIR=$(cd "$DIR" && pwd -P) && do_stop; exit 0
    fi ;;
  *) die "usage: $0 available | start DIR | stop DIR" ;;
esac
