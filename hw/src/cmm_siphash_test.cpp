// Known-answer tests of the SipHash-2-4 implementation (64- and 128-bit
// output) and of the key generator's round-level engine against libsodium.
#include "cmm_siphash.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <random>
#include <vector>

namespace cmm::sip {
namespace {

class SipHash : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
};

std::vector<uint8_t> bytes(std::mt19937_64& g, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(g());
  return v;
}

TEST_F(SipHash, Hash64MatchesLibsodiumForRandomKeysAndLengths0To64) {
  std::mt19937_64 g(1);
  for (int trial = 0; trial < 20; ++trial) {
    const auto key = bytes(g, 16);
    for (size_t len = 0; len <= 64; ++len) {
      const auto msg = bytes(g, len);
      uint8_t ref[crypto_shorthash_siphash24_BYTES];
      crypto_shorthash_siphash24(ref, msg.data(), len, key.data());
      uint64_t want = 0;
      for (int i = 7; i >= 0; --i) want = (want << 8) | ref[i];
      ASSERT_EQ(hash64(key.data(), msg.data(), len), want) << "trial " << trial << " len " << len;
    }
  }
}

TEST_F(SipHash, Hash128MatchesLibsodiumSiphashx24ForRandomKeysAndLengths0To64) {
  std::mt19937_64 g(2);
  for (int trial = 0; trial < 20; ++trial) {
    const auto key = bytes(g, 16);
    for (size_t len = 0; len <= 64; ++len) {
      const auto msg = bytes(g, len);
      uint8_t ref[crypto_shorthash_siphashx24_BYTES];
      crypto_shorthash_siphashx24(ref, msg.data(), len, key.data());
      const auto got = hash128(key.data(), msg.data(), len);
      ASSERT_EQ(std::memcmp(got.data(), ref, 16), 0) << "trial " << trial << " len " << len;
    }
  }
}

// The key generator's message le64(ctr) || le64(node_id), computed one
// SipRound per step: exactly 14 steps, the last one reports completion.
TEST_F(SipHash, EngineOfTheKeyGeneratorMatchesLibsodiumIn14Rounds) {
  std::mt19937_64 g(3);
  for (int trial = 0; trial < 200; ++trial) {
    const uint64_t k0 = g(), k1 = g();
    const uint64_t ctr = trial < 4 ? static_cast<uint64_t>(trial) : g();
    const uint64_t node = g() & 0xFF;
    uint8_t key[16], msg[16];
    for (int i = 0; i < 8; ++i) {
      key[i] = static_cast<uint8_t>(k0 >> (8 * i));
      key[8 + i] = static_cast<uint8_t>(k1 >> (8 * i));
      msg[i] = static_cast<uint8_t>(ctr >> (8 * i));
      msg[8 + i] = static_cast<uint8_t>(node >> (8 * i));
    }
    uint8_t ref[16];
    crypto_shorthash_siphashx24(ref, msg, 16, key);
    Engine e;
    EXPECT_FALSE(e.busy());
    e.start(k0, k1, ctr, node);
    uint32_t steps = 0;
    bool done = false;
    while (!done) {
      ASSERT_TRUE(e.busy());
      done = e.step();
      ++steps;
      ASSERT_LE(steps, Engine::kRounds);
    }
    EXPECT_EQ(steps, Engine::kRounds);
    EXPECT_FALSE(e.busy());
    uint64_t r0 = 0, r1 = 0;
    for (int i = 7; i >= 0; --i) {
      r0 = (r0 << 8) | ref[i];
      r1 = (r1 << 8) | ref[8 + i];
    }
    ASSERT_EQ(e.out0(), r0) << "trial " << trial;
    ASSERT_EQ(e.out1(), r1) << "trial " << trial;
    EXPECT_EQ(hash128(key, msg, 16)[0], ref[0]);
  }
}

}  // namespace
}  // namespace cmm::sip
