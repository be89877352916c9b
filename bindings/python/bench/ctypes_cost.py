"""What calling libpmdeflate through ctypes costs per message, beside the
websockets library's own zlib-based permessage-deflate.

    .venv/bin/python bindings/python/bench/ctypes_cost.py [RUNS]

(with pmdeflate importable and PMDEFLATE_LIBRARY set, as run-tests.sh does;
bindings/python/bench/run.sh does both). For each message size it times,
per message, median of RUNS runs (default 7), each run a fresh extension
going through the whole message sequence (context takeover, window bits 15,
zlib level 6, memLevel 8):

- pmd:          pmdeflate.PerMessageDeflate on pmdeflate.Frame
- pmd+adapter:  the websockets adapter's PerMessageDeflate on websockets Frames
- websockets:   websockets' own PerMessageDeflate on websockets Frames
- pass-through: pmdeflate encoding a ping frame: the binding's fixed cost
                with no zlib work (the Python wrapper plus one ctypes call)

A benchmark to read, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time

from websockets.extensions import permessage_deflate as ws
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode

import pmdeflate
from pmdeflate import OP_PING, OP_TEXT, Frame
from pmdeflate import websockets_adapter as adapter


def small_messages(n=2000, seed=1):
    """~100-byte JSON ticks, all different."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        tick = {"s": rnd.choice(["EURUSD", "GBPUSD", "USDJPY", "BTCUSD"]), "p": round(rnd.uniform(1, 2), 5),
                "q": rnd.randrange(1, 10_000), "t": 1_700_000_000_000 + i * 37, "side": rnd.choice("bs")}
        out.append(json.dumps(tick).encode().ljust(100, b" "))
    return out


def text_messages(size, n, seed=2):
    """`size` bytes of English-like text each, all different."""
    rnd = random.Random(seed)
    words = [w.encode() for w in "the of and to in is was that for on are with as by at from this have "
             "not but had his they were which one you all she there would their we him been has when "
             "who will more no if out so said what up its about into than them can only other".split()]
    out = []
    for _ in range(n):
        buf = bytearray()
        while len(buf) < size:
            buf += rnd.choice(words) + (b". " if rnd.random() < 0.08 else b" ")
        out.append(bytes(buf[:size]))
    return out


def make(kind):
    if kind == "pmd":
        return pmdeflate.PerMessageDeflate(False, False, 15, 15), Frame
    if kind == "pmd+adapter":
        return adapter.PerMessageDeflate(False, False, 15, 15), WsFrame
    if kind == "websockets":
        return ws.PerMessageDeflate(False, False, 15, 15), WsFrame
    raise ValueError(kind)


def opcode_for(frame_cls, op):
    return Opcode(op) if frame_cls is WsFrame else op


def encode_run(kind, msgs):
    ext, cls = make(kind)
    frames = [cls(opcode_for(cls, OP_TEXT), m) for m in msgs]
    enc = ext.encode
    t0 = time.perf_counter()
    for f in frames:
        enc(f)
    return (time.perf_counter() - t0) / len(frames)


def decode_run(kind, msgs, wire):
    ext, _ = make(kind)
    dec = ext.decode
    frames = wire[kind]
    t0 = time.perf_counter()
    for f in frames:
        dec(f, max_size=None)
    return (time.perf_counter() - t0) / len(frames)


def wire_for(kind, msgs):
    sender, cls = make(kind)
    wire = [sender.encode(cls(opcode_for(cls, OP_TEXT), m)) for m in msgs]
    return [cls(f.opcode, bytes(f.data), True, True) for f in wire]


def measure(kinds, msgs, runs):
    """{(op, kind): median seconds per message}; the kinds alternate in
    every run so that a busy machine slows them alike."""
    wire = {k: wire_for(k, msgs) for k in kinds}
    samples = {(op, k): [] for op in ("encode", "decode") for k in kinds}
    for _ in range(runs):
        for k in kinds:
            samples[("encode", k)].append(encode_run(k, msgs))
            samples[("decode", k)].append(decode_run(k, msgs, wire))
    return {key: statistics.median(v) for key, v in samples.items()}


def time_passthrough(runs, n=20000):
    ext = pmdeflate.PerMessageDeflate(False, False, 15, 15)
    ping = Frame(OP_PING, b"x" * 100)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(n):
            ext.encode(ping)
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(f"pmdeflate {pmdeflate.library_version} from {pmdeflate.library_path}; Python {sys.version.split()[0]}")
    print(f"per message, median of {runs} runs, µs\n")
    kinds = ["pmd", "pmd+adapter", "websockets"]
    print("| message | op | " + " | ".join(kinds) + " | websockets/pmd | websockets/pmd+adapter |")
    print("|---|---|" + "---|" * (len(kinds) + 2))
    workloads = [
        ("~100 B JSON", small_messages()),
        ("1 KiB text", text_messages(1024, 1000)),
        ("16 KiB text", text_messages(16384, 100)),
        ("64 KiB text", text_messages(65536, 40)),
    ]
    for label, msgs in workloads:
        t = measure(kinds, msgs, runs)
        for op in ("encode", "decode"):
            us = {k: t[(op, k)] * 1e6 for k in kinds}
            cells = " | ".join(f"{us[k]:.2f}" for k in kinds)
            print(f"| {label} | {op} | {cells} | {us['websockets'] / us['pmd']:.2f} | "
                  f"{us['websockets'] / us['pmd+adapter']:.2f} |")
    print(f"\npass-through (ping encode, no zlib): {time_passthrough(runs) * 1e6:.2f} µs per call")


if __name__ == "__main__":
    main()
