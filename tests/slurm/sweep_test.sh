#!/bin/sh
# The Table 11 smoke sweep through a single-node Slurm started on this machine,
# checked against the same sweep run by local workers: the same trials (config
# hashes) finished, with the same test metrics to the last bit. Then a requeued
# task: it resumes its interrupted run from the checkpoint instead of starting over.
#
#   sweep_test.sh DIST2 SOURCE_DIR     exit 77 (skipped, saying why) where no cluster can start
set -eu
DIST2=$1
SRC=$2
CLUSTER=$SRC/tests/slurm/cluster.sh
EXP=$SRC/experiments/table11_regression.yaml

why=$("$CLUSTER" available 2>&1) || { echo "skipped: no test Slurm here: $why"; exit 77; }
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 (the shell) is missing"; exit 77; }
T=$(mktemp -d /tmp/dist2-slurm-XXXXXX)
trap '"$CLUSTER" stop "$T/cluster" >/dev/null 2>&1; rm -rf "$T"' EXIT
eval "$("$CLUSTER" start "$T/cluster")"
export DIST2_SLURM_POLL_S=0.5
fail() { echo "FAIL: $*"; exit 1; }

echo "== local sweep"
"$DIST2" --threads 1 sweep "$EXP" --profile smoke --store "$T/local" -j 2
echo "== slurm sweep"
"$DIST2" sweep "$EXP" --profile smoke --store "$T/slurm" --launcher slurm --cpus-per-task 1 --wait -j 2 \
  | tee "$T/slurm.log"
grep -q "submitted job array" "$T/slurm.log" || fail "no job array was submitted"

# Finished runs per trial, and every test metric, in both stores.
q="SELECT r.config_hash, m.name, printf('%.17g', m.value) FROM runs r JOIN metrics m ON m.run_id = r.id
   WHERE r.status = 'finished' AND m.split = 'test' ORDER BY 1, 2"
sqlite3 "$T/local/runs.db" "$q" > "$T/local.txt"
sqlite3 "$T/slurm/runs.db" "$q" > "$T/slurm.txt"
n=$(sqlite3 "$T/local/runs.db" "SELECT count(*) FROM runs WHERE status = 'finished'")
m=$(sqlite3 "$T/slurm/runs.db" "SELECT count(*) FROM runs WHERE status = 'finished'")
[ "$n" -gt 0 ] || fail "the local sweep finished no run"
[ "$n" = "$m" ] || fail "local sweep finished $n runs, the Slurm sweep $m"
diff "$T/local.txt" "$T/slurm.txt" || fail "the Slurm sweep's metrics differ from the local sweep's"
echo "same $n trials, same $(wc -l < "$T/local.txt") test metrics"

echo "== again: merges, submits nothing"
"$DIST2" sweep "$EXP" --profile smoke --store "$T/slurm" --launcher slurm > "$T/again.log"
grep -q "$n finished already, 0 to run" "$T/again.log" || { cat "$T/again.log"; fail "a second sweep did not skip"; }

echo "== a requeued task resumes its run"
long="train.steps=600 train.checkpoint_every=20 sweep.loss.kind=[dist]"
"$DIST2" sweep "$EXP" --profile smoke --store "$T/requeue" --launcher slurm $long > "$T/submit.log" 2>&1 \
  || { cat "$T/submit.log"; fail "submit"; }
job=$(sed -n 's/^submitted job array \([0-9]*\).*/\1/p' "$T/submit.log")
[ -n "$job" ] || { cat "$T/submit.log"; fail "no job id"; }
# Requeue once the run has written a checkpoint (training under way).
i=0
until ls "$T"/requeue/shards/*/runs/*/checkpoint.pt >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 600 ] || fail "no checkpoint after 60 s"; sleep 0.1
done
scontrol requeue "${job}_0"
i=0
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do
  i=$((i + 1)); [ $i -lt 900 ] || { squeue -j "$job"; fail "the requeued task did not end in 90 s"; }; sleep 0.1
done
"$DIST2" sweep "$EXP" --profile smoke --store "$T/requeue" --launcher slurm $long > "$T/after.log"
grep -q "1 finished already, 0 to run" "$T/after.log" || { cat "$T/after.log" "$T"/requeue/logs/*; fail "not finished"; }
db="$T/requeue/runs.db"
[ "$(sqlite3 "$db" "SELECT count(*) FROM runs")" = 1 ] || fail "the requeued task started a second run"
[ "$(sqlite3 "$db" "SELECT count(*) FROM tags WHERE key = 'resumed_at'")" = 1 ] || fail "the run was not resumed"
grep -q "resuming run" "$T"/requeue/logs/slurm-"$job"_0.log || fail "the task's log does not say it resumed"
echo "requeued task resumed its run; slurm test passed"
