"""pmd_config: the factory keyword parameters and zlib settings, in C."""

from __future__ import annotations

from ctypes import c_void_p
from typing import Any, Dict, Optional

from ._library import SIZE_MAX, WINDOW_BITS_NO_VALUE, lib
from .exceptions import error_for

# compress_settings keys (zlib.compressobj's keyword names) -> pmd_config setters.
_SETTINGS = {
    "level": lib.pmd_config_set_compress_level,
    "memLevel": lib.pmd_config_set_mem_level,
    "strategy": lib.pmd_config_set_strategy,
}
_DEFLATED = 8  # zlib.DEFLATED, the only method


def _check(result: int) -> None:
    if result:
        raise error_for(result)


class Config:
    """Owns one pmd_config. Window bits: None (not set), 8..15, or True
    (client_max_window_bits offered without a value)."""

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: Optional[int] = None,
        client_max_window_bits: Any = None,
        compress_settings: Optional[Dict[str, Any]] = None,
        require_client_max_window_bits: bool = False,
        max_message_size: Optional[int] = None,
        strict_window: bool = False,
        compress_threshold: int = 0,
        wbits_hint: str = "client_max_window_bits",
    ) -> None:
        self.ptr = None
        ptr = lib.pmd_config_new()
        if not ptr:
            raise MemoryError("pmd_config_new returned NULL")
        self.ptr = c_void_p(ptr)
        _check(lib.pmd_config_set_server_no_context_takeover(self.ptr, bool(server_no_context_takeover)))
        _check(lib.pmd_config_set_client_no_context_takeover(self.ptr, bool(client_no_context_takeover)))
        if server_max_window_bits is not None:
            _check(lib.pmd_config_set_server_max_window_bits(self.ptr, server_max_window_bits))
        if client_max_window_bits is True:
            _check(lib.pmd_config_set_client_max_window_bits(self.ptr, WINDOW_BITS_NO_VALUE))
        elif client_max_window_bits is not None:
            _check(lib.pmd_config_set_client_max_window_bits(self.ptr, client_max_window_bits))
        if require_client_max_window_bits:
            _check(lib.pmd_config_set_require_client_max_window_bits(self.ptr, True))
        for key, value in (compress_settings or {}).items():
            if key == "wbits":
                raise ValueError(f"compress_settings must not include wbits, set {wbits_hint} instead")
            if key == "method":
                if value != _DEFLATED:
                    raise ValueError(f"compress_settings: method must be zlib.DEFLATED, got {value!r}")
                continue
            setter = _SETTINGS.get(key)
            if setter is None:
                raise ValueError(
                    f"compress_settings: {key!r} is not supported (level, memLevel, strategy, method)"
                )
            _check(setter(self.ptr, value))
        if max_message_size is not None:
            _check(lib.pmd_config_set_max_message_size(self.ptr, size_arg(max_message_size)))
        _check(lib.pmd_config_set_strict_window(self.ptr, bool(strict_window)))
        if not isinstance(compress_threshold, int) or compress_threshold < 0:
            raise ValueError(f"compress_threshold must be an int >= 0, got {compress_threshold!r}")
        _check(lib.pmd_config_set_compress_threshold(self.ptr, min(compress_threshold, SIZE_MAX)))

    def __del__(self) -> None:
        if self.ptr:
            lib.pmd_config_free(self.ptr)
            self.ptr = None


def size_arg(value: Optional[int]) -> int:
    """A limit for C: None means no limit (SIZE_MAX)."""
    if value is None:
        return SIZE_MAX
    if value < 0 or value > SIZE_MAX:
        raise ValueError(f"a size must be None or 0..{SIZE_MAX}, got {value}")
    return value


def check_window_bits(name: str, value: Any, allow_true: bool) -> None:
    if value is None or (allow_true and value is True):
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 8 <= value <= 15:
        more = ", or True" if allow_true else ""
        raise ValueError(f"{name} must be between 8 and 15{more}")
