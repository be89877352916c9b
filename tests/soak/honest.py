"""An honest client of the soak: Python websockets (the reference peer)
with one of the offers of offers.py, sending random messages, some of
them fragmented, and checking that each echo comes back byte for byte."""

from __future__ import annotations

import random

from websockets.asyncio.client import connect

from gate import Gate
from offers import Offer
from payloads import MAX_MESSAGE, fragments, message


async def honest(port: int, offer: Offer, rng: random.Random, count: int, corpus: str,
                 gate: Gate) -> tuple[int, int, int]:
    """Returns (messages, fragmented messages, payload bytes) echoed intact."""
    echoed = fragmented = nbytes = 0
    arrived = False
    try:
        async with connect(
            f"ws://127.0.0.1:{port}/",
            extensions=offer.factories(),
            compression=None,
            max_size=2 * MAX_MESSAGE,  # a compressed frame of random bytes is a little larger
            open_timeout=120,
            close_timeout=60,
            ping_interval=None,
        ) as ws:
            offer.check(ws.protocol.extensions)
            for m in range(count):
                data = message(rng, corpus)
                pieces = fragments(rng, data)
                await ws.send(data if pieces is None else pieces)
                echo = await ws.recv()
                if echo != data:
                    raise AssertionError(
                        f"{offer.label()}, message {m}: sent {type(data).__name__} of {len(data)} "
                        f"in {len(pieces) if pieces else 1} frames, echo {type(echo).__name__} of {len(echo)} differs"
                    )
                echoed += 1
                fragmented += pieces is not None
                nbytes += len(data.encode() if isinstance(data, str) else data)
            arrived = True
            await gate.arrive()
        if ws.close_code != 1000:
            raise AssertionError(f"{offer.label()}: closed with {ws.close_code}")
    finally:
        if not arrived:
            gate.leave()
    return echoed, fragmented, nbytes
