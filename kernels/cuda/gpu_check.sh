#!/usr/bin/env bash
# gpu_check.sh OUT_DIR — on a CUDA machine with pip PyTorch: build dist2 with
# the CUDA kernels against PyTorch's bundled LibTorch, run the test suite (the
# CUDA kernel tests against the CPU reference included) and
# a training smoke on the GPU (Table 11's smoke profile with train.device=cuda:
# the run must record device cuda:0 and the fused loss), then
# `dist2 bench loss --device cuda --json`, write logs and JSON into OUT_DIR and
# print a short table last. `make gpu-check OUT=dir` runs it.
#
# The libraries such a machine lacks (yaml-cpp, fmt, CLI11, Catch2, SQLite
# headers) come as Debian packages from .gpu-deps/ (`make gpu-deps` on a machine
# with the archive), unpacked into a temporary folder, never into /.
#
# Environment: PYTHON (default python3, must import torch), BUILD (default
# build-gpu), TEST_FILTER (Catch2 filter, default "~[slow]"), JOBS (default nproc),
# CUDA_ARCHS (default native: the GPU of this machine).
set -uo pipefail

OUT=${1:?usage: kernels/cuda/gpu_check.sh OUT_DIR}
cd "$(dirname "$0")/../.." || exit 1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PYTHON=${PYTHON:-python3}
BUILD=${BUILD:-build-gpu}
TEST_FILTER=${TEST_FILTER:-"~[slow]"}
JOBS=${JOBS:-$(nproc)}
CUDA_ARCHS=${CUDA_ARCHS:-native}
LOG="$OUT/gpu_check.log"
: > "$LOG"
status_build=skipped status_tests=skipped status_train=skipped status_bench=skipped

say() { echo "[gpu-check $(date +%T)] $*" | tee -a "$LOG"; }
# step NAME CMD...: runs CMD with its output in OUT/NAME.log; returns its status.
step() {
  local name=$1
  shift
  say "$name: $*"
  local t0=$SECONDS
  "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  say "$name: exit $rc after $((SECONDS - t0)) s (log: $OUT/$name.log)"
  [ $rc -ne 0 ] && tail -n 30 "$OUT/$name.log" | tee -a "$LOG"
  return $rc
}

# ---- machine and versions ----
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
  nvcc --version 2>&1 | tail -n 1 | sed 's/^/nvcc: /'
  "$PYTHON" -c 'import sys, torch; print("python:", sys.version.split()[0]); print("torch:", torch.__version__, "cuda", torch.version.cuda, "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI)' 2>&1
  cmake --version | head -n 1
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) x $(nproc)"
} > "$OUT/machine.txt" 2>&1
tee -a "$LOG" < "$OUT/machine.txt"

TORCH_PREFIX=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>>"$LOG")
if [ -z "$TORCH_PREFIX" ]; then
  say "no PyTorch for $PYTHON: set PYTHON to a python3 that imports torch"
  exit 1
fi

# ---- the Debian packages, unpacked into a temporary folder ----
DEPS=$(mktemp -d)
trap 'rm -rf "$DEPS"' EXIT
shopt -s nullglob
debs=(.gpu-deps/*.deb)
[ ${#debs[@]} -eq 0 ] && say "warning: no .gpu-deps/*.deb (run 'make gpu-deps' where the Debian archive is reachable)"
for f in "${debs[@]}"; do dpkg -x "$f" "$DEPS" || say "warning: cannot unpack $f"; done
export LD_LIBRARY_PATH="$DEPS/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# ---- configure and build with CUDA ----
status_build=FAILED
if step configure cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$DEPS/usr" -DDIST2_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHS"; then
  if ! grep -q "DIST2_WITH_CUDA" "$BUILD/build.ninja"; then
    say "configure found no nvcc: the CUDA kernels would not be built (see $OUT/configure.log)"
  elif step build cmake --build "$BUILD" -j "$JOBS"; then
    status_build=ok
  elif grep -q "CUDACachingAllocator" "$OUT/build.log"; then
    # The bench's peak-memory probe uses LibTorch's allocator statistics; build
    # without it rather than lose the run.
    say "retrying without the CUDA allocator statistics (bench peaks on CUDA will read null)"
    cmake "$BUILD" -DCMAKE_CXX_FLAGS=-DDIST2_NO_CUDA_ALLOCATOR_STATS >> "$LOG" 2>&1 &&
      step build_retry cmake --build "$BUILD" -j "$JOBS" && status_build=ok
  fi
fi

# ---- the test suite, then the loss benchmark on the GPU ----
if [ "$status_build" = ok ]; then
  if step tests "$BUILD/dist2_tests" "$TEST_FILTER" --durations yes; then status_tests=ok; else status_tests=FAILED; fi
  grep -E "^(All tests passed|test cases:|assertions:)" "$OUT/tests.log" | tail -n 2 | tee -a "$LOG"
  grep -m 3 "skipped:" "$OUT/tests.log" | tee -a "$LOG"
  # Skipped CUDA tests are not passed ones: on a GPU machine they must run.
  if grep -q "CUDA kernel tests skipped" "$OUT/tests.log"; then
    say "the CUDA kernel tests did not run (see the skip reason above): tests FAILED"
    status_tests=FAILED
  fi
  # A training run on the GPU: contrastive dist, so the fused CUDA kernel with
  # every option Table 11 uses; its tags say where it ran and what loss it ran.
  status_train=FAILED
  if step train_cuda "$BUILD/dist2" train experiments/table11_regression.yaml --profile smoke \
       --store "$OUT/store" --no-progress train.device=cuda loss.contrastive=true loss.place_weighting=true; then
    run=$("$BUILD/dist2" runs --store "$OUT/store" --format csv --limit 1 | sed -n 2p | cut -d, -f1)
    "$BUILD/dist2" runs show "$run" --store "$OUT/store" > "$OUT/train_cuda_run.txt" 2>&1
    tee -a "$LOG" < "$OUT/train_cuda_run.txt" | grep -E "status|device|loss.impl" | tee -a "$LOG"
    if grep -q "finished" "$OUT/train_cuda_run.txt" && grep -Eq "device.*cuda:0" "$OUT/train_cuda_run.txt" &&
       grep -Eq "loss.impl_used.*fused" "$OUT/train_cuda_run.txt"; then
      status_train=ok
    else
      say "the CUDA training run did not finish on cuda:0 with the fused loss (see $OUT/train_cuda_run.txt)"
    fi
  fi
  # The Markdown table into bench_loss.log, the JSON into bench_loss.json.
  if step bench_loss "$BUILD/dist2" --threads "$JOBS" bench loss --device cuda --json-out "$OUT/bench_loss.json"; then
    status_bench=ok
  else
    status_bench=FAILED
  fi
fi

# ---- summary: a JSON of the outcome and a short table ----
"$PYTHON" - "$OUT" "$status_build" "$status_tests" "$status_train" "$status_bench" <<'EOF' | tee -a "$LOG"
import json, os, sys
out, build, tests, train, bench = sys.argv[1:6]
summary = {"build": build, "tests": tests, "train": train, "bench": bench}
path = os.path.join(out, "bench_loss.json")
print(f"build {build}, tests {tests}, train {train}, bench {bench}")
if bench == "ok":
    r = json.load(open(path))
    summary["device_name"] = r["device_name"]
    print(f"\ndist2 bench loss on {r['device_name']} (N = {r['n']}, median of {r['repeat']}):")
    print(f"{'case':28} {'composed ms':>12} {'fused ms':>9} {'speedup':>8} {'kernel GB/s':>12} {'copy GB/s':>10} "
          f"{'kernel/copy':>11} {'peak comp GiB':>13} {'peak fused GiB':>14} {'python ms':>10}")
    def num(x, scale=1.0, digits=2):
        return "-" if x is None else f"{x * scale:.{digits}f}"
    for c in r["cases"]:
        print(f"{c['name']:28} {num(c['composed_s'], 1e3):>12} {num(c['fused_s'], 1e3):>9} "
              f"{num(c['speedup'], 1, 1):>7}x {num(c['fused_gbps'], 1, 0):>12} {num(c['copy_gbps'], 1, 0):>10} "
              f"{num(c['floor_ratio']):>11} {num(c['composed_peak_bytes'], 2**-30):>13} "
              f"{num(c['fused_peak_bytes'], 2**-30):>14} {num(c['python_s'], 1e3):>10}")
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)
EOF
[ "$status_build" = ok ] && [ "$status_tests" = ok ] && [ "$status_train" = ok ] && [ "$status_bench" = ok ]
