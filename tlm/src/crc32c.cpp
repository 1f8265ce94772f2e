// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, register
// initialised to 0xFFFFFFFF, result inverted. The x86-64 CRC32 instruction
// when the CPU has SSE4.2, else a table, one byte per step.
#include <array>
#include <cstring>

#include "cmm_tlm/extensions.h"

namespace cmm::tlmshell {

namespace {
constexpr uint32_t kPoly = 0x82F63B78u;

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kTable = make_table();

uint32_t crc32c_table(uint32_t state, const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) state = (state >> 8) ^ kTable[(state ^ data[i]) & 0xFFu];
  return state;
}

#if defined(__x86_64__)
// The SSE4.2 CRC32 instruction computes exactly this CRC (Castagnoli,
// reflected), 8 bytes per step: same results as the table, checked against
// it by the known-answer and bit-flip tests on every machine that has it.
__attribute__((target("sse4.2"))) uint32_t crc32c_hw(uint32_t state, const uint8_t* data, size_t n) {
  uint64_t s = state;
  for (; n >= 8; n -= 8, data += 8) {
    uint64_t w;
    std::memcpy(&w, data, 8);
    s = __builtin_ia32_crc32di(s, w);
  }
  auto s32 = static_cast<uint32_t>(s);
  for (; n > 0; --n, ++data) s32 = __builtin_ia32_crc32qi(s32, *data);
  return s32;
}
const bool kHaveHw = __builtin_cpu_supports("sse4.2");
#endif
}  // namespace

uint32_t crc32c_update(uint32_t state, const uint8_t* data, size_t n) {
#if defined(__x86_64__)
  if (kHaveHw) return crc32c_hw(state, data, n);
#endif
  return crc32c_table(state, data, n);
}

uint32_t crc32c(const uint8_t* data, size_t n) { return ~crc32c_update(0xFFFFFFFFu, data, n); }

uint32_t packet_crc(const Packet& p) {
  const Header::Packed w = p.hdr.pack();
  std::array<uint8_t, sizeof(Header::Packed)> hb{};
  for (size_t i = 0; i < w.size(); ++i)
    for (size_t b = 0; b < 4; ++b) hb[4 * i + b] = static_cast<uint8_t>(w[i] >> (8 * b));
  static_assert(kHeaderBytes <= sizeof(Header::Packed), "packed header smaller than its byte count");
  uint32_t s = crc32c_update(0xFFFFFFFFu, hb.data(), kHeaderBytes);
  s = crc32c_update(s, p.payload.data(), p.carried());
  return ~s;
}

}  // namespace cmm::tlmshell
