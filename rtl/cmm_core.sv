// CMM core, synthesizable SystemVerilog. Same ports and cycle behaviour as
// cmm::CmmCore (hw/src/cmm_core.{h,cpp}); the contract is docs/core-interface.md.
//
// Structure (see docs/rtl.md):
//   * state registers (*_q), written only by the single flop process p_flops;
//   * one combinational next-state process p_next that applies, in this order,
//     exactly like CmmCore::step():
//       1. egress pop            (eg_valid_o && eg_ready_i)
//       2. clear the one-cycle response / verdict pulses
//       3. ingress commit (S2)   of the header held in S1
//       4. ingress accept (S1)   (ing_valid_i && ing_ready_o)
//       5. register access       (reg_req_valid_i && reg_req_ready_o), which
//                                sees the effects of step 3
//     Steps are written as blocking updates on the *_n copies, so the "as if
//     sequential" order of the contract is the order of the statements;
//   * outputs: continuous functions of the state registers only (no input to
//     output path), like CmmCore::compute_outputs().
//   * synchronous active-low reset, applied in p_next (the next state is the
//     power-up state while rst_ni is low).
//
// Every offset, field position and width comes from cmm_pkg (generated from
// hw/data/cmm.toml). The CKT key array has no path to the register read mux
// (invariant I1 by construction): rdata is built from CST, counters, logs and
// the per-partition bank only; KEY staging is write-only.
module cmm_core
  import cmm_pkg::*;
(
  input  logic                                        clk,
  input  logic                                        rst_ni,
  // straps
  input  logic [NODE_ID_BITS-1:0]                     cfg_node_id_i,
  input  logic [NUM_PARTITIONS*CMM_PART_INFO_QUOTA_BITS-1:0] cfg_quota_i,
  // register port, request
  input  logic                                        reg_req_valid_i,
  output logic                                        reg_req_ready_o,
  input  logic                                        reg_req_write_i,
  input  logic [CMM_ADDR_BITS-1:0]                    reg_req_addr_i,
  input  logic [$bits(CMM_MAGIC)-1:0]                 reg_req_wdata_i,
  input  logic [PART_ID_BITS-1:0]                     reg_req_part_i,
  input  logic [$bits(priv_e)-1:0]                    reg_req_priv_i,
  input  logic [PID_BITS-1:0]                         reg_req_pid_i,
  // register port, response
  output logic                                        reg_rsp_valid_o,
  output logic [$bits(CMM_MAGIC)-1:0]                 reg_rsp_rdata_o,
  output logic [$bits(rsp_e)-1:0]                     reg_rsp_status_o,
  output logic                                        reg_rsp_buf_o,
  output logic [CMM_EP_RX_STATUS_SLOT_BITS-1:0]       reg_rsp_buf_slot_o,
  // ingress headers
  input  logic                                        ing_valid_i,
  output logic                                        ing_ready_o,
  input  logic [HDR_BITS-1:0]                         ing_hdr_i,
  // egress headers
  output logic                                        eg_valid_o,
  input  logic                                        eg_ready_i,
  output logic                                        eg_cls_o,
  output logic [HDR_BITS-1:0]                         eg_hdr_o,
  // delivery verdicts
  output logic                                        vd_valid_o,
  output logic                                        vd_accept_o,
  output logic [EP_ID_BITS-1:0]                       vd_ep_o,
  output logic [CMM_EP_RX_STATUS_SLOT_BITS-1:0]       vd_slot_o,
  output logic [CMM_ERRLOG_HEAD_REASON_BITS-1:0]      vd_reason_o,
  // interrupts
  output logic [NUM_PARTITIONS-1:0]                   irq_o
);

  // ------------------------------------------------------------------ geometry
  localparam int DW     = $bits(CMM_MAGIC);            // register data width
  localparam int NEP    = NUM_ENDPOINTS;
  localparam int NPART  = NUM_PARTITIONS;
  localparam int EPI    = EP_IDX_BITS;                 // endpoint index width
  localparam int PI     = PART_IDX_BITS;               // partition index width
  localparam int RSN_W  = CMM_ERRLOG_HEAD_REASON_BITS; // reason field width (headers, status)
  localparam int OPC_W  = CMM_ERRLOG_HEAD_OPCODE_BITS; // opcode width
  localparam int LEN_W  = CMM_EP_DOORBELL_LEN_BITS;
  localparam int TAG_W  = CMM_EP_DOORBELL_TAG_BITS;
  localparam int SLOT_W = CMM_EP_RX_STATUS_SLOT_BITS;
  localparam int QUO_W  = CMM_PART_INFO_QUOTA_BITS;
  localparam int USED_W = CMM_PART_INFO_USED_BITS;
  localparam int STATE_W = $bits(state_e);
  localparam int RSP_W  = $bits(rsp_e);
  localparam int RXQ_IW = $clog2(RXQ_DEPTH);
  localparam int RXQ_CW = $clog2(RXQ_DEPTH + 1);
  localparam int EGQ_IW = $clog2(EGQ_DEPTH);
  localparam int EGQ_CW = $clog2(EGQ_DEPTH + 1);
  localparam int MQ_IW  = $clog2(MGMTQ_DEPTH);
  localparam int MQ_CW  = $clog2(MGMTQ_DEPTH + 1);
  localparam int EL_IW  = $clog2(ERRLOG_DEPTH);
  localparam int EL_CW  = $clog2(ERRLOG_DEPTH + 1);
  // Number of reason codes (the enum is the single source; kReasonCount in C++).
  localparam reason_e REASON_FIRST = REASON_OK;
  localparam int REASON_COUNT = REASON_FIRST.num();
  // Node-wide event counters (STAT index), as in CmmCore.
  localparam int STAT_IW = $clog2(CMM_STAT_COUNT);
  localparam logic [STAT_IW-1:0] STAT_DATA_SENT = 0, STAT_DATA_DELIVERED = 1, STAT_CONNECT_SENT = 2,
                                 STAT_CONNECT_ACCEPTED = 3, STAT_CLOSE_SENT = 4, STAT_MGMT_SENT = 5,
                                 STAT_MGMT_RECEIVED = 6, STAT_NACK_SENT = 7;
  // Interrupt cause masks (IRQ_STATUS bit positions from the package).
  localparam logic [IRQ_BITS-1:0] IRQM_ERR = IRQ_BITS'(1) << IRQ_ERR, IRQM_MGMT = IRQ_BITS'(1) << IRQ_MGMT,
                                  IRQM_CONN = IRQ_BITS'(1) << IRQ_CONN, IRQM_TXNACK = IRQ_BITS'(1) << IRQ_TXNACK,
                                  IRQM_RX = IRQ_BITS'(1) << IRQ_RX;

  // Sized constants (avoid width-mismatched compares).
  localparam logic [LEN_W-1:0] MAX_LEN = LEN_W'(MAX_MSG_BYTES);
  localparam logic [OPC_W-1:0] OP_DATA = OPC_W'(OPCODE_DATA);
  localparam logic [OPC_W-1:0] OP_CONNECT = OPC_W'(OPCODE_CONNECT);
  localparam logic [OPC_W-1:0] OP_CONNECT_ACK = OPC_W'(OPCODE_CONNECT_ACK);
  localparam logic [OPC_W-1:0] OP_NACK = OPC_W'(OPCODE_NACK);
  localparam logic [OPC_W-1:0] OP_CLOSE = OPC_W'(OPCODE_CLOSE);
  localparam logic [OPC_W-1:0] OP_MGMT = OPC_W'(OPCODE_MGMT);

  typedef logic [RSN_W-1:0] rsn_t;
  typedef logic [OPC_W-1:0] opc_t;
  typedef logic [DW-1:0]    word_t;

  // ------------------------------------------------------------------ state types
  typedef struct packed {
    logic [STATE_W-1:0]                           state;
    logic                                         dir;
    logic [PART_ID_BITS-1:0]                      owner_part;
    logic [PID_BITS-1:0]                          owner_pid;
    logic [NODE_ID_BITS-1:0]                      rnode;
    logic [PART_ID_BITS-1:0]                      rpart;
    logic [EP_ID_BITS-1:0]                        rep;
    logic [CMM_CST_STATUS_LAST_REASON_BITS-1:0]   last_reason;
    logic [CMM_CST_STATUS_TX_NACKS_BITS-1:0]      tx_nacks;
    logic [CMM_EP_TX_STATUS_LAST_REASON_BITS-1:0] tx_last_reason;
    logic [CMM_EP_TX_STATUS_LAST_TAG_BITS-1:0]    tx_last_tag;
    logic [CMM_EP_TX_SENT_COUNT_BITS-1:0]         tx_sent;
    logic [RXQ_IW-1:0]                            rxq_head;
    logic [RXQ_CW-1:0]                            rxq_count;
  } cst_t;

  typedef struct packed {
    logic [LEN_W-1:0] len;
    logic [TAG_W-1:0] tag;
  } rxslot_t;

  typedef struct packed {
    logic [NODE_ID_BITS-1:0] src_node;
    logic [PART_ID_BITS-1:0] src_part;
    logic [KEY_BITS-1:0]     words;
  } mgmt_t;

  // ------------------------------------------------------------------ state
  // Channel state table and receive-queue bookkeeping.
  cst_t                  cst_q   [NEP], cst_n   [NEP];
  rxslot_t               rxq_q   [NEP][RXQ_DEPTH], rxq_n [NEP][RXQ_DEPTH];  // storage, not reset
  // Channel key table: written by commands and CONNECT, read only by the
  // ingress comparator and the egress key attach. No register read path.
  logic [KEY_BITS-1:0]   ckt_key_q [NEP], ckt_key_n [NEP];
  logic [NEP-1:0]        ckt_valid_q, ckt_valid_n;
  logic [NEP-1:0]        ckt_origin_q, ckt_origin_n;
  // Per-partition bank.
  logic [KEY_BITS-1:0]   key_stage_q [NPART], key_stage_n [NPART];
  word_t                 cmd_status_q [NPART], cmd_status_n [NPART];
  logic [IRQ_BITS-1:0]   irq_status_q [NPART], irq_status_n [NPART];
  logic [IRQ_BITS-1:0]   irq_enable_q [NPART], irq_enable_n [NPART];
  logic [KEY_BITS-1:0]   mgmt_tx_q [NPART], mgmt_tx_n [NPART];
  word_t                 mgmt_dst_q [NPART], mgmt_dst_n [NPART];
  mgmt_t                 mq_q [NPART][MGMTQ_DEPTH], mq_n [NPART][MGMTQ_DEPTH];    // storage
  logic [MQ_IW-1:0]      mq_head_q [NPART], mq_head_n [NPART];
  logic [MQ_CW-1:0]      mq_count_q [NPART], mq_count_n [NPART];
  word_t                 el_q [NPART][ERRLOG_DEPTH], el_n [NPART][ERRLOG_DEPTH];  // storage
  logic [EL_IW-1:0]      el_head_q [NPART], el_head_n [NPART];
  logic [EL_CW-1:0]      el_count_q [NPART], el_count_n [NPART];
  logic [CMM_ERRLOG_STATUS_LOST_BITS-1:0] el_lost_q [NPART], el_lost_n [NPART];
  logic [USED_W-1:0]     used_q [NPART], used_n [NPART];
  // Node-wide counters.
  word_t                 rej_q [REASON_COUNT], rej_n [REASON_COUNT];
  word_t                 stat_q [CMM_STAT_COUNT], stat_n [CMM_STAT_COUNT];
  // Pipeline stage S1 and the egress queues ([0] request, [1] response class).
  logic                  s1_valid_q, s1_valid_n;
  hdr_t                  s1_q, s1_n;                                              // storage
  hdr_t                  egq_q [2][EGQ_DEPTH], egq_n [2][EGQ_DEPTH];              // storage
  logic [EGQ_IW-1:0]     egq_head_q [2], egq_head_n [2];
  logic [EGQ_CW-1:0]     egq_count_q [2], egq_count_n [2];
  // Output registers of the one-cycle pulses.
  logic                  rsp_valid_q, rsp_valid_n;
  word_t                 rsp_rdata_q, rsp_rdata_n;
  logic [RSP_W-1:0]      rsp_status_q, rsp_status_n;
  logic                  rsp_buf_q, rsp_buf_n;
  logic [SLOT_W-1:0]     rsp_slot_q, rsp_slot_n;
  logic                  vd_valid_q, vd_valid_n;
  logic                  vd_accept_q, vd_accept_n;
  logic [EP_ID_BITS-1:0] vd_ep_q, vd_ep_n;
  logic [SLOT_W-1:0]     vd_slot_q, vd_slot_n;
  rsn_t                  vd_reason_q, vd_reason_n;

  // ------------------------------------------------------------------ outputs (state only)
  logic eg_show_rsp;
  assign eg_show_rsp      = egq_count_q[1] != '0;
  assign reg_req_ready_o  = egq_count_q[0] != EGQ_CW'(EGQ_DEPTH);
  assign ing_ready_o      = (EGQ_CW'(EGQ_DEPTH) - egq_count_q[1]) >= (EGQ_CW'(1) + EGQ_CW'(s1_valid_q));
  assign reg_rsp_valid_o  = rsp_valid_q;
  assign reg_rsp_rdata_o  = rsp_rdata_q;
  assign reg_rsp_status_o = rsp_status_q;
  assign reg_rsp_buf_o    = rsp_buf_q;
  assign reg_rsp_buf_slot_o = rsp_slot_q;
  assign eg_valid_o       = eg_show_rsp || (egq_count_q[0] != '0);
  assign eg_cls_o         = eg_show_rsp;
  assign eg_hdr_o         = eg_show_rsp ? egq_q[1][egq_head_q[1]]
                          : (egq_count_q[0] != '0) ? egq_q[0][egq_head_q[0]] : '0;
  assign vd_valid_o       = vd_valid_q;
  assign vd_accept_o      = vd_accept_q;
  assign vd_ep_o          = vd_ep_q;
  assign vd_slot_o        = vd_slot_q;
  assign vd_reason_o      = vd_reason_q;
  always_comb begin : p_irq
    for (int p = 0; p < NPART; p++) irq_o[p] = |(irq_status_q[p] & irq_enable_q[p]);
  end

  // ------------------------------------------------------------------ helpers
  function automatic word_t sat_inc(word_t x);
    return (x == '1) ? x : x + word_t'(1);
  endfunction

  function automatic logic [QUO_W-1:0] quota(logic [PI-1:0] p);
    return cfg_quota_i[int'(p)*QUO_W +: QUO_W];
  endfunction

  // A header built by this CMM: source node from the strap (I4).
  function automatic hdr_t make_hdr(opc_t op, logic [PART_ID_BITS-1:0] sp, logic [EP_ID_BITS-1:0] se,
                                    logic [NODE_ID_BITS-1:0] dn, logic [PART_ID_BITS-1:0] dp,
                                    logic [EP_ID_BITS-1:0] de);
    hdr_t h;
    h = '0;
    h.opcode   = op;
    h.src_node = cfg_node_id_i;
    h.src_part = sp;
    h.src_ep   = se;
    h.dst_node = dn;
    h.dst_part = dp;
    h.dst_ep   = de;
    return h;
  endfunction

  task automatic count_reject(reason_e r);
    rej_n[r] = sat_inc(rej_n[r]);
  endtask

  task automatic bump_stat(logic [STAT_IW-1:0] i);
    stat_n[i] = sat_inc(stat_n[i]);
  endtask

  task automatic raise(logic [PART_ID_BITS-1:0] part, logic [IRQ_BITS-1:0] cause);
    if (part < PART_ID_BITS'(NPART)) irq_status_n[part[PI-1:0]] = irq_status_n[part[PI-1:0]] | cause;
  endtask

  task automatic push_egq(logic cls, hdr_t h);
    // Room is guaranteed by reg_req_ready_o (class 0) and ing_ready_o (class 1).
    egq_n[cls][EGQ_IW'((int'(egq_head_n[cls]) + int'(egq_count_n[cls])) % EGQ_DEPTH)] = h;
    egq_count_n[cls] = egq_count_n[cls] + EGQ_CW'(1);
  endtask

  task automatic log_error(logic [PART_ID_BITS-1:0] part, rsn_t r, logic [EP_ID_BITS-1:0] ep, opc_t opcode,
                           logic from_fabric, logic exception, logic [NODE_ID_BITS-1:0] src_node);
    word_t w;
    logic [PI-1:0] p;
    if (part < PART_ID_BITS'(NPART)) begin
      p = part[PI-1:0];
      w = '0;
      w[CMM_ERRLOG_HEAD_REASON_LSB +: CMM_ERRLOG_HEAD_REASON_BITS] = r;
      w[CMM_ERRLOG_HEAD_EP_LSB +: CMM_ERRLOG_HEAD_EP_BITS] = ep;
      w[CMM_ERRLOG_HEAD_OPCODE_LSB +: CMM_ERRLOG_HEAD_OPCODE_BITS] = opcode;
      w[CMM_ERRLOG_HEAD_FROM_FABRIC_LSB] = from_fabric;
      w[CMM_ERRLOG_HEAD_EXCEPTION_LSB] = exception;
      w[CMM_ERRLOG_HEAD_SRC_NODE_LSB +: CMM_ERRLOG_HEAD_SRC_NODE_BITS] = src_node;
      if (el_count_n[p] == EL_CW'(ERRLOG_DEPTH)) begin
        if (el_lost_n[p] != '1) el_lost_n[p] = el_lost_n[p] + 1'b1;
      end else begin
        el_n[p][EL_IW'((int'(el_head_n[p]) + int'(el_count_n[p])) % ERRLOG_DEPTH)] = w;
        el_count_n[p] = el_count_n[p] + EL_CW'(1);
      end
      raise(part, IRQM_ERR);
    end
  endtask

  // Count, then answer the source with NACK (never answer a response).
  task automatic nack(hdr_t h, reason_e r);
    hdr_t n;
    count_reject(r);
    if (h.opcode != OP_NACK && h.opcode != OP_CONNECT_ACK) begin
      n = make_hdr(OP_NACK, h.dst_part, h.dst_ep, h.src_node, h.src_part, h.src_ep);
      n.reason = rsn_t'(r);
      n.aux = $bits(n.aux)'(h.opcode);
      n.tag = h.tag;
      push_egq(1'b1, n);
      bump_stat(STAT_NACK_SENT);
    end
  endtask

  task automatic zeroize(logic [EPI-1:0] ep);
    ckt_key_n[ep] = '0;
    ckt_valid_n[ep] = 1'b0;
    ckt_origin_n[ep] = 1'b0;
  endtask

  // Discards the receive queue, one RXQ_FLUSHED count per message; returns whether any.
  task automatic flush_rxq(logic [EPI-1:0] ep, output logic any);
    any = cst_n[ep].rxq_count != '0;
    for (int i = 0; i < RXQ_DEPTH; i++)
      if (RXQ_CW'(i) < cst_n[ep].rxq_count) count_reject(REASON_RXQ_FLUSHED);
    cst_n[ep].rxq_count = '0;
    cst_n[ep].rxq_head = '0;
  endtask

  task automatic reset_entry(logic [EPI-1:0] ep);
    cst_n[ep] = '0;  // receive slots need no clearing: only slots below rxq_count are visible
    zeroize(ep);
  endtask

  // ------------------------------------------------------------------ ingress commit (S2)
  task automatic ingress_data(hdr_t h);
    reason_e r;
    logic tell;
    logic [EPI-1:0] e;
    logic [RXQ_IW-1:0] slot;
    cst_t c;
    e = h.dst_ep[EPI-1:0];
    c = cst_n[e];
    r = REASON_OK;
    tell = 1'b0;
    if (h.dst_node != cfg_node_id_i) r = REASON_MISROUTED;
    else if (h.len == '0 || h.len > MAX_LEN) r = REASON_BAD_LEN;
    else if (h.dst_ep >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (c.state == STATE_FREE) r = REASON_NOT_OPEN;
    else begin
      tell = 1'b1;
      if (h.dst_part != c.owner_part) r = REASON_DST_PART_MISMATCH;
      else if (c.dir != DIR_RECV) r = REASON_WRONG_DIR;
      else if (c.state != STATE_OPEN) r = REASON_NOT_OPEN;
      else if (!ckt_valid_n[e]) r = REASON_NO_KEY;
      else if (h.src_node != c.rnode) r = REASON_SRC_NODE_MISMATCH;
      else if (h.src_part != c.rpart) r = REASON_SRC_PART_MISMATCH;
      else if (h.src_ep != c.rep) r = REASON_SRC_EP_MISMATCH;
      else if (h.key != ckt_key_n[e]) r = REASON_BAD_KEY;  // full-width compare: constant time
      else if (c.rxq_count >= RXQ_CW'(RXQ_DEPTH)) begin
        r = REASON_RXQ_FULL;   // the sender is told by NACK
        tell = 1'b0;
      end
    end
    vd_valid_n = 1'b1;
    vd_ep_n = h.dst_ep;
    vd_reason_n = rsn_t'(r);
    if (r != REASON_OK) begin
      vd_accept_n = 1'b0;
      vd_slot_n = '0;
      nack(h, r);
      if (tell) log_error(c.owner_part, rsn_t'(r), h.dst_ep, h.opcode, 1'b1, 1'b0, h.src_node);
    end else begin
      slot = RXQ_IW'((int'(c.rxq_head) + int'(c.rxq_count)) % RXQ_DEPTH);
      rxq_n[e][slot].len = h.len;
      rxq_n[e][slot].tag = h.tag;
      cst_n[e].rxq_count = c.rxq_count + RXQ_CW'(1);
      vd_accept_n = 1'b1;
      vd_slot_n = SLOT_W'(slot);
      raise(c.owner_part, IRQM_RX);
      bump_stat(STAT_DATA_DELIVERED);
    end
  endtask

  task automatic ingress_connect(hdr_t h);
    reason_e r;
    logic logit, exc;
    logic [EPI-1:0] e;
    cst_t c;
    e = h.dst_ep[EPI-1:0];
    c = cst_n[e];
    r = REASON_OK;
    logit = 1'b0;
    exc = 1'b0;
    if (h.dst_node != cfg_node_id_i) r = REASON_MISROUTED;
    else if (h.dst_ep >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (c.state == STATE_FREE) r = REASON_NOT_OPEN;
    else begin
      logit = 1'b1;
      if (h.dst_part != c.owner_part) r = REASON_DST_PART_MISMATCH;
      else if (c.dir == DIR_RECV) begin
        // I6: a remote CONNECT must not change a key the local agent set.
        if (ckt_valid_n[e]) begin
          r = REASON_KEY_LOCKED;
          exc = 1'b1;
        end else r = REASON_WRONG_DIR;
      end
      else if (ckt_valid_n[e]) r = REASON_KEY_PRESENT;  // I3: only while the entry holds no key
      else if (c.state != STATE_AUTHORIZED) r = REASON_NOT_OPEN;
      else if (h.src_node != c.rnode) r = REASON_SRC_NODE_MISMATCH;
      else if (h.src_part != c.rpart) r = REASON_SRC_PART_MISMATCH;
      else if (h.src_ep != c.rep) r = REASON_SRC_EP_MISMATCH;
    end
    if (r != REASON_OK) begin
      nack(h, r);
      if (logit) log_error(c.owner_part, rsn_t'(r), h.dst_ep, h.opcode, 1'b1, exc, h.src_node);
    end else begin
      hdr_t a;
      ckt_key_n[e] = h.key;
      ckt_valid_n[e] = 1'b1;
      ckt_origin_n[e] = ORIGIN_REMOTE;
      cst_n[e].state = STATE_OPEN;
      cst_n[e].last_reason = '0;
      raise(c.owner_part, IRQM_CONN);
      bump_stat(STAT_CONNECT_ACCEPTED);
      a = make_hdr(OP_CONNECT_ACK, h.dst_part, h.dst_ep, h.src_node, h.src_part, h.src_ep);
      a.tag = h.tag;
      push_egq(1'b1, a);
    end
  endtask

  task automatic ingress_connect_ack(hdr_t h);
    logic [EPI-1:0] e;
    cst_t c;
    e = h.dst_ep[EPI-1:0];
    c = cst_n[e];
    if (h.dst_node != cfg_node_id_i || h.dst_ep >= EP_ID_BITS'(NEP) || c.state != STATE_CONNECTING ||
        c.dir != DIR_RECV || h.dst_part != c.owner_part || h.src_node != c.rnode ||
        h.src_part != c.rpart || h.src_ep != c.rep) begin
      count_reject(REASON_STRAY_RESPONSE);
    end else begin
      cst_n[e].state = STATE_OPEN;
      cst_n[e].last_reason = '0;
      raise(c.owner_part, IRQM_CONN);
    end
  endtask

  task automatic ingress_nack(hdr_t h);
    logic [EPI-1:0] e;
    cst_t c;
    logic owned, done;
    rsn_t why;
    e = h.dst_ep[EPI-1:0];
    c = cst_n[e];
    owned = h.dst_node == cfg_node_id_i && h.dst_ep < EP_ID_BITS'(NEP) && c.state != STATE_FREE &&
            c.owner_part == h.dst_part;
    why = (h.reason < rsn_t'(REASON_COUNT)) ? h.reason : rsn_t'(REASON_BAD_OPCODE);
    done = 1'b0;
    if (h.aux == $bits(h.aux)'(OPCODE_DATA)) begin
      if (owned && c.dir == DIR_SEND) begin
        cst_n[e].tx_last_reason = h.reason;
        cst_n[e].tx_last_tag = h.tag;
        cst_n[e].last_reason = h.reason;
        if (c.tx_nacks != '1) cst_n[e].tx_nacks = c.tx_nacks + 1'b1;
        raise(c.owner_part, IRQM_TXNACK);
        done = 1'b1;
      end
    end else if (h.aux == $bits(h.aux)'(OPCODE_CONNECT)) begin
      if (owned && c.state == STATE_CONNECTING && c.dir == DIR_RECV) begin
        zeroize(e);
        cst_n[e].state = STATE_AUTHORIZED;
        cst_n[e].last_reason = h.reason;
        raise(c.owner_part, IRQM_CONN);
        log_error(c.owner_part, why, h.dst_ep, h.opcode, 1'b1, 1'b0, h.src_node);
        done = 1'b1;
      end
    end else if (h.aux == $bits(h.aux)'(OPCODE_CLOSE) || h.aux == $bits(h.aux)'(OPCODE_MGMT)) begin
      if (h.dst_node == cfg_node_id_i && h.dst_part < PART_ID_BITS'(NPART)) begin
        log_error(h.dst_part, why, h.dst_ep, h.aux[OPC_W-1:0], 1'b1, 1'b0, h.src_node);
        done = 1'b1;
      end
    end
    if (!done) count_reject(REASON_STRAY_RESPONSE);
  endtask

  task automatic ingress_close(hdr_t h);
    reason_e r;
    logic logit;
    logic [EPI-1:0] e;
    cst_t c;
    e = h.dst_ep[EPI-1:0];
    c = cst_n[e];
    r = REASON_OK;
    logit = 1'b0;
    if (h.dst_node != cfg_node_id_i) r = REASON_MISROUTED;
    else if (h.dst_ep >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (c.state == STATE_FREE) r = REASON_NOT_OPEN;
    else begin
      logit = 1'b1;
      if (h.dst_part != c.owner_part) r = REASON_DST_PART_MISMATCH;
      else if (h.src_node != c.rnode) r = REASON_SRC_NODE_MISMATCH;
      else if (h.src_part != c.rpart) r = REASON_SRC_PART_MISMATCH;
      else if (h.src_ep != c.rep) r = REASON_SRC_EP_MISMATCH;
    end
    if (r != REASON_OK) begin
      nack(h, r);
      if (logit) log_error(c.owner_part, rsn_t'(r), h.dst_ep, h.opcode, 1'b1, 1'b0, h.src_node);
    end else if (c.state == STATE_CONNECTING || c.state == STATE_OPEN) begin
      // Crossing closes and closes of never-connected entries are harmless no-ops.
      zeroize(e);
      cst_n[e].state = STATE_CLOSED;  // queued messages stay readable
      raise(c.owner_part, IRQM_CONN);
    end
  endtask

  task automatic ingress_mgmt(hdr_t h);
    logic [PI-1:0] p;
    p = h.dst_part[PI-1:0];
    if (h.dst_node != cfg_node_id_i) nack(h, REASON_MISROUTED);
    else if (h.dst_part >= PART_ID_BITS'(NPART)) nack(h, REASON_BAD_PART);
    else if (mq_count_n[p] == MQ_CW'(MGMTQ_DEPTH)) nack(h, REASON_MGMTQ_FULL);
    else begin
      mq_n[p][MQ_IW'((int'(mq_head_n[p]) + int'(mq_count_n[p])) % MGMTQ_DEPTH)] =
          '{src_node: h.src_node, src_part: h.src_part, words: h.key};
      mq_count_n[p] = mq_count_n[p] + MQ_CW'(1);
      raise(h.dst_part, IRQM_MGMT);
      bump_stat(STAT_MGMT_RECEIVED);
    end
  endtask

  task automatic ingress(hdr_t h);
    unique case (h.opcode)
      OP_DATA:        ingress_data(h);
      OP_CONNECT:     ingress_connect(h);
      OP_CONNECT_ACK: ingress_connect_ack(h);
      OP_NACK:        ingress_nack(h);
      OP_CLOSE:       ingress_close(h);
      OP_MGMT:        ingress_mgmt(h);
      default:        nack(h, REASON_BAD_OPCODE);
    endcase
  endtask

  // ------------------------------------------------------------------ register side
  task automatic doorbell(logic [EPI-1:0] e, word_t wd, inout logic [RSP_W-1:0] rsp);
    reason_e r;
    logic [LEN_W-1:0] len;
    hdr_t h;
    cst_t c;
    c = cst_n[e];
    len = wd[CMM_EP_DOORBELL_LEN_LSB +: CMM_EP_DOORBELL_LEN_BITS];
    r = REASON_OK;
    if (c.dir != DIR_SEND) r = REASON_WRONG_DIR;
    else if (c.state != STATE_OPEN) r = REASON_NOT_OPEN;
    else if (!ckt_valid_n[e]) r = REASON_NO_KEY;
    else if (len == '0 || len > MAX_LEN) r = REASON_BAD_LEN;
    if (r != REASON_OK) begin
      cst_n[e].tx_last_reason = rsn_t'(r);
      count_reject(r);
      rsp = RSP_REJECT;
    end else begin
      // Egress key attach: key and source ids come from the CMM, never software (I4).
      h = make_hdr(OP_DATA, c.owner_part, EP_ID_BITS'(e), c.rnode, c.rpart, c.rep);
      h.len = len;
      h.tag = wd[CMM_EP_DOORBELL_TAG_LSB +: CMM_EP_DOORBELL_TAG_BITS];
      h.key = ckt_key_n[e];
      push_egq(1'b0, h);
      cst_n[e].tx_sent = c.tx_sent + 1'b1;  // wraps, like the C++ counter
      bump_stat(STAT_DATA_SENT);
    end
  endtask

  // Stores the staged key into a receive entry (SET_KEY, CONNECT); I6 on a send entry.
  task automatic store_local_key(logic [PI-1:0] p, logic [EPI-1:0] e, logic allow_existing,
                                 inout reason_e r, inout logic exc, output logic ok);
    ok = 1'b0;
    if (cst_n[e].dir == DIR_SEND) begin
      if (ckt_valid_n[e]) begin
        r = REASON_KEY_LOCKED;  // key set by a remote CONNECT
        exc = 1'b1;
      end else r = REASON_WRONG_DIR;
    end else if (cst_n[e].state != STATE_AUTHORIZED) begin
      r = REASON_NOT_OPEN;
    end else if (ckt_valid_n[e]) begin
      if (allow_existing) ok = 1'b1;
      else r = REASON_KEY_PRESENT;
    end else begin
      ckt_key_n[e] = key_stage_n[p];
      ckt_valid_n[e] = 1'b1;
      ckt_origin_n[e] = ORIGIN_LOCAL;
      ok = 1'b1;
    end
  endtask

  task automatic command(logic [PI-1:0] p, word_t wd, inout logic [RSP_W-1:0] rsp);
    logic [CMM_CMD_OP_BITS-1:0] op;
    logic [CMM_CMD_EP_BITS-1:0] ep;
    logic [EPI-1:0] e;
    logic [PART_ID_BITS-1:0] part;
    reason_e r;
    logic exc, owned, ok, found, any;
    logic [CMM_CMD_STATUS_COUNT_BITS-1:0] cnt;
    word_t st;
    hdr_t h;
    part = PART_ID_BITS'(p);
    op = wd[CMM_CMD_OP_LSB +: CMM_CMD_OP_BITS];
    ep = wd[CMM_CMD_EP_LSB +: CMM_CMD_EP_BITS];
    e = ep[EPI-1:0];
    r = REASON_OK;
    exc = 1'b0;
    // need_owned(): operand in range and owned by the requester's partition (I5).
    owned = 1'b0;
    if (ep >= CMM_CMD_EP_BITS'(NEP)) r = REASON_BAD_EP;
    else if (cst_n[e].state == STATE_FREE || cst_n[e].owner_part != part) r = REASON_DENIED;
    else owned = 1'b1;

    unique case (op)
      CMM_CMD_OP_BITS'(CMD_NOP): r = REASON_OK;
      CMM_CMD_OP_BITS'(CMD_ALLOC): begin
        r = REASON_OK;
        if (used_n[p] >= USED_W'(quota(p))) r = REASON_QUOTA_EXCEEDED;
        else begin
          found = 1'b0;
          for (int i = 0; i < NEP; i++)
            if (!found && cst_n[i].state == STATE_FREE) begin
              found = 1'b1;
              e = EPI'(i);
            end
          if (!found) r = REASON_NO_FREE_EP;
          else begin
            reset_entry(e);
            cst_n[e].state = STATE_ALLOCATED;
            cst_n[e].owner_part = part;
            used_n[p] = used_n[p] + 1'b1;
            ep = CMM_CMD_EP_BITS'(e);
          end
        end
      end
      CMM_CMD_OP_BITS'(CMD_AUTHORIZE):
        if (owned) begin
          if (cst_n[e].state != STATE_ALLOCATED) r = REASON_NOT_OPEN;
          else cst_n[e].state = STATE_AUTHORIZED;
        end
      CMM_CMD_OP_BITS'(CMD_SET_KEY):
        if (owned) store_local_key(p, e, 1'b0, r, exc, ok);
      CMM_CMD_OP_BITS'(CMD_CONNECT):
        if (owned) begin
          store_local_key(p, e, 1'b1, r, exc, ok);
          if (ok) begin
            h = make_hdr(OP_CONNECT, part, ep, cst_n[e].rnode, cst_n[e].rpart, cst_n[e].rep);
            h.key = ckt_key_n[e];
            push_egq(1'b0, h);
            cst_n[e].state = STATE_CONNECTING;
            bump_stat(STAT_CONNECT_SENT);
          end
        end
      CMM_CMD_OP_BITS'(CMD_CLOSE):
        if (owned) begin
          if (cst_n[e].state == STATE_ALLOCATED) r = REASON_NOT_OPEN;
          else begin
            if (cst_n[e].state == STATE_CONNECTING || cst_n[e].state == STATE_OPEN) begin
              push_egq(1'b0, make_hdr(OP_CLOSE, part, ep, cst_n[e].rnode, cst_n[e].rpart, cst_n[e].rep));
              bump_stat(STAT_CLOSE_SENT);
            end
            zeroize(e);
            flush_rxq(e, any);
            if (any) log_error(part, rsn_t'(REASON_RXQ_FLUSHED), ep, '0, 1'b0, 1'b0, cfg_node_id_i);
            cst_n[e].state = STATE_ALLOCATED;
          end
        end
      CMM_CMD_OP_BITS'(CMD_FREE):
        if (owned) begin
          if (cst_n[e].state != STATE_ALLOCATED && cst_n[e].state != STATE_CLOSED) r = REASON_NOT_OPEN;
          else begin
            flush_rxq(e, any);
            if (any) log_error(part, rsn_t'(REASON_RXQ_FLUSHED), ep, '0, 1'b0, 1'b0, cfg_node_id_i);
            reset_entry(e);
            used_n[p] = used_n[p] - 1'b1;
          end
        end
      CMM_CMD_OP_BITS'(CMD_MGMT_SEND): begin
        r = REASON_OK;
        h = make_hdr(OP_MGMT, part, '0,
                     mgmt_dst_n[p][CMM_MGMT_DST_NODE_LSB +: CMM_MGMT_DST_NODE_BITS],
                     mgmt_dst_n[p][CMM_MGMT_DST_PART_LSB +: CMM_MGMT_DST_PART_BITS], '0);
        h.key = mgmt_tx_n[p];
        push_egq(1'b0, h);
        bump_stat(STAT_MGMT_SENT);
      end
      CMM_CMD_OP_BITS'(CMD_MGMT_POP): begin
        r = REASON_OK;
        if (mq_count_n[p] == '0) r = REASON_RXQ_EMPTY;
        else begin
          mq_head_n[p] = MQ_IW'((int'(mq_head_n[p]) + 1) % MGMTQ_DEPTH);
          mq_count_n[p] = mq_count_n[p] - MQ_CW'(1);
        end
      end
      CMM_CMD_OP_BITS'(CMD_ERRLOG_POP): begin
        r = REASON_OK;
        if (el_count_n[p] == '0) r = REASON_RXQ_EMPTY;
        else begin
          el_head_n[p] = EL_IW'((int'(el_head_n[p]) + 1) % ERRLOG_DEPTH);
          el_count_n[p] = el_count_n[p] - EL_CW'(1);
        end
      end
      default: r = REASON_BAD_CMD;
    endcase

    key_stage_n[p] = '0;  // a staged key never outlives one command
    cnt = cmd_status_n[p][CMM_CMD_STATUS_COUNT_LSB +: CMM_CMD_STATUS_COUNT_BITS] + 1'b1;
    st = '0;
    st[CMM_CMD_STATUS_REASON_LSB +: CMM_CMD_STATUS_REASON_BITS] = CMM_CMD_STATUS_REASON_BITS'(r);
    st[CMM_CMD_STATUS_EP_LSB +: CMM_CMD_STATUS_EP_BITS] = ep;
    st[CMM_CMD_STATUS_COUNT_LSB +: CMM_CMD_STATUS_COUNT_BITS] = cnt;
    cmd_status_n[p] = st;
    if (r != REASON_OK) begin
      count_reject(r);
      rsp = RSP_REJECT;
      if (exc || r == REASON_DENIED) log_error(part, rsn_t'(r), ep, '0, 1'b0, exc, cfg_node_id_i);
    end
  endtask

  // One register access (decode, I5 check, execute); sets the response pulse.
  task automatic reg_access();
    logic [CMM_ADDR_BITS-1:0] a;
    logic [PART_ID_BITS-1:0] part;
    logic [PI-1:0] p;
    logic kernel, wr;
    word_t wd, rd;
    logic [RSP_W-1:0] rsp;
    a = reg_req_addr_i;
    part = reg_req_part_i;
    p = part[PI-1:0];
    kernel = reg_req_priv_i == PRIV_KERNEL;
    wr = reg_req_write_i;
    wd = reg_req_wdata_i;
    rd = '0;
    rsp = RSP_OK;

    if (a[1:0] != 2'b00) begin
      decerr(part, rsp);
    end else if (part >= PART_ID_BITS'(NPART)) begin
      count_reject(REASON_DENIED);
      rsp = RSP_DENIED;
    end else if (a == CMM_ID_OFFSET || a == CMM_NODE_ID_OFFSET || a == CMM_GEOMETRY_OFFSET) begin
      // Global registers readable by anyone.
      if (wr) begin
        count_reject(REASON_READ_ONLY);
        rsp = RSP_REJECT;
      end else if (a == CMM_ID_OFFSET) begin
        rd = CMM_MAGIC;
      end else if (a == CMM_NODE_ID_OFFSET) begin
        rd[CMM_NODE_ID_NODE_LSB +: CMM_NODE_ID_NODE_BITS] = cfg_node_id_i;
      end else begin
        rd[CMM_GEOMETRY_NUM_EP_LSB +: CMM_GEOMETRY_NUM_EP_BITS] = CMM_GEOMETRY_NUM_EP_BITS'(NEP);
        rd[CMM_GEOMETRY_NUM_PART_LSB +: CMM_GEOMETRY_NUM_PART_BITS] = CMM_GEOMETRY_NUM_PART_BITS'(NPART);
        rd[CMM_GEOMETRY_RXQ_DEPTH_LSB +: CMM_GEOMETRY_RXQ_DEPTH_BITS] = CMM_GEOMETRY_RXQ_DEPTH_BITS'(RXQ_DEPTH);
        rd[CMM_GEOMETRY_KEY_WORDS_LSB +: CMM_GEOMETRY_KEY_WORDS_BITS] = CMM_GEOMETRY_KEY_WORDS_BITS'(KEY_WORDS);
      end
    end else if (a < CMM_CST_BASE) begin
      kernel_bank(a, p, kernel, wr, wd, rd, rsp);
    end else if (a < CMM_CST_BASE + CMM_ADDR_BITS'(NEP * CMM_CST_STRIDE)) begin
      cst_window(a, part, kernel, wr, wd, rd, rsp);
    end else if (a >= CMM_EP_BASE && a < CMM_EP_BASE + CMM_ADDR_BITS'(NEP * CMM_EP_STRIDE)) begin
      ep_page(a, part, kernel, wr, wd, rd, rsp);
    end else begin
      decerr(part, rsp);
    end
    rsp_valid_n = 1'b1;
    rsp_rdata_n = (rsp == RSP_OK) ? rd : '0;
    rsp_status_n = rsp;
  endtask

  task automatic decerr(logic [PART_ID_BITS-1:0] part, inout logic [RSP_W-1:0] rsp);
    count_reject(REASON_BAD_ADDR);
    log_error(part, rsn_t'(REASON_BAD_ADDR), '0, '0, 1'b0, 1'b0, cfg_node_id_i);
    rsp = RSP_DECERR;
  endtask

  task automatic denied(logic [PART_ID_BITS-1:0] part, logic [EPI-1:0] e, inout logic [RSP_W-1:0] rsp);
    count_reject(REASON_DENIED);
    log_error(part, rsn_t'(REASON_DENIED), EP_ID_BITS'(e), '0, 1'b0, 1'b0, cfg_node_id_i);
    rsp = RSP_DENIED;
  endtask

  // Is a within register array [off, off + count*stride)? Index in idx.
  function automatic logic in_array(logic [CMM_ADDR_BITS-1:0] a, logic [CMM_ADDR_BITS-1:0] off, int count,
                                    int stride);
    return a >= off && a < off + CMM_ADDR_BITS'(count * stride);
  endfunction

  // Kernel bank (banked by requester partition) and node-wide counters.
  task automatic kernel_bank(logic [CMM_ADDR_BITS-1:0] a, logic [PI-1:0] p, logic kernel, logic wr,
                             word_t wd, inout word_t rd, inout logic [RSP_W-1:0] rsp);
    logic known, ro, is_key, is_mtx, is_mrx, is_rej, is_stat;
    int i;
    logic [PART_ID_BITS-1:0] part;
    part = PART_ID_BITS'(p);
    is_key  = in_array(a, CMM_KEY_OFFSET, CMM_KEY_COUNT, CMM_KEY_STRIDE);
    is_mtx  = in_array(a, CMM_MGMT_TX_OFFSET, CMM_MGMT_TX_COUNT, CMM_MGMT_TX_STRIDE);
    is_mrx  = in_array(a, CMM_MGMT_RX_OFFSET, CMM_MGMT_RX_COUNT, CMM_MGMT_RX_STRIDE);
    is_rej  = in_array(a, CMM_REJECT_COUNT_OFFSET, CMM_REJECT_COUNT_COUNT, CMM_REJECT_COUNT_STRIDE);
    is_stat = in_array(a, CMM_STAT_OFFSET, CMM_STAT_COUNT, CMM_STAT_STRIDE);
    ro = a == CMM_PART_INFO_OFFSET || a == CMM_CMD_STATUS_OFFSET || a == CMM_MGMT_RX_STATUS_OFFSET ||
         is_mrx || a == CMM_ERRLOG_STATUS_OFFSET || a == CMM_ERRLOG_HEAD_OFFSET || is_rej || is_stat;
    known = ro || is_key || is_mtx || a == CMM_CMD_OFFSET || a == CMM_IRQ_STATUS_OFFSET ||
            a == CMM_IRQ_ENABLE_OFFSET || a == CMM_MGMT_DST_OFFSET;
    i = 0;
    if (is_key) i = (int'(a) - int'(CMM_KEY_OFFSET)) / CMM_KEY_STRIDE;
    if (is_mtx) i = (int'(a) - int'(CMM_MGMT_TX_OFFSET)) / CMM_MGMT_TX_STRIDE;
    if (is_mrx) i = (int'(a) - int'(CMM_MGMT_RX_OFFSET)) / CMM_MGMT_RX_STRIDE;
    if (is_rej) i = (int'(a) - int'(CMM_REJECT_COUNT_OFFSET)) / CMM_REJECT_COUNT_STRIDE;
    if (is_stat) i = (int'(a) - int'(CMM_STAT_OFFSET)) / CMM_STAT_STRIDE;

    if (!known) decerr(part, rsp);
    else if (!kernel) denied(part, '0, rsp);
    else if (wr && ro) begin
      count_reject(REASON_READ_ONLY);
      rsp = RSP_REJECT;
    end else if (!wr) begin
      // The read mux has no CKT input and KEY staging is write-only: I1 by construction.
      if (a == CMM_PART_INFO_OFFSET) begin
        rd[CMM_PART_INFO_PART_LSB +: CMM_PART_INFO_PART_BITS] = part;
        rd[CMM_PART_INFO_QUOTA_LSB +: CMM_PART_INFO_QUOTA_BITS] = quota(p);
        rd[CMM_PART_INFO_USED_LSB +: CMM_PART_INFO_USED_BITS] = used_n[p];
      end else if (a == CMM_CMD_STATUS_OFFSET) begin
        rd = cmd_status_n[p];
      end else if (a == CMM_IRQ_STATUS_OFFSET) begin
        rd = DW'(irq_status_n[p]);
      end else if (a == CMM_IRQ_ENABLE_OFFSET) begin
        rd = DW'(irq_enable_n[p]);
      end else if (is_mtx) begin
        rd = mgmt_tx_n[p][i*DW +: DW];
      end else if (a == CMM_MGMT_DST_OFFSET) begin
        rd = mgmt_dst_n[p];
      end else if (a == CMM_MGMT_RX_STATUS_OFFSET) begin
        rd[CMM_MGMT_RX_STATUS_COUNT_LSB +: CMM_MGMT_RX_STATUS_COUNT_BITS] =
            CMM_MGMT_RX_STATUS_COUNT_BITS'(mq_count_n[p]);
        if (mq_count_n[p] != '0) begin
          rd[CMM_MGMT_RX_STATUS_SRC_NODE_LSB +: CMM_MGMT_RX_STATUS_SRC_NODE_BITS] = mq_n[p][mq_head_n[p]].src_node;
          rd[CMM_MGMT_RX_STATUS_SRC_PART_LSB +: CMM_MGMT_RX_STATUS_SRC_PART_BITS] = mq_n[p][mq_head_n[p]].src_part;
        end
      end else if (is_mrx) begin
        if (mq_count_n[p] != '0) rd = mq_n[p][mq_head_n[p]].words[i*DW +: DW];
      end else if (a == CMM_ERRLOG_STATUS_OFFSET) begin
        rd[CMM_ERRLOG_STATUS_COUNT_LSB +: CMM_ERRLOG_STATUS_COUNT_BITS] = CMM_ERRLOG_STATUS_COUNT_BITS'(el_count_n[p]);
        rd[CMM_ERRLOG_STATUS_LOST_LSB +: CMM_ERRLOG_STATUS_LOST_BITS] = el_lost_n[p];
      end else if (a == CMM_ERRLOG_HEAD_OFFSET) begin
        if (el_count_n[p] != '0) rd = el_n[p][el_head_n[p]];
      end else if (is_rej) begin
        if (i < REASON_COUNT) rd = rej_n[i];
      end else if (is_stat) begin
        rd = stat_n[i];
      end
      // KEY and CMD read as 0.
    end else begin
      if (is_key) key_stage_n[p][i*DW +: DW] = wd;
      else if (a == CMM_CMD_OFFSET) command(p, wd, rsp);
      else if (a == CMM_IRQ_STATUS_OFFSET) irq_status_n[p] = irq_status_n[p] & ~wd[IRQ_BITS-1:0];
      else if (a == CMM_IRQ_ENABLE_OFFSET) irq_enable_n[p] = wd[CMM_IRQ_ENABLE_BITS_LSB +: CMM_IRQ_ENABLE_BITS_BITS];
      else if (a == CMM_MGMT_DST_OFFSET) begin
        mgmt_dst_n[p] = '0;
        mgmt_dst_n[p][CMM_MGMT_DST_NODE_LSB +: CMM_MGMT_DST_NODE_BITS] = wd[CMM_MGMT_DST_NODE_LSB +: CMM_MGMT_DST_NODE_BITS];
        mgmt_dst_n[p][CMM_MGMT_DST_PART_LSB +: CMM_MGMT_DST_PART_BITS] = wd[CMM_MGMT_DST_PART_LSB +: CMM_MGMT_DST_PART_BITS];
      end else mgmt_tx_n[p][i*DW +: DW] = wd;
    end
  endtask

  // CST window: kernel agent of the owning partition only (I5).
  task automatic cst_window(logic [CMM_ADDR_BITS-1:0] a, logic [PART_ID_BITS-1:0] part, logic kernel,
                            logic wr, word_t wd, inout word_t rd, inout logic [RSP_W-1:0] rsp);
    logic [EPI-1:0] e;
    int off;
    cst_t c;
    logic [CMM_CST_REMOTE_PART_BITS-1:0] rp;
    logic [CMM_CST_REMOTE_EP_BITS-1:0] re;
    e = EPI'((int'(a) - int'(CMM_CST_BASE)) / CMM_CST_STRIDE);
    off = (int'(a) - int'(CMM_CST_BASE)) % CMM_CST_STRIDE;
    c = cst_n[e];
    if (!kernel || c.state == STATE_FREE || c.owner_part != part) denied(part, e, rsp);
    else if (!wr) begin
      if (off == CMM_CST_CTRL_OFFSET) begin
        rd[CMM_CST_CTRL_DIR_LSB +: CMM_CST_CTRL_DIR_BITS] = c.dir;
        rd[CMM_CST_CTRL_STATE_LSB +: CMM_CST_CTRL_STATE_BITS] = c.state;
        rd[CMM_CST_CTRL_KEY_VALID_LSB +: CMM_CST_CTRL_KEY_VALID_BITS] = ckt_valid_n[e];   // valid bit only, never key bits
        rd[CMM_CST_CTRL_KEY_ORIGIN_LSB +: CMM_CST_CTRL_KEY_ORIGIN_BITS] = ckt_origin_n[e];
        rd[CMM_CST_CTRL_OWNER_PART_LSB +: CMM_CST_CTRL_OWNER_PART_BITS] = c.owner_part;
      end else if (off == CMM_CST_OWNER_OFFSET) begin
        rd[CMM_CST_OWNER_PID_LSB +: CMM_CST_OWNER_PID_BITS] = c.owner_pid;
      end else if (off == CMM_CST_REMOTE_OFFSET) begin
        rd[CMM_CST_REMOTE_NODE_LSB +: CMM_CST_REMOTE_NODE_BITS] = c.rnode;
        rd[CMM_CST_REMOTE_PART_LSB +: CMM_CST_REMOTE_PART_BITS] = c.rpart;
        rd[CMM_CST_REMOTE_EP_LSB +: CMM_CST_REMOTE_EP_BITS] = c.rep;
      end else begin
        rd[CMM_CST_STATUS_RXQ_COUNT_LSB +: CMM_CST_STATUS_RXQ_COUNT_BITS] = CMM_CST_STATUS_RXQ_COUNT_BITS'(c.rxq_count);
        rd[CMM_CST_STATUS_LAST_REASON_LSB +: CMM_CST_STATUS_LAST_REASON_BITS] = c.last_reason;
        rd[CMM_CST_STATUS_TX_NACKS_LSB +: CMM_CST_STATUS_TX_NACKS_BITS] = c.tx_nacks;
      end
    end else if (off == CMM_CST_STATUS_OFFSET) begin
      count_reject(REASON_READ_ONLY);
      rsp = RSP_REJECT;
    end else if (c.state != STATE_ALLOCATED) begin
      count_reject(REASON_NOT_OPEN);
      rsp = RSP_REJECT;
    end else if (off == CMM_CST_CTRL_OFFSET) begin
      cst_n[e].dir = wd[CMM_CST_CTRL_DIR_LSB];
    end else if (off == CMM_CST_OWNER_OFFSET) begin
      cst_n[e].owner_pid = wd[CMM_CST_OWNER_PID_LSB +: CMM_CST_OWNER_PID_BITS];
    end else begin
      rp = wd[CMM_CST_REMOTE_PART_LSB +: CMM_CST_REMOTE_PART_BITS];
      re = wd[CMM_CST_REMOTE_EP_LSB +: CMM_CST_REMOTE_EP_BITS];
      if (rp >= CMM_CST_REMOTE_PART_BITS'(NPART) || re >= CMM_CST_REMOTE_EP_BITS'(NEP)) begin
        count_reject(REASON_BAD_FIELD);
        rsp = RSP_REJECT;
      end else begin
        cst_n[e].rnode = wd[CMM_CST_REMOTE_NODE_LSB +: CMM_CST_REMOTE_NODE_BITS];
        cst_n[e].rpart = rp;
        cst_n[e].rep = re;
      end
    end
  endtask

  // Endpoint pages: the owning process, or the kernel agent of its partition (I5).
  task automatic ep_page(logic [CMM_ADDR_BITS-1:0] a, logic [PART_ID_BITS-1:0] part, logic kernel,
                         logic wr, word_t wd, inout word_t rd, inout logic [RSP_W-1:0] rsp);
    logic [EPI-1:0] e;
    int off;
    cst_t c;
    logic in_tx, in_rx, known, is_cmd;
    e = EPI'((int'(a) - int'(CMM_EP_BASE)) / CMM_EP_STRIDE);
    off = (int'(a) - int'(CMM_EP_BASE)) % CMM_EP_STRIDE;
    c = cst_n[e];
    in_tx = off >= CMM_TX_BUF_OFFSET && off < CMM_TX_BUF_OFFSET + CMM_TX_BUF_BYTES;
    in_rx = off >= CMM_RX_BUF_OFFSET && off < CMM_RX_BUF_OFFSET + CMM_RX_BUF_BYTES;
    is_cmd = off == CMM_EP_DOORBELL_OFFSET || off == CMM_EP_RX_POP_OFFSET;
    known = in_tx || in_rx || is_cmd || off == CMM_EP_TX_STATUS_OFFSET || off == CMM_EP_TX_SENT_OFFSET ||
            off == CMM_EP_RX_STATUS_OFFSET || off == CMM_EP_RX_TAG_OFFSET;
    if (!known) decerr(part, rsp);
    else if (c.state == STATE_FREE || c.owner_part != part || (!kernel && reg_req_pid_i != c.owner_pid))
      denied(part, e, rsp);
    else if (in_tx) begin
      if (!wr) decerr(part, rsp);
      else rsp_buf_n = 1'b1;
    end else if (in_rx) begin
      if (wr) decerr(part, rsp);
      else if (c.rxq_count == '0) begin
        count_reject(REASON_RXQ_EMPTY);
        rsp = RSP_REJECT;
      end else begin
        rsp_buf_n = 1'b1;
        rsp_slot_n = SLOT_W'(c.rxq_head);
      end
    end else if (wr != is_cmd) begin
      if (wr) begin
        count_reject(REASON_READ_ONLY);
        rsp = RSP_REJECT;
      end
      // Command registers read as 0.
    end else if (off == CMM_EP_DOORBELL_OFFSET) begin
      doorbell(e, wd, rsp);
    end else if (off == CMM_EP_RX_POP_OFFSET) begin
      if (c.rxq_count == '0) begin
        count_reject(REASON_RXQ_EMPTY);
        rsp = RSP_REJECT;
      end else begin
        cst_n[e].rxq_head = RXQ_IW'((int'(c.rxq_head) + 1) % RXQ_DEPTH);
        cst_n[e].rxq_count = c.rxq_count - RXQ_CW'(1);
      end
    end else if (off == CMM_EP_TX_STATUS_OFFSET) begin
      rd[CMM_EP_TX_STATUS_LAST_REASON_LSB +: CMM_EP_TX_STATUS_LAST_REASON_BITS] = c.tx_last_reason;
      rd[CMM_EP_TX_STATUS_NACKS_LSB +: CMM_EP_TX_STATUS_NACKS_BITS] =
          (c.tx_nacks > CMM_CST_STATUS_TX_NACKS_BITS'({CMM_EP_TX_STATUS_NACKS_BITS{1'b1}}))
              ? '1 : c.tx_nacks[CMM_EP_TX_STATUS_NACKS_BITS-1:0];  // saturates
      rd[CMM_EP_TX_STATUS_LAST_TAG_LSB +: CMM_EP_TX_STATUS_LAST_TAG_BITS] = c.tx_last_tag;
    end else if (off == CMM_EP_TX_SENT_OFFSET) begin
      rd[CMM_EP_TX_SENT_COUNT_LSB +: CMM_EP_TX_SENT_COUNT_BITS] = c.tx_sent;
    end else if (off == CMM_EP_RX_STATUS_OFFSET) begin
      rd[CMM_EP_RX_STATUS_COUNT_LSB +: CMM_EP_RX_STATUS_COUNT_BITS] = CMM_EP_RX_STATUS_COUNT_BITS'(c.rxq_count);
      rd[CMM_EP_RX_STATUS_SLOT_LSB +: CMM_EP_RX_STATUS_SLOT_BITS] = CMM_EP_RX_STATUS_SLOT_BITS'(c.rxq_head);
      if (c.rxq_count != '0) rd[CMM_EP_RX_STATUS_LEN_LSB +: CMM_EP_RX_STATUS_LEN_BITS] = rxq_n[e][c.rxq_head].len;
    end else if (off == CMM_EP_RX_TAG_OFFSET) begin
      if (c.rxq_count != '0) rd[CMM_EP_RX_TAG_TAG_LSB +: CMM_EP_RX_TAG_TAG_BITS] = rxq_n[e][c.rxq_head].tag;
    end
  endtask

  // ------------------------------------------------------------------ next state
  always_comb begin : p_next
    // Default: hold.
    cst_n = cst_q;           rxq_n = rxq_q;
    ckt_key_n = ckt_key_q;   ckt_valid_n = ckt_valid_q;   ckt_origin_n = ckt_origin_q;
    key_stage_n = key_stage_q; cmd_status_n = cmd_status_q;
    irq_status_n = irq_status_q; irq_enable_n = irq_enable_q;
    mgmt_tx_n = mgmt_tx_q;   mgmt_dst_n = mgmt_dst_q;
    mq_n = mq_q;             mq_head_n = mq_head_q;       mq_count_n = mq_count_q;
    el_n = el_q;             el_head_n = el_head_q;       el_count_n = el_count_q;
    el_lost_n = el_lost_q;   used_n = used_q;
    rej_n = rej_q;           stat_n = stat_q;
    s1_valid_n = s1_valid_q; s1_n = s1_q;
    egq_n = egq_q;           egq_head_n = egq_head_q;     egq_count_n = egq_count_q;
    vd_accept_n = vd_accept_q; vd_ep_n = vd_ep_q; vd_slot_n = vd_slot_q; vd_reason_n = vd_reason_q;

    // 1. Egress pop.
    if (eg_valid_o && eg_ready_i) begin
      egq_head_n[eg_cls_o] = EGQ_IW'((int'(egq_head_q[eg_cls_o]) + 1) % EGQ_DEPTH);
      egq_count_n[eg_cls_o] = egq_count_q[eg_cls_o] - EGQ_CW'(1);
    end
    // 2. One-cycle pulses clear.
    rsp_valid_n = 1'b0;
    rsp_rdata_n = '0;
    rsp_status_n = RSP_OK;
    rsp_buf_n = 1'b0;
    rsp_slot_n = '0;
    vd_valid_n = 1'b0;
    // 3. Ingress commit (S2): verify against the tables as they are now.
    if (s1_valid_q) ingress(s1_q);
    // 4. Ingress accept (S1). The port is exactly the field widths: no masking needed.
    s1_valid_n = ing_valid_i && ing_ready_o;
    if (ing_valid_i && ing_ready_o) s1_n = hdr_t'(ing_hdr_i);
    // 5. Register access: sees the effects of step 3.
    if (reg_req_valid_i && reg_req_ready_o) reg_access();

    // Synchronous reset: the next state is the power-up state. Queue/slot
    // storage (rxq, mq, el, egq, s1) is not cleared: it is only visible below
    // its count, and every count resets.
    if (!rst_ni) begin
      for (int e = 0; e < NEP; e++) begin
        cst_n[e] = '0;
        ckt_key_n[e] = '0;
      end
      ckt_valid_n = '0;
      ckt_origin_n = '0;
      for (int p = 0; p < NPART; p++) begin
        key_stage_n[p] = '0;  cmd_status_n[p] = '0;
        irq_status_n[p] = '0; irq_enable_n[p] = '0;
        mgmt_tx_n[p] = '0;    mgmt_dst_n[p] = '0;
        mq_head_n[p] = '0;    mq_count_n[p] = '0;
        el_head_n[p] = '0;    el_count_n[p] = '0;
        el_lost_n[p] = '0;    used_n[p] = '0;
      end
      for (int r = 0; r < REASON_COUNT; r++) rej_n[r] = '0;
      for (int s = 0; s < CMM_STAT_COUNT; s++) stat_n[s] = '0;
      s1_valid_n = 1'b0;
      for (int c = 0; c < 2; c++) begin
        egq_head_n[c] = '0;
        egq_count_n[c] = '0;
      end
      rsp_valid_n = 1'b0; rsp_rdata_n = '0; rsp_status_n = RSP_OK; rsp_buf_n = 1'b0; rsp_slot_n = '0;
      vd_valid_n = 1'b0;  vd_accept_n = 1'b0; vd_ep_n = '0; vd_slot_n = '0; vd_reason_n = '0;
    end
  end

  // ------------------------------------------------------------------ flops
  always_ff @(posedge clk) begin : p_flops
    cst_q <= cst_n;           rxq_q <= rxq_n;
    ckt_key_q <= ckt_key_n;   ckt_valid_q <= ckt_valid_n;  ckt_origin_q <= ckt_origin_n;
    key_stage_q <= key_stage_n; cmd_status_q <= cmd_status_n;
    irq_status_q <= irq_status_n; irq_enable_q <= irq_enable_n;
    mgmt_tx_q <= mgmt_tx_n;   mgmt_dst_q <= mgmt_dst_n;
    mq_q <= mq_n;             mq_head_q <= mq_head_n;      mq_count_q <= mq_count_n;
    el_q <= el_n;             el_head_q <= el_head_n;      el_count_q <= el_count_n;
    el_lost_q <= el_lost_n;   used_q <= used_n;
    rej_q <= rej_n;           stat_q <= stat_n;
    s1_valid_q <= s1_valid_n; s1_q <= s1_n;
    egq_q <= egq_n;           egq_head_q <= egq_head_n;    egq_count_q <= egq_count_n;
    rsp_valid_q <= rsp_valid_n; rsp_rdata_q <= rsp_rdata_n; rsp_status_q <= rsp_status_n;
    rsp_buf_q <= rsp_buf_n;   rsp_slot_q <= rsp_slot_n;
    vd_valid_q <= vd_valid_n; vd_accept_q <= vd_accept_n;  vd_ep_q <= vd_ep_n;
    vd_slot_q <= vd_slot_n;   vd_reason_q <= vd_reason_n;
  end

endmodule
