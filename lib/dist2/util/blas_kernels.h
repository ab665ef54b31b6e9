#pragma once
// Which kernels OpenBLAS runs.
//
// Debian's OpenBLAS is built for every x86 core (DYNAMIC_ARCH) and picks its
// kernels from the CPU's model number when it loads. A model it does not know
// (OpenBLAS 0.3.21 on a VM that reports a generic "Intel Xeon Processor" with
// AVX-512) makes it fall back to Prescott's SSE3 kernels, and every GEMM of a
// training step runs 2-3x slower (the image-generation GPT: 185 against 80 ms
// per step on this project's 2-core machine). OPENBLAS_CORETYPE overrides the
// choice, but OpenBLAS reads it only while it loads, before main(). So when
// OpenBLAS fell back to a core below what the CPU's instructions allow, dist2
// executes itself again, once, with OPENBLAS_CORETYPE set.

#include <set>
#include <string>

namespace dist2 {

// The core OpenBLAS runs its kernels for ("SkylakeX", "Haswell", "Prescott"),
// or "" when the BLAS is not OpenBLAS.
std::string blas_core();

// The core to ask OpenBLAS for, given the one it chose and the CPU's
// instruction sets (as /proc/cpuinfo names them: "avx2", "fma", "avx512f",
// "avx512bw", "avx512dq", "avx512vl"): "SkylakeX" with those AVX-512 sets,
// "Haswell" with AVX2 and FMA, and "" (keep the choice) when the chosen core
// is already at that level or the BLAS is not OpenBLAS.
std::string better_blas_core(const std::string& chosen, const std::set<std::string>& cpu_flags);

// The instruction sets of better_blas_core() that this CPU and its OS support.
std::set<std::string> cpu_vector_flags();

// Call first in main(): executes argv[0] again (as /proc/self/exe) with
// OPENBLAS_CORETYPE set when better_blas_core() names a core, unless the user
// set OPENBLAS_CORETYPE or DIST2_BLAS_CORE=default. Returns when it does not
// (or when the exec fails: OpenBLAS's own choice is still correct, only slower).
// The core OpenBLAS chose is passed on in DIST2_BLAS_CORE_RAISED_FROM.
void select_blas_kernels(char** argv);

// The core OpenBLAS chose itself when dist2 (in this process or a parent) asked
// for a better one, else "".
std::string blas_core_raised_from();

// The environment prefix ("env -u ... ") that runs a child on OpenBLAS's own
// choice: what `dist2 bench train` compares against.
std::string openblas_own_core_env_prefix();

}  // namespace dist2
