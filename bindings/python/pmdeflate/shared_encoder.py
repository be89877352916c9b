"""Compress once, send to many: a pmd_encoder (docs/broadcast.md in the
pmdeflate repository)."""

from __future__ import annotations

from ctypes import byref, c_void_p
from typing import Any, Dict, Optional

from ._codec import FrameCodec
from ._config import Config, check_window_bits
from ._library import lib
from .exceptions import error_for


class SharedEncoder(FrameCodec):
    """An encoder tied to no connection: encode(frame) follows the rules of
    PerMessageDeflate.encode, each message from an empty window, so its
    frames may be sent on every PerMessageDeflate whose
    can_send_shared(encoder) is true. One encode at a time; the frames it
    returns are bytes the caller owns.

    SharedEncoder(window_bits=15, compress_settings=None)
    """

    _c_encode = staticmethod(lib.pmd_encoder_encode)

    def __init__(self, window_bits: int = 15, compress_settings: Optional[Dict[str, Any]] = None) -> None:
        self._ptr = None
        check_window_bits("window_bits", window_bits, allow_true=False)
        if window_bits is None:
            raise ValueError("window_bits must be between 8 and 15")
        cfg = Config(compress_settings=compress_settings)
        out = c_void_p()
        result = lib.pmd_encoder_new(cfg.ptr, window_bits, byref(out))
        if result:
            raise error_for(result)
        self._ptr = c_void_p(out.value)
        self.window_bits = window_bits
        self._codec_init()

    @staticmethod
    def _error(result: int, max_size: Optional[int]):
        return error_for(result, max_size=max_size)

    def decode(self, frame, *, max_size=None):
        raise TypeError("a SharedEncoder only encodes")

    def close(self) -> None:
        """Frees the encoder now rather than when the object is collected."""
        if self._ptr:
            lib.pmd_encoder_free(self._ptr)
            self._ptr = None

    def __del__(self) -> None:
        self.close()
