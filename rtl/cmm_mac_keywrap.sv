// Strong mode (functions in cmm_mac_pkg.sv).
// The CONNECT key wrap and unwrap (11.5), combinational. wrap_i = 1 (CMD
// CONNECT at the receiver's CMM): data_i = the channel key, data_o = C (the
// CONNECT payload, eg_wrap_o), tag_o = T. wrap_i = 0 (ingress strong CONNECT
// at the sender's CMM): data_i = the received C, data_o = the unwrapped key,
// tag_o = the T the header must carry. hdr_i: the CONNECT header (seq =
// n[15:0], tag = n[31:16], len = 16, STRONG set; its key field is ignored).
`define CMM_MH(f) hdr_i[cmm_pkg::HDR_``f``_LSB +: cmm_pkg::HDR_``f``_BITS]

module cmm_mac_keywrap
(
  input  logic           wrap_i,
  input  logic [127:0]   lk_i,     // link key of the remote node
  input  logic [cmm_pkg::HDR_BITS-1:0] hdr_i,
  input  logic [127:0]   data_i,
  output logic [127:0]   data_o,
  output logic [127:0]   tag_o
);

  logic [127:0] k_enc, k_mac, nonce, ks, c;

  always_comb begin : p_wrap
    k_enc = cmm_mac_pkg::sip128_8(lk_i, "cne-parw");  // the ASCII bytes "wrap-enc" (byte 0 = 'w')
    k_mac = cmm_mac_pkg::sip128_8(lk_i, "cam-parw");  // "wrap-mac"
    // Node and endpoint ids: bits 7:0 in bytes 0/1 and 4/5, bits 15:8 in bytes
    // 12/13 and 14/15 (node_id_bits = ep_id_bits = 16).
    nonce = {hdr_i[cmm_pkg::HDR_DST_EP_LSB + 8 +: 8], hdr_i[cmm_pkg::HDR_SRC_EP_LSB + 8 +: 8],
             hdr_i[cmm_pkg::HDR_DST_NODE_LSB + 8 +: 8], hdr_i[cmm_pkg::HDR_SRC_NODE_LSB + 8 +: 8],
             `CMM_MH(TAG), `CMM_MH(SEQ), `CMM_MH(DST_GEN), `CMM_MH(SRC_GEN), hdr_i[cmm_pkg::HDR_DST_EP_LSB +: 8],
             hdr_i[cmm_pkg::HDR_SRC_EP_LSB +: 8], 4'd0, `CMM_MH(DST_PART), 4'd0, `CMM_MH(SRC_PART),
             hdr_i[cmm_pkg::HDR_DST_NODE_LSB +: 8], hdr_i[cmm_pkg::HDR_SRC_NODE_LSB +: 8]};
    ks = cmm_mac_pkg::sip128_16(k_enc, nonce);
    c = wrap_i ? (data_i ^ ks) : data_i;
    tag_o = cmm_mac_pkg::mac_hdr16(k_mac, cmm_mac_pkg::hdr_bytes(hdr_i), c);
    data_o = data_i ^ ks;  // wrap: C; unwrap: the key
  end

endmodule

`undef CMM_MH
