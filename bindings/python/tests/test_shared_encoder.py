"""SharedEncoder: one encode, decoded by websockets' own extension on every
connection whose sending side agreed no_context_takeover with a window at
least the encoder's; can_send_shared; errors."""

import random

import pytest
from websockets.extensions import permessage_deflate as ws
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode

from pmdeflate import OP_CONT, OP_TEXT, Frame, InvalidArgument, PerMessageDeflate, SharedEncoder


def text(n, seed):
    rnd = random.Random(seed)
    words = [b"shared", b"encoder", b"python", b"websockets", b"frame", b"42"]
    return b" ".join(rnd.choice(words) for _ in range(n // 5))[:n]


def ws_decode(peer, frames):
    return b"".join(
        peer.decode(WsFrame(Opcode(f.opcode), f.data, fin=f.fin, rsv1=f.rsv1), max_size=None).data
        for f in frames
    )


@pytest.mark.parametrize("enc_bits", [9, 12, 15])
def test_one_encode_many_receivers(enc_bits):
    msg = text(50_000, enc_bits)
    enc = SharedEncoder(enc_bits)
    wire = enc.encode(Frame(OP_TEXT, msg))
    assert wire.rsv1 and wire.fin and len(wire.data) < len(msg) // 3
    for conn_bits in range(9, 16):
        sender = PerMessageDeflate(False, True, 15, conn_bits)
        assert sender.can_send_shared(enc) == (conn_bits >= enc_bits)
        if conn_bits < enc_bits:
            continue
        peer = ws.PerMessageDeflate(True, False, conn_bits, 15)
        own = sender.encode(Frame(OP_TEXT, b"own message"))
        assert ws_decode(peer, [own, wire]) == b"own message" + msg
        assert ws_decode(peer, [sender.encode(Frame(OP_TEXT, b"again"))]) == b"again"


def test_takeover_and_mid_message_refuse():
    enc = SharedEncoder()
    assert not PerMessageDeflate(True, False, 15, 15).can_send_shared(enc)
    sender = PerMessageDeflate(False, True, 15, 15)
    sender.encode(Frame(OP_TEXT, b"a", fin=False))
    assert not sender.can_send_shared(enc)
    sender.encode(Frame(OP_CONT, b"b"))
    assert sender.can_send_shared(enc)


def test_fragments_and_errors():
    enc = SharedEncoder(10, compress_settings={"level": 9})
    frames = [enc.encode(Frame(OP_TEXT, b"Hello, ", fin=False)), enc.encode(Frame(OP_CONT, b"world"))]
    assert [f.rsv1 for f in frames] == [True, False]
    assert ws_decode(ws.PerMessageDeflate(True, True, 10, 10), frames) == b"Hello, world"
    for bad in (7, 16, None, True):
        with pytest.raises(ValueError):
            SharedEncoder(bad)
    with pytest.raises(InvalidArgument):
        enc.encode(Frame(OP_CONT, b"no message"))
    with pytest.raises(TypeError):
        enc.decode(Frame(OP_TEXT, b""))
    enc.close()
    enc.close()
