"""PerMessageDeflate.compact() (pmd_extension_compact) against websockets'
own permessage-deflate as the peer: messages both ways, with our end
compacted between messages and between fragments, decode byte-exact on
both sides; a restored encoder's back references into the history before
the compaction are decoded by websockets, and our restored decoder decodes
websockets' stream, which never stopped."""

import random

import pytest
from websockets.extensions import permessage_deflate as ws
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode

from pmdeflate import OP_BINARY, OP_CONT, OP_TEXT, Frame, PerMessageDeflate


def text(rnd, n):
    words = [b"alpha", b"beta", b"gamma", b"delta", b"{\"id\":", b"12345", b"\n"]
    out = bytearray()
    while len(out) < n:
        out += rnd.choice(words) + b" "
    return bytes(out[:n])


def ends(remote_nct, local_nct, bits):
    """(ours, theirs) facing each other: ours sends with local_nct."""
    return (
        PerMessageDeflate(remote_nct, local_nct, bits, bits),
        ws.PerMessageDeflate(local_nct, remote_nct, bits, bits),
    )


def send_ours(ours, theirs, opcode, msg, cuts, compact_between):
    parts = [msg[a:b] for a, b in zip([0] + cuts, cuts + [len(msg)])]
    got = []
    wire_bytes = 0
    for i, part in enumerate(parts):
        fin = i == len(parts) - 1
        out = ours.encode(Frame(opcode if i == 0 else OP_CONT, part, fin=fin))
        data = bytes(out.data)  # compaction frees the buffer behind out.data
        wire_bytes += len(data)
        if compact_between:
            ours.compact()
        back = theirs.decode(WsFrame(Opcode(out.opcode), data, fin, out.rsv1))
        got.append(bytes(back.data))
    assert b"".join(got) == msg
    return wire_bytes


def send_theirs(theirs, ours, opcode, msg, cuts, compact_between):
    parts = [msg[a:b] for a, b in zip([0] + cuts, cuts + [len(msg)])]
    got = []
    for i, part in enumerate(parts):
        fin = i == len(parts) - 1
        wf = WsFrame(Opcode(opcode if i == 0 else OP_CONT), part, fin)
        out = theirs.encode(wf)
        back = ours.decode(Frame(int(out.opcode), bytes(out.data), out.fin, out.rsv1))
        got.append(bytes(back.data))
        if compact_between:
            ours.compact()
    assert b"".join(got) == msg


@pytest.mark.parametrize("bits", [9, 10, 12, 15])
@pytest.mark.parametrize("remote_nct", [False, True])
@pytest.mark.parametrize("local_nct", [False, True])
def test_both_ways_across_compactions(bits, remote_nct, local_nct):
    rnd = random.Random(bits * 4 + remote_nct * 2 + local_nct)
    ours, theirs = ends(remote_nct, local_nct, bits)
    base = text(rnd, 6000)
    for i in range(60):
        n = rnd.choice([0, 1, 90, 700, 3000])
        start = rnd.randrange(0, len(base) - n + 1)
        msg = base[start : start + n]
        opcode = OP_TEXT if rnd.random() < 0.5 else OP_BINARY
        cuts = sorted(rnd.randrange(0, n + 1) for _ in range(rnd.randrange(0, 3)))
        if rnd.random() < 0.7:
            ours.compact()
        mid = rnd.random() < 0.3
        if i % 2 == 0:
            send_ours(ours, theirs, opcode, msg, cuts, mid)
        else:
            send_theirs(theirs, ours, opcode, msg, cuts, mid)


@pytest.mark.parametrize("bits", [9, 12, 15])
def test_history_kept_across_compaction_both_ways(bits):
    rnd = random.Random(bits)
    ours, theirs = ends(False, False, bits)
    msg = rnd.randbytes(200)
    first = send_ours(ours, theirs, OP_BINARY, msg, [], False)
    ours.compact()
    assert ours.memory_usage() > 0
    # Our restored encoder refers back across the compaction, and
    # websockets decodes it from its own window.
    again = send_ours(ours, theirs, OP_BINARY, msg, [], False)
    assert first >= 200 and again <= 8, (first, again)
    # websockets refers back into what it sent before our compaction.
    reply = rnd.randbytes(200)
    w1 = theirs.encode(WsFrame(Opcode.BINARY, reply))
    assert ours.decode(Frame(OP_BINARY, bytes(w1.data), True, True)).data == reply
    ours.compact()
    w2 = theirs.encode(WsFrame(Opcode.BINARY, reply))
    assert len(w2.data) <= 8
    assert ours.decode(Frame(OP_BINARY, bytes(w2.data), True, True)).data == reply
