"""The hostile clients of the soak, one function per kind, each written
by hand over a raw socket (rawws.py), and the result the server must
give each: the close code it must send (RFC 6455 section 7.4.1, as
docs/errors.md and docs/frames.md document them), "eof" when it must
close TCP without a close frame (the peer's half of the connection is
gone), or "gone" when the peer vanished and only the server's
connection count can tell that it was cleaned up.

Most kinds first exchange 0 to 2 valid compressed messages, so that the
attack lands on a stream with history as well as on a fresh one.
"""

from __future__ import annotations

import asyncio
import random
import struct
import zlib

from rawws import BINARY, CONT, PING, TAIL, TEXT, RawClient, deflate, frame, owned_clients

MAX_SIZE = 1 << 20           # the server's --max-size in the soak


def random_offer(rng: random.Random) -> str:
    """A permessage-deflate offer with random parameters. Whatever the
    client window agreed, a 9-bit zlib compressor fits it (never further
    back than 250 bytes)."""
    offer = "permessage-deflate"
    if rng.random() < 0.5:
        offer += f"; server_max_window_bits={rng.randrange(8, 16)}"
    if rng.random() < 0.5:
        offer += f"; client_max_window_bits={rng.randrange(8, 16)}"
    if rng.random() < 0.3:
        offer += "; server_no_context_takeover"
    if rng.random() < 0.3:
        offer += "; client_no_context_takeover"
    return offer


class Deflating:
    """A connection with permessage-deflate, and a few valid messages sent."""

    def __init__(self, ws: RawClient) -> None:
        self.ws = ws
        self.compressor = zlib.compressobj(wbits=-9)
        self.inflater = zlib.decompressobj(wbits=-15)

    @classmethod
    async def open(cls, port: int, rng: random.Random, warm_up: bool = True) -> Deflating:
        ws = await RawClient.connect(port, random_offer(rng))
        if ws.extension is None:
            raise AssertionError("permessage-deflate was not negotiated")
        self = cls(ws)
        for _ in range(rng.randrange(3) if warm_up else 0):
            await self.exchange(rng.randbytes(rng.randrange(1, 3000)))
        return self

    async def exchange(self, data: bytes) -> None:
        # A fresh compressor per message: valid with or without context takeover.
        self.compressor = zlib.compressobj(wbits=-9)
        await self.ws.send(frame(BINARY, deflate(self.compressor, data), rsv1=True))
        opcode, fin, rsv1, payload = await self.ws.read_frame()
        if (opcode, fin) != (BINARY, True):
            raise AssertionError(f"echo frame opcode {opcode} fin {fin}")
        # One inflater at 15 bits decodes any server window, with or without
        # context takeover; a small message may come back uncompressed.
        echo = self.inflater.decompress(payload + TAIL) if rsv1 else payload
        if echo != data:
            raise AssertionError("warm-up echo differs")


def fixed_block_far_distance() -> bytes:
    """A final fixed-Huffman block whose first symbol is a match of length 3
    at distance 1: nothing precedes it, so it reaches beyond the window."""
    bits = [1, 1, 0]                       # BFINAL, BTYPE 01 (LSB first)
    bits += [0, 0, 0, 0, 0, 0, 1]          # literal/length 257 (7-bit code 0000001)
    bits += [0, 0, 0, 0, 0]                # distance code 0: distance 1
    bits += [0] * 7                        # end of block, 256
    out = bytearray((len(bits) + 7) // 8)
    for i, b in enumerate(bits):
        out[i // 8] |= b << (i % 8)
    return bytes(out)


_BOMB: bytes | None = None


def bomb() -> bytes:
    """64 MiB of zeros, compressed (about 64 KB): 64 times the server's max size."""
    global _BOMB
    if _BOMB is None:
        _BOMB = deflate(zlib.compressobj(wbits=-9), bytes(64 << 20))
    return _BOMB


async def corrupt_block_type(port: int, rng: random.Random) -> int | None:
    d = await Deflating.open(port, rng)
    c = zlib.compressobj(wbits=-9)
    await d.ws.send(frame(BINARY, deflate(c, rng.randbytes(100)) + b"\x07\x00", rsv1=True))
    return await d.ws.read_close()


async def corrupt_stored_length(port: int, rng: random.Random) -> int | None:
    d = await Deflating.open(port, rng)
    payload = b"\x00" + struct.pack("<HH", 16, 0x1234) + bytes(16)
    await d.ws.send(frame(BINARY, payload, rsv1=True))
    return await d.ws.read_close()


async def corrupt_distance(port: int, rng: random.Random) -> int | None:
    d = await Deflating.open(port, rng, warm_up=False)
    await d.ws.send(frame(BINARY, fixed_block_far_distance(), rsv1=True))
    return await d.ws.read_close()


async def corrupt_truncated(port: int, rng: random.Random) -> int | None:
    d = await Deflating.open(port, rng)
    payload = b"\x00" + struct.pack("<HH", 1000, 1000 ^ 0xFFFF) + rng.randbytes(10)
    await d.ws.send(frame(TEXT, payload, rsv1=True))
    return await d.ws.read_close()


async def bomb_one_frame(port: int, rng: random.Random) -> int | None:
    d = await Deflating.open(port, rng)
    await d.ws.send(frame(BINARY, bomb(), rsv1=True))
    return await d.ws.read_close()


async def bomb_fragmented(port: int, rng: random.Random) -> int | None:
    """100 frames of 64 KiB of zeros each: 6.25 MiB in about 7 KB."""
    d = await Deflating.open(port, rng)
    c = zlib.compressobj(wbits=-9)
    chunk = bytes(64 << 10)
    out = b"".join(
        frame(BINARY if i == 0 else CONT, deflate(c, chunk, final=i == 99), fin=i == 99, rsv1=i == 0)
        for i in range(100)
    )
    await d.ws.send(out)
    return await d.ws.read_close()


async def corrupt_fragment_tails(port: int, rng: random.Random) -> int | None:
    """A fragmented message whose every fragment lost its 00 00 ff ff
    tail: the next fragment's bytes are read as a stored block's lengths."""
    d = await Deflating.open(port, rng)
    c = zlib.compressobj(wbits=-9)
    out = b"".join(
        frame(BINARY if i == 0 else CONT, deflate(c, rng.randbytes(200)), fin=i == 3, rsv1=i == 0) for i in range(4)
    )
    await d.ws.send(out)
    return await d.ws.read_close()


async def oversize_frame(port: int, rng: random.Random) -> int | None:
    """An uncompressed frame announcing 100 MiB: refused from its header."""
    d = await Deflating.open(port, rng)
    await d.ws.send(frame(BINARY, rng.randbytes(1000), length=100 << 20))
    return await d.ws.read_close()


async def rsv1_continuation(port: int, rng: random.Random) -> int | None:
    d = await Deflating.open(port, rng)
    c = zlib.compressobj(wbits=-9)
    first = frame(BINARY, deflate(c, b"first half ", final=False), fin=False, rsv1=True)
    await d.ws.send(first + frame(CONT, deflate(c, b"second half"), rsv1=True))
    return await d.ws.read_close()


async def rsv2_data(port: int, rng: random.Random) -> int | None:
    d = await Deflating.open(port, rng)
    await d.ws.send(frame(BINARY, b"plain", rsv2=True))
    return await d.ws.read_close()


async def rsv3_data(port: int, rng: random.Random) -> int | None:
    d = await Deflating.open(port, rng)
    c = zlib.compressobj(wbits=-9)
    await d.ws.send(frame(TEXT, deflate(c, b"compressed"), rsv1=True, rsv3=True))
    return await d.ws.read_close()


async def rsv1_ping(port: int, rng: random.Random) -> int | None:
    d = await Deflating.open(port, rng)
    await d.ws.send(frame(PING, b"ping", rsv1=True))
    return await d.ws.read_close()


async def rsv1_without_deflate(port: int, rng: random.Random) -> int | None:
    ws = await RawClient.connect(port, None)
    if ws.extension is not None:
        raise AssertionError("an extension was negotiated without an offer")
    c = zlib.compressobj(wbits=-9)
    await ws.send(frame(BINARY, deflate(c, b"compressed without agreement"), rsv1=True))
    return await ws.read_close()


def _partial_frame(rng: random.Random, compressor) -> bytes:
    """A compressed frame cut in the middle of its payload."""
    whole = frame(BINARY, deflate(compressor, rng.randbytes(5000)), rsv1=True)
    return whole[: rng.randrange(1, len(whole) - 1)]


async def half_close_mid_frame(port: int, rng: random.Random) -> bool:
    d = await Deflating.open(port, rng)
    await d.ws.send(_partial_frame(rng, zlib.compressobj(wbits=-9)))
    d.ws.writer.write_eof()
    return await d.ws.read_eof()


async def half_close_mid_message(port: int, rng: random.Random) -> bool:
    d = await Deflating.open(port, rng)
    c = zlib.compressobj(wbits=-9)
    await d.ws.send(frame(BINARY, deflate(c, rng.randbytes(3000), final=False), fin=False, rsv1=True))
    d.ws.writer.write_eof()
    return await d.ws.read_eof()


async def vanish_mid_frame(port: int, rng: random.Random) -> None:
    d = await Deflating.open(port, rng)
    await d.ws.send(_partial_frame(rng, zlib.compressobj(wbits=-9)))
    d.ws.abort()


async def vanish_mid_handshake(port: int, rng: random.Random) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    client = RawClient(reader, writer, None)
    writer.write(request[: rng.randrange(1, len(request) - 1)])
    await writer.drain()
    client.abort()


# kind: (what the server must do, the client)
KINDS = {
    "corrupt_block_type": (1007, corrupt_block_type),
    "corrupt_stored_length": (1007, corrupt_stored_length),
    "corrupt_distance": (1007, corrupt_distance),
    "corrupt_truncated": (1007, corrupt_truncated),
    "corrupt_fragment_tails": (1007, corrupt_fragment_tails),
    "bomb_one_frame": (1009, bomb_one_frame),
    "bomb_fragmented": (1009, bomb_fragmented),
    "oversize_frame": (1009, oversize_frame),
    "rsv1_continuation": (1002, rsv1_continuation),
    "rsv2_data": (1002, rsv2_data),
    "rsv3_data": (1002, rsv3_data),
    "rsv1_ping": (1002, rsv1_ping),
    "rsv1_without_deflate": (1002, rsv1_without_deflate),
    "half_close_mid_frame": ("eof", half_close_mid_frame),
    "half_close_mid_message": ("eof", half_close_mid_message),
    "vanish_mid_frame": ("gone", vanish_mid_frame),
    "vanish_mid_handshake": ("gone", vanish_mid_handshake),
}


async def run_kind(kind: str, port: int, rng: random.Random) -> str:
    """Runs one hostile client; returns what the server did, as the
    expected value of KINDS reads: the close code, "eof", "gone", or a
    description of something else."""
    expected, client = KINDS[kind]
    owned = owned_clients()
    try:
        result = await client(port, rng)
    except (AssertionError, OSError, asyncio.IncompleteReadError) as e:
        return f"error {e!r}"
    finally:
        for ws in owned:
            ws.close()
    if expected == "gone":
        return "gone"
    if expected == "eof":
        return "eof" if result else "frames before EOF"
    return "no close frame" if result is None else str(result)
