#!/usr/bin/env python3
"""Writes the structured seed inputs of fuzz/corpus/core and fuzz/corpus/tlm
(the byte formats are documented in core_fuzz.cpp and tlm_fuzz.cpp).
Run from anywhere: python3 fuzz/make_seeds.py. Standard library only."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = 5
KEYS = [[0x11111111, 0x22222222, 0x33333333, 0x44444444],
        [0xDEADBEEF, 0x01234567, 0x89ABCDEF, 0x0BADF00D],
        [1, 0, 0, 0],
        [0xFFFFFFFF] * 4]
CMD = dict(NOP=0, ALLOC=1, AUTHORIZE=2, CONNECT=3, CLOSE=4, FREE=5, SET_KEY=9, EXC_CLEAR=10)
OPC = dict(DATA=1, CONNECT=2, CONNECT_ACK=3, NACK=4, CLOSE=5, MGMT=6)


def u8(v): return bytes([v & 0xFF])
def u16(v): return struct.pack("<H", v & 0xFFFF)
def u32(v): return struct.pack("<I", v & 0xFFFFFFFF)


class Core:
    """Ops of core_fuzz.cpp: [op][part][ep] + kind-specific bytes (+ pid last for register ops)."""

    def __init__(self):
        self.b = bytearray(u8(NODE) + bytes([4, 2] + [0] * 6))
        for m in (0x5A5A5A5A, 0x0F0F0F0F, 0x12345678, 0x80000001):
            self.b += u32(m)
        for k in KEYS:
            for w in k:
                self.b += u32(w)

    def op(self, kind, ep=0, part=0, more=False):
        self.b += u8(kind | (0x80 if more else 0)) + u8(part) + u8(ep)

    def cmd(self, c, ep=0, part=0, pid=0):
        self.op(2, ep, part)
        self.b += u8(c) + u8(pid)

    def key(self, k, part=0, pid=0):
        for w in range(4):
            self.op(1, 0, part)
            self.b += u8((k << 2) | w) + u8(pid)

    def cst_dir(self, ep, send):
        self.op(3, ep)
        self.b += u8(0x04 if send else 0x00) + u8(0)

    def cst_remote_local(self, ep, rep, rpart=0):
        self.op(3, ep)
        self.b += u8(0x02 | 0x04 | (rpart << 3)) + u8(rep) + u8(0)

    def cst_gen(self, ep, g):
        self.op(3, ep)
        self.b += u8(0x03) + u8(g) + u8(0)

    def cst_read(self, ep, word):
        self.op(4, ep)
        self.b += u8(word) + u8(0)

    def doorbell(self, ep, length, tag, part=0, pid=0):
        self.op(5, ep, part)
        self.b += u8(0x08) + u16(length) + u8(tag) + u8(pid)

    def ep_read(self, ep, which, part=0, pid=0):
        self.op(5, ep, part)
        self.b += u8(which) + u16(0) + u8(0) + u8(pid)

    def loop(self):
        self.op(10)

    def idle(self, n=1):
        for _ in range(n):
            self.op(12)

    def hdr(self, opcode, ep, src_ep, key=0, src_gen=1, dst_gen=1, seq=0, part=0, length=16, reason=0, aux=0,
            src_node=None, more=False):
        self.op(8, ep, part, more)
        f = opcode % 7
        if src_node is not None:
            f |= 0x08
        self.b += u8(f)
        if src_node is not None:
            self.b += u8(src_node)
        self.b += u8(0) + u8(src_ep) + u8(length - 1) + u8(3) + u8(reason) + u8(aux)
        self.b += u8(src_gen) + u8(dst_gen) + u8(seq) + u8(key)


def channel(c, k=0):
    """Receive entry 0 <- send entry 1 on this node, opened through loopback."""
    c.cmd(CMD["ALLOC"])
    c.cmd(CMD["ALLOC"])
    c.cst_dir(1, True)
    c.cst_remote_local(0, 1)
    c.cst_remote_local(1, 0)
    c.cst_gen(0, 1)
    c.cst_gen(1, 1)
    c.cmd(CMD["AUTHORIZE"], 0)
    c.cmd(CMD["AUTHORIZE"], 1)
    c.key(k)
    c.cmd(CMD["CONNECT"], 0)
    c.loop()       # CONNECT -> send entry 1
    c.idle(1)      # commit: the CONNECT_ACK is at the egress port now
    c.loop()       # CONNECT_ACK -> receive entry 0
    c.idle(1)
    c.cst_read(0, 0)
    c.cst_read(1, 0)


def core_seeds():
    out = {}
    c = Core()
    channel(c)
    for t in range(3):
        c.doorbell(1, 64 + t, t)
        c.loop()   # DATA -> receive entry 0 (accepted)
        c.idle(2)
    c.ep_read(0, 3)
    c.ep_read(0, 8 | 5)  # RX_POP
    c.cmd(CMD["CLOSE"], 1)
    c.loop()       # CLOSE -> entry 0
    c.idle(2)
    c.cst_read(0, 0)
    out["channel_data_close"] = c.b

    c = Core()
    channel(c)
    c.hdr(OPC["DATA"], 0, 1, key=1)          # forged key
    c.hdr(OPC["DATA"], 0, 1, key=0, seq=5)   # right key, gap
    c.hdr(OPC["DATA"], 0, 1, key=0, seq=1)   # old
    c.hdr(OPC["CLOSE"], 0, 1, key=1)         # forged close
    c.hdr(OPC["NACK"], 0, 1, key=2, aux=OPC["CONNECT"], reason=5)
    c.hdr(OPC["CONNECT"], 1, 0, key=3)       # second CONNECT to the send entry
    c.hdr(OPC["CONNECT_ACK"], 0, 1, key=0, src_gen=9)
    c.idle(3)
    c.cst_read(0, 0)
    c.cst_read(1, 0)
    out["channel_forgeries"] = c.b

    c = Core()
    c.cmd(CMD["ALLOC"])
    c.cmd(CMD["AUTHORIZE"], 0)
    c.key(1, pid=1)
    c.op(1, 0, 0)
    c.b += u8(0) + u8(2)                     # KEY0 by another pid: busy
    c.cmd(CMD["SET_KEY"], 0, pid=2)
    c.cmd(CMD["SET_KEY"], 0, pid=1)
    c.cmd(CMD["CONNECT"], 0)
    c.cmd(CMD["CONNECT"], 0)                 # re-send
    c.op(2, 0, 0)
    c.b += u8(0x80 | 20) + u8(0)             # reserved bit in CMD
    c.cmd(CMD["CLOSE"], 0)
    c.cmd(CMD["FREE"], 0)
    c.hdr(OPC["MGMT"], 0, 0, key=1)
    c.cmd(CMD["EXC_CLEAR"])
    out["staging_and_commands"] = c.b
    return out


def tlm_pkt(opcode, direct=False, src_node=None, dst=0, dst_ep=0, length=0, payload_len=None, seal=True,
            chan_key=True, cls=0, src_ep=0, src_gen=1, dst_gen=1, seq=0, crc=0, delay=0):
    """One packet of tlm_fuzz.cpp; dst: 0/1/3/2 = node 0/1/3/2 (index 0..3) or a node id (>= 4)."""
    f = (1 if direct else 0) | (2 if seal else 0) | (4 if payload_len is not None else 0) | (cls << 6)
    if src_node is not None:
        f |= 0x08
    dsel = {0: 0, 1: 1, 3: 2, 2: 3}.get(dst)
    f |= (dsel if dsel is not None else 3) << 4
    b = u8(f) + u8(opcode)
    if src_node is not None:
        b += u8(src_node)
    b += u8(0) + u8(src_ep)
    if dsel is None:
        b += u8(dst)
    b += u8(0) + u8(dst_ep) + u16(length) + u16(7) + u8(0) + u8(0) + u8(src_gen) + u8(dst_gen) + u16(seq)
    b += u8(1 if chan_key else 0)
    if payload_len is not None:
        b += u16(payload_len)
    b += u8(0x30)
    if not seal:
        b += u32(crc)
    return b + u8(delay)


def tlm_seeds():
    out = {}
    # The rogue node (id 2) tries every opcode on the channel's receive end with the sniffed key.
    out["rogue_every_opcode"] = b"".join(tlm_pkt(op, length=16 if op == 1 else 0, payload_len=None) for op in range(16))
    # Spoofed source (node 1, the real sender): dropped at the switch port.
    out["rogue_spoofed_sender"] = b"".join(tlm_pkt(op, src_node=1, length=8 if op == 1 else 0) for op in (1, 3, 4, 5))
    # Lengths that lie, and a wrong CRC, on the direct link into node 3.
    out["direct_lengths_crc"] = (tlm_pkt(1, direct=True, dst=3, length=65535, payload_len=65535) +
                                 tlm_pkt(1, direct=True, dst=3, length=1024, payload_len=1024) +
                                 tlm_pkt(1, direct=True, dst=3, length=16, payload_len=2000) +
                                 tlm_pkt(1, direct=True, dst=3, length=16, seal=False, crc=0x12345678) +
                                 tlm_pkt(6, direct=True, dst=3, src_node=200, length=0))
    # Misrouted and unroutable destinations.
    out["rogue_destinations"] = b"".join(tlm_pkt(2, dst=d, length=0) for d in (0, 1, 2, 3, 77, 255))
    return out


def write(kind, seeds):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        print(f"{d}/{name}: {len(data)} bytes")


def main():
    write("core", core_seeds())
    write("tlm", tlm_seeds())


if __name__ == "__main__":
    main()
