// Channel-key generator of one kernel agent (DESIGN "Keys", docs/security.md
// 1.9), built on libsodium's key derivation (BLAKE2b):
//
//   master = BLAKE2b-256(kMasterDomain || run seed as 8 bytes little-endian)
//   subkey = crypto_kdf_derive_from_key(32 bytes, id = node << 40 | part << 32 | boot,
//                                       context kPartContext, master)
//   key n  = crypto_kdf_derive_from_key(16 bytes, id = n, context kKeyContext, subkey)
//            as 4 little-endian 32-bit words (word 0 = bytes 0..3)
//
// n counts up from 0; a key that comes out all zero is skipped (the next n is
// used), so the generator never hands out the key the CMM refuses (KEY_ZERO).
// Runs with the same seed reproduce; partitions and boots get unrelated keys,
// and no key (or set of keys) reveals another without the master key.
#pragma once
#include <array>
#include <cstdint>

#include "cmm_regs.h"

namespace cmm::sw {

using ChannelKey = std::array<uint32_t, regs::kKeyWords>;

class KeyGen {
 public:
  static constexpr char kMasterDomain[] = "cmm/kernel-agent/channel-keys/v1";
  static constexpr char kPartContext[9] = "CMMPART1";  // libsodium: 8 bytes
  static constexpr char kKeyContext[9] = "CMMCHKEY";

  explicit KeyGen(uint64_t seed);
  ~KeyGen();
  KeyGen(const KeyGen&) = delete;
  KeyGen& operator=(const KeyGen&) = delete;

  // Selects the per-partition subkey. Binding the same (node, part, boot)
  // again keeps the counter, so one generator never repeats a key.
  void bind(uint16_t node, uint8_t part, uint32_t boot);
  bool bound() const { return bound_; }
  // Next key of the bound partition (binds (0, 0, 0) if never bound).
  ChannelKey next();
  uint64_t counter() const { return counter_; }

  static uint64_t subkey_id(uint16_t node, uint8_t part, uint32_t boot) {
    return (uint64_t{node} << 40) | (uint64_t{part} << 32) | boot;
  }

 private:
  std::array<uint8_t, 32> master_{};
  std::array<uint8_t, 32> subkey_{};
  bool bound_ = false;
  uint64_t ctx_id_ = 0;
  uint64_t counter_ = 0;
};

}  // namespace cmm::sw
