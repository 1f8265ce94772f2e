// I1 miter (included into the generated formal_top, instances a and b).
// Both cores get the same inputs except the secret key material: every KEY
// staging write and the key field of every non-MGMT ingress header go to b
// through pi, a word-wise bijection that keeps 0 (pi(w) = w ^ m unless w is
// 0 or m). pi keeps every equality and zero test the core may make on keys,
// so a core whose outputs do not read key bits behaves identically on both:
// all outputs equal, the egress key field (DATA/CONNECT/... attach) equal
// under pi. MGMT payloads travel in the key field but are data: not mapped.

  // The map's four word masks: free constants (sampled in the reset cycle).
  reg [127:0] km_q;
  always @(posedge clk) if (!started) km_q <= free_i;
  wire [127:0] km = started ? km_q : free_i;
  wire [31:0] km0 = km[31:0], km1 = km[63:32], km2 = km[95:64], km3 = km[127:96];
  always @* assume (km0 != 32'd0 && km1 != 32'd0 && km2 != 32'd0 && km3 != 32'd0);

  function automatic [31:0] pi_w(input [31:0] w, input [31:0] m);
    pi_w = (w == 32'd0 || w == m) ? w : (w ^ m);
  endfunction
  function automatic [31:0] km_of(input [1:0] i, input [31:0] m0, input [31:0] m1, input [31:0] m2,
                                  input [31:0] m3);
    km_of = i == 2'd0 ? m0 : i == 2'd1 ? m1 : i == 2'd2 ? m2 : m3;
  endfunction

  // The fault-injection pins are free and shared: every parity/fault path
  // runs in both cores. The generator's seed is tied to 0 by scripts/formal
  // (TIED0): a key the generator draws (CMD.HWKEY) would come from a seed
  // shared by both cores, so it cannot be related by pi; HWKEY draws are also
  // excluded here for deeper runs. The generator's secrecy towards reads is
  // by construction (only READY/SEEDED reach the read mux, docs/rtl.md) and
  // checked by the replayed SecurityI1 sweep, which plants a hardware key.
  always @* assume (!(reg_req_valid_i && reg_req_write_i && reg_req_addr_i == CMM_CMD_OFFSET &&
                      reg_req_wdata_i[CMM_CMD_HWKEY_LSB]));

  // KEY staging write: word index from the address.
  wire key_wr = reg_req_write_i && reg_req_addr_i >= CMM_KEY_OFFSET &&
                reg_req_addr_i < CMM_KEY_OFFSET + CMM_KEY_COUNT * CMM_KEY_STRIDE;
  wire [CMM_ADDR_BITS-1:0] key_off = reg_req_addr_i - CMM_KEY_OFFSET;
  wire [1:0] key_idx = key_off[3:2];
  assign b_reg_req_wdata_i = key_wr ? pi_w(reg_req_wdata_i, km_of(key_idx, km0, km1, km2, km3))
                                    : reg_req_wdata_i;

  wire ing_is_mgmt = ing_hdr_i[HDR_OPCODE_LSB +: HDR_OPCODE_BITS] == OPCODE_MGMT;
  always @* begin
    b_ing_hdr_i = ing_hdr_i;
    if (!ing_is_mgmt) begin
      b_ing_hdr_i[HDR_KEY_LSB +: 32] = pi_w(ing_hdr_i[HDR_KEY_LSB +: 32], km0);
      b_ing_hdr_i[HDR_KEY_LSB + 32 +: 32] = pi_w(ing_hdr_i[HDR_KEY_LSB + 32 +: 32], km1);
      b_ing_hdr_i[HDR_KEY_LSB + 64 +: 32] = pi_w(ing_hdr_i[HDR_KEY_LSB + 64 +: 32], km2);
      b_ing_hdr_i[HDR_KEY_LSB + 96 +: 32] = pi_w(ing_hdr_i[HDR_KEY_LSB + 96 +: 32], km3);
    end
  end

  // Egress header: every field but the key equal; the key equal under pi
  // (MGMT: equal, it is the MGMT_TX payload).
  wire eg_is_mgmt = a_eg_hdr_o[HDR_OPCODE_LSB +: HDR_OPCODE_BITS] == OPCODE_MGMT;
  always @* if (!in_reset) begin
    assert (a_eg_hdr_o[HDR_KEY_LSB-1:0] == b_eg_hdr_o[HDR_KEY_LSB-1:0]);
    if (HDR_BITS > HDR_KEY_LSB + HDR_KEY_BITS)
      assert (a_eg_hdr_o[HDR_BITS-1:HDR_KEY_LSB + HDR_KEY_BITS] == b_eg_hdr_o[HDR_BITS-1:HDR_KEY_LSB + HDR_KEY_BITS]);
    if (eg_is_mgmt) begin
      assert (a_eg_hdr_o[HDR_KEY_LSB +: HDR_KEY_BITS] == b_eg_hdr_o[HDR_KEY_LSB +: HDR_KEY_BITS]);
    end else begin
      assert (b_eg_hdr_o[HDR_KEY_LSB +: 32] == pi_w(a_eg_hdr_o[HDR_KEY_LSB +: 32], km0));
      assert (b_eg_hdr_o[HDR_KEY_LSB + 32 +: 32] == pi_w(a_eg_hdr_o[HDR_KEY_LSB + 32 +: 32], km1));
      assert (b_eg_hdr_o[HDR_KEY_LSB + 64 +: 32] == pi_w(a_eg_hdr_o[HDR_KEY_LSB + 64 +: 32], km2));
      assert (b_eg_hdr_o[HDR_KEY_LSB + 96 +: 32] == pi_w(a_eg_hdr_o[HDR_KEY_LSB + 96 +: 32], km3));
    end
  end
