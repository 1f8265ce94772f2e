#include "cmm_sw/key_gen.h"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace cmm::sw {

static_assert(crypto_kdf_KEYBYTES == 32, "master and subkey are 32 bytes");
static_assert(crypto_kdf_CONTEXTBYTES == 8, "contexts are 8 bytes");
static_assert(regs::kKeyWords * 4 >= crypto_kdf_BYTES_MIN, "libsodium derives at least 16 bytes");

KeyGen::KeyGen(uint64_t seed) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  constexpr size_t dlen = sizeof kMasterDomain - 1;
  uint8_t in[dlen + 8];
  std::memcpy(in, kMasterDomain, dlen);
  for (int i = 0; i < 8; ++i) in[dlen + i] = static_cast<uint8_t>(seed >> (8 * i));
  crypto_generichash(master_.data(), master_.size(), in, sizeof in, nullptr, 0);
  sodium_memzero(in, sizeof in);
}

KeyGen::~KeyGen() {
  sodium_memzero(master_.data(), master_.size());
  sodium_memzero(subkey_.data(), subkey_.size());
}

void KeyGen::bind(uint16_t node, uint8_t part, uint32_t boot) {
  const uint64_t id = subkey_id(node, part, boot);
  if (bound_ && id == ctx_id_) return;
  crypto_kdf_derive_from_key(subkey_.data(), subkey_.size(), id, kPartContext, master_.data());
  ctx_id_ = id;
  counter_ = 0;
  bound_ = true;
}

ChannelKey KeyGen::next() {
  if (!bound_) bind(0, 0, 0);
  constexpr size_t n = regs::kKeyWords * 4;
  uint8_t raw[n];
  for (;;) {
    crypto_kdf_derive_from_key(raw, n, counter_++, kKeyContext, subkey_.data());
    if (!sodium_is_zero(raw, n)) break;  // all-zero: redraw (probability 2^-128)
  }
  ChannelKey k{};
  for (size_t w = 0; w < regs::kKeyWords; ++w)
    k[w] = uint32_t{raw[4 * w]} | uint32_t{raw[4 * w + 1]} << 8 | uint32_t{raw[4 * w + 2]} << 16 |
           uint32_t{raw[4 * w + 3]} << 24;
  sodium_memzero(raw, n);
  return k;
}

}  // namespace cmm::sw
