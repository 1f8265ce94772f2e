// Iterative SipHash-2-4 with 128-bit output (libsodium's
// crypto_shorthash_siphashx24) over a fixed 16-byte message
// m = le64(m0_i) || le64(m1_i): the PRF of the hardware key generator
// (docs/security.md 1.10). One SipRound per cycle, 14 steps:
//   steps 0-1: block m0 (v3 ^= m0 before step 0, v0 ^= m0 after step 1)
//   steps 2-3: block m1, steps 4-5: the length block (16 << 56), then v2 ^= 0xee
//   steps 6-9: finalization 1; lo = v0^v1^v2^v3, then v1 ^= 0xdd
//   steps 10-13: finalization 2; hi = v0^v1^v2^v3
// start_i loads the state with step 0 already applied to the keyed initial
// state; adv_i applies step step_i (1..13). The controller (cmm_core) counts
// the steps. res_o = {hi, lo} is final after step 13 (key word 0 = bits 31:0,
// i.e. out[0..3] little endian). Nothing here is readable from the register
// port: res_o goes only to the CKT write of a HWKEY command.
// The flops' clock event. Default: the rising edge. CMM_BOTH_EDGES (the
// Verilated lockstep/TLM model only, rtl/CMakeLists.txt): every edge of clk is
// a cycle, so the harness evaluates the model once per cycle instead of twice
// (docs/rtl.md "Evaluation per cycle").
`ifndef CMM_CLK_EDGE
`ifdef CMM_BOTH_EDGES
`define CMM_CLK_EDGE edge clk
`else
`define CMM_CLK_EDGE posedge clk
`endif
`endif
module cmm_siphash (
  input  logic         clk,
  input  logic         rst_ni,   // synchronous, active low: state to 0
  input  logic         start_i,
  input  logic         adv_i,
  input  logic [3:0]   step_i,
  input  logic [127:0] key_i,    // k0 = key_i[63:0] (bytes 0..7), k1 = key_i[127:64]
  input  logic [63:0]  m0_i,
  input  logic [63:0]  m1_i,
  output logic [127:0] res_o
);

  localparam logic [63:0] LEN_BLOCK = 64'h1000_0000_0000_0000;  // 16 bytes, no tail

  logic [63:0] v0_q, v1_q, v2_q, v3_q, lo_q;
`ifndef CMM_ONE_PASS
  logic [63:0] v0_n, v1_n, v2_n, v3_n, lo_n;
`endif

  function automatic logic [63:0] rotl(logic [63:0] x, int n);
    rotl = (x << n) | (x >> (64 - n));
  endfunction

  // One step: message injection, SipRound, finalization constants. Returns
  // the next {v0, v1, v2, v3, lo} from the state and the step inputs.
  function automatic logic [319:0] sip_next(logic start, logic adv, logic [3:0] step, logic [127:0] key,
                                            logic [63:0] m0, logic [63:0] m1, logic rst_n, logic [63:0] v0,
                                            logic [63:0] v1, logic [63:0] v2, logic [63:0] v3, logic [63:0] lo);
    logic [63:0] a0, a1, a2, a3, m, lo_x;
    logic [3:0]  s;
    s = start ? 4'd0 : step;
    if (start) begin
      a0 = key[63:0] ^ 64'h736f6d6570736575;
      a1 = key[127:64] ^ 64'h646f72616e646f6d ^ 64'hee;  // 128-bit output variant
      a2 = key[63:0] ^ 64'h6c7967656e657261;
      a3 = key[127:64] ^ 64'h7465646279746573;
    end else begin
      a0 = v0;
      a1 = v1;
      a2 = v2;
      a3 = v3;
    end
    m = (s < 4'd2) ? m0 : (s < 4'd4) ? m1 : LEN_BLOCK;
    if (s < 4'd6 && !s[0]) a3 = a3 ^ m;
    // SipRound
    a0 = a0 + a1;  a1 = rotl(a1, 13);  a1 = a1 ^ a0;  a0 = rotl(a0, 32);
    a2 = a2 + a3;  a3 = rotl(a3, 16);  a3 = a3 ^ a2;
    a0 = a0 + a3;  a3 = rotl(a3, 21);  a3 = a3 ^ a0;
    a2 = a2 + a1;  a1 = rotl(a1, 17);  a1 = a1 ^ a2;  a2 = rotl(a2, 32);
    if (s < 4'd6 && s[0]) a0 = a0 ^ m;
    if (s == 4'd5) a2 = a2 ^ 64'hee;
    lo_x = lo;
    if (s == 4'd9) begin
      lo_x = a0 ^ a1 ^ a2 ^ a3;
      a1 = a1 ^ 64'hdd;
    end
    sip_next = {a0, a1, a2, a3, lo_x};
    if (!(start || adv)) sip_next = {v0, v1, v2, v3, lo};
    if (!rst_n) sip_next = '0;
  endfunction

`ifdef CMM_ONE_PASS
  logic unused_pins;  // the step inputs come as task arguments
  assign unused_pins = ^{clk, rst_ni, start_i, adv_i, step_i, key_i, m0_i, m1_i};
  // The core's single clocked process calls this at each edge with the step
  // inputs it has just computed (docs/rtl.md "Evaluation per cycle").
  task automatic step_t(logic start, logic adv, logic [3:0] step, logic [127:0] key, logic [63:0] m0,
                        logic [63:0] m1, logic rst_n);
    {v0_q, v1_q, v2_q, v3_q, lo_q} = sip_next(start, adv, step, key, m0, m1, rst_n, v0_q, v1_q, v2_q, v3_q, lo_q);
  endtask
`else
  always_comb begin : p_step
    {v0_n, v1_n, v2_n, v3_n, lo_n} = sip_next(start_i, adv_i, step_i, key_i, m0_i, m1_i, rst_ni,
                                              v0_q, v1_q, v2_q, v3_q, lo_q);
  end

  always_ff @(`CMM_CLK_EDGE) begin : p_flops
    v0_q <= v0_n;  v1_q <= v1_n;  v2_q <= v2_n;  v3_q <= v3_n;  lo_q <= lo_n;
  end
`endif

  assign res_o = {v0_q ^ v1_q ^ v2_q ^ v3_q, lo_q};

endmodule
