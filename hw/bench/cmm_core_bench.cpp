// Google Benchmark of the cycle-accurate core: cost of one clock step when
// idle, under a stream of verified DATA headers, of register reads, and of
// two cores joined by an open channel under typical traffic.
#include <benchmark/benchmark.h>

#include "cmm_core.h"

namespace {
using namespace cmm;
using namespace cmm::regs;

// Drives one register access to completion; returns the response status.
uint8_t access(CmmCore& c, bool wr, uint32_t addr, uint32_t data, uint8_t part, uint32_t* rd = nullptr) {
  PinsIn in;
  in.reg_req_valid = true;
  in.reg_req_write = wr;
  in.reg_req_addr = addr;
  in.reg_req_wdata = data;
  in.reg_req_part = part;
  in.reg_req_priv = static_cast<uint8_t>(Priv::kKernel);
  in.eg_ready = true;
  while (!c.out().reg_req_ready) c.step(PinsIn{.eg_ready = true});
  c.step(in);
  if (rd) *rd = c.out().reg_rsp_rdata;
  return c.out().reg_rsp_status;
}

// A core with endpoint 0 open as a receive entry from node 9, partition 1, endpoint 5.
CmmCore open_receiver(const Key& key) {
  Straps s;
  s.node_id = 3;
  s.quota.fill(4);
  CmmCore c(s);
  access(c, true, CMM_CMD_OFFSET, static_cast<uint32_t>(Cmd::kAlloc), 0);
  const uint32_t cst = CMM_CST_BASE;
  access(c, true, cst + CMM_CST_REMOTE_OFFSET, (9u << CMM_CST_REMOTE_NODE_LSB) | (1u << CMM_CST_REMOTE_PART_LSB) |
                                                   (5u << CMM_CST_REMOTE_EP_LSB), 0);
  access(c, true, CMM_CMD_OFFSET, static_cast<uint32_t>(Cmd::kAuthorize), 0);
  for (uint32_t w = 0; w < kKeyWords; ++w) access(c, true, CMM_KEY_OFFSET + 4 * w, key[w], 0);
  access(c, true, CMM_CMD_OFFSET, static_cast<uint32_t>(Cmd::kConnect), 0);
  Header ack;
  ack.opcode = static_cast<uint8_t>(Opcode::kConnectAck);
  ack.src_node = 9, ack.src_part = 1, ack.src_ep = 5, ack.dst_node = 3, ack.dst_part = 0, ack.dst_ep = 0;
  ack.key = key;     // the sender's CMM proves it stored the key
  ack.dst_gen = 1;   // the entry's generation after its first ALLOC
  PinsIn in{.ing_valid = true, .ing_hdr = ack, .eg_ready = true};
  c.step(in);
  for (int i = 0; i < 4; ++i) c.step(PinsIn{.eg_ready = true});
  return c;
}

void BM_StepIdle(benchmark::State& st) {
  Straps s;
  CmmCore c(s);
  PinsIn in{.eg_ready = true};
  for (auto _ : st) c.step(in);
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_StepIdle);

// One DATA header per cycle, each verified and delivered; the queue is popped
// by register writes on the same cycles so it never fills.
void BM_DataVerifyDeliver(benchmark::State& st) {
  const Key key{0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u};
  CmmCore c = open_receiver(key);
  Header d;
  d.opcode = static_cast<uint8_t>(Opcode::kData);
  d.src_node = 9, d.src_part = 1, d.src_ep = 5, d.dst_node = 3, d.dst_part = 0, d.dst_ep = 0, d.len = 64;
  d.key = key;
  d.dst_gen = 1;
  PinsIn in{.reg_req_valid = true, .reg_req_write = true,
            .reg_req_addr = CMM_EP_BASE + CMM_EP_RX_POP_OFFSET, .reg_req_priv = 1,
            .ing_valid = true, .ing_hdr = d, .eg_ready = true};
  uint64_t delivered = 0;
  uint16_t seq = 0;
  for (auto _ : st) {
    in.ing_hdr.seq = seq++;  // in order: every one is delivered
    c.step(in);
    delivered += c.out().vd_valid && c.out().vd_accept;
  }
  st.counters["delivered_per_step"] = benchmark::Counter(static_cast<double>(delivered) /
                                                         static_cast<double>(st.iterations()));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_DataVerifyDeliver);

void BM_RegisterRead(benchmark::State& st) {
  Straps s;
  CmmCore c(s);
  PinsIn in{.reg_req_valid = true, .reg_req_addr = CMM_REJECT_COUNT_OFFSET, .reg_req_priv = 1, .eg_ready = true};
  for (auto _ : st) {
    c.step(in);
    benchmark::DoNotOptimize(c.out().reg_rsp_rdata);
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_RegisterRead);

// Two cores wired back to back (egress -> ingress, one cycle, credits
// unlimited), each with a queue of register requests: the core step under
// the traffic of an open channel, as a node sees it.
class CorePair {
 public:
  struct Req {
    bool write = false;
    uint32_t addr = 0, wdata = 0;
    uint8_t priv = 0;
    uint16_t pid = 0;
  };
  CorePair() : c_{CmmCore(straps(3)), CmmCore(straps(9))} {}
  CmmCore& core(int i) { return c_[i]; }
  void push(int i, const Req& r) { reg_[i].push(r); }
  // One clock edge of both cores.
  void step() {
    PinsIn in[2]{};
    bool took_reg[2]{}, took_ing[2]{}, eg[2]{};
    Header eg_hdr[2]{};
    for (int i = 0; i < 2; ++i) {
      const PinsOut& o = c_[i].out();
      in[i].eg_ready = true;
      in[i].cycle = static_cast<uint32_t>(c_[i].cycle());
      if (!ing_[i].empty()) {
        in[i].ing_valid = true;
        in[i].ing_hdr = ing_[i].front();
        took_ing[i] = o.ing_ready;
      }
      if (!reg_[i].empty()) {
        const Req& r = reg_[i].front();
        in[i].reg_req_valid = true;
        in[i].reg_req_write = r.write;
        in[i].reg_req_addr = r.addr;
        in[i].reg_req_wdata = r.wdata;
        in[i].reg_req_priv = r.priv;
        in[i].reg_req_pid = r.pid;
        took_reg[i] = o.reg_req_ready;
      }
      eg[i] = o.eg_valid;
      if (eg[i]) eg_hdr[i] = o.eg_hdr;
    }
    for (int i = 0; i < 2; ++i) {
      c_[i].step(in[i]);
      if (took_ing[i]) ing_[i].pop();
      if (took_reg[i]) reg_[i].pop();
      if (eg[i]) ing_[1 - i].push(eg_hdr[i]);
      if (c_[i].out().reg_rsp_valid) last_rdata_[i] = c_[i].out().reg_rsp_rdata;
      delivered += c_[i].out().vd_valid && c_[i].out().vd_accept;
    }
  }
  // A register access of core i, run to its response; returns the read data.
  uint32_t access(int i, const Req& r) {
    push(i, r);
    while (!reg_[i].empty()) step();
    step();  // the response is registered at the edge that took the request
    return last_rdata_[i];
  }
  uint64_t delivered = 0;

 private:
  // A small fixed queue (no allocation in the measured loop).
  template <class T>
  struct Fifo {
    T e[16]{};
    uint32_t h = 0, n = 0;
    bool empty() const { return n == 0; }
    const T& front() const { return e[h]; }
    void push(const T& v) {
      if (n < 16) e[(h + n++) % 16] = v;
    }
    void pop() {
      h = (h + 1) % 16;
      --n;
    }
  };
  static Straps straps(uint16_t node) {
    Straps s;
    s.node_id = node;
    s.quota.fill(0);
    s.quota[0] = 8;
    return s;
  }
  CmmCore c_[2];
  Fifo<Req> reg_[2];
  Fifo<Header> ing_[2];
  uint32_t last_rdata_[2]{};
};

constexpr uint8_t kK = static_cast<uint8_t>(Priv::kKernel), kU = static_cast<uint8_t>(Priv::kUser);
constexpr uint16_t kRxPid = 10, kTxPid = 20;

// Core 0 (node 3) receives from core 1 (node 9) on an open channel: both
// kernel agents' register sequence, then CONNECT / CONNECT_ACK through the wires.
void open_pair_channel(CorePair& p, uint32_t& rx_ep, uint32_t& tx_ep) {
  using R = CorePair::Req;
  uint32_t ep[2], gen[2];
  for (int i = 0; i < 2; ++i) {
    p.access(i, R{true, CMM_CMD_OFFSET, CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(Cmd::kAlloc)), kK, 0});
    ep[i] = CMM_FIELD_GET(p.access(i, R{false, CMM_CMD_STATUS_OFFSET, 0, kK, 0}), CMM_CMD_STATUS_EP);
  }
  for (int i = 0; i < 2; ++i) {
    const uint32_t cst = CMM_CST_BASE + ep[i] * CMM_CST_STRIDE;
    const Dir dir = i == 0 ? Dir::kRecv : Dir::kSend;
    p.access(i, R{true, cst + CMM_CST_CTRL_OFFSET, CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, static_cast<uint32_t>(dir)), kK, 0});
    p.access(i, R{true, cst + CMM_CST_OWNER_OFFSET, i == 0 ? kRxPid : kTxPid, kK, 0});
    uint32_t rem = CMM_FIELD_SET(0u, CMM_CST_REMOTE_NODE, i == 0 ? 9u : 3u);
    rem = CMM_FIELD_SET(rem, CMM_CST_REMOTE_EP, ep[1 - i]);
    p.access(i, R{true, cst + CMM_CST_REMOTE_OFFSET, rem, kK, 0});
    gen[i] = CMM_FIELD_GET(p.access(i, R{false, cst + CMM_CST_GEN_OFFSET, 0, kK, 0}), CMM_CST_GEN_LOCAL);
  }
  for (int i = 0; i < 2; ++i) {
    const uint32_t cst = CMM_CST_BASE + ep[i] * CMM_CST_STRIDE;
    p.access(i, R{true, cst + CMM_CST_GEN_OFFSET, CMM_FIELD_SET(0u, CMM_CST_GEN_REMOTE, gen[1 - i]), kK, 0});
    uint32_t c = CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(Cmd::kAuthorize));
    p.access(i, R{true, CMM_CMD_OFFSET, CMM_FIELD_SET(c, CMM_CMD_EP, ep[i]), kK, 0});
  }
  for (uint32_t w = 0; w < kKeyWords; ++w) p.access(0, R{true, CMM_KEY_OFFSET + 4 * w, 0x1234567u * (w + 1), kK, 0});
  uint32_t c = CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(Cmd::kConnect));
  p.access(0, R{true, CMM_CMD_OFFSET, CMM_FIELD_SET(c, CMM_CMD_EP, ep[0]), kK, 0});
  for (int i = 0; i < 32; ++i) p.step();
  rx_ep = ep[0];
  tx_ep = ep[1];
}

// The core step with typical traffic: every 16 cycles the sender process
// rings its doorbell (a 64-byte DATA), the receiver process reads its
// RX_STATUS, its RX_TAG and pops the message; both cores stepped every
// cycle (items = cycles of the pair; delivered_per_step should be 1/16).
void BM_PairTypicalTraffic(benchmark::State& st) {
  CorePair p;
  uint32_t rx_ep = 0, tx_ep = 0;
  open_pair_channel(p, rx_ep, tx_ep);
  if (p.core(0).ep_state(rx_ep) != State::kOpen || p.core(1).ep_state(tx_ep) != State::kOpen) {
    st.SkipWithError("channel did not open");
    return;
  }
  const uint32_t rx = CMM_EP_BASE + rx_ep * CMM_EP_STRIDE, tx = CMM_EP_BASE + tx_ep * CMM_EP_STRIDE;
  uint32_t db = CMM_FIELD_SET(0u, CMM_EP_DOORBELL_LEN, 64u);
  const CorePair::Req ring{true, tx + CMM_EP_DOORBELL_OFFSET, db, kU, kTxPid};
  const CorePair::Req status{false, rx + CMM_EP_RX_STATUS_OFFSET, 0, kU, kRxPid};
  const CorePair::Req tag{false, rx + CMM_EP_RX_TAG_OFFSET, 0, kU, kRxPid};
  const CorePair::Req pop{true, rx + CMM_EP_RX_POP_OFFSET, CMM_FIELD_SET(0u, CMM_EP_RX_POP_ANY, 1u), kU, kRxPid};
  const uint64_t d0 = p.delivered;
  uint32_t t = 0;
  for (auto _ : st) {
    switch (t++ & 15u) {
      case 0: p.push(1, ring); break;
      case 10: p.push(0, status); break;
      case 12: p.push(0, tag); break;
      case 14: p.push(0, pop); break;
      default: break;
    }
    p.step();
  }
  st.counters["delivered_per_step"] =
      benchmark::Counter(static_cast<double>(p.delivered - d0) / static_cast<double>(st.iterations()));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_PairTypicalTraffic);

}  // namespace

BENCHMARK_MAIN();
