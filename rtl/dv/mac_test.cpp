// rtl/cmm_mac_*.sv (strong mode's MACs, docs/strong-mode.md 11.4-11.6) against
// an independent reference built here from the contract text with libsodium's
// crypto_shorthash_siphashx24 and the C++ header packing (Header::pack()),
// and against cmm::sip::hash128 (the C++ core's SipHash): header-only MACs,
// the CONNECT key wrap/unwrap, and the streaming payload engine (values and
// the cycle-exact beat/countdown timing of 11.6) for two (B, L) settings.
#include <gtest/gtest.h>
#include <sodium.h>
#include <verilated.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "Vcmm_keywrap.h"
#include "Vcmm_mac_eng16.h"
#include "Vcmm_mac_eng5.h"
#include "Vcmm_mac_hdr.h"
#include "cmm_pins.h"
#include "cmm_siphash.h"

namespace cmm {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes key_bytes(const Key& k) {
  Bytes b(16);
  for (int i = 0; i < 16; ++i) b[i] = static_cast<uint8_t>(k[i / 4] >> (8 * (i % 4)));
  return b;
}
Key bytes_key(const uint8_t* b) {
  Key k{};
  for (int i = 0; i < 16; ++i) k[i / 4] |= uint32_t{b[i]} << (8 * (i % 4));
  return k;
}
// 11.4: packed header, key zeroed, as 8 little-endian words.
Bytes hdr_bytes(Header h) {
  h.key = Key{};
  const Header::Packed p = h.pack();
  Bytes b(32, 0);
  for (size_t i = 0; i < 32; ++i) b[i] = i / 4 < p.size() ? static_cast<uint8_t>(p[i / 4] >> (8 * (i % 4))) : 0;
  return b;
}
Key sodium_sip(const Key& k, const Bytes& m) {
  const Bytes kb = key_bytes(k);
  uint8_t out[16];
  crypto_shorthash_siphashx24(out, m.data(), m.size(), kb.data());
  const std::array<uint8_t, 16> c = sip::hash128(kb.data(), m.data(), m.size());  // the C++ core's SipHash
  EXPECT_EQ(0, std::memcmp(out, c.data(), 16));
  return bytes_key(out);
}
Key ref_mac(const Key& k, const Header& h, const Bytes& pay) {
  Bytes m = hdr_bytes(h);
  m.insert(m.end(), pay.begin(), pay.end());
  return sodium_sip(k, m);
}
// 11.5
Key ref_stream(const Key& lk, const Header& h) {
  const Key ke = sodium_sip(lk, Bytes{'w', 'r', 'a', 'p', '-', 'e', 'n', 'c'});
  const uint32_t n = uint32_t{h.seq} | uint32_t{h.tag} << 16;
  const Bytes nonce = {static_cast<uint8_t>(h.src_node), static_cast<uint8_t>(h.dst_node), h.src_part, h.dst_part,
                       static_cast<uint8_t>(h.src_ep), static_cast<uint8_t>(h.dst_ep), h.src_gen, h.dst_gen,
                       static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n >> 16),
                       static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(h.src_node >> 8),
                       static_cast<uint8_t>(h.dst_node >> 8), static_cast<uint8_t>(h.src_ep >> 8),
                       static_cast<uint8_t>(h.dst_ep >> 8)};
  return sodium_sip(ke, nonce);
}
Key ref_wrap_tag(const Key& lk, const Header& h, const Key& c) {
  const Key km = sodium_sip(lk, Bytes{'w', 'r', 'a', 'p', '-', 'm', 'a', 'c'});
  return ref_mac(km, h, key_bytes(c));
}
Key x(const Key& a, const Key& b) {
  Key r{};
  for (int i = 0; i < 4; ++i) r[i] = a[i] ^ b[i];
  return r;
}

Key rand_key(std::mt19937_64& g) {
  Key k{};
  for (auto& w : k) w = static_cast<uint32_t>(g());
  return k;
}
Header rand_hdr(std::mt19937_64& g) {
  Header h;
  h.opcode = static_cast<uint8_t>(g());
  h.src_node = static_cast<uint16_t>(g());
  h.src_part = static_cast<uint8_t>(g());
  h.src_ep = static_cast<uint16_t>(g());
  h.dst_node = static_cast<uint16_t>(g());
  h.dst_part = static_cast<uint8_t>(g());
  h.dst_ep = static_cast<uint16_t>(g());
  h.len = static_cast<uint16_t>(g());
  h.tag = static_cast<uint16_t>(g());
  h.reason = static_cast<uint8_t>(g());
  h.aux = static_cast<uint8_t>(g());
  h.src_gen = static_cast<uint8_t>(g());
  h.dst_gen = static_cast<uint8_t>(g());
  h.seq = static_cast<uint16_t>(g());
  h.key = rand_key(g);  // must be ignored
  return h.masked();
}

template <class T>
void set_hdr(T& port, const Header& h) {
  const Header::Packed p = h.pack();
  for (size_t w = 0; w < p.size(); ++w) port[w] = p[w];
}
template <class T>
void set_key(T& port, const Key& k) {
  for (int w = 0; w < 4; ++w) port[w] = k[w];
}
template <class T>
Key get_key(const T& port) {
  Key k{};
  for (int w = 0; w < 4; ++w) k[w] = port[w];
  return k;
}

TEST(RtlMac, HeaderOnlyMacMatchesLibsodium) {
  ASSERT_GE(sodium_init(), 0);
  VerilatedContext ctx;
  Vcmm_mac_hdr m(&ctx, "mac_hdr");
  std::mt19937_64 g(11);
  for (int i = 0; i < 2000; ++i) {
    const Key k = i == 0 ? Key{} : rand_key(g);
    const Header h = rand_hdr(g);
    set_key(m.key_i, k);
    set_hdr(m.hdr_i, h);
    m.eval();
    ASSERT_EQ(get_key(m.tag_o), ref_mac(k, h, {})) << "case " << i;
  }
  // The key field is not covered (it carries the tag), every other bit is.
  Header h = rand_hdr(g);
  const Key k = rand_key(g);
  set_key(m.key_i, k);
  set_hdr(m.hdr_i, h);
  m.eval();
  const Key t0 = get_key(m.tag_o);
  h.seq ^= 1;
  set_hdr(m.hdr_i, h);
  m.eval();
  EXPECT_NE(get_key(m.tag_o), t0);
}

TEST(RtlMac, KeyWrapAndUnwrapMatchTheContract) {
  ASSERT_GE(sodium_init(), 0);
  VerilatedContext ctx;
  Vcmm_keywrap w(&ctx, "keywrap");
  std::mt19937_64 g(12);
  for (int i = 0; i < 1000; ++i) {
    const Key lk = rand_key(g), key = rand_key(g);
    Header h = rand_hdr(g);
    h.len = 16;
    h.aux |= 0x80;
    // Wrap (CMD CONNECT at the receiver's CMM).
    w.wrap_i = 1;
    set_key(w.lk_i, lk);
    set_hdr(w.hdr_i, h);
    set_key(w.data_i, key);
    w.eval();
    const Key c = x(key, ref_stream(lk, h));
    ASSERT_EQ(get_key(w.data_o), c) << "case " << i;
    const Key t = ref_wrap_tag(lk, h, c);
    ASSERT_EQ(get_key(w.tag_o), t) << "case " << i;
    // Unwrap (ingress CONNECT at the sender's CMM): back to the key, same T.
    w.wrap_i = 0;
    set_key(w.data_i, c);
    w.eval();
    ASSERT_EQ(get_key(w.data_o), key) << "case " << i;
    ASSERT_EQ(get_key(w.tag_o), t) << "case " << i;
    // A flipped ciphertext bit changes T.
    Key c2 = c;
    c2[g() % 4] ^= 1u << (g() % 32);
    set_key(w.data_i, c2);
    w.eval();
    ASSERT_NE(get_key(w.tag_o), t);
  }
}

// The engine against the reference and the timing of 11.6: beats(len) =
// ceil(len / B); the last beat's edge sets the countdown to L; TX finishes at
// the edge where it reaches 0 (the last beat's edge itself for L = 0), RX
// commits at the first edge where it is 0 at the start (t_last + L + 1).
template <class V>
void engine_case(V& e, uint32_t B, uint32_t L, std::mt19937_64& g, bool tx, uint32_t len, int gap_pct) {
  const Key k = rand_key(g);
  Header h = rand_hdr(g);
  h.len = static_cast<uint16_t>(len);
  Bytes pay(len);
  for (auto& b : pay) b = static_cast<uint8_t>(g());
  auto edge = [&] {
    e.clk = 0;
    e.eval();
    e.clk = 1;
    e.eval();
  };
  e.load_i = 1;
  e.clear_i = 0;
  e.beat_valid_i = 0;
  set_key(e.key_i, k);
  set_hdr(e.hdr_i, h);
  edge();
  e.load_i = 0;
  set_key(e.key_i, Key{});
  const uint32_t beats = (len + B - 1) / B;
  uint32_t sent = 0;
  uint64_t t = 0, t_last = 0;
  for (;;) {
    ASSERT_LT(t, 10000u);
    ASSERT_TRUE(e.busy_o) << "t=" << t << " len=" << len << " tx=" << tx << " sent=" << sent;
    ASSERT_EQ(bool(e.ready_o), sent < beats) << "t=" << t;
    const bool valid = sent < beats && int(g() % 100) >= gap_pct;
    e.beat_valid_i = valid;
    for (int i = 0; i < 4; ++i) {
      uint32_t wd = 0;
      for (int j = 0; j < 4; ++j) {
        const uint32_t lane = 4 * i + j;
        // Lanes beyond B and beyond len carry junk: the engine must ignore them.
        const uint8_t byte = lane < B && sent * B + lane < len ? pay[sent * B + lane] : static_cast<uint8_t>(g());
        wd |= uint32_t{byte} << (8 * j);
      }
      e.beat_data_i[i] = wd;
    }
    e.eval();
    const bool last = valid && sent + 1 == beats;
    if (tx) {
      const bool want_done = (last && L == 0) || (sent == beats && L > 0 && t == t_last + L);
      ASSERT_EQ(bool(e.tx_done_o), want_done) << "t=" << t;
      if (want_done) {
        ASSERT_EQ(get_key(e.tag_o), ref_mac(k, h, pay)) << "len " << len;
        e.clear_i = 1;
        edge();
        e.clear_i = 0;
        ASSERT_FALSE(e.busy_o);
        return;
      }
    } else {
      const bool want_commit = sent == beats && t == t_last + L + 1;
      ASSERT_EQ(bool(e.rx_ready_o), want_commit) << "t=" << t;
      if (want_commit) {
        ASSERT_EQ(get_key(e.tag_o), ref_mac(k, h, pay)) << "len " << len;
        e.clear_i = 1;
        edge();
        e.clear_i = 0;
        ASSERT_FALSE(e.busy_o);
        return;
      }
    }
    if (valid) ++sent;
    if (last) t_last = t;
    edge();
    ++t;
  }
}

template <class V>
void engine_suite(uint32_t B, uint32_t L, uint64_t seed) {
  ASSERT_GE(sodium_init(), 0);
  VerilatedContext ctx;
  V e(&ctx, "eng");
  e.rst_ni = 0;
  e.clk = 0;
  e.eval();
  e.clk = 1;
  e.eval();
  e.rst_ni = 1;
  std::mt19937_64 g(seed);
  const uint32_t lens[] = {1, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 48, 100, 255, 256, 1023, 1024};
  for (uint32_t len : lens)
    for (bool tx : {true, false}) engine_case(e, B, L, g, tx, len, 0);
  for (int i = 0; i < 300; ++i) engine_case(e, B, L, g, g() & 1, 1 + g() % 1024, static_cast<int>(g() % 60));
}

TEST(RtlMac, EngineB16L4MatchesReferenceAndTiming) { engine_suite<Vcmm_mac_eng16>(16, 4, 21); }
TEST(RtlMac, EngineB5L0MatchesReferenceAndTiming) { engine_suite<Vcmm_mac_eng5>(5, 0, 22); }

}  // namespace
}  // namespace cmm
