"""The honest client websockets cannot be: it offers
client_max_window_bits=8 (with a random server window and
no_context_takeover flags), compresses with zlib at 9 bits, which never
reaches back beyond 250 bytes (docs/window-bits-8.md), fragments some
messages, and checks every echo byte for byte, inflating the server's
frames with exactly the window it agreed to use."""

from __future__ import annotations

import random
import zlib

from gate import Gate
from payloads import fragments, message
from rawws import BINARY, CONT, TAIL, TEXT, RawClient, deflate, frame, owned_clients


def offer_for(rng: random.Random) -> tuple[str, int, bool, bool]:
    server_bits = rng.choice([None, *range(8, 16)])
    snct, cnct = rng.random() < 0.5, rng.random() < 0.5
    offer = "permessage-deflate; client_max_window_bits=8"
    if server_bits:
        offer += f"; server_max_window_bits={server_bits}"
    if snct:
        offer += "; server_no_context_takeover"
    if cnct:
        offer += "; client_no_context_takeover"
    return offer, server_bits, snct, cnct


async def honest_raw(port: int, rng: random.Random, count: int, corpus: str,
                     gate: Gate) -> tuple[int, int, int]:
    """Returns (messages, fragmented messages, payload bytes) echoed intact."""
    offer, offered_bits, snct, cnct = offer_for(rng)
    server_bits = offered_bits or 15
    echoed = fragmented = nbytes = 0
    arrived = False
    owned = owned_clients()
    try:
        ws = await RawClient.connect(port, offer)
        want = {"client_max_window_bits": "8"}
        if offered_bits:
            want["server_max_window_bits"] = str(offered_bits)
        if snct:
            want["server_no_context_takeover"] = None
        if cnct:
            want["client_no_context_takeover"] = None
        if ws.extension != want:
            raise AssertionError(f"offer {offer!r}: response {ws.extension!r}, wanted {want!r}")
        compressor = zlib.compressobj(wbits=-9)
        inflater = zlib.decompressobj(wbits=-server_bits)
        for m in range(count):
            data = message(rng, corpus)
            raw = data.encode() if isinstance(data, str) else data
            pieces = fragments(rng, raw) or [raw]
            if cnct:
                compressor = zlib.compressobj(wbits=-9)
            out = b""
            for i, piece in enumerate(pieces):
                opcode = (TEXT if isinstance(data, str) else BINARY) if i == 0 else CONT
                last = i == len(pieces) - 1
                out += frame(opcode, deflate(compressor, piece, final=last), fin=last, rsv1=i == 0)
            await ws.send(out)
            payload, rsv1 = b"", None
            while True:
                opcode, fin, r1, part = await ws.read_frame()
                rsv1 = r1 if rsv1 is None else rsv1
                payload += part
                if fin:
                    break
            if not rsv1:
                echo = payload          # the server may send a small message uncompressed
            else:
                if snct:
                    inflater = zlib.decompressobj(wbits=-server_bits)
                echo = inflater.decompress(payload + TAIL)
            if echo != raw:
                raise AssertionError(f"offer {offer!r}, message {m}: sent {len(raw)} bytes, echo of {len(echo)} differs")
            echoed += 1
            fragmented += len(pieces) > 1
            nbytes += len(raw)
        arrived = True
        await gate.arrive()
        await ws.send(frame(8, b"\x03\xe8"))
        code = await ws.read_close()
        ws.close()
        if code != 1000:
            raise AssertionError(f"offer {offer!r}: server answered our close with {code}")
    finally:
        if not arrived:
            gate.leave()
        for c in owned:
            c.close()
    return echoed, fragmented, nbytes
