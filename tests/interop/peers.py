"""Python peers for the interop tests: websockets and Autobahn|Python,
each as an echo client (against our C server) or an echo server (against
our C client).

    python peers.py websockets-client '{"url": ..., ...}'
    python peers.py autobahn-server   '{"port": 0, ...}'

Clients print one JSON line with the outcome; servers print
"listening on PORT" and serve until killed. The configuration keys are
documented in interop.py (the driver).
"""

import asyncio
import json
import sys

SIZES = [0, 1, 125, 126, 65535, 65536, 1048576]
WORDS = ["permessage", "deflate", "window", "bits", "context", "takeover",
         "caf\u00e9", "\u20ac", "\U0001d11e", "\u03bb"]


def payload(size, text, seed):
    """Deterministic data of exactly `size` bytes (valid UTF-8 for text)."""
    x = (2463534242 ^ seed) & 0xFFFFFFFF
    out = bytearray()

    def step():
        nonlocal x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        return x

    if text:
        while len(out) < size:
            w = (WORDS[step() % len(WORDS)] + " ").encode()
            if len(w) > size - len(out):
                out += b"a" * (size - len(out))
            else:
                out += w
        return out.decode()
    # binary: runs of pseudo-random bytes and of repeated bytes
    r = seed.to_bytes(4, "big") * 64
    while len(out) < size:
        v = step()
        run = min(1 + (v >> 8) % 64, size - len(out))
        out += bytes([(v >> 24) & 0xFF]) * run if v & 1 == 0 else r[: run]
        r = r[run:] + r[:run]
    return bytes(out)


def cases(fragment):
    seed = 1
    for size in SIZES:
        for text in (True, False):
            for frag in ((False, True) if fragment else (False,)):
                yield size, text, frag, seed
                seed += 1


def split3(data):
    n = len(data)
    return [data[: n // 3], data[n // 3: 2 * n // 3], data[2 * n // 3:]]


def result(**kw):
    print(json.dumps(kw), flush=True)


# --------------------------------------------------------------------------
# websockets
# --------------------------------------------------------------------------

def ws_client_extensions(cfg):
    """The list of ClientPerMessageDeflateFactory for cfg["offers"]; None
    means the library default, [] no compression."""
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    offers = cfg.get("offers", "default")
    if offers == "default":
        return None
    out = []
    for o in offers:
        kw = dict(o)
        kw.setdefault("compress_settings", {"memLevel": 5})
        out.append(ClientPerMessageDeflateFactory(**kw))
    return out


async def websockets_client(cfg):
    import websockets
    from websockets.asyncio.client import connect

    kwargs = dict(max_size=cfg.get("max_size", 4 << 20), ping_interval=None,
                  additional_headers=cfg.get("extra_headers"))
    try:
        exts = ws_client_extensions(cfg)
    except ValueError as e:   # the factory refuses the parameters
        return result(handshake="refused-by-peer", error=f"ValueError: {e}")
    if exts is not None:
        if exts:
            kwargs["extensions"] = exts
        kwargs["compression"] = None
    if cfg.get("no_compression"):
        kwargs["compression"] = None
    checked = 0
    try:
        ws = await connect(cfg["url"], **kwargs)
    except Exception as e:  # noqa: BLE001 - reported to the driver
        status = getattr(getattr(e, "response", None), "status_code", None)
        return result(handshake="failed", error=f"{type(e).__name__}: {e}", status=status)
    resp_ext = ws.response.headers.get_all("Sec-WebSocket-Extensions")
    async with ws:
        for size, text, frag, seed in cases(True):
            data = payload(size, text, seed)
            if frag:
                async def frags():
                    parts = split3(data)
                    for i, p in enumerate(parts):
                        yield p
                        if i < 2:
                            # a ping between fragments, answered while the
                            # message is still incomplete
                            await ws.ping(f"ping {seed}.{i}")
                await ws.send(frags())
            else:
                await ws.send(data)
            echo = await ws.recv()
            if echo != data:
                return result(ok=False, error=f"echo mismatch size={size} text={text} frag={frag}")
            checked += 1
        pong = await ws.ping(b"final")
        await asyncio.wait_for(pong, 10)
    over = None
    if cfg.get("oversize"):
        ws = await connect(cfg["url"], **kwargs)
        try:
            await ws.send(payload(cfg["oversize"], True, 99))
            await ws.recv()
        except websockets.ConnectionClosed as e:
            over = e.rcvd.code if e.rcvd else None
        await ws.close()
    result(ok=True, checked=checked, response_ext=resp_ext, oversize_close=over)


async def websockets_server(cfg):
    from websockets.asyncio.server import serve
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

    async def echo(ws):
        async for msg in ws:
            await ws.send(msg)

    kwargs = dict(max_size=cfg.get("max_size", 4 << 20), ping_interval=None)
    f = dict(cfg.get("factory", {}))
    f.setdefault("compress_settings", {"memLevel": 5})
    try:
        kwargs["extensions"] = [ServerPerMessageDeflateFactory(**f)]
    except ValueError as e:
        print(f"refused: ValueError: {e}", flush=True)
        sys.exit(3)
    kwargs["compression"] = None
    async with serve(echo, "127.0.0.1", cfg.get("port", 0), **kwargs) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on {port}", flush=True)
        await server.serve_forever()


# --------------------------------------------------------------------------
# Autobahn|Python (asyncio flavour)
# --------------------------------------------------------------------------

def ab_offer(o):
    from autobahn.websocket.compress import PerMessageDeflateOffer
    return PerMessageDeflateOffer(
        accept_max_window_bits=o.get("client_max_window_bits", True) is True,
        accept_no_context_takeover=o.get("client_no_context_takeover", False),
        request_max_window_bits=o.get("server_max_window_bits", 0),
        request_no_context_takeover=o.get("server_no_context_takeover", False))


async def autobahn_client(cfg):
    from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
    from autobahn.websocket.compress import (PerMessageDeflateOffer, PerMessageDeflateResponse,
                                             PerMessageDeflateResponseAccept)

    loop = asyncio.get_running_loop()

    class Proto(WebSocketClientProtocol):
        def __init__(self):
            super().__init__()
            self.queue = asyncio.Queue()
            self.opened = loop.create_future()
            self.closed = loop.create_future()
            self.pongs = asyncio.Queue()

        def onOpen(self):
            if not self.opened.done():
                self.opened.set_result(True)

        def onMessage(self, data, is_binary):
            self.queue.put_nowait((data, is_binary))

        def onPong(self, data):
            self.pongs.put_nowait(data)

        def onClose(self, was_clean, code, reason):
            if not self.opened.done():
                self.opened.set_exception(ConnectionError(f"closed before open: {code} {reason}"))
            if not self.closed.done():
                self.closed.set_result((was_clean, code, self.remoteCloseCode))
            self.queue.put_nowait(None)

    def make_factory():
        f = WebSocketClientFactory(cfg["url"])
        f.protocol = Proto
        offers = cfg.get("offers", "default")
        opts = dict(openHandshakeTimeout=10, closeHandshakeTimeout=5, failByDrop=False,
                    maxMessagePayloadSize=cfg.get("max_size", 4 << 20),
                    maxFramePayloadSize=cfg.get("max_size", 4 << 20))
        if offers == "default":
            offers = [{}]
        if offers:
            def accept(response):
                if isinstance(response, PerMessageDeflateResponse):
                    return PerMessageDeflateResponseAccept(response)
                return None
            opts["perMessageCompressionOffers"] = [ab_offer(o) for o in offers]
            opts["perMessageCompressionAccept"] = accept
        f.setProtocolOptions(**opts)
        return f

    host, port = cfg["url"].split("//")[1].split("/")[0].split(":")
    try:
        make_factory()
    except Exception as e:  # noqa: BLE001 - Autobahn validates offers up front
        return result(handshake="refused-by-peer", error=f"{type(e).__name__}: {e}")

    async def open_conn():
        _, proto = await loop.create_connection(make_factory(), host, int(port))
        await asyncio.wait_for(proto.opened, 10)
        return proto

    try:
        proto = await open_conn()
    except Exception as e:  # noqa: BLE001
        return result(handshake="failed", error=f"{type(e).__name__}: {e}")
    ext = proto.websocket_extensions_in_use
    resp_ext = [str(e) for e in ext]
    checked = 0
    for size, text, frag, seed in cases(True):
        data = payload(size, text, seed)
        raw = data.encode() if text else data
        if frag:
            # Autobahn compresses the whole message, then cuts the compressed
            # payload into frames; it has no way to ping between them.
            proto.sendMessage(raw, isBinary=not text, fragmentSize=max(1, len(raw) // 8))
            proto.sendPing(f"ping {seed}".encode())
        else:
            proto.sendMessage(raw, isBinary=not text)
        got = await asyncio.wait_for(proto.queue.get(), 20)
        if got is None or got[0] != raw or got[1] == text:
            return result(ok=False, error=f"echo mismatch size={size} text={text} frag={frag}")
        if frag:
            p = await asyncio.wait_for(proto.pongs.get(), 10)
            if p != f"ping {seed}".encode():
                return result(ok=False, error=f"bad pong {p!r}")
        checked += 1
    proto.sendClose(1000)
    clean, code, remote = await asyncio.wait_for(proto.closed, 10)
    if remote != 1000:
        return result(ok=False, error=f"close: clean={clean} code={code} remote={remote}")
    over = None
    frame_api = None
    if cfg.get("frame_api_probe"):
        # Autobahn's frame-based API sets RSV1 but sends the data as given,
        # uncompressed: a conforming receiver must fail with 1007.
        proto = await open_conn()
        proto.beginMessage(isBinary=False)
        proto.beginMessageFrame(5)
        proto.sendMessageFrameData(b"hello")
        proto.endMessage()
        clean, code, remote = await asyncio.wait_for(proto.closed, 20)
        frame_api = remote
    if cfg.get("oversize"):
        proto = await open_conn()
        proto.sendMessage(payload(cfg["oversize"], True, 99).encode(), isBinary=False)
        clean, code, remote = await asyncio.wait_for(proto.closed, 20)
        over = remote
    result(ok=True, checked=checked, response_ext=resp_ext, oversize_close=over, frame_api_close=frame_api)


async def autobahn_server(cfg):
    from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from autobahn.websocket.compress import (PerMessageDeflateOffer, PerMessageDeflateOfferAccept)

    f = cfg.get("factory", {})
    try:   # let Autobahn validate the settings as it would for a real offer
        PerMessageDeflateOfferAccept(PerMessageDeflateOffer(accept_max_window_bits=True),
                                     request_max_window_bits=f.get("client_max_window_bits", 0),
                                     window_bits=f.get("server_max_window_bits") or None)
    except Exception as e:  # noqa: BLE001
        print(f"refused: {type(e).__name__}: {e}", flush=True)
        sys.exit(3)

    class Echo(WebSocketServerProtocol):
        def onMessage(self, data, is_binary):
            self.sendMessage(data, isBinary=is_binary)

    def accept(offers):
        for offer in offers:
            if isinstance(offer, PerMessageDeflateOffer):
                smwb = f.get("server_max_window_bits", 0)
                if offer.request_max_window_bits and smwb:
                    smwb = min(smwb, offer.request_max_window_bits)
                cmwb = f.get("client_max_window_bits", 0)
                if cmwb and not offer.accept_max_window_bits:
                    continue
                return PerMessageDeflateOfferAccept(
                    offer,
                    request_no_context_takeover=f.get("client_no_context_takeover", False),
                    request_max_window_bits=cmwb,
                    no_context_takeover=(f.get("server_no_context_takeover", False) or None),
                    window_bits=smwb or None)
        return None

    factory = WebSocketServerFactory()
    factory.protocol = Echo
    factory.setProtocolOptions(perMessageCompressionAccept=accept,
                               maxMessagePayloadSize=cfg.get("max_size", 4 << 20),
                               maxFramePayloadSize=cfg.get("max_size", 4 << 20),
                               autoPingInterval=0, closeHandshakeTimeout=5, failByDrop=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", cfg.get("port", 0))
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


def main():
    which, cfg = sys.argv[1], json.loads(sys.argv[2])
    fn = {"websockets-client": websockets_client, "websockets-server": websockets_server,
          "autobahn-client": autobahn_client, "autobahn-server": autobahn_server}[which]
    try:
        asyncio.run(fn(cfg))
    except KeyboardInterrupt:
        pass
    except Exception as e:  # noqa: BLE001 - the driver reads the JSON line
        result(ok=False, error=f"{type(e).__name__}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
