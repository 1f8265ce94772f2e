// SipHash-2-4 (Aumasson, Bernstein) with 64- and 128-bit output, and the
// round-level engine of the CMM's hardware key generator (docs/security.md
// 1.10): one SipRound per clock, 16-byte messages, 128-bit output.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace cmm::sip {

struct State {
  uint64_t v0 = 0, v1 = 0, v2 = 0, v3 = 0;
};

// Initial state for key (k0, k1); out128 selects the 128-bit variant.
State init(uint64_t k0, uint64_t k1, bool out128);
void round(State& s);
inline uint64_t fold(const State& s) { return s.v0 ^ s.v1 ^ s.v2 ^ s.v3; }

// Key and output bytes as in the reference (little-endian words).
uint64_t hash64(const uint8_t key[16], const uint8_t* msg, size_t len);
std::array<uint8_t, 16> hash128(const uint8_t key[16], const uint8_t* msg, size_t len);

// The key generator's engine: SipHash-2-4-128 of the 16-byte message
// le64(m0) || le64(m1), one SipRound per step(): 2 rounds for each of the
// three blocks (m0, m1, length) and 4 + 4 finalization rounds.
class Engine {
 public:
  static constexpr uint32_t kRounds = 14;
  void start(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1);
  // One round; true when this round completed the result.
  bool step();
  bool busy() const { return done_ < kRounds; }
  uint32_t rounds_left() const { return kRounds - done_; }
  uint64_t out0() const { return out0_; }  // output bytes 0..7
  uint64_t out1() const { return out1_; }  // output bytes 8..15
  void clear() { *this = Engine{}; }

 private:
  State s_{};
  uint64_t m_[3] = {0, 0, 0};
  uint64_t out0_ = 0, out1_ = 0;
  uint32_t done_ = kRounds;  // rounds done of the current computation
};

}  // namespace cmm::sip
