// Fuzz harness: the C++ core at its pins (hw/src/cmm_core.h).
//
// Bytes -> a sequence of clock edges, each with at most one register request
// (any address, width of the port, privilege, partition, pid; structured
// variants aim at KEY, CMD, CST and endpoint pages) and at most one ingress
// header (any field, or the core's own egress header looped back), driven
// into two cores A and B. B gets the same inputs except the secret key
// material: KEY staging words and the key field of every non-MGMT header go
// through pi, a word-wise involution that keeps 0 (w ^ m unless w is 0 or m).
// pi keeps every equality and zero test on keys, so:
//   I1  every output of B equals A's (register read data and status above
//       all), the egress key field equal under pi;
//   I2  every accepting verdict of A is checked against a small reference
//       built only from the pins: the DATA is for this node and the verdict's
//       entry, its source ids are the entry's CST_REMOTE ids (and source
//       generation the entry's CST_GEN.REMOTE), and its key is one the local
//       agent installed there (SET_KEY/CONNECT of the staged words) since the
//       entry was last closed, freed or rewritten.
// The key generator (security.md 1.10): entropy_i gets a dictionary seed,
// B's under pi (so both are seeded or not alike). The generator's keys are a
// PRF of the seed, not pi of A's: an egress key of B that is not pi of A's
// must be the generator's key of B's seed for the same counter as A's (I1);
// the I2 reference adds the generator's possible keys (counters up to the
// number of successful HWKEY draws since the seed) to an entry on an OK draw.
// Table faults (1.11): the fault-injection pins flip a stored bit in both
// cores alike (rarely); a faulted entry fails closed, which both oracles
// accept as is (nothing is delivered to it, A and B behave the same).
// A finding prints what differs and aborts (libFuzzer saves the input).
#include "fuzz_reader.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "cmm_core.h"
#include "cmm_siphash.h"

using namespace cmm;
using namespace cmm::regs;

namespace {

constexpr uint32_t kMaxEdges = 3000;  // per input: keeps executions fast

uint32_t pi_w(uint32_t w, uint32_t m) { return (w == 0 || w == m) ? w : (w ^ m); }

uint32_t cst_addr(uint32_t ep, uint32_t off) { return CMM_CST_BASE + ep * CMM_CST_STRIDE + off; }
uint32_t ep_addr(uint32_t ep, uint32_t off) { return CMM_EP_BASE + ep * CMM_EP_STRIDE + off; }
uint32_t key_index(uint32_t addr, bool& is_key) {
  const uint32_t a = addr & ((1u << kAddrBits) - 1u);
  is_key = a >= CMM_KEY_OFFSET && a < CMM_KEY_OFFSET + CMM_KEY_COUNT * CMM_KEY_STRIDE;
  return is_key ? (a - CMM_KEY_OFFSET) / CMM_KEY_STRIDE : 0;
}
bool is_mgmt(const Header& h) { return h.masked().opcode == static_cast<uint8_t>(Opcode::kMgmt); }

// Draws per seed are bounded by the edges of one input (one key per KEYGEN_CYCLES).
constexpr uint64_t kMaxDraws = kMaxEdges / kKeygenCycles + 2;

// The generator's key for a seed, counter and node (docs/security.md 1.10).
Key hw_key(const Key& seed, uint64_t ctr, uint16_t node) {
  uint8_t k[16], msg[16];
  for (uint32_t i = 0; i < 16; ++i) {
    k[i] = static_cast<uint8_t>(seed[i / 4] >> (8 * (i % 4)));
    msg[i] = static_cast<uint8_t>((i < 8 ? ctr : uint64_t{node}) >> (8 * (i % 8)));
  }
  const auto out = sip::hash128(k, msg, 16);
  Key key{};
  for (uint32_t i = 0; i < 16; ++i) key[i / 4] |= uint32_t{out[i]} << (8 * (i % 4));
  return key;
}

// Seeds given to A and B so far (pairs), and the generator key pairs found.
struct HwPairs {
  std::vector<std::pair<Key, Key>> seeds;
  std::vector<std::pair<Key, Key>> found;
  // (ka, kb) are the keys A's and B's generators made for one counter.
  bool match(const Key& ka, const Key& kb, uint16_t node) {
    for (const auto& f : found)
      if (f.first == ka && f.second == kb) return true;
    for (const auto& sd : seeds)
      for (uint64_t c = 0; c < kMaxDraws; ++c)
        if (hw_key(sd.second, c, node) == kb && hw_key(sd.first, c, node) == ka) {
          found.emplace_back(ka, kb);
          return true;
        }
    return false;
  }
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_core: %s\n", what.c_str());
  std::abort();
}

// ---- the I2 reference: pins only, never the core's internals
struct Ref {
  struct Part {
    Key words{};
    uint32_t mask = 0;
  };
  struct Entry {
    uint16_t rnode = 0;
    uint8_t rpart = 0, rep = 0, rgen = 0;
    std::vector<Key> keys;  // installed by the local agent since the last zeroize
  };
  uint16_t node_id = 0;
  std::array<Part, kNumPartitions> part{};
  std::array<Entry, kNumEndpoints> ent{};
  Key seed{};           // A's generator seed (entropy_i)
  uint64_t draws = 0;   // OK HWKEY commands since the seed: an upper bound of the counter

  void reset() {
    part.fill(Part{});
    ent.fill(Entry{});
    seed = Key{};
    draws = 0;
  }
  void on_seed(const Key& e) {
    seed = e;
    draws = 0;
  }
  // A register request answered OK (the only kind that changes anything here).
  void on_ok(const PinsIn& in) {
    const uint32_t a = in.reg_req_addr & ((1u << kAddrBits) - 1u);
    if (!in.reg_req_write || in.reg_req_part >= kNumPartitions) return;
    Part& P = part[in.reg_req_part];
    bool is_key = false;
    const uint32_t w = key_index(a, is_key);
    if (is_key) {
      P.words[w] = in.reg_req_wdata;
      P.mask |= 1u << w;
      return;
    }
    if (a == CMM_CMD_OFFSET) {
      const uint32_t op = CMM_FIELD_GET(in.reg_req_wdata, CMM_CMD_OP);
      const uint32_t ep = CMM_FIELD_GET(in.reg_req_wdata, CMM_CMD_EP);
      if (ep < kNumEndpoints) {
        Entry& e = ent[ep];
        if (op == static_cast<uint32_t>(Cmd::kClose) || op == static_cast<uint32_t>(Cmd::kFree)) e.keys.clear();
        if (op == static_cast<uint32_t>(Cmd::kFree)) e = Entry{};
        // A re-send does not install; an extra candidate only weakens the check.
        const bool keyed = op == static_cast<uint32_t>(Cmd::kSetKey) || op == static_cast<uint32_t>(Cmd::kConnect);
        if (keyed && CMM_FIELD_GET(in.reg_req_wdata, CMM_CMD_HWKEY)) {
          // The generator's key of some counter up to the draws so far.
          for (uint64_t c = 0; c <= draws && c < kMaxDraws; ++c) e.keys.push_back(hw_key(seed, c, node_id));
          ++draws;
        } else if (keyed && P.mask) {
          e.keys.push_back(P.words);
        }
      }
      P = Part{};
      return;
    }
    if (a >= CMM_CST_BASE && a < CMM_CST_BASE + kNumEndpoints * CMM_CST_STRIDE) {
      // Writable only while ALLOCATED, where no key exists.
      const uint32_t ep = (a - CMM_CST_BASE) / CMM_CST_STRIDE, off = (a - CMM_CST_BASE) % CMM_CST_STRIDE;
      Entry& e = ent[ep];
      e.keys.clear();
      if (off == CMM_CST_REMOTE_OFFSET) {
        e.rnode = static_cast<uint16_t>(CMM_FIELD_GET(in.reg_req_wdata, CMM_CST_REMOTE_NODE));
        e.rpart = static_cast<uint8_t>(CMM_FIELD_GET(in.reg_req_wdata, CMM_CST_REMOTE_PART));
        e.rep = static_cast<uint8_t>(CMM_FIELD_GET(in.reg_req_wdata, CMM_CST_REMOTE_EP));
      } else if (off == CMM_CST_GEN_OFFSET) {
        e.rgen = static_cast<uint8_t>(CMM_FIELD_GET(in.reg_req_wdata, CMM_CST_GEN_REMOTE));
      }
    }
  }
  void check_accept(const Header& h, const PinsOut& o) const {
    char b[256];
    if (h.opcode != static_cast<uint8_t>(Opcode::kData)) fail("verdict for a non-DATA header " + h.str());
    if (h.dst_ep != o.vd_ep) fail("verdict entry differs from the header's: " + h.str());
    if (h.dst_node != node_id) fail("accepted DATA for another node: " + h.str());
    if (h.dst_ep >= kNumEndpoints) fail("accepted DATA for an entry out of range: " + h.str());
    const Entry& e = ent[h.dst_ep];
    if (h.src_node != e.rnode || h.src_part != e.rpart || h.src_ep != e.rep || h.src_gen != e.rgen) {
      std::snprintf(b, sizeof b, "I2: accepted DATA from ids other than the entry's remote %u.%u.%u gen %u: ",
                    e.rnode, e.rpart, e.rep, e.rgen);
      fail(b + h.str());
    }
    bool known = false;
    for (const Key& k : e.keys) known |= k == h.key;
    if (!known) {
      std::snprintf(b, sizeof b, "I2: accepted DATA whose key the agent did not install at entry %u (%zu installed): ",
                    h.dst_ep, e.keys.size());
      fail(b + h.str());
    }
  }
};

std::string out_diff(const PinsOut& a, const PinsOut& b) {
  char s[512];
  std::snprintf(s, sizeof s,
                "A: ready %d rsp %d rdata %08x st %u buf %d/%u ing_ready %d eg %d/%u [%s] vd %d/%d ep %u slot %u r %u "
                "irq %x\nB: ready %d rsp %d rdata %08x st %u buf %d/%u ing_ready %d eg %d/%u [%s] vd %d/%d ep %u "
                "slot %u r %u irq %x",
                a.reg_req_ready, a.reg_rsp_valid, a.reg_rsp_rdata, a.reg_rsp_status, a.reg_rsp_buf,
                a.reg_rsp_buf_slot, a.ing_ready, a.eg_valid, a.eg_cls, a.eg_hdr.str().c_str(), a.vd_valid,
                a.vd_accept, a.vd_ep, a.vd_slot, a.vd_reason, a.irq, b.reg_req_ready, b.reg_rsp_valid,
                b.reg_rsp_rdata, b.reg_rsp_status, b.reg_rsp_buf, b.reg_rsp_buf_slot, b.ing_ready, b.eg_valid,
                b.eg_cls, b.eg_hdr.str().c_str(), b.vd_valid, b.vd_accept, b.vd_ep, b.vd_slot, b.vd_reason, b.irq);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool trace = std::getenv("FUZZ_CORE_TRACE") != nullptr;  // replaying a finding
  Reader r{data, size};
  Straps st;
  st.node_id = r.u8();
  for (auto& q : st.quota) q = static_cast<uint8_t>(r.u8() % (kNumEndpoints + 1));
  std::array<uint32_t, kKeyWords> m{};
  for (auto& w : m) w = r.u32() | 1u;  // never 0
  std::array<Key, 4> dict{};           // keys the input writes and sends
  for (auto& k : dict)
    for (auto& w : k) w = r.u32();

  CmmCore a(st), b(st);
  a.set_full_parity_check(true);  // a write that forgot its parity fails closed: I1/I2 see it
  b.set_full_parity_check(true);
  Ref ref;
  ref.node_id = st.node_id;
  auto pi_key = [&](const Key& k) {
    Key o = k;
    for (uint32_t i = 0; i < kKeyWords; ++i) o[i] = pi_w(k[i], m[i]);
    return o;
  };
  HwPairs hw;
  std::deque<PinsIn> reqs;     // accepted register requests awaiting their response
  std::deque<Header> datas;    // accepted DATA headers awaiting their verdict
  uint32_t cycle = 0;
  PinsIn in{};

  for (uint32_t edge = 0; edge < kMaxEdges && !r.empty(); ++edge) {
    // Build this edge's inputs: ops with the top bit set add to the edge,
    // the first op without it closes the edge.
    in = PinsIn{};
    in.eg_ready = true;
    bool loop_a = false, reset = false;
    for (int ops = 0; ops < 3; ++ops) {
      const uint8_t op = r.u8();
      const uint8_t kind = op & 0x0F;
      const uint8_t part = r.u8();
      const uint8_t p = part & 0x7F;  // partition incl. out-of-range ids
      const bool kern = !(part & 0x80);
      auto reg = [&](uint32_t addr, bool wr, uint32_t wd) {
        in.reg_req_valid = true;
        in.reg_req_write = wr;
        in.reg_req_addr = addr;
        in.reg_req_wdata = wd;
        in.reg_req_part = static_cast<uint8_t>(p % (kNumPartitions + 2));
        in.reg_req_priv = static_cast<uint8_t>(kern ? Priv::kKernel : Priv::kUser);
        in.reg_req_pid = static_cast<uint16_t>(r.u8() % 4);
      };
      const uint8_t ep = static_cast<uint8_t>(r.u8() % (kNumEndpoints + 1));
      switch (kind) {
        case 0:  // idle; egress back-pressure from the top bits
          in.eg_ready = (op & 0x40) == 0;
          break;
        case 1: {  // KEY staging word from the dictionary (or raw)
          const uint8_t s = r.u8();
          reg(CMM_KEY_OFFSET + (s & 3u) * CMM_KEY_STRIDE, true, (s & 0x80) ? r.u32() : dict[(s >> 2) & 3][s & 3u]);
          break;
        }
        case 2: {  // command: op (incl. unknown), ep; rarely reserved bits
          const uint8_t c = r.u8();
          uint32_t wd = CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CMD_OP, c & 0xFu), CMM_CMD_EP, ep);
          if (c & 0x80) wd |= 1u << (c & 31u);
          reg(CMM_CMD_OFFSET, true, wd);
          break;
        }
        case 3: {  // CST write
          const uint8_t f = r.u8();
          uint32_t wd = 0;
          switch (f & 3u) {
            case 0: wd = CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, (f >> 2) & 1u); break;
            case 1: wd = CMM_FIELD_SET(0u, CMM_CST_OWNER_PID, (f >> 2) & 3u); break;
            case 2:
              wd = CMM_FIELD_SET(0u, CMM_CST_REMOTE_NODE, (f & 4) ? st.node_id : r.u8());
              wd = CMM_FIELD_SET(wd, CMM_CST_REMOTE_PART, (f >> 3) & 7u);
              wd = CMM_FIELD_SET(wd, CMM_CST_REMOTE_EP, r.u8() % kNumEndpoints);
              break;
            default: wd = CMM_FIELD_SET(0u, CMM_CST_GEN_REMOTE, r.u8()); break;
          }
          if (f & 0x80) wd |= r.u32();
          static constexpr uint32_t offs[4] = {CMM_CST_CTRL_OFFSET, CMM_CST_OWNER_OFFSET, CMM_CST_REMOTE_OFFSET,
                                               CMM_CST_GEN_OFFSET};
          reg(cst_addr(ep, offs[f & 3u]), true, wd);
          break;
        }
        case 4:  // CST read (any word of the window)
          reg(cst_addr(ep, (r.u8() % (CMM_CST_STRIDE / 4)) * 4), false, 0);
          break;
        case 5: {  // endpoint page
          const uint8_t f = r.u8();
          static constexpr uint32_t offs[8] = {CMM_EP_DOORBELL_OFFSET, CMM_EP_TX_STATUS_OFFSET,
                                               CMM_EP_TX_SENT_OFFSET,  CMM_EP_RX_STATUS_OFFSET,
                                               CMM_EP_RX_TAG_OFFSET,   CMM_EP_RX_POP_OFFSET,
                                               CMM_TX_BUF_OFFSET,      CMM_RX_BUF_OFFSET};
          const uint32_t off = offs[f & 7u];
          uint32_t wd = CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_EP_DOORBELL_LEN, r.u16() % (kMaxMsgBytes + 2)),
                                      CMM_EP_DOORBELL_TAG, r.u8());
          reg(ep_addr(ep, off), (f & 8) != 0, wd);
          break;
        }
        case 6:  // kernel bank word, read or write
          reg((r.u8() * 4u) % CMM_CST_BASE, (op & 0x40) != 0, r.u32());
          break;
        case 7: {  // raw register access
          const uint32_t addr = r.u32();
          reg(addr, (op & 0x40) != 0, r.u32());
          break;
        }
        case 8:
        case 9: {  // ingress header aimed at this node's entries, key from the dictionary
          Header& h = in.ing_hdr;
          in.ing_valid = true;
          const uint8_t f = r.u8();
          h.opcode = static_cast<uint8_t>(kind == 8 ? (f & 7u) % 7u : r.u8());
          h.src_node = (f & 0x08) ? r.u8() : st.node_id;
          h.src_part = static_cast<uint8_t>(r.u8() & 0xF);
          h.src_ep = static_cast<uint8_t>(r.u8() % (kNumEndpoints + 1));
          h.dst_node = (f & 0x10) ? r.u8() : st.node_id;
          h.dst_part = static_cast<uint8_t>(p & 0xF);
          h.dst_ep = ep;
          h.len = (f & 0x20) ? r.u16() : static_cast<uint16_t>(1 + r.u8());
          h.tag = r.u8();
          h.reason = r.u8();
          h.aux = r.u8();
          h.src_gen = r.u8();
          h.dst_gen = r.u8();
          h.seq = (f & 0x40) ? r.u16() : r.u8();
          const uint8_t k = r.u8();
          if (k & 0x80) {
            for (auto& w : h.key) w = r.u32();
          } else if (k & 0x40) {
            h.key = Key{};
          } else {
            h.key = dict[k & 3u];
          }
          break;
        }
        case 10:  // the core's own egress header back into its ingress
          loop_a = true;
          break;
        case 11:  // reset
          reset = (op & 0x70) == 0x70;
          break;
        case 12: {  // key generator seed (entropy_i) from the dictionary, or zero
          const uint8_t s = r.u8();
          in.entropy_valid = true;
          in.entropy = (s & 0x80) ? Key{} : dict[s & 3u];
          break;
        }
        case 13:  // table fault (rarely): flip one stored bit in both cores
          if ((op & 0x70) == 0x70) {
            in.fault_valid = true;
            in.fault_table = static_cast<uint8_t>(r.u8() & 1u);
            in.fault_entry = ep;
            in.fault_bit = r.u8();
          }
          break;
        default:  // more idle edges: let queues drain
          break;
      }
      if (!(op & 0x80)) break;
    }

    if (reset) {
      a.reset();
      b.reset();
      ref.reset();
      reqs.clear();
      datas.clear();
      continue;
    }
    // Same inputs for B but the secret key material.
    PinsIn ia = in, ib = in;
    if (in.ing_valid && !is_mgmt(in.ing_hdr)) ib.ing_hdr.key = pi_key(in.ing_hdr.key);
    if (loop_a && a.out().eg_valid) {
      ia.ing_valid = ib.ing_valid = true;
      ia.ing_hdr = a.out().eg_hdr;
      ib.ing_hdr = b.out().eg_hdr;  // B's own egress: already under pi
    }
    bool is_key = false;
    const uint32_t w = key_index(in.reg_req_addr, is_key);
    if (in.reg_req_valid && in.reg_req_write && is_key) ib.reg_req_wdata = pi_w(in.reg_req_wdata, m[w]);
    if (in.entropy_valid) {
      ib.entropy = pi_key(in.entropy);  // zero stays zero: seeded alike
      hw.seeds.emplace_back(ia.entropy, ib.entropy);
      ref.on_seed(ia.entropy);
    }
    ia.cycle = ib.cycle = cycle++;

    const bool reg_fire = ia.reg_req_valid && a.out().reg_req_ready;
    const bool ing_fire = ia.ing_valid && a.out().ing_ready;
    a.step(ia);
    b.step(ib);
    if (reg_fire) reqs.push_back(ia);
    if (ing_fire && ia.ing_hdr.masked().opcode == static_cast<uint8_t>(Opcode::kData))
      datas.push_back(ia.ing_hdr.masked());

    // I1: B's outputs equal A's, the egress key under pi.
    PinsOut ob = b.out();
    const PinsOut& oa = a.out();
    if (trace) {
      if (reg_fire)
        std::fprintf(stderr, "%4u reg %s %05x wd %08x part %u priv %u pid %u\n", edge, ia.reg_req_write ? "W" : "R",
                     ia.reg_req_addr, ia.reg_req_wdata, ia.reg_req_part, ia.reg_req_priv, ia.reg_req_pid);
      if (ing_fire) std::fprintf(stderr, "%4u ing %s\n", edge, ia.ing_hdr.str().c_str());
      if (oa.reg_rsp_valid) std::fprintf(stderr, "%4u   rsp st %u rdata %08x\n", edge, oa.reg_rsp_status, oa.reg_rsp_rdata);
      if (oa.vd_valid) std::fprintf(stderr, "%4u   verdict ep %u accept %d reason %u\n", edge, oa.vd_ep, oa.vd_accept, oa.vd_reason);
      if (oa.eg_valid) std::fprintf(stderr, "%4u   egress %s\n", edge, oa.eg_hdr.str().c_str());
    }
    if (ob.eg_valid && !is_mgmt(ob.eg_hdr)) {
      Key k = pi_key(ob.eg_hdr.key);  // pi is an involution
      // A generator key: B's must be B's generator's for the counter of A's.
      if (oa.eg_valid && k != oa.eg_hdr.key && hw.match(oa.eg_hdr.key, ob.eg_hdr.key, st.node_id)) k = oa.eg_hdr.key;
      ob.eg_hdr.key = k;
    }
    if (!(oa == ob) || oa.reg_rsp_rdata != ob.reg_rsp_rdata || oa.reg_rsp_status != ob.reg_rsp_status)
      fail("I1: the outputs depend on key bits at edge " + std::to_string(edge) + "\n" + out_diff(oa, ob));

    // I2: the verdict (its header committed before this edge's register access).
    if (oa.vd_valid) {
      if (datas.empty()) fail("verdict without an accepted DATA header");
      const Header h = datas.front();
      datas.pop_front();
      if (oa.vd_accept) ref.check_accept(h, oa);
    }
    if (oa.reg_rsp_valid) {
      if (reqs.empty()) fail("register response without a request");
      const PinsIn q = reqs.front();
      reqs.pop_front();
      if (oa.reg_rsp_status == static_cast<uint8_t>(Rsp::kOk)) ref.on_ok(q);
    }
  }
  return 0;
}
