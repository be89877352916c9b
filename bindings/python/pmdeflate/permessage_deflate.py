"""permessage-deflate (RFC 7692) with the vocabulary of the websockets
library (websockets.extensions.permessage_deflate): PerMessageDeflate and
its client and server factories, running on libpmdeflate through ctypes.

Differences from websockets, as in the C library (docs/differences.md):
window bits 8 are accepted on both sides; max_size=0 allows only empty
output; invalid DEFLATE data raises CorruptData (a ProtocolError, close
1007); compress_settings takes level, memLevel, strategy and method only.
"""

from __future__ import annotations

from ctypes import byref, c_size_t, c_void_p
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ._config import Config, check_window_bits, size_arg
from ._codec import FrameCodec
from ._library import Negotiated, Param, lib
from ._params import ExtensionParameter, ParamArray, name_array, read_params
from .base import ClientExtensionFactory, Extension, ServerExtensionFactory
from .exceptions import error_for

NAME = "permessage-deflate"



class PerMessageDeflate(FrameCodec, Extension):
    """One connection's permessage-deflate: a pmd_extension.

    Built by the factories, or directly from agreed parameters as in
    websockets: PerMessageDeflate(remote_no_context_takeover,
    local_no_context_takeover, remote_max_window_bits,
    local_max_window_bits, compress_settings=None). max_message_size
    (keyword) bounds each incoming message, compressed or not (None: no
    limit); strict_window and compress_threshold (keywords) are
    pmd_config_set_strict_window and pmd_config_set_compress_threshold.
    encode and decode may run at the same time on two threads;
    two encodes (or two decodes) may not.
    """

    name = NAME
    _c_encode = staticmethod(lib.pmd_extension_encode)
    _c_decode = staticmethod(lib.pmd_extension_decode)

    def __init__(
        self,
        remote_no_context_takeover: bool,
        local_no_context_takeover: bool,
        remote_max_window_bits: int,
        local_max_window_bits: int,
        compress_settings: Optional[Dict[str, Any]] = None,
        *,
        max_message_size: Optional[int] = None,
        strict_window: bool = False,
        compress_threshold: int = 0,
    ) -> None:
        self._ptr = None
        for key, bits in (
            ("remote_max_window_bits", remote_max_window_bits),
            ("local_max_window_bits", local_max_window_bits),
        ):
            check_window_bits(key, bits, allow_true=False)
            if bits is None:
                raise ValueError(f"{key} must be between 8 and 15")
        cfg = Config(
            compress_settings=compress_settings,
            max_message_size=max_message_size,
            strict_window=strict_window,
            compress_threshold=compress_threshold,
        )
        out = c_void_p()
        result = lib.pmd_extension_new(
            bool(remote_no_context_takeover),
            bool(local_no_context_takeover),
            remote_max_window_bits,
            local_max_window_bits,
            cfg.ptr,
            byref(out),
        )
        if result:
            raise error_for(result)
        self._adopt(out.value, compress_settings)
        self.max_message_size = max_message_size

    @classmethod
    def _from_handle(cls, ptr: int, compress_settings=None) -> "PerMessageDeflate":
        obj = cls.__new__(cls)
        obj._ptr = None
        obj._adopt(ptr, compress_settings)
        obj.max_message_size = None
        return obj

    def _adopt(self, ptr: int, compress_settings) -> None:
        self._ptr = c_void_p(ptr)
        self.compress_settings = compress_settings
        n = Negotiated()
        result = lib.pmd_extension_negotiated(self._ptr, byref(n))
        if result:
            raise error_for(result)
        self.remote_no_context_takeover = bool(n.remote_no_context_takeover)
        self.local_no_context_takeover = bool(n.local_no_context_takeover)
        self.remote_max_window_bits = n.remote_max_window_bits
        self.local_max_window_bits = n.local_max_window_bits
        self._codec_init()

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflate("
            f"remote_no_context_takeover={self.remote_no_context_takeover}, "
            f"local_no_context_takeover={self.local_no_context_takeover}, "
            f"remote_max_window_bits={self.remote_max_window_bits}, "
            f"local_max_window_bits={self.local_max_window_bits})"
        )

    @staticmethod
    def _error(result: int, max_size: Optional[int]):
        return error_for(result, max_size=max_size)

    def set_max_message_size(self, max_message_size: Optional[int]) -> None:
        """The most bytes one incoming message may decode to (None: no limit)."""
        result = lib.pmd_extension_set_max_message_size(self._ptr, size_arg(max_message_size))
        if result:
            raise error_for(result)
        self.max_message_size = max_message_size

    def memory_usage(self) -> int:
        """Bytes held now: zlib's state and the output buffers."""
        return lib.pmd_extension_memory_usage(self._ptr)

    def can_send_shared(self, encoder) -> bool:
        """Whether this connection may send the next message a SharedEncoder
        encodes: its sending side agreed no_context_takeover, its window is
        at least the encoder's, and it is between messages."""
        return bool(lib.pmd_extension_can_send_shared(self._ptr, encoder._ptr))

    def compact(self) -> None:
        """Releases what an idle connection does not need: the output
        buffers, and each zlib stream between messages (under context
        takeover only a copy of its history is kept)."""
        result = lib.pmd_extension_compact(self._ptr)
        if result:
            raise error_for(result)

    def close(self) -> None:
        """Frees the zlib state now rather than when the object is collected."""
        if self._ptr:
            lib.pmd_extension_free(self._ptr)
            self._ptr = None

    def __del__(self) -> None:
        self.close()


def _accepted_names(accepted_extensions: Sequence[Extension]):
    return name_array([ext.name for ext in accepted_extensions])


class ClientPerMessageDeflateFactory(ClientExtensionFactory):
    """Client side, with websockets' keyword parameters and defaults.

    Window bits are 8..15 (websockets: client_max_window_bits 9..15);
    client_max_window_bits=True (the default) offers it without a value.
    max_message_size (keyword, pmdeflate's own) bounds each incoming message;
    strict_window and compress_threshold (keywords) are
    pmd_config_set_strict_window and pmd_config_set_compress_threshold.
    """

    name = NAME
    extension_class = PerMessageDeflate

    def __init__(
        self,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: Optional[int] = None,
        client_max_window_bits: Any = True,
        compress_settings: Optional[Dict[str, Any]] = None,
        *,
        max_message_size: Optional[int] = None,
        strict_window: bool = False,
        compress_threshold: int = 0,
    ) -> None:
        check_window_bits("server_max_window_bits", server_max_window_bits, allow_true=False)
        check_window_bits("client_max_window_bits", client_max_window_bits, allow_true=True)
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.compress_settings = compress_settings
        self.max_message_size = max_message_size
        self._config = Config(
            server_no_context_takeover=server_no_context_takeover,
            client_no_context_takeover=client_no_context_takeover,
            server_max_window_bits=server_max_window_bits,
            client_max_window_bits=client_max_window_bits,
            compress_settings=compress_settings,
            max_message_size=max_message_size,
            strict_window=strict_window,
            compress_threshold=compress_threshold,
            wbits_hint="client_max_window_bits",
        )

    def get_request_params(self) -> List[ExtensionParameter]:
        array = (Param * 4)()
        n = c_size_t(0)
        result = lib.pmd_client_request_params(self._config.ptr, array, 4, byref(n))
        if result:
            raise error_for(result)
        return read_params(array, n.value)

    def process_response_params(
        self,
        params: Sequence[ExtensionParameter],
        accepted_extensions: Sequence[Extension],
    ) -> PerMessageDeflate:
        given = ParamArray(params)
        names, n_names = _accepted_names(accepted_extensions)
        out = c_void_p()
        result = lib.pmd_client_process_response_params(
            self._config.ptr, given.array, given.n, names, n_names, byref(out)
        )
        if result:
            raise error_for(result, params=params)
        ext = self.extension_class._from_handle(out.value, self.compress_settings)
        ext.max_message_size = self.max_message_size
        return ext


class ServerPerMessageDeflateFactory(ServerExtensionFactory):
    """Server side, with websockets' keyword parameters and defaults.

    Window bits are 8..15 (websockets: server_max_window_bits 9..15).
    max_message_size (keyword, pmdeflate's own) bounds each incoming message;
    strict_window and compress_threshold (keywords) are
    pmd_config_set_strict_window and pmd_config_set_compress_threshold.
    """

    name = NAME
    extension_class = PerMessageDeflate

    def __init__(
        self,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: Optional[int] = None,
        client_max_window_bits: Optional[int] = None,
        compress_settings: Optional[Dict[str, Any]] = None,
        require_client_max_window_bits: bool = False,
        *,
        max_message_size: Optional[int] = None,
        strict_window: bool = False,
        compress_threshold: int = 0,
    ) -> None:
        check_window_bits("server_max_window_bits", server_max_window_bits, allow_true=False)
        check_window_bits("client_max_window_bits", client_max_window_bits, allow_true=False)
        if client_max_window_bits is None and require_client_max_window_bits:
            raise ValueError(
                "require_client_max_window_bits is enabled, "
                "but client_max_window_bits isn't configured"
            )
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.compress_settings = compress_settings
        self.require_client_max_window_bits = require_client_max_window_bits
        self.max_message_size = max_message_size
        self._config = Config(
            server_no_context_takeover=server_no_context_takeover,
            client_no_context_takeover=client_no_context_takeover,
            server_max_window_bits=server_max_window_bits,
            client_max_window_bits=client_max_window_bits,
            compress_settings=compress_settings,
            require_client_max_window_bits=require_client_max_window_bits,
            max_message_size=max_message_size,
            strict_window=strict_window,
            compress_threshold=compress_threshold,
            wbits_hint="server_max_window_bits",
        )

    def process_request_params(
        self,
        params: Sequence[ExtensionParameter],
        accepted_extensions: Sequence[Extension],
    ) -> Tuple[List[ExtensionParameter], PerMessageDeflate]:
        given = ParamArray(params)
        names, n_names = _accepted_names(accepted_extensions)
        response = (Param * 4)()
        n_response = c_size_t(0)
        out = c_void_p()
        result = lib.pmd_server_process_request_params(
            self._config.ptr,
            given.array,
            given.n,
            names,
            n_names,
            response,
            4,
            byref(n_response),
            byref(out),
        )
        if result:
            raise error_for(result, params=params)
        ext = self.extension_class._from_handle(out.value, self.compress_settings)
        ext.max_message_size = self.max_message_size
        return read_params(response, n_response.value), ext
