#pragma once
// One thread setting for the whole process. LibTorch's intra-op pool and
// OpenBLAS's own pool oversubscribe a small machine when configured apart
// (a small GPT step measured 112 ms with 1 torch thread against 277 ms with
// 2 torch threads + OpenBLAS's default), so both are always set together.

namespace dist2 {

// Sets LibTorch intra-op threads and the BLAS threads to n (n >= 1).
// n = 0 means "all hardware threads".
void set_threads(int n);

// The number of intra-op threads LibTorch uses now.
int threads();

}  // namespace dist2
