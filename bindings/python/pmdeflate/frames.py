"""Frames as the binding takes and returns them.

encode() and decode() accept any object with the attributes opcode, data
(bytes, bytearray or memoryview), fin, rsv1, rsv2 and rsv3, and return an
object of the same class built as cls(opcode, data, fin, rsv1, rsv2, rsv3):
the websockets library's Frame works as it is, and so does Frame below.
"""

from __future__ import annotations

from typing import NamedTuple, Union

OP_CONT = 0
OP_TEXT = 1
OP_BINARY = 2
OP_CLOSE = 8
OP_PING = 9
OP_PONG = 10

CTRL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)


class Frame(NamedTuple):
    """A WebSocket frame's header bits and payload."""

    opcode: int
    data: Union[bytes, bytearray, memoryview]
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
