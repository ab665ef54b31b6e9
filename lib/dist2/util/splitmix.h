#pragma once
// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014; the finalizer is Stafford's Mix13): the one integer
// mixer every task and the trainer derive their generator seeds from. Written
// out here, not taken from a standard library, so a seed gives the same data
// under every compiler.
#include <cstdint>

namespace dist2 {

// The golden-ratio increment of a SplitMix64 stream.
inline constexpr uint64_t kSplitMix64Gamma = 0x9E3779B97F4A7C15ull;

// The finalizer: a bijection of 64-bit integers in which every input bit flips
// about half of the output bits.
constexpr uint64_t splitmix64_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The output of a SplitMix64 stream at state x (after its increment): the
// reference generator seeded with 0 gives splitmix64(0) = 0xE220A8397B1DCDAF.
constexpr uint64_t splitmix64(uint64_t x) { return splitmix64_mix(x + kSplitMix64Gamma); }

// A seed from a seed and an index, (a, b) -> mix(a * gamma + b + c): the
// trainer's mix_seed (train/trainer.h) and the grounding task's draws.
constexpr uint64_t splitmix64_pair(uint64_t a, uint64_t b) {
  return splitmix64_mix(a * kSplitMix64Gamma + b + 0x632BE59BD9B4E019ull);
}

}  // namespace dist2
