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
  logic [63:0] v0_n, v1_n, v2_n, v3_n, lo_n;

  function automatic logic [63:0] rotl(logic [63:0] x, int n);
    rotl = (x << n) | (x >> (64 - n));
  endfunction

  // One step: message injection, SipRound, finalization constants.
  logic [63:0] a0, a1, a2, a3, m;  // p_step temporaries
  logic [3:0]  s;
  always_comb begin : p_step
    s = start_i ? 4'd0 : step_i;
    if (start_i) begin
      a0 = key_i[63:0] ^ 64'h736f6d6570736575;
      a1 = key_i[127:64] ^ 64'h646f72616e646f6d ^ 64'hee;  // 128-bit output variant
      a2 = key_i[63:0] ^ 64'h6c7967656e657261;
      a3 = key_i[127:64] ^ 64'h7465646279746573;
    end else begin
      a0 = v0_q;
      a1 = v1_q;
      a2 = v2_q;
      a3 = v3_q;
    end
    m = (s < 4'd2) ? m0_i : (s < 4'd4) ? m1_i : LEN_BLOCK;
    if (s < 4'd6 && !s[0]) a3 = a3 ^ m;
    // SipRound
    a0 = a0 + a1;  a1 = rotl(a1, 13);  a1 = a1 ^ a0;  a0 = rotl(a0, 32);
    a2 = a2 + a3;  a3 = rotl(a3, 16);  a3 = a3 ^ a2;
    a0 = a0 + a3;  a3 = rotl(a3, 21);  a3 = a3 ^ a0;
    a2 = a2 + a1;  a1 = rotl(a1, 17);  a1 = a1 ^ a2;  a2 = rotl(a2, 32);
    if (s < 4'd6 && s[0]) a0 = a0 ^ m;
    if (s == 4'd5) a2 = a2 ^ 64'hee;
    lo_n = lo_q;
    if (s == 4'd9) begin
      lo_n = a0 ^ a1 ^ a2 ^ a3;
      a1 = a1 ^ 64'hdd;
    end
    v0_n = a0;
    v1_n = a1;
    v2_n = a2;
    v3_n = a3;
    if (!(start_i || adv_i)) begin
      v0_n = v0_q;  v1_n = v1_q;  v2_n = v2_q;  v3_n = v3_q;  lo_n = lo_q;
    end
    if (!rst_ni) begin
      v0_n = '0;  v1_n = '0;  v2_n = '0;  v3_n = '0;  lo_n = '0;
    end
  end

  always_ff @(posedge clk) begin : p_flops
    v0_q <= v0_n;  v1_q <= v1_n;  v2_q <= v2_n;  v3_q <= v3_n;  lo_q <= lo_n;
  end

  assign res_o = {v0_q ^ v1_q ^ v2_q ^ v3_q, lo_q};

endmodule
