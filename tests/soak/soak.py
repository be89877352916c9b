"""The soak: examples-c/ws_echo_server under thousands of concurrent
connections over loopback, honest and hostile, round after round.

Each round opens, all at once, N honest Python websockets connections
(every offer of offers.py in turn: no offer, a plain offer, windows 8..15
on the server side and novalue or 9..15 on the client side, either
no_context_takeover), a few dozen honest raw clients offering
client_max_window_bits=8 (honest_raw.py), and hostile clients of every
kind of hostile.py, started at random moments in the first seconds. The
honest ones send random messages (payloads.py: up to 1 MiB, text or
random bytes, 40 % fragmented) and check every echo byte for byte, then
wait until all honest ones are done, so that all are open at once.

After each round, once the server holds no connection (its descriptors
back to the idle count), the soak reads its RSS and the CPU time it
spent. It fails when an honest message is not echoed intact, a hostile
connection is not closed with its close code (or closed by TCP for a
half-closed socket), a connection is left behind, the server dies, or
its RSS after a later round exceeds round 1's by more than the
tolerance.

    soak.py SERVER [--minutes M] [--connections N] [--messages K]
                   [--hostile-per-kind H] [--raw8 R] [--seed S]
                   [--malloc-caches]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import resource
import sys
import time

from gate import Gate
from honest import honest
from honest_raw import honest_raw
from hostile import KINDS, MAX_SIZE, run_kind
from offers import Offer, all_offers
from payloads import MAX_MESSAGE, text_corpus
from server_proc import Server

TOLERANCE = 0.10
ALLOWANCE_KIB = 1024
CONNECTION_TIMEOUT = 600.0
HOSTILE_SPREAD = 5.0         # hostile clients start within this many seconds


class Totals:
    def __init__(self) -> None:
        self.connections = 0
        self.messages = 0
        self.fragmented = 0
        self.bytes = 0
        self.by_offer: collections.Counter = collections.Counter()
        self.hostile: dict[str, collections.Counter] = {k: collections.Counter() for k in KINDS}
        self.failures: list[str] = []


async def timed(coro, what: str):
    try:
        return await asyncio.wait_for(coro, CONNECTION_TIMEOUT)
    except asyncio.TimeoutError:
        raise AssertionError(f"{what}: no result within {CONNECTION_TIMEOUT:.0f} s") from None


async def delayed_hostile(kind: str, port: int, rng: random.Random) -> str:
    await asyncio.sleep(rng.random() * HOSTILE_SPREAD)
    return await run_kind(kind, port, rng)


async def one_round(server: Server, number: int, args, corpus: str, offers: list[Offer], totals: Totals) -> int:
    """Runs one round; returns the connections the server held at once."""
    gate = Gate(args.connections + args.raw8, server.connections)
    seed = args.seed * 1_000_003 + number * 10_007
    jobs, labels = [], []
    for i in range(args.connections):
        offer = offers[(number * args.connections + i) % len(offers)]
        jobs.append(timed(honest(server.port, offer, random.Random(seed + i), args.messages, corpus, gate), offer.label()))
        labels.append(("honest", offer.label()))
    for i in range(args.raw8):
        rng = random.Random(seed + args.connections + i)
        jobs.append(timed(honest_raw(server.port, rng, args.messages, corpus, gate), "client_max_window_bits=8"))
        labels.append(("honest", "pmd,c8 (raw client)"))
    hostile_rng = random.Random(seed - 1)
    for kind in KINDS:
        for _ in range(args.hostile_per_kind):
            rng = random.Random(hostile_rng.getrandbits(64))
            jobs.append(timed(delayed_hostile(kind, server.port, rng), kind))
            labels.append(("hostile", kind))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    for (role, name), result in zip(labels, results):
        totals.connections += 1
        if isinstance(result, BaseException):
            totals.failures.append(f"round {number + 1}, {role} {name}: {result!r}")
        elif role == "honest":
            messages, fragmented, nbytes = result
            totals.messages += messages
            totals.fragmented += fragmented
            totals.bytes += nbytes
            totals.by_offer[name] += 1
        else:
            totals.hostile[name][result] += 1
            if result != str(KINDS[name][0]):
                totals.failures.append(f"round {number + 1}, hostile {name}: server gave {result}, wanted {KINDS[name][0]}")
    return gate.held


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--min-rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--messages", type=int, default=1)
    ap.add_argument("--hostile-per-kind", type=int, default=12)
    ap.add_argument("--raw8", type=int, default=40)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--malloc-caches", action="store_true")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)

    total = args.connections + args.raw8 + args.hostile_per_kind * len(KINDS)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * total + 256
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise SystemExit(f"open-file limit {hard} is below the {need} the soak needs")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    offers = all_offers()
    corpus = text_corpus(2 * MAX_MESSAGE)
    server = Server(args.server, MAX_SIZE, args.malloc_caches)
    totals = Totals()
    rss: list[int] = []
    start = time.monotonic()
    print(
        f"soak: server pid {server.pid} port {server.port}, --max-size {MAX_SIZE}, glibc caches "
        f"{'on' if args.malloc_caches else 'off'}; each round {args.connections} websockets clients "
        f"({len(offers)} offers in turn) + {args.raw8} raw clients with client_max_window_bits=8, "
        f"{args.messages} messages each up to {MAX_MESSAGE} bytes, + {args.hostile_per_kind} hostile "
        f"clients of each of {len(KINDS)} kinds; {args.minutes} minutes, at least {args.min_rounds} rounds; "
        f"seed {args.seed}; RSS at start {server.rss_kib()} KiB",
        flush=True,
    )
    try:
        number = 0
        while number < args.min_rounds or time.monotonic() - start < args.minutes * 60:
            t = time.monotonic()
            cpu = server.cpu()
            before = (totals.messages, totals.bytes, len(totals.failures))
            held = asyncio.run(one_round(server, number, args, corpus, offers, totals))
            print(
                f"round {number + 1}: {total} connections ({held} held by the server at once), "
                f"{totals.messages - before[0]} messages / {totals.bytes - before[1]} bytes echoed intact, "
                f"{len(totals.failures) - before[2]} failures, in {time.monotonic() - t:.1f} s; ",
                end="",
                flush=True,
            )
            for f in totals.failures[before[2] :][:10]:
                print(f"\n  {f}", end="", file=sys.stderr, flush=True)
            if not server.alive():
                raise SystemExit(f"round {number + 1}: server exited with {server.proc.returncode}")
            idle_after = server.wait_idle(60)
            cpu_round = server.cpu() - cpu
            rss.append(server.rss_kib())
            held_now, accepted = server.stats()
            if held_now != 0:
                totals.failures.append(f"round {number + 1}: the server reports {held_now} connections left")
            print(
                f"server CPU {cpu_round:.1f} s; idle {idle_after:.1f} s after the last client, "
                f"{held_now} connections left of {accepted} accepted; RSS with no connection {rss[-1]} KiB "
                f"(heap, anonymous mappings: "
                f"{server.heap_kib()} KiB); peak so far {server.peak_kib()} KiB",
                flush=True,
            )
            if held < args.connections + args.raw8 and len(totals.failures) == before[2]:
                totals.failures.append(f"round {number + 1}: server held only {held} connections at once")
            number += 1
        # Still answering after all that.
        gate = Gate(1, server.connections)
        check = asyncio.run(honest(server.port, Offer(True), random.Random(0), 3, corpus, gate))
        if check[0] != 3:
            totals.failures.append("the server did not answer a last honest connection")
        server.wait_idle(60)
        if not server.alive():
            raise SystemExit(f"server exited with {server.proc.returncode}")
        elapsed = time.monotonic() - start
        cpu_total = server.cpu()
    finally:
        server.stop()

    print(
        f"total: {number} rounds in {elapsed:.0f} s, {totals.connections} connections, "
        f"{totals.messages} honest messages ({totals.fragmented} fragmented), {totals.bytes} bytes echoed "
        f"intact; server CPU {cpu_total:.1f} s; RSS with no connection per round (KiB) {rss}"
    )
    print(f"honest connections by offer: {len(totals.by_offer)} offers, "
          f"{min(totals.by_offer.values()) if totals.by_offer else 0} to "
          f"{max(totals.by_offer.values()) if totals.by_offer else 0} connections each")
    for kind, outcomes in totals.hostile.items():
        print(f"hostile {kind}: wanted {KINDS[kind][0]}, got {dict(outcomes)}")
    ok = True
    unused = [o.label() for o in offers if o.label() not in totals.by_offer]
    if unused:
        totals.failures.append(f"{len(unused)} offers never tried (--connections below {len(offers)}?): {unused[:5]}")
    if totals.failures:
        ok = False
        print(f"FAIL: {len(totals.failures)} failures", file=sys.stderr)
        for f in totals.failures[:20]:
            print(f"  {f}", file=sys.stderr)
    limit = rss[0] + max(rss[0] * TOLERANCE, ALLOWANCE_KIB)
    grown = [(i + 1, v) for i, v in enumerate(rss) if v > limit]
    if grown:
        ok = False
        print(f"FAIL: RSS after round(s) {grown} exceeds {limit:.0f} KiB (round 1 + {TOLERANCE:.0%} or {ALLOWANCE_KIB} KiB)")
    else:
        print(f"RSS held: every round within {limit - rss[0]:.0f} KiB of round 1 ({rss[0]} KiB)")
    print("soak passed" if ok else "soak FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
