#!/usr/bin/env python3
"""peer_websockets.py - the work of pmd_bench.c, through Python websockets.

Every message of a corpus file is encoded as one frame by one
websockets.extensions.permessage_deflate.PerMessageDeflate instance, then
decoded by a second one and compared with the original; the whole pass is
repeated (with fresh instances, as pmd_bench does) until encode + decode
time reaches min_seconds.  One line is printed in pmd_bench's key=value
format, so bench/run.sh reads all programs alike.

Run it with the interpreter that has websockets (.venv/bin/python).

Usage: peer_websockets.py CORPUS.bin [window_bits=15] [mem_level=8] [level=6]
                          [context_takeover=1] [min_seconds=0.5]
"""
import os
import struct
import sys
import time

import websockets
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode


def read_corpus(path):
    with open(path, "rb") as f:
        all_bytes = f.read()
    msgs = []
    off = 0
    while off + 4 <= len(all_bytes):
        (n,) = struct.unpack_from("<I", all_bytes, off)
        off += 4
        msgs.append(all_bytes[off : off + n])
        off += n
    return msgs


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: peer_websockets.py CORPUS.bin [wbits] [memlevel] [level] [takeover] [secs]")
    path = sys.argv[1]
    args = sys.argv[2:]
    wbits = int(args[0]) if len(args) > 0 else 15
    mem = int(args[1]) if len(args) > 1 else 8
    level = int(args[2]) if len(args) > 2 else 6
    takeover = int(args[3]) if len(args) > 3 else 1
    min_s = float(args[4]) if len(args) > 4 else 0.5

    msgs = read_corpus(path)
    total = sum(len(m) for m in msgs)
    no_takeover = not takeover
    settings = {"memLevel": mem, "level": level}
    clock = time.perf_counter

    enc_s = dec_s = 0.0
    rounds = 0
    wire_total = 0
    while True:
        tx = PerMessageDeflate(no_takeover, no_takeover, wbits, wbits, compress_settings=dict(settings))
        rx = PerMessageDeflate(no_takeover, no_takeover, wbits, wbits, compress_settings=dict(settings))
        wire = []
        t0 = clock()
        for m in msgs:
            # encode() returns bytes, or a memoryview over them above 2 KiB;
            # either is kept as is for the decode pass.
            wire.append(tx.encode(Frame(Opcode.BINARY, m)).data)
        t1 = clock()
        for k, w in enumerate(wire):
            out = rx.decode(Frame(Opcode.BINARY, w, True, True), max_size=None)
            if out.data != msgs[k]:
                sys.exit("peer_websockets: round trip mismatch")
        t2 = clock()
        wire_total = sum(len(w) for w in wire)
        enc_s += t1 - t0
        dec_s += t2 - t1
        rounds += 1
        if enc_s + dec_s >= min_s:
            break

    name = os.path.basename(path)
    print(
        f"workload={name} msgs={len(msgs)} bytes={total} wire={wire_total} "
        f"ratio={wire_total / total:.3f} encode_MBps={total * rounds / enc_s / 1e6:.1f} "
        f"decode_MBps={total * rounds / dec_s / 1e6:.1f} wbits={wbits} memlevel={mem} "
        f"level={level} takeover={takeover} rounds={rounds} peer=websockets-{websockets.__version__}"
    )


if __name__ == "__main__":
    main()
