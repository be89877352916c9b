"""A WebSocket client written by hand over an asyncio stream, for the
clients the soak cannot make with the websockets library: hostile ones
that send broken frames on purpose, and the honest one that compresses
for an agreed 8-bit window.

Frames are built byte by byte as RFC 6455 section 5.2 draws them; the
compressed payloads are raw DEFLATE with the 00 00 ff ff tail removed
(RFC 7692 section 7.2.1), made with Python's zlib.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import hashlib
import os
import socket
import struct
import zlib

from websockets.frames import apply_mask

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TAIL = b"\x00\x00\xff\xff"

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10


def frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False, rsv2: bool = False,
          rsv3: bool = False, length: int | None = None) -> bytes:
    """One masked client frame. `length` overrides the length field (the
    payload then need not be that long)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0) | opcode
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    key = os.urandom(4)
    return head + key + apply_mask(payload, key)


def deflate(compressor, data: bytes, final: bool = True) -> bytes:
    """data compressed and sync-flushed; the 00 00 ff ff tail removed when
    it ends the message (final), kept in the frames before (RFC 7692
    section 7.2.1 removes it from the end of the message only)."""
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4] if final else out


def parse_extensions(value: str | None) -> dict[str, str | None] | None:
    """The parameters of a permessage-deflate response, or None without one."""
    if not value:
        return None
    parts = [p.strip() for p in value.split(";")]
    if parts[0] != "permessage-deflate":
        raise AssertionError(f"unexpected extension response {value!r}")
    params = {}
    for p in parts[1:]:
        name, _, v = p.partition("=")
        params[name.strip()] = v.strip() or None
    return params


# The clients opened by the current task (see owned_clients), so that
# whoever ran a client closes its socket whatever happened in it.
_OWNED: contextvars.ContextVar[list | None] = contextvars.ContextVar("owned", default=None)


def owned_clients() -> list:
    """A list that collects every RawClient the current task opens from now on."""
    owned: list = []
    _OWNED.set(owned)
    return owned


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 extension: dict | None) -> None:
        self.reader = reader
        self.writer = writer
        self.extension = extension
        owned = _OWNED.get()
        if owned is not None:
            owned.append(self)

    @classmethod
    async def connect(cls, port: int, offer: str | None) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer, None)
        key = base64.b64encode(os.urandom(16))
        head = (
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (port, key)
        )
        if offer is not None:
            head += b"Sec-WebSocket-Extensions: " + offer.encode() + b"\r\n"
        writer.write(head + b"\r\n")
        response = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        if not response[0].startswith("HTTP/1.1 101"):
            raise AssertionError(f"handshake refused: {response[0]!r}")
        headers = {}
        for line in response[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise AssertionError("bad Sec-WebSocket-Accept")
        client.extension = parse_extensions(headers.get("sec-websocket-extensions"))
        return client

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_frame(self) -> tuple[int, bool, bool, bytes]:
        """(opcode, fin, rsv1, payload) of the server's next frame; raises
        asyncio.IncompleteReadError at EOF."""
        b0, b1 = await self.reader.readexactly(2)
        if b0 & 0x30 or b1 & 0x80:
            raise AssertionError(f"server frame with RSV2/RSV3 or a mask: {b0:#x} {b1:#x}")
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return b0 & 0x0F, bool(b0 & 0x80), bool(b0 & 0x40), await self.reader.readexactly(n)

    async def read_close(self) -> int | None:
        """Reads frames up to the server's close frame; returns its code
        (1005 for an empty body), or None when the server closed TCP first."""
        while True:
            try:
                opcode, _, _, payload = await self.read_frame()
            except (asyncio.IncompleteReadError, ConnectionResetError):
                return None
            if opcode == CLOSE:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005

    async def read_eof(self) -> bool:
        """Reads until the server closes TCP; True when it sent no frame before."""
        got_frames = False
        try:
            while True:
                await self.read_frame()
                got_frames = True
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return not got_frames

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        """Vanishes: closes the socket with a reset (SO_LINGER 0)."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()
