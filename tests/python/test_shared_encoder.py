"""Shared-encoder frames on websockets receivers.

A pmdeflate server negotiates permessage-deflate with websockets 17.4
clients that asked for server_no_context_takeover and a server window of
8..15 bits. One pmd_encoder (tests/python/pmd.py) compresses each message
once; on every connection where pmd_extension_can_send_shared is true, the
server sends those same bytes between messages of its own, and the
websockets client's permessage-deflate decodes all of them. Where it is
false (the encoder's window is larger than agreed, or the server keeps its
context) nothing is sent. Run with tests/python/run.sh.
"""

from __future__ import annotations

import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pmd  # noqa: E402
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory  # noqa: E402
from websockets.frames import Frame as WsFrame  # noqa: E402
from websockets.frames import Opcode  # noqa: E402
from websockets.headers import build_extension, parse_extension  # noqa: E402

NAME = "permessage-deflate"


def connect(server_bits: int, nct: bool):
    """(pmdeflate server extension, websockets client extension)."""
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=nct,
        server_max_window_bits=server_bits,
    )
    offer = build_extension([(NAME, factory.get_request_params())])
    response, server = pmd.server_negotiate(pmd.Config(), offer)
    assert server is not None and response is not None, offer
    [(name, params)] = parse_extension(response)
    assert name == NAME
    client = factory.process_response_params(params, [])
    neg = server.negotiated()
    assert (neg.local_no_context_takeover, neg.local_max_window_bits) == (nct, server_bits), neg
    return server, client


def ws_receive(client, frames) -> bytes:
    out = b""
    for f in frames:
        got = client.decode(
            WsFrame(Opcode(f.opcode), f.data, fin=f.fin, rsv1=f.rsv1), max_size=None
        )
        assert not got.rsv1
        out += got.data
    return out


def messages():
    rng = random.Random(1107)
    words = [b"shared", b"encoder", b"broadcast", b"window", b'{"id":', b"17,", b"deflate"]
    text = b" ".join(rng.choice(words) for _ in range(20000))
    return [
        b"",
        b"x",
        text[:120],
        text,
        bytes(rng.getrandbits(8) for _ in range(20000)),
        text[:3000] * 20,
    ]


class TestSharedEncoderOnWebsockets(unittest.TestCase):
    def test_one_encode_decoded_by_websockets_at_every_window(self):
        msgs = messages()
        sent = 0
        for enc_bits in range(8, 16):
            enc = pmd.Encoder(enc_bits)
            shared = [[enc.encode(pmd.Frame(pmd.OPCODE_BINARY, m))] for m in msgs]
            for f in shared:
                self.assertTrue(f[0].rsv1)
            for conn_bits in range(8, 16):
                server, client = connect(conn_bits, True)
                allowed = server.can_send_shared(enc)
                self.assertEqual(allowed, conn_bits >= enc_bits, (enc_bits, conn_bits))
                if not allowed:
                    continue
                for k, m in enumerate(msgs):
                    own = msgs[(k + 2) % len(msgs)]
                    self.assertEqual(ws_receive(client, [server.encode(pmd.Frame(pmd.OPCODE_TEXT, own))]), own)
                    self.assertTrue(server.can_send_shared(enc))
                    got = ws_receive(client, shared[k])
                    self.assertEqual(got, m, (enc_bits, conn_bits, k))
                    sent += 1
                    # The server's own encoder is unaffected by the shared message.
                    self.assertEqual(ws_receive(client, [server.encode(pmd.Frame(pmd.OPCODE_TEXT, own))]), own)
        # 36 (encoder, connection) pairs allowed, each with every message.
        self.assertEqual(sent, 36 * len(msgs))

    def test_fragmented_shared_message(self):
        m = messages()[3]
        enc = pmd.Encoder(10)
        cuts = [0, 7, 7, 9000, len(m)]
        frames = []
        for i in range(4):
            op = pmd.OPCODE_TEXT if i == 0 else pmd.OPCODE_CONTINUATION
            frames.append(enc.encode(pmd.Frame(op, m[cuts[i] : cuts[i + 1]], fin=i == 3)))
        self.assertEqual([f.rsv1 for f in frames], [True, False, False, False])
        for bits in (10, 12, 15):
            server, client = connect(bits, True)
            self.assertTrue(server.can_send_shared(enc))
            self.assertEqual(ws_receive(client, frames), m)

    def test_takeover_connection_refuses(self):
        enc = pmd.Encoder(9)
        server, _client = connect(15, False)
        self.assertFalse(server.can_send_shared(enc))
        # mid-message on an nct connection
        server, client = connect(15, True)
        first = server.encode(pmd.Frame(pmd.OPCODE_TEXT, b"part", fin=False))
        self.assertFalse(server.can_send_shared(enc))
        last = server.encode(pmd.Frame(pmd.OPCODE_CONTINUATION, b" end"))
        self.assertTrue(server.can_send_shared(enc))
        self.assertEqual(ws_receive(client, [first, last]), b"part end")


if __name__ == "__main__":
    unittest.main(verbosity=2)
