"""The C echo server under load, and its memory after each round (issue #8).

Starts examples-c/ws_echo_server on loopback and runs rounds of
concurrent Python websockets clients against it, all with
permessage-deflate at window bits 9, 12 or 15 (both directions), each
sending messages of random sizes up to 300 KB, a third of them random
bytes and the rest text, and checking every echo byte for byte. After
each round, once the server holds no connection, its resident set size
(VmRSS) is read, with the CPU time the server spent in the round; every
round must end within 10 % of the first.

    echo_rss.py SERVER [--connections N] [--messages M] [--rounds R]
                       [--mmap-threshold N] [--malloc-cache]
                       [--no-malloc-caches] [--hold] [--no-deflate]

The server runs with its own default memory policy: glibc's per-thread
cache of small freed blocks off (it re-executes itself with
GLIBC_TUNABLES), and --mmap-threshold 4096 (blocks from 4 KiB up get their
own mapping, given back when freed). --mmap-threshold N passes another
value, 0 leaves glibc's threshold as configured; --malloc-cache keeps the
per-thread cache on, where a small freed block cached high in the heap
keeps the heap below it resident (docs/memory-under-load.md).
--no-malloc-caches sets GLIBC_TUNABLES here, turning fast bins off as
well as the per-thread cache.
--hold keeps every connection open until all have finished their
messages, so that all their buffers are live at once. --no-deflate starts
the server with --no-deflate (the clients then send uncompressed), to
measure the server's own buffers alone.

Exits 0 when every echo came back intact and RSS held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time

from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)

MAX_MESSAGE = 300_000
WINDOWS = (9, 12, 15)
TOLERANCE = 0.10
NO_MALLOC_CACHES = "glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0"

WORDS = (
    "the quick brown fox jumps over a lazy dog while permessage deflate compresses "
    "every websocket message with zlib and a sliding window of up to thirty two "
    "kilobytes {\"id\": 17, \"type\": \"text\", \"payload\": [1, 2, 3]} server client"
).split()


def text_corpus(size: int) -> bytes:
    rng = random.Random(1)
    out = []
    total = 0
    while total < size:
        w = rng.choice(WORDS) + (" " if rng.random() < 0.9 else "\n")
        out.append(w)
        total += len(w)
    return "".join(out).encode()


def vm_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def rss_parts_kib(pid: int) -> str:
    """RssAnon / RssFile: heap and mappings, and pages of mapped files (code)."""
    parts = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("RssAnon", "RssFile"):
                parts[key] = int(line.split()[1])
    return f"anon {parts['RssAnon']} + file {parts['RssFile']}"


def vm_hwm_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Round:
    def __init__(self, port: int, number: int, args, corpus: bytes) -> None:
        self.port = port
        self.number = number
        self.args = args
        self.corpus = corpus
        self.all_done = asyncio.Barrier(args.connections) if args.hold else None

    async def client(self, index: int) -> int:
        """One connection; returns the payload bytes echoed."""
        rng = random.Random(self.number * 100_003 + index)
        bits = WINDOWS[index % len(WINDOWS)]
        factory = ClientPerMessageDeflateFactory(
            server_max_window_bits=bits, client_max_window_bits=bits
        )
        echoed = 0
        async with connect(
            f"ws://127.0.0.1:{self.port}/",
            extensions=[factory],
            max_size=2 * MAX_MESSAGE,
            open_timeout=120,
            close_timeout=60,
            ping_interval=None,
        ) as ws:
            exts = ws.protocol.extensions
            if self.args.no_deflate:
                wanted = exts == []
            else:
                wanted = (
                    len(exts) == 1
                    and isinstance(exts[0], PerMessageDeflate)
                    and exts[0].local_max_window_bits == bits
                    and exts[0].remote_max_window_bits == bits
                )
            if not wanted:
                raise AssertionError(f"connection {index}: negotiated {exts!r} (window bits {bits} wanted)")
            for m in range(self.args.messages):
                size = rng.randrange(MAX_MESSAGE + 1)
                if rng.random() < 1 / 3:
                    data = rng.randbytes(size)
                else:
                    start = rng.randrange(len(self.corpus) - size)
                    data = self.corpus[start : start + size]
                await ws.send(data)
                echo = await ws.recv()
                if echo != data:
                    raise AssertionError(
                        f"connection {index} (window bits {bits}), message {m}: "
                        f"sent {size} bytes, echo of {len(echo)} differs"
                    )
                echoed += size
            if self.all_done is not None:
                await self.all_done.wait()
        return echoed

    async def run(self) -> int:
        results = await asyncio.gather(
            *(self.client(i) for i in range(self.args.connections)),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            for f in failures[:10]:
                print(f"  failure: {f!r}", file=sys.stderr)
            raise SystemExit(
                f"round {self.number + 1}: {len(failures)} of {self.args.connections} connections failed"
            )
        return sum(results)


def wait_idle(pid: int, idle_fds: int, timeout: float = 60.0) -> None:
    """Waits until the server holds no connection (only its idle fds)."""
    deadline = time.monotonic() + timeout
    while open_fds(pid) > idle_fds:
        if time.monotonic() > deadline:
            raise SystemExit(f"server still holds {open_fds(pid) - idle_fds} connections after {timeout} s")
        time.sleep(0.05)
    time.sleep(0.2)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--connections", type=int, default=400)
    ap.add_argument("--messages", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mmap-threshold", type=int, default=None)
    ap.add_argument("--no-malloc-caches", action="store_true")
    ap.add_argument("--malloc-cache", action="store_true")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--no-deflate", action="store_true")
    args = ap.parse_args()

    env = dict(os.environ)
    if args.no_malloc_caches:
        env["GLIBC_TUNABLES"] = NO_MALLOC_CACHES
    command = [args.server, "--port", "0", "--quiet"] + (["--no-deflate"] if args.no_deflate else [])
    if args.mmap_threshold is not None:
        command += ["--mmap-threshold", str(args.mmap_threshold)]
    if args.malloc_cache:
        command += ["--malloc-cache"]
    corpus = text_corpus(4 * MAX_MESSAGE)
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            raise SystemExit(f"server did not start: {line!r}")
        port = int(line.split()[2])
        idle_fds = open_fds(server.pid)
        if args.no_malloc_caches:
            caches = "off (per-thread cache and fast bins, by GLIBC_TUNABLES)"
        elif args.malloc_cache:
            caches = "on (--malloc-cache)"
        else:
            caches = "as the server sets them (per-thread cache off)"
        print(
            f"server pid {server.pid} on port {port}: {args.rounds} rounds of {args.connections} concurrent "
            f"connections, {'no compression' if args.no_deflate else 'window bits 9/12/15'}, "
            f"{args.messages} messages each up to {MAX_MESSAGE} bytes"
            f"{', held open until all are done' if args.hold else ''}; "
            f"server's --mmap-threshold {'default' if args.mmap_threshold is None else args.mmap_threshold}, "
            f"glibc's caches {caches}; "
            f"RSS at start {vm_rss_kib(server.pid)} KiB"
        )
        rss = []
        for r in range(args.rounds):
            t = time.monotonic()
            cpu = cpu_seconds(server.pid)
            echoed = asyncio.run(Round(port, r, args, corpus).run())
            wait_idle(server.pid, idle_fds)
            rss.append(vm_rss_kib(server.pid))
            print(
                f"round {r + 1}: {args.connections * args.messages} messages, {echoed} bytes echoed intact "
                f"in {time.monotonic() - t:.1f} s; server CPU {cpu_seconds(server.pid) - cpu:.2f} s, "
                f"RSS with no connection {rss[-1]} KiB ({rss_parts_kib(server.pid)})"
            )
            sys.stdout.flush()
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        print(f"server peak RSS {vm_hwm_kib(server.pid)} KiB")
    finally:
        server.kill()
        server.wait()
    limit = rss[0] * (1 + TOLERANCE)
    grown = [(i + 1, v) for i, v in enumerate(rss) if v > limit]
    if grown:
        print(f"FAIL: RSS after round(s) {grown} exceeds {limit:.0f} KiB (round 1 + {TOLERANCE:.0%})")
        return 1
    print(f"RSS held: every round within {limit - rss[0]:.0f} KiB of round 1 ({rss[0]} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
