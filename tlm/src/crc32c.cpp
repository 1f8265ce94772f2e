// CRC-32C (Castagnoli), table-driven, one byte per step: reflected
// polynomial 0x82F63B78, register initialised to 0xFFFFFFFF, result inverted.
#include <array>

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
}  // namespace

uint32_t crc32c_update(uint32_t state, const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) state = (state >> 8) ^ kTable[(state ^ data[i]) & 0xFFu];
  return state;
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
