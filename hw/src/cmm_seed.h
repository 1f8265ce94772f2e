// The project's one seed mixer: SplitMix64 (Steele, Lea, Flood 2014), its
// golden-ratio increment and its output function. Every derived seed and
// every cheap deterministic stream of the testbench and the fabric goes
// through here, so a run is a function of its seed alone.
//
// Three entry points, each the exact arithmetic of an older private copy
// (same-seed outputs must not change):
//   splitmix(x)      one step from state x (stateless)
//   splitmix_next(s) the generator: advances s, returns the next output
//   combine(a, b)    hash_combine-style pairing of a seed and a salt, then mixed
#pragma once
#include <cstdint>

namespace cmm::seed {

inline constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio

// SplitMix64's output function (a bijection of 64-bit values).
constexpr uint64_t finalize(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

constexpr uint64_t splitmix(uint64_t x) { return finalize(x + kGolden); }

constexpr uint64_t splitmix_next(uint64_t& state) { return finalize(state += kGolden); }

constexpr uint64_t combine(uint64_t a, uint64_t b) { return finalize(a ^ (b + kGolden + (a << 6) + (a >> 2))); }

}  // namespace cmm::seed
