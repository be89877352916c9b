"""A small ctypes binding of libpmdeflate.so, covering the whole C API.

The library is loaded from $PMD_LIB, or else from target/release/libpmdeflate.so
at the root of the repository. Every failing call raises PmdError, which
carries the pmd_result code, its name (pmd_result_name) and the thread's
pmd_last_error() text.

Strings may be given as str (encoded as UTF-8) or bytes. Parameters are
(name, value) pairs with value None for "no value", as in websockets.
"""

from __future__ import annotations

import ctypes
import os
import re
from ctypes import (
    POINTER,
    Structure,
    byref,
    c_bool,
    c_char_p,
    c_int,
    c_size_t,
    c_uint8,
    c_uint16,
    c_void_p,
)
from typing import NamedTuple, Optional, Sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB_PATH = os.environ.get("PMD_LIB") or os.path.join(
    REPO_ROOT, "target", "release", "libpmdeflate.so"
)
HEADER_PATH = os.path.join(REPO_ROOT, "include", "pmdeflate.h")

# pmd_result
OK = 0
ERR_NULL_POINTER = 1
ERR_INVALID_ARGUMENT = 2
ERR_HEADER_SYNTAX = 3
ERR_NEGOTIATION = 4
ERR_PROTOCOL = 5
ERR_PAYLOAD_TOO_BIG = 6
ERR_CORRUPT_DATA = 7
ERR_BUFFER_TOO_SMALL = 8
ERR_OUT_OF_MEMORY = 9
ERR_INTERNAL = 10

RESULT_NAMES = {
    OK: "PMD_OK",
    ERR_NULL_POINTER: "PMD_ERR_NULL_POINTER",
    ERR_INVALID_ARGUMENT: "PMD_ERR_INVALID_ARGUMENT",
    ERR_HEADER_SYNTAX: "PMD_ERR_HEADER_SYNTAX",
    ERR_NEGOTIATION: "PMD_ERR_NEGOTIATION",
    ERR_PROTOCOL: "PMD_ERR_PROTOCOL",
    ERR_PAYLOAD_TOO_BIG: "PMD_ERR_PAYLOAD_TOO_BIG",
    ERR_CORRUPT_DATA: "PMD_ERR_CORRUPT_DATA",
    ERR_BUFFER_TOO_SMALL: "PMD_ERR_BUFFER_TOO_SMALL",
    ERR_OUT_OF_MEMORY: "PMD_ERR_OUT_OF_MEMORY",
    ERR_INTERNAL: "PMD_ERR_INTERNAL",
}

WINDOW_BITS_NO_VALUE = -1
# max_size / max_message_size: "no limit".
SIZE_MAX = ctypes.c_size_t(-1).value

STRATEGY_DEFAULT = 0
STRATEGY_FILTERED = 1
STRATEGY_HUFFMAN_ONLY = 2
STRATEGY_RLE = 3
STRATEGY_FIXED = 4

OPCODE_CONTINUATION = 0
OPCODE_TEXT = 1
OPCODE_BINARY = 2
OPCODE_CLOSE = 8
OPCODE_PING = 9
OPCODE_PONG = 10

EXTENSION_NAME = "permessage-deflate"


class PmdError(Exception):
    """A pmd_* call returned something other than PMD_OK."""

    def __init__(self, code: int, detail: str, func: str = "") -> None:
        self.code = code
        self.name = result_name(code)
        self.detail = detail
        self.func = func
        super().__init__(f"{func}: {self.name}: {detail}" if func else f"{self.name}: {detail}")


class pmd_param(Structure):
    _fields_ = [
        ("name", c_void_p),
        ("name_len", c_size_t),
        ("value", c_void_p),
        ("value_len", c_size_t),
    ]


class pmd_frame(Structure):
    _fields_ = [
        ("opcode", c_uint8),
        ("fin", c_bool),
        ("rsv1", c_bool),
        ("rsv2", c_bool),
        ("rsv3", c_bool),
        ("data", c_void_p),
        ("len", c_size_t),
    ]


class pmd_negotiated(Structure):
    _fields_ = [
        ("remote_no_context_takeover", c_bool),
        ("local_no_context_takeover", c_bool),
        ("remote_max_window_bits", c_uint8),
        ("local_max_window_bits", c_uint8),
    ]


class Frame(NamedTuple):
    opcode: int
    data: bytes
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False


class Negotiated(NamedTuple):
    remote_no_context_takeover: bool
    local_no_context_takeover: bool
    remote_max_window_bits: int
    local_max_window_bits: int


def _load():
    lib = ctypes.CDLL(LIB_PATH)
    P = c_void_p
    R = c_int
    sigs = {
        "pmd_result_name": (c_char_p, [c_int]),
        "pmd_result_close_code": (c_uint16, [c_int]),
        "pmd_last_error": (c_char_p, []),
        "pmd_version": (c_char_p, []),
        "pmd_config_new": (P, []),
        "pmd_config_free": (None, [P]),
        "pmd_config_set_server_no_context_takeover": (R, [P, c_bool]),
        "pmd_config_set_client_no_context_takeover": (R, [P, c_bool]),
        "pmd_config_set_server_max_window_bits": (R, [P, c_int]),
        "pmd_config_set_client_max_window_bits": (R, [P, c_int]),
        "pmd_config_set_compress_level": (R, [P, c_int]),
        "pmd_config_set_mem_level": (R, [P, c_int]),
        "pmd_config_set_strategy": (R, [P, c_int]),
        "pmd_config_set_require": (R, [P, c_bool]),
        "pmd_config_set_require_client_max_window_bits": (R, [P, c_bool]),
        "pmd_config_set_strict_window": (R, [P, c_bool]),
        "pmd_config_set_compress_threshold": (R, [P, c_size_t]),
        "pmd_zlib_version": (c_char_p, []),
        "pmd_client_offer": (R, [P, P, c_size_t, POINTER(c_size_t)]),
        "pmd_client_accept": (R, [P, P, c_size_t, POINTER(P)]),
        "pmd_server_negotiate": (
            R,
            [P, P, c_size_t, P, c_size_t, POINTER(c_size_t), POINTER(P)],
        ),
        "pmd_client_request_params": (R, [P, POINTER(pmd_param), c_size_t, POINTER(c_size_t)]),
        "pmd_client_process_response_params": (
            R,
            [P, POINTER(pmd_param), c_size_t, POINTER(c_char_p), c_size_t, POINTER(P)],
        ),
        "pmd_server_process_request_params": (
            R,
            [
                P,
                POINTER(pmd_param),
                c_size_t,
                POINTER(c_char_p),
                c_size_t,
                POINTER(pmd_param),
                c_size_t,
                POINTER(c_size_t),
                POINTER(P),
            ],
        ),
        "pmd_header_parse": (R, [P, c_size_t, POINTER(P)]),
        "pmd_header_count": (c_size_t, [P]),
        "pmd_header_get": (
            R,
            [P, c_size_t, POINTER(P), POINTER(c_size_t), POINTER(POINTER(pmd_param)), POINTER(c_size_t)],
        ),
        "pmd_header_free": (None, [P]),
        "pmd_header_build": (R, [P, c_size_t, POINTER(pmd_param), c_size_t, P, c_size_t, POINTER(c_size_t)]),
        "pmd_extension_new": (R, [c_bool, c_bool, c_int, c_int, P, POINTER(P)]),
        "pmd_extension_encode": (R, [P, POINTER(pmd_frame), POINTER(pmd_frame)]),
        "pmd_extension_decode": (R, [P, POINTER(pmd_frame), c_size_t, POINTER(pmd_frame)]),
        "pmd_extension_name": (c_char_p, [P]),
        "pmd_extension_negotiated": (R, [P, POINTER(pmd_negotiated)]),
        "pmd_extension_memory_usage": (c_size_t, [P]),
        "pmd_extension_free": (None, [P]),
        "pmd_encoder_new": (R, [P, c_int, POINTER(P)]),
        "pmd_encoder_encode": (R, [P, POINTER(pmd_frame), POINTER(pmd_frame)]),
        "pmd_encoder_free": (None, [P]),
        "pmd_extension_can_send_shared": (c_bool, [P, P]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


lib = _load()


def _b(s) -> bytes:
    if s is None:
        return None
    if isinstance(s, str):
        return s.encode("utf-8")
    return bytes(s)


def _buf(data: Optional[bytes]):
    """A (pointer, length, keepalive) triple for an input byte string."""
    if data is None:
        return None, 0, None
    cbuf = ctypes.create_string_buffer(data, len(data) + 1)  # +1: never a zero-size buffer
    return ctypes.cast(cbuf, c_void_p), len(data), cbuf


def _check(code: int, func: str) -> None:
    if code != OK:
        raise PmdError(code, last_error(), func)


# ---------------------------------------------------------------- results


def result_name(code: int) -> str:
    s = lib.pmd_result_name(code)
    return s.decode() if s is not None else None


def result_close_code(code: int) -> int:
    return lib.pmd_result_close_code(code)


def last_error() -> str:
    s = lib.pmd_last_error()
    return s.decode("utf-8", "replace") if s is not None else None


def version() -> str:
    return lib.pmd_version().decode()


def max_response_len() -> Optional[int]:
    """PMD_MAX_RESPONSE_LEN from the committed header, if present there."""
    try:
        with open(HEADER_PATH, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r"#define\s+PMD_MAX_RESPONSE_LEN\s+\(?\s*(\d+)", text)
    return int(m.group(1)) if m else None


# ----------------------------------------------------------------- params


class _ParamArray:
    """A pmd_param array built from (name, value) pairs, kept alive with its strings."""

    def __init__(self, params: Sequence) -> None:
        self.keep = []
        n = len(params)
        self.array = (pmd_param * max(n, 1))()
        self.n = n
        for i, (name, value) in enumerate(params):
            nb = _b(name)
            np_, nl, nk = _buf(nb)
            self.keep.append(nk)
            self.array[i].name = np_
            self.array[i].name_len = nl
            if value is None:
                self.array[i].value = None
                self.array[i].value_len = 0
            else:
                vb = _b(value)
                vp, vl, vk = _buf(vb)
                self.keep.append(vk)
                self.array[i].value = vp
                self.array[i].value_len = vl


def _read_params(array, n: int) -> list:
    out = []
    for i in range(n):
        p = array[i]
        name = ctypes.string_at(p.name, p.name_len).decode("utf-8") if p.name_len else ""
        if p.value is None:
            value = None
        else:
            value = ctypes.string_at(p.value, p.value_len).decode("utf-8")
        out.append((name, value))
    return out


def _accepted_array(accepted: Sequence):
    n = len(accepted)
    arr = (c_char_p * max(n, 1))()
    for i, name in enumerate(accepted):
        arr[i] = _b(name)
    return arr, n


class _Handle:
    """Owns self.ptr, which lib.<_free> frees: on free() (once), or when
    the object is collected."""

    _free = ""
    ptr = None

    def free(self) -> None:
        if self.ptr:
            getattr(lib, self._free)(self.ptr)
            self.ptr = None

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:
            pass


# ----------------------------------------------------------------- config


class Config(_Handle):
    """pmd_config. Keyword arguments call the matching setters (None: leave the default)."""

    _free = "pmd_config_free"

    def __init__(
        self,
        server_no_context_takeover: Optional[bool] = None,
        client_no_context_takeover: Optional[bool] = None,
        server_max_window_bits: Optional[int] = None,
        client_max_window_bits: Optional[int] = None,
        compress_level: Optional[int] = None,
        mem_level: Optional[int] = None,
        strategy: Optional[int] = None,
        require: Optional[bool] = None,
        require_client_max_window_bits: Optional[bool] = None,
    ) -> None:
        self.ptr = lib.pmd_config_new()
        if not self.ptr:
            raise MemoryError("pmd_config_new returned NULL")
        for name, value in [
            ("server_no_context_takeover", server_no_context_takeover),
            ("client_no_context_takeover", client_no_context_takeover),
            ("server_max_window_bits", server_max_window_bits),
            ("client_max_window_bits", client_max_window_bits),
            ("compress_level", compress_level),
            ("mem_level", mem_level),
            ("strategy", strategy),
            ("require", require),
            ("require_client_max_window_bits", require_client_max_window_bits),
        ]:
            if value is not None:
                self.set(name, value)

    def set(self, name: str, value) -> None:
        fn = getattr(lib, "pmd_config_set_" + name)
        _check(fn(self.ptr, value), "pmd_config_set_" + name)

    @property
    def _as_param(self):
        return self.ptr


def _cfg_ptr(cfg: Optional[Config]):
    return None if cfg is None else cfg.ptr


# -------------------------------------------------------------- extension


class Extension(_Handle):
    """pmd_extension: one connection's negotiated permessage-deflate."""

    _free = "pmd_extension_free"

    def __init__(self, ptr) -> None:
        self.ptr = ptr
        # Keep the last input of each side alive while its output may alias it.
        self._keep_enc = None
        self._keep_dec = None

    @classmethod
    def new(
        cls,
        remote_no_context_takeover: bool,
        local_no_context_takeover: bool,
        remote_max_window_bits: int,
        local_max_window_bits: int,
        cfg: Optional[Config] = None,
    ) -> "Extension":
        out = c_void_p()
        _check(
            lib.pmd_extension_new(
                remote_no_context_takeover,
                local_no_context_takeover,
                remote_max_window_bits,
                local_max_window_bits,
                _cfg_ptr(cfg),
                byref(out),
            ),
            "pmd_extension_new",
        )
        return cls(out.value)

    @staticmethod
    def _in_frame(frame: Frame):
        data = bytes(frame.data)
        ptr, n, keep = _buf(data)
        f = pmd_frame(frame.opcode, frame.fin, frame.rsv1, frame.rsv2, frame.rsv3, ptr, n)
        return f, keep

    @staticmethod
    def _out_frame(f: pmd_frame) -> Frame:
        data = ctypes.string_at(f.data, f.len) if f.len else b""
        return Frame(f.opcode, data, bool(f.fin), bool(f.rsv1), bool(f.rsv2), bool(f.rsv3))

    def encode(self, frame: Frame) -> Frame:
        fin, keep = self._in_frame(frame)
        self._keep_enc = keep
        out = pmd_frame()
        _check(lib.pmd_extension_encode(self.ptr, byref(fin), byref(out)), "pmd_extension_encode")
        return self._out_frame(out)

    def decode(self, frame: Frame, max_size: int = SIZE_MAX) -> Frame:
        fin, keep = self._in_frame(frame)
        self._keep_dec = keep
        out = pmd_frame()
        _check(
            lib.pmd_extension_decode(self.ptr, byref(fin), max_size, byref(out)),
            "pmd_extension_decode",
        )
        return self._out_frame(out)

    @property
    def name(self) -> str:
        return lib.pmd_extension_name(self.ptr).decode()

    def negotiated(self) -> Negotiated:
        n = pmd_negotiated()
        _check(lib.pmd_extension_negotiated(self.ptr, byref(n)), "pmd_extension_negotiated")
        return Negotiated(
            bool(n.remote_no_context_takeover),
            bool(n.local_no_context_takeover),
            int(n.remote_max_window_bits),
            int(n.local_max_window_bits),
        )

    def memory_usage(self) -> int:
        return lib.pmd_extension_memory_usage(self.ptr)

    def can_send_shared(self, enc: "Encoder") -> bool:
        return bool(lib.pmd_extension_can_send_shared(self.ptr, enc.ptr))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()


class Encoder(_Handle):
    """pmd_encoder: compress once, send to many (no context takeover)."""

    _free = "pmd_encoder_free"

    def __init__(self, window_bits: int = 15, cfg: Optional[Config] = None) -> None:
        out = c_void_p()
        _check(lib.pmd_encoder_new(_cfg_ptr(cfg), window_bits, byref(out)), "pmd_encoder_new")
        self.ptr = out.value
        self._keep = None

    def encode(self, frame: Frame) -> Frame:
        fin, keep = Extension._in_frame(frame)
        self._keep = keep
        out = pmd_frame()
        _check(lib.pmd_encoder_encode(self.ptr, byref(fin), byref(out)), "pmd_encoder_encode")
        return Extension._out_frame(out)


def _ext_or_none(p: c_void_p) -> Optional[Extension]:
    return Extension(p.value) if p.value else None


# ------------------------------------------------------------ negotiation


def _check_text(buf, cap: int, n: int, func: str) -> None:
    """A written string fits, and is NUL-terminated when room allows (docs/conventions.md)."""
    if n > cap:
        raise AssertionError(f"{func}: out_len {n} > cap {cap}")
    if n < cap and buf.raw[n] != 0:
        raise AssertionError(f"{func}: no NUL after {n} bytes with cap {cap}")


def _call_with_text_buffer(call, func: str, cap: int = 64) -> str:
    """Calls call(buf, cap, out_len_ref), growing buf on BUFFER_TOO_SMALL."""
    for _ in range(4):
        buf = ctypes.create_string_buffer(b"\xaa" * cap, cap)  # not zeroed: the NUL is checked
        out_len = c_size_t(0)
        code = call(buf, cap, out_len)
        if code == ERR_BUFFER_TOO_SMALL:
            needed = out_len.value
            if needed < cap:
                raise PmdError(code, f"needed size {needed} not larger than cap {cap}", func)
            cap = needed + 1
            continue
        _check(code, func)
        _check_text(buf, cap, out_len.value, func)
        return buf.raw[: out_len.value].decode("utf-8")
    raise AssertionError(f"{func}: buffer kept growing")


def client_request_params(cfg: Config) -> list:
    cap = 8
    arr = (pmd_param * cap)()
    n = c_size_t(0)
    _check(lib.pmd_client_request_params(cfg.ptr, arr, cap, byref(n)), "pmd_client_request_params")
    return _read_params(arr, n.value)


def client_offer(cfg: Config) -> str:
    return _call_with_text_buffer(
        lambda buf, cap, ol: lib.pmd_client_offer(cfg.ptr, ctypes.cast(buf, c_void_p), cap, byref(ol)),
        "pmd_client_offer",
    )


def client_accept(cfg: Config, response) -> Optional[Extension]:
    """response None: the header was absent."""
    data = _b(response)
    ptr, n, keep = _buf(data)
    out = c_void_p()
    _check(lib.pmd_client_accept(cfg.ptr, ptr, n, byref(out)), "pmd_client_accept")
    return _ext_or_none(out)


def server_negotiate(cfg: Config, request) -> tuple:
    """Returns (response value or None, Extension or None)."""
    data = _b(request)
    ptr, n, keep = _buf(data)
    cap = 64
    for _ in range(4):
        buf = ctypes.create_string_buffer(b"\xaa" * cap, cap)
        out_len = c_size_t(12345)
        out = c_void_p()
        code = lib.pmd_server_negotiate(
            cfg.ptr, ptr, n, ctypes.cast(buf, c_void_p), cap, byref(out_len), byref(out)
        )
        if code == ERR_BUFFER_TOO_SMALL:
            cap = out_len.value + 1
            continue
        _check(code, "pmd_server_negotiate")
        ext = _ext_or_none(out)
        if ext is None:
            if out_len.value != 0:
                raise AssertionError(f"pmd_server_negotiate: no extension but *out_len = {out_len.value}")
            return None, None
        _check_text(buf, cap, out_len.value, "pmd_server_negotiate")
        return buf.raw[: out_len.value].decode("utf-8"), ext
    raise AssertionError("pmd_server_negotiate: buffer kept growing")


def client_process_response_params(cfg: Config, params: Sequence, accepted: Sequence = ()) -> Extension:
    pa = _ParamArray(params)
    acc, n_acc = _accepted_array(accepted)
    out = c_void_p()
    _check(
        lib.pmd_client_process_response_params(cfg.ptr, pa.array, pa.n, acc, n_acc, byref(out)),
        "pmd_client_process_response_params",
    )
    if not out.value:
        raise AssertionError("pmd_client_process_response_params: PMD_OK with NULL extension")
    return Extension(out.value)


def server_process_request_params(cfg: Config, params: Sequence, accepted: Sequence = ()) -> tuple:
    """Returns (response params, Extension)."""
    pa = _ParamArray(params)
    acc, n_acc = _accepted_array(accepted)
    cap = 8
    resp = (pmd_param * cap)()
    n_resp = c_size_t(0)
    out = c_void_p()
    _check(
        lib.pmd_server_process_request_params(
            cfg.ptr, pa.array, pa.n, acc, n_acc, resp, cap, byref(n_resp), byref(out)
        ),
        "pmd_server_process_request_params",
    )
    if not out.value:
        raise AssertionError("pmd_server_process_request_params: PMD_OK with NULL extension")
    return _read_params(resp, n_resp.value), Extension(out.value)


# ----------------------------------------------------------------- header


def header_parse(value) -> list:
    """Returns [(name, [(param, value-or-None), ...]), ...]."""
    data = _b(value)
    ptr, n, keep = _buf(data)
    h = c_void_p()
    _check(lib.pmd_header_parse(ptr, n, byref(h)), "pmd_header_parse")
    try:
        out = []
        count = lib.pmd_header_count(h)
        for i in range(count):
            name = c_void_p()
            name_len = c_size_t()
            params = POINTER(pmd_param)()
            n_params = c_size_t()
            _check(
                lib.pmd_header_get(h, i, byref(name), byref(name_len), byref(params), byref(n_params)),
                "pmd_header_get",
            )
            out.append(
                (
                    ctypes.string_at(name.value, name_len.value).decode("utf-8"),
                    _read_params(params, n_params.value),
                )
            )
        return out
    finally:
        lib.pmd_header_free(h)


def header_get_raw(value, index: int):
    """pmd_header_get at one index; returns the pmd_result code (for bounds checks)."""
    data = _b(value)
    ptr, n, keep = _buf(data)
    h = c_void_p()
    _check(lib.pmd_header_parse(ptr, n, byref(h)), "pmd_header_parse")
    try:
        name = c_void_p()
        name_len = c_size_t()
        params = POINTER(pmd_param)()
        n_params = c_size_t()
        return lib.pmd_header_get(h, index, byref(name), byref(name_len), byref(params), byref(n_params))
    finally:
        lib.pmd_header_free(h)


def header_build(name, params: Sequence = ()) -> str:
    nb = _b(name)
    nptr, nlen, nkeep = _buf(nb)
    pa = _ParamArray(params)
    return _call_with_text_buffer(
        lambda buf, cap, ol: lib.pmd_header_build(
            nptr, nlen, pa.array, pa.n, ctypes.cast(buf, c_void_p), cap, byref(ol)
        ),
        "pmd_header_build",
    )
