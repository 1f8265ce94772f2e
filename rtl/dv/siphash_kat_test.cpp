// rtl/cmm_siphash.sv (the key generator's PRF, docs/security.md 1.10)
// against libsodium's crypto_shorthash_siphashx24 (SipHash-2-4, 128-bit
// output) on the generator's 16-byte message le64(ctr) || le64(node_id):
// many random keys and counters, result final after exactly 14 steps.
#include <gtest/gtest.h>
#include <sodium.h>
#include <verilated.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>

#include "Vcmm_siphash.h"

namespace {

using Bytes16 = std::array<uint8_t, 16>;

void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// libsodium: key words k[0..3] as bytes le32(k[0]) .. le32(k[3]).
Bytes16 reference(const std::array<uint32_t, 4>& k, uint64_t m0, uint64_t m1) {
  uint8_t key[crypto_shorthash_siphashx24_KEYBYTES];
  for (int w = 0; w < 4; ++w)
    for (int b = 0; b < 4; ++b) key[4 * w + b] = static_cast<uint8_t>(k[w] >> (8 * b));
  uint8_t m[16];
  put_le64(m, m0);
  put_le64(m + 8, m1);
  Bytes16 out{};
  crypto_shorthash_siphashx24(out.data(), m, sizeof m, key);
  return out;
}

class Engine {
 public:
  Engine() : ctx_(std::make_unique<VerilatedContext>()) {
    ctx_->randReset(0);
    top_ = std::make_unique<Vcmm_siphash>(ctx_.get(), "cmm_siphash");
    top_->clk = 0;
    top_->rst_ni = 0;
    edge();  // reset
    top_->rst_ni = 1;
  }
  ~Engine() { top_->final(); }
  void edge() {
    top_->clk = 0;
    top_->eval();
    top_->clk = 1;
    top_->eval();
  }
  // Start (step 0), then steps 1..n.
  Bytes16 run(const std::array<uint32_t, 4>& k, uint64_t m0, uint64_t m1, int n) {
    for (int w = 0; w < 4; ++w) top_->key_i[w] = k[w];
    top_->m0_i = m0;
    top_->m1_i = m1;
    top_->start_i = 1;
    top_->adv_i = 0;
    top_->step_i = 0;
    edge();
    top_->start_i = 0;
    for (int s = 1; s <= n; ++s) {
      top_->adv_i = 1;
      top_->step_i = static_cast<uint8_t>(s);
      edge();
    }
    top_->adv_i = 0;
    return result();
  }
  Bytes16 result() const {
    Bytes16 r{};
    for (int w = 0; w < 4; ++w)
      for (int b = 0; b < 4; ++b) r[4 * w + b] = static_cast<uint8_t>(top_->res_o[w] >> (8 * b));
    return r;
  }
  Vcmm_siphash& top() { return *top_; }

 private:
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vcmm_siphash> top_;
};

TEST(RtlSipHash, MatchesLibsodiumOnRandomKeysAndCounters) {
  ASSERT_GE(sodium_init(), 0);
  Engine e;
  std::mt19937_64 rng(20261130);
  int checked = 0;
  for (int i = 0; i < 3000; ++i) {
    std::array<uint32_t, 4> k{};
    for (auto& w : k) w = static_cast<uint32_t>(rng());
    if (i == 0) k = {0, 0, 0, 0};
    if (i == 1) k = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    const uint64_t ctr = i < 100 ? static_cast<uint64_t>(i) : rng();  // counter mode: small and large
    const uint64_t node = rng() & 0xFF;
    ASSERT_EQ(e.run(k, ctr, node, 13), reference(k, ctr, node)) << "case " << i;
    ++checked;
  }
  EXPECT_EQ(checked, 3000);
}

TEST(RtlSipHash, LibsodiumKnownAnswer) {
  // SipHash-2-4-128 of the 16-byte message 00..0f under key 00..0f, from an
  // independent implementation (written for this test from the SipHash paper;
  // it reproduces the reference vector a3817f04ba25a8e66df67214c7550293 of
  // the empty message), checked against libsodium and the engine.
  ASSERT_GE(sodium_init(), 0);
  const std::array<uint32_t, 4> k = {0x03020100u, 0x07060504u, 0x0b0a0908u, 0x0f0e0d0cu};
  const uint64_t m0 = 0x0706050403020100ull, m1 = 0x0f0e0d0c0b0a0908ull;
  const Bytes16 want = {0x6e, 0xe2, 0xa4, 0xca, 0x67, 0xb0, 0x54, 0xbb,
                        0xfd, 0x33, 0x15, 0xbf, 0x85, 0x23, 0x05, 0x77};
  EXPECT_EQ(reference(k, m0, m1), want);
  Engine e;
  EXPECT_EQ(e.run(k, m0, m1, 13), want);
}

TEST(RtlSipHash, ResultNeedsAllFourteenStepsAndHoldsWhenIdle) {
  ASSERT_GE(sodium_init(), 0);
  Engine e;
  const std::array<uint32_t, 4> k = {0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u};
  const Bytes16 want = reference(k, 5, 7);
  EXPECT_NE(e.run(k, 5, 7, 12), want);  // one round short
  EXPECT_EQ(e.run(k, 5, 7, 13), want);
  for (int i = 0; i < 20; ++i) e.edge();  // adv_i low: the result stays
  EXPECT_EQ(e.result(), want);
}

}  // namespace
