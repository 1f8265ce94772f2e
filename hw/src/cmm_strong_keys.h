// Link keys of the testbench's fabric manager (docs/strong-mode.md 11.3):
// one key per unordered node pair, derived from the run seed with libsodium's
// KDF (context "cmmlink"), so runs reproduce and no pair's key reveals
// another's. Header only: the includer links libsodium (cmm_sw does).
#pragma once
#include <sodium.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "cmm_pins.h"

namespace cmm {

// Master key = BLAKE2b-256("cmm-link-master" || le64(seed)); the pair's key =
// crypto_kdf_derive_from_key(16 bytes, id = min << 8 | max, "cmmlink\0",
// master); an all-zero result (probability 2^-128) is redrawn with id | 1 << 16.
inline Key link_key_for(uint64_t seed, uint8_t a, uint8_t b) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  static const char kDomain[] = "cmm-link-master";
  uint8_t in[sizeof kDomain - 1 + 8];
  std::memcpy(in, kDomain, sizeof kDomain - 1);
  for (int i = 0; i < 8; ++i) in[sizeof kDomain - 1 + i] = static_cast<uint8_t>(seed >> (8 * i));
  uint8_t master[crypto_kdf_KEYBYTES];
  crypto_generichash(master, sizeof master, in, sizeof in, nullptr, 0);
  const uint8_t lo = a < b ? a : b, hi = a < b ? b : a;
  uint64_t id = uint64_t{lo} << 8 | hi;
  uint8_t raw[16];
  for (;;) {
    crypto_kdf_derive_from_key(raw, sizeof raw, id, "cmmlink", master);
    if (!sodium_is_zero(raw, sizeof raw)) break;
    id |= uint64_t{1} << 16;
  }
  Key k{};
  for (uint32_t i = 0; i < 16; ++i) k[i / 4] |= uint32_t{raw[i]} << (8 * (i % 4));
  sodium_memzero(master, sizeof master);
  sodium_memzero(raw, sizeof raw);
  return k;
}

}  // namespace cmm
