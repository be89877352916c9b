"""PerMessageDeflate: frames through libpmdeflate, compared byte for byte
with websockets' own extension, and every error as its exception."""

import random
import threading
import zlib

import pytest
from websockets.extensions import permessage_deflate as ws
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode

from pmdeflate import (
    OP_BINARY,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    CorruptData,
    Frame,
    InvalidArgument,
    PayloadTooBig,
    PerMessageDeflate,
    ProtocolError,
)

SIZES = [0, 1, 100, 2043, 2044, 2048, 16384, 65536, 300_000, 1 << 20]


def payload(n, seed=0, text=True):
    rnd = random.Random(seed)
    if text:
        words = [b"alpha", b"beta", b"gamma", b"delta", b"\xc3\xa9t\xc3\xa9", b"{}", b"12345"]
        out = bytearray()
        while len(out) < n:
            out += rnd.choice(words) + b" "
        return bytes(out[:n])
    return rnd.randbytes(n)


def pair(remote_nct=False, local_nct=False, bits=15, settings=None):
    """(ours, theirs): ours sends to websockets' decoder and back."""
    return PerMessageDeflate(remote_nct, local_nct, bits, bits, settings), ws.PerMessageDeflate(
        remote_nct, local_nct, bits, bits, settings
    )


@pytest.mark.parametrize("bits", [9, 12, 15])
@pytest.mark.parametrize("takeover", [True, False])
def test_bytes_equal_websockets_and_round_trip(bits, takeover):
    settings = {"memLevel": 5, "level": 6}
    ours_tx, theirs_tx = pair(not takeover, not takeover, bits, settings)
    ours_rx, theirs_rx = pair(not takeover, not takeover, bits, settings)
    for i, n in enumerate(SIZES):
        data = payload(n, seed=i, text=i % 2 == 0)
        opcode = OP_TEXT if i % 2 == 0 else OP_BINARY
        mine = ours_tx.encode(Frame(opcode, data))
        theirs = theirs_tx.encode(WsFrame(Opcode(opcode), data))
        assert bytes(mine.data) == bytes(theirs.data), n
        assert (mine.opcode, mine.fin, mine.rsv1, mine.rsv2, mine.rsv3) == (opcode, True, True, False, False)
        # Each side decodes the other's bytes.
        assert ours_rx.decode(Frame(opcode, bytes(theirs.data), True, True)).data == data
        assert bytes(theirs_rx.decode(WsFrame(Opcode(opcode), mine.data, True, True)).data) == data


def test_fragmented_message_and_control_frames_in_between():
    tx, rx = PerMessageDeflate(False, False, 15, 15), PerMessageDeflate(False, False, 15, 15)
    parts = [payload(5000, 1), payload(0), payload(70000, 2), payload(10, 3)]
    out = []
    for i, part in enumerate(parts):
        f = Frame(OP_TEXT if i == 0 else OP_CONT, part, fin=i == len(parts) - 1)
        wire = tx.encode(f)
        assert wire.rsv1 == (i == 0)
        ping = Frame(OP_PING, b"ping")
        assert tx.encode(ping) == ping and rx.decode(ping) == ping
        got = rx.decode(wire)
        assert not got.rsv1 and got.opcode == f.opcode and got.fin == f.fin
        out.append(got.data)
    assert b"".join(out) == b"".join(parts)


def test_control_frames_and_uncompressed_messages_pass_through_as_the_same_object():
    ext = PerMessageDeflate(False, False, 15, 15)
    data = b"ping payload"
    ping = Frame(OP_PING, data)
    assert ext.encode(ping).data is data
    plain = Frame(OP_BINARY, b"not compressed")
    assert ext.decode(plain).data is plain.data


def test_websockets_frames_in_and_out_keep_their_class_and_opcode():
    ext = PerMessageDeflate(False, False, 15, 15)
    wire = ext.encode(WsFrame(Opcode.TEXT, memoryview(b"hello" * 10)))
    assert type(wire) is WsFrame and wire.opcode is Opcode.TEXT and wire.rsv1
    back = PerMessageDeflate(False, False, 15, 15).decode(WsFrame(Opcode.TEXT, bytearray(wire.data), True, True))
    assert type(back) is WsFrame and back.data == b"hello" * 10


def test_max_size_and_max_message_size():
    tx = PerMessageDeflate(False, False, 15, 15)
    wire = tx.encode(Frame(OP_BINARY, bytes(100_000)))
    assert len(wire.data) < 200
    assert len(PerMessageDeflate(False, False, 15, 15).decode(wire, max_size=100_000).data) == 100_000
    with pytest.raises(PayloadTooBig) as e:
        PerMessageDeflate(False, False, 15, 15).decode(wire, max_size=99_999)
    assert e.value.max_size == 99_999 and e.value.close_code == 1009
    rx = PerMessageDeflate(False, False, 15, 15, max_message_size=99_999)
    with pytest.raises(PayloadTooBig):
        rx.decode(wire)
    rx = PerMessageDeflate(False, False, 15, 15)
    rx.set_max_message_size(50)
    assert rx.max_message_size == 50
    with pytest.raises(PayloadTooBig):
        rx.decode(Frame(OP_BINARY, bytes(51)))  # uncompressed frames count too
    # max_size=0 allows only empty output (websockets: 0 means no limit).
    empty = PerMessageDeflate(False, False, 15, 15).encode(Frame(OP_TEXT, b""))
    assert PerMessageDeflate(False, False, 15, 15).decode(empty, max_size=0).data == b""


def test_corrupt_data_and_protocol_errors_and_stickiness():
    rx = PerMessageDeflate(False, False, 15, 15)
    with pytest.raises(CorruptData) as e:
        rx.decode(Frame(OP_TEXT, b"\xff\xff\xff\xff", True, True))
    assert isinstance(e.value, ProtocolError) and e.value.close_code == 1007
    assert "pmd_extension_decode" in str(e.value)
    with pytest.raises(CorruptData):  # sticky: the connection is closing anyway
        rx.decode(Frame(OP_TEXT, b"", True, False))
    rx = PerMessageDeflate(False, False, 15, 15)
    with pytest.raises(ProtocolError) as e:
        rx.decode(Frame(OP_PING, b"", True, True))
    assert type(e.value) is ProtocolError and e.value.close_code == 1002


def test_encode_misuse_is_invalid_argument():
    tx = PerMessageDeflate(False, False, 15, 15)
    with pytest.raises(InvalidArgument):
        tx.encode(Frame(OP_CONT, b"x"))  # no message in progress
    with pytest.raises(ValueError):
        tx.encode(Frame(OP_TEXT, b"x", rsv1=True))


def test_window_bits_8_decodes_with_a_256_byte_window():
    tx = PerMessageDeflate(False, False, 15, 8)
    data = payload(50_000, 7)
    wire = tx.encode(Frame(OP_TEXT, data))
    d = zlib.decompressobj(wbits=-8)
    assert d.decompress(wire.data + b"\x00\x00\xff\xff") == data


def test_constructor_checks_and_negotiated_values():
    with pytest.raises(ValueError):
        PerMessageDeflate(False, False, 16, 15)
    ext = PerMessageDeflate(True, False, 10, 11, {"level": 1})
    assert (ext.remote_no_context_takeover, ext.local_no_context_takeover) == (True, False)
    assert (ext.remote_max_window_bits, ext.local_max_window_bits) == (10, 11)
    assert repr(ext).startswith("PerMessageDeflate(remote_no_context_takeover=True")
    assert ext.memory_usage() > 0
    ext.close()
    ext.close()


def test_encode_and_decode_at_once_on_two_threads():
    a, b = PerMessageDeflate(False, False, 15, 15), PerMessageDeflate(False, False, 15, 15)
    msgs = [payload(random.Random(i).randrange(0, 40000), i) for i in range(200)]
    wires = [a.encode(Frame(OP_TEXT, m)).data for m in msgs]
    errors = []

    def send():  # b encodes while it decodes below
        try:
            for m in msgs:
                b.encode(Frame(OP_BINARY, m))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=send)
    t.start()
    got = [b.decode(Frame(OP_TEXT, w, True, True)).data for w in wires]
    t.join()
    assert not errors and got == msgs


def test_compress_threshold_sends_small_messages_as_they_are():
    from pmdeflate import ClientPerMessageDeflateFactory

    tx = PerMessageDeflate(False, False, 15, 15, compress_threshold=100)
    theirs = ws.PerMessageDeflate(False, False, 15, 15)
    for n in [0, 1, 99, 100, 101, 5000]:
        data = payload(n, seed=n)
        out = tx.encode(Frame(OP_TEXT, data))
        assert out.rsv1 == (n >= 100), n
        if n < 100:
            assert bytes(out.data) == data
        got = theirs.decode(WsFrame(Opcode.TEXT, bytes(out.data), True, out.rsv1))
        assert bytes(got.data) == data, n
    # Fragmented messages are compressed whatever their size.
    assert tx.encode(Frame(OP_TEXT, b"ab", fin=False)).rsv1
    assert not tx.encode(Frame(OP_CONT, b"c")).rsv1
    # The factories pass it on to the extensions they make.
    factory = ClientPerMessageDeflateFactory(compress_threshold=100)
    ext = factory.process_response_params([], [])
    assert not ext.encode(Frame(OP_TEXT, b"Hello")).rsv1
    with pytest.raises(ValueError):
        PerMessageDeflate(False, False, 15, 15, compress_threshold=-1)


def test_strict_window_refuses_a_distance_beyond_the_agreed_window():
    half = random.Random(5).randbytes(5000)
    wire = PerMessageDeflate(False, False, 15, 15).encode(Frame(OP_BINARY, half + half))
    assert len(wire.data) < 6000
    with pytest.raises(CorruptData):
        PerMessageDeflate(False, False, 9, 15, strict_window=True).decode(wire)
    # By default: the exact message, or CorruptData (docs/frames.md).
    try:
        assert bytes(PerMessageDeflate(False, False, 9, 15).decode(wire).data) == half + half
    except CorruptData:
        pass
