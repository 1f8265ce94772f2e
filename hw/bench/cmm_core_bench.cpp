// Google Benchmark of the cycle-accurate core: cost of one clock step when
// idle, under a stream of verified DATA headers, and of register reads.
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

}  // namespace

BENCHMARK_MAIN();
