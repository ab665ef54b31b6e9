#pragma once
// One thread setting for the whole process. LibTorch's intra-op pool and
// OpenBLAS's own pool oversubscribe a small machine when configured apart
// (a small GPT step measured 112 ms with 1 torch thread against 277 ms with
// 2 torch threads + OpenBLAS's default), so both are always set together.

#include <map>
#include <optional>
#include <string>
#include <utility>

namespace dist2 {

// Uses n cores (n >= 1; 0 = all hardware threads): LibTorch's intra-op
// threads and OpenBLAS's threads split as `dist2 bench train --save` measured
// best on this machine for n (thread_splits_path()), else n intra-op threads
// and one BLAS thread.
void set_threads(int n);

// The cores this machine offers (at least 1).
int machine_cores();

// /proc/cpuinfo's model name (what a measured split is valid for).
std::string cpu_model();

// The per-machine file of measured splits: $DIST2_THREADS_FILE, else
// $XDG_CONFIG_HOME/dist2/threads.json (~/.config/dist2/threads.json). It names
// the CPU and core count it was measured on and is ignored on another machine.
std::string thread_splits_path();
// Records, for each core budget n, the split (intra, BLAS) to use.
void save_thread_splits(const std::map<int, std::pair<int, int>>& best_by_cores, const std::string& cpu, int cores);
// The split saved for n cores on this machine, if any.
std::optional<std::pair<int, int>> saved_thread_split(int n, const std::string& cpu, int cores);

// LibTorch's intra-op threads and OpenBLAS's threads apart (>= 1 each): what
// `dist2 bench train` measures, split by split.
void set_thread_split(int intra, int blas);

// The core count last given to set_threads (what a child process is given).
int threads_requested();

// The number of intra-op threads LibTorch uses now.
int threads();

}  // namespace dist2
