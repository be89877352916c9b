"""Frames through a C handle (pmd_extension or pmd_chain): the hot path of
the binding, written for the fewest Python operations per call."""

from __future__ import annotations

import ctypes
from ctypes import byref, c_size_t, c_void_p
from typing import Optional

from ._config import size_arg
from ._library import DATA_OFFSET, SIZE_MAX, InFrame, OutFrame

_string_at = ctypes.string_at
_NO_LIMIT = c_size_t(SIZE_MAX)


class FrameCodec:
    """encode/decode over C functions with the pmd_extension_encode /
    pmd_extension_decode signatures. Subclasses set _ptr, _c_encode,
    _c_decode and _error(result, max_size)."""

    _ptr = None

    def _codec_init(self) -> None:
        # One pair of frame structs per side: encode and decode may run on two threads.
        self._ein, self._eout = InFrame(), OutFrame()
        self._din, self._dout = InFrame(), OutFrame()
        self._ein_ref, self._eout_ref = byref(self._ein), byref(self._eout)
        self._din_ref, self._dout_ref = byref(self._din), byref(self._dout)
        # The input's data pointer as an address, to recognise a pass-through.
        self._ein_addr = c_void_p.from_buffer(self._ein, DATA_OFFSET)
        self._din_addr = c_void_p.from_buffer(self._din, DATA_OFFSET)

    def encode(self, frame):
        """Encodes an outgoing frame; returns a frame of the same class."""
        data = frame.data
        if type(data) is not bytes:
            data = bytes(data)
        f = self._ein
        f.opcode = frame.opcode
        f.fin = frame.fin
        f.rsv1 = frame.rsv1
        f.rsv2 = frame.rsv2
        f.rsv3 = frame.rsv3
        f.data = data
        f.len = len(data)
        result = self._c_encode(self._ptr, self._ein_ref, self._eout_ref)
        if result:
            raise self._error(result, None)
        o = self._eout
        if o.data == self._ein_addr.value:
            out = frame.data
        else:
            out = _string_at(o.data, o.len) if o.len else b""
        return frame.__class__(frame.opcode, out, o.fin, o.rsv1, o.rsv2, o.rsv3)

    def decode(self, frame, *, max_size: Optional[int] = None):
        """Decodes an incoming frame; max_size bounds its decoded size
        (None: no limit, 0: only empty output). Errors are sticky."""
        data = frame.data
        if type(data) is not bytes:
            data = bytes(data)
        f = self._din
        f.opcode = frame.opcode
        f.fin = frame.fin
        f.rsv1 = frame.rsv1
        f.rsv2 = frame.rsv2
        f.rsv3 = frame.rsv3
        f.data = data
        f.len = len(data)
        limit = _NO_LIMIT if max_size is None else c_size_t(size_arg(max_size))
        result = self._c_decode(self._ptr, self._din_ref, limit, self._dout_ref)
        if result:
            raise self._error(result, max_size)
        o = self._dout
        if o.data == self._din_addr.value:
            out = frame.data
        else:
            out = _string_at(o.data, o.len) if o.len else b""
        return frame.__class__(frame.opcode, out, o.fin, o.rsv1, o.rsv2, o.rsv3)
