#include "cmm_siphash.h"

namespace cmm::sip {

namespace {
constexpr uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Absorbs the message with 2 compression rounds per block; returns the state
// ready for finalization.
State absorb(const uint8_t key[16], const uint8_t* msg, size_t len, bool out128) {
  State s = init(le64(key), le64(key + 8), out128);
  const size_t full = len / 8;
  for (size_t i = 0; i < full; ++i) {
    const uint64_t m = le64(msg + 8 * i);
    s.v3 ^= m;
    round(s);
    round(s);
    s.v0 ^= m;
  }
  uint64_t b = static_cast<uint64_t>(len & 0xFF) << 56;
  for (size_t i = 0; i < len % 8; ++i) b |= static_cast<uint64_t>(msg[8 * full + i]) << (8 * i);
  s.v3 ^= b;
  round(s);
  round(s);
  s.v0 ^= b;
  return s;
}
}  // namespace

State init(uint64_t k0, uint64_t k1, bool out128) {
  State s;
  s.v0 = k0 ^ 0x736f6d6570736575ull;
  s.v1 = k1 ^ 0x646f72616e646f6dull;
  s.v2 = k0 ^ 0x6c7967656e657261ull;
  s.v3 = k1 ^ 0x7465646279746573ull;
  if (out128) s.v1 ^= 0xee;
  return s;
}

void round(State& s) {
  s.v0 += s.v1;
  s.v1 = rotl(s.v1, 13);
  s.v1 ^= s.v0;
  s.v0 = rotl(s.v0, 32);
  s.v2 += s.v3;
  s.v3 = rotl(s.v3, 16);
  s.v3 ^= s.v2;
  s.v0 += s.v3;
  s.v3 = rotl(s.v3, 21);
  s.v3 ^= s.v0;
  s.v2 += s.v1;
  s.v1 = rotl(s.v1, 17);
  s.v1 ^= s.v2;
  s.v2 = rotl(s.v2, 32);
}

uint64_t hash64(const uint8_t key[16], const uint8_t* msg, size_t len) {
  State s = absorb(key, msg, len, false);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) round(s);
  return fold(s);
}

std::array<uint8_t, 16> hash128(const uint8_t key[16], const uint8_t* msg, size_t len) {
  State s = absorb(key, msg, len, true);
  std::array<uint8_t, 16> out{};
  s.v2 ^= 0xee;
  for (int i = 0; i < 4; ++i) round(s);
  put_le64(out.data(), fold(s));
  s.v1 ^= 0xdd;
  for (int i = 0; i < 4; ++i) round(s);
  put_le64(out.data() + 8, fold(s));
  return out;
}

void Engine::start(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1) {
  s_ = init(k0, k1, true);
  m_[0] = m0;
  m_[1] = m1;
  m_[2] = 16ull << 56;  // length block of a 16-byte message
  out0_ = out1_ = 0;
  done_ = 0;
}

bool Engine::step() {
  if (done_ >= kRounds) return false;
  const uint32_t r = done_++;
  if (r < 6) {
    // Compression: round 2i absorbs block i into v3, round 2i+1 into v0.
    const uint64_t m = m_[r / 2];
    if (r % 2 == 0) s_.v3 ^= m;
    round(s_);
    if (r % 2 == 1) {
      s_.v0 ^= m;
      if (r == 5) s_.v2 ^= 0xee;
    }
    return false;
  }
  round(s_);
  if (r == 9) {
    out0_ = fold(s_);
    s_.v1 ^= 0xdd;
  } else if (r == 13) {
    out1_ = fold(s_);
    return true;
  }
  return false;
}

}  // namespace cmm::sip
