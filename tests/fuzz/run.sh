#!/usr/bin/env bash
# tests/fuzz/run.sh [--brief] BUILD SECONDS CORPUS NAME...: runs BUILD/fuzz/fuzz_NAME
# for SECONDS each, starting from its seeds in tests/fuzz/corpus/NAME (when there
# are any). New inputs go to CORPUS/NAME, crashing inputs to BUILD/crashes/NAME-*.
# Stops at the first target that fails. `make fuzz` and `make fuzz-smoke` call it.
#
# --brief: one line per target (executions; coverage and corpus size as libFuzzer
# counts them, edges and inputs), and libFuzzer's
# log only when the target fails; otherwise the whole log is shown as it runs.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
brief=0
if [ "${1:-}" = --brief ]; then brief=1; shift; fi
build=${1:?usage: tests/fuzz/run.sh [--brief] BUILD SECONDS CORPUS NAME...}
seconds=${2:?seconds}
corpus=${3:?corpus folder}
shift 3
mkdir -p "$build/crashes"
for name in "$@"; do
  seeds=tests/fuzz/corpus/$name
  [ -d "$seeds" ] || seeds=
  mkdir -p "$corpus/$name"
  cmd=("$build/fuzz/fuzz_$name" -max_total_time="$seconds" -print_final_stats=1
       -artifact_prefix="$build/crashes/$name-" "$corpus/$name" $seeds)
  if [ $brief = 0 ]; then
    echo "== fuzz_$name for $seconds s"
    "${cmd[@]}" || exit 1
    continue
  fi
  log="$build/fuzz_$name.log"
  if ! "${cmd[@]}" > "$log" 2>&1; then
    cat "$log"
    echo "fuzz_$name: FAILED (crashing input in $build/crashes/, log above)"
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  size=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  echo "fuzz_$name: ${execs:-?} executions in $seconds s, coverage ${cov:-?}, corpus ${size:-?} inputs, no crash"
done
