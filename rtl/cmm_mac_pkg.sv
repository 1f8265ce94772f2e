// Strong-mode MACs of the CMM (docs/strong-mode.md 11.4-11.6), the same
// SipHash-2-4-128 (libsodium crypto_shorthash_siphashx24) as cmm_siphash.sv
// but unrolled: header-only MACs and the CONNECT key wrap are computed within
// one edge in the contract (combinational SipRound chains here), payload MACs
// by the streaming engine cmm_mac_engine.
//
// Byte order everywhere: a vector's byte j is bits 8j+7:8j (key word i =
// bytes 4i..4i+3, little endian; SipHash message block i = bits 64i+63:64i).
// "Header bytes" are the fields of the packed hdr_t below the key (field 0 at
// bit 0, the key is the top field) zero-extended to 256 bits.
package cmm_mac_pkg;

  // SipHash state {v3, v2, v1, v0} (v0 = bits 63:0). Written in the plain
  // function style yosys 0.23 reads (no return statements, no struct-valued
  // functions, no initialised declarations).
  typedef logic [255:0] sip_t;

  function automatic logic [63:0] rotl(input logic [63:0] x, input integer n);
    rotl = (x << n) | (x >> (64 - n));
  endfunction

  function automatic sip_t sip_round(input sip_t s);
    logic [63:0] v0, v1, v2, v3;
    v0 = s[63:0];  v1 = s[127:64];  v2 = s[191:128];  v3 = s[255:192];
    v0 = v0 + v1;  v1 = rotl(v1, 13);  v1 = v1 ^ v0;  v0 = rotl(v0, 32);
    v2 = v2 + v3;  v3 = rotl(v3, 16);  v3 = v3 ^ v2;
    v0 = v0 + v3;  v3 = rotl(v3, 21);  v3 = v3 ^ v0;
    v2 = v2 + v1;  v1 = rotl(v1, 17);  v1 = v1 ^ v2;  v2 = rotl(v2, 32);
    sip_round = {v3, v2, v1, v0};
  endfunction

  // Keyed initial state of the 128-bit-output variant (k0 = bytes 0..7).
  function automatic sip_t sip_init(input logic [127:0] k);
    sip_init = {k[127:64] ^ 64'h7465646279746573, k[63:0] ^ 64'h6c7967656e657261,
                k[127:64] ^ 64'h646f72616e646f6d ^ 64'hee, k[63:0] ^ 64'h736f6d6570736575};
  endfunction

  // One 8-byte message block (c = 2 rounds).
  function automatic sip_t sip_block(input sip_t s, input logic [63:0] m);
    sip_t r;
    r = s;
    r[255:192] = r[255:192] ^ m;
    r = sip_round(sip_round(r));
    r[63:0] = r[63:0] ^ m;
    sip_block = r;
  endfunction

  function automatic logic [63:0] sip_fold(input sip_t s);
    sip_fold = s[63:0] ^ s[127:64] ^ s[191:128] ^ s[255:192];
  endfunction

  // Finalization (d = 4 rounds, twice): {hi, lo}, lo = output bytes 0..7.
  function automatic logic [127:0] sip_final(input sip_t s);
    sip_t r;
    logic [63:0] lo;
    r = s;
    r[191:128] = r[191:128] ^ 64'hee;
    r = sip_round(sip_round(sip_round(sip_round(r))));
    lo = sip_fold(r);
    r[127:64] = r[127:64] ^ 64'hdd;
    r = sip_round(sip_round(sip_round(sip_round(r))));
    sip_final = {sip_fold(r), lo};
  endfunction

  // Fixed-length messages (multiples of 8 bytes: the last block is the length alone).
  function automatic logic [127:0] sip128_8(input logic [127:0] k, input logic [63:0] m);
    sip128_8 = sip_final(sip_block(sip_block(sip_init(k), m), 64'd8 << 56));
  endfunction

  function automatic logic [127:0] sip128_16(input logic [127:0] k, input logic [127:0] m);
    sip128_16 = sip_final(sip_block(sip_block(sip_block(sip_init(k), m[63:0]), m[127:64]), 64'd16 << 56));
  endfunction

  function automatic sip_t sip_absorb_hdr(input sip_t s, input logic [255:0] h);
    sip_absorb_hdr = sip_block(sip_block(sip_block(sip_block(s, h[63:0]), h[127:64]), h[191:128]), h[255:192]);
  endfunction

  // MAC of a header-only packet (11.4): M = 32 header bytes.
  function automatic logic [127:0] mac_hdr(input logic [127:0] k, input logic [255:0] h);
    mac_hdr = sip_final(sip_block(sip_absorb_hdr(sip_init(k), h), 64'd32 << 56));
  endfunction

  // MAC of the wrapped CONNECT (11.5): M = 32 header bytes || 16 payload bytes.
  function automatic logic [127:0] mac_hdr16(input logic [127:0] k, input logic [255:0] h,
                                             input logic [127:0] p);
    mac_hdr16 = sip_final(sip_block(sip_block(sip_block(sip_absorb_hdr(sip_init(k), h), p[63:0]), p[127:64]),
                                    64'd48 << 56));
  endfunction

  // Header bytes of a packed header: the fields below the key (the top field), zero-extended.
  function automatic logic [255:0] hdr_bytes(input logic [cmm_pkg::HDR_BITS-1:0] h);
    hdr_bytes = {{(256 - cmm_pkg::HDR_KEY_LSB){1'b0}}, h[cmm_pkg::HDR_KEY_LSB-1:0]};
  endfunction

endpackage
