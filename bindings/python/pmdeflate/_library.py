"""Finding and loading libpmdeflate.so, and the C declarations of the
functions the binding calls (include/pmdeflate.h, re-stated for ctypes).

The library is looked for, in order:

1. the file named by the environment variable PMDEFLATE_LIBRARY (when it is
   set, nothing else is tried: a wrong path is an error, not a fallback);
2. libpmdeflate.so next to this package's files (a copy placed there);
3. the system loader: ctypes.util.find_library("pmdeflate"), then
   dlopen("libpmdeflate.so"), which honours LD_LIBRARY_PATH and ldconfig.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int,
    c_size_t,
    c_uint8,
    c_uint16,
    c_void_p,
)

ENV_VAR = "PMDEFLATE_LIBRARY"
FILE_NAME = "libpmdeflate.so"

# The C API version this binding is written against (PMD_VERSION_MAJOR.MINOR).
API_VERSION = (0, 1)

SIZE_MAX = c_size_t(-1).value
WINDOW_BITS_NO_VALUE = -1


class Param(Structure):
    """pmd_param: strings are (pointer, length); value NULL means no value."""

    _fields_ = [
        ("name", c_void_p),
        ("name_len", c_size_t),
        ("value", c_void_p),
        ("value_len", c_size_t),
    ]


class InFrame(Structure):
    """pmd_frame as the binding passes it in: `data` takes a bytes object
    directly (ctypes points at its buffer and keeps it alive)."""

    _fields_ = [
        ("opcode", c_uint8),
        ("fin", c_bool),
        ("rsv1", c_bool),
        ("rsv2", c_bool),
        ("rsv3", c_bool),
        ("data", c_char_p),
        ("len", c_size_t),
    ]


class OutFrame(Structure):
    """pmd_frame as the library writes it: `data` is an address."""

    _fields_ = [
        ("opcode", c_uint8),
        ("fin", c_bool),
        ("rsv1", c_bool),
        ("rsv2", c_bool),
        ("rsv3", c_bool),
        ("data", c_void_p),
        ("len", c_size_t),
    ]


DATA_OFFSET = OutFrame.data.offset


class Negotiated(Structure):
    _fields_ = [
        ("remote_no_context_takeover", c_bool),
        ("local_no_context_takeover", c_bool),
        ("remote_max_window_bits", c_uint8),
        ("local_max_window_bits", c_uint8),
    ]


# Callback types of the framework (pmd_*_callback).
ENCODE_CB = CFUNCTYPE(c_int, c_void_p, POINTER(OutFrame), POINTER(OutFrame))
DECODE_CB = CFUNCTYPE(c_int, c_void_p, POINTER(OutFrame), c_size_t, POINTER(OutFrame))
DESTROY_CB = CFUNCTYPE(None, c_void_p)
GET_REQUEST_PARAMS_CB = CFUNCTYPE(c_int, c_void_p, POINTER(POINTER(Param)), POINTER(c_size_t))


class Vtable(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("name", c_char_p),
        ("encode", ENCODE_CB),
        ("decode", DECODE_CB),
        ("destroy", DESTROY_CB),
    ]


class Instance(Structure):
    _fields_ = [("vtable", POINTER(Vtable)), ("state", c_void_p)]


PROCESS_RESPONSE_PARAMS_CB = CFUNCTYPE(
    c_int, c_void_p, POINTER(Param), c_size_t, POINTER(Instance), c_size_t, POINTER(Instance)
)
PROCESS_REQUEST_PARAMS_CB = CFUNCTYPE(
    c_int,
    c_void_p,
    POINTER(Param),
    c_size_t,
    POINTER(Instance),
    c_size_t,
    POINTER(POINTER(Param)),
    POINTER(c_size_t),
    POINTER(Instance),
)


class ClientFactory(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("name", c_char_p),
        ("user", c_void_p),
        ("get_request_params", GET_REQUEST_PARAMS_CB),
        ("process_response_params", PROCESS_RESPONSE_PARAMS_CB),
        ("destroy", DESTROY_CB),
    ]


class ServerFactory(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("name", c_char_p),
        ("user", c_void_p),
        ("process_request_params", PROCESS_REQUEST_PARAMS_CB),
        ("destroy", DESTROY_CB),
    ]


P = c_void_p
R = c_int
SIGNATURES = {
    "pmd_last_error": (c_char_p, []),
    "pmd_version": (c_char_p, []),
    "pmd_result_name": (c_char_p, [c_int]),
    "pmd_result_close_code": (c_uint16, [c_int]),
    "pmd_config_new": (P, []),
    "pmd_config_free": (None, [P]),
    "pmd_config_set_server_no_context_takeover": (R, [P, c_bool]),
    "pmd_config_set_client_no_context_takeover": (R, [P, c_bool]),
    "pmd_config_set_server_max_window_bits": (R, [P, c_int]),
    "pmd_config_set_client_max_window_bits": (R, [P, c_int]),
    "pmd_config_set_compress_level": (R, [P, c_int]),
    "pmd_config_set_mem_level": (R, [P, c_int]),
    "pmd_config_set_strategy": (R, [P, c_int]),
    "pmd_config_set_require_client_max_window_bits": (R, [P, c_bool]),
    "pmd_config_set_max_message_size": (R, [P, c_size_t]),
    "pmd_config_set_strict_window": (R, [P, c_bool]),
    "pmd_config_set_compress_threshold": (R, [P, c_size_t]),
    "pmd_zlib_version": (c_char_p, []),
    "pmd_client_request_params": (R, [P, POINTER(Param), c_size_t, POINTER(c_size_t)]),
    "pmd_client_process_response_params": (
        R,
        [P, POINTER(Param), c_size_t, POINTER(c_char_p), c_size_t, POINTER(P)],
    ),
    "pmd_server_process_request_params": (
        R,
        [
            P,
            POINTER(Param),
            c_size_t,
            POINTER(c_char_p),
            c_size_t,
            POINTER(Param),
            c_size_t,
            POINTER(c_size_t),
            POINTER(P),
        ],
    ),
    "pmd_extension_new": (R, [c_bool, c_bool, c_int, c_int, P, POINTER(P)]),
    # encode and decode are declared without argtypes: the binding passes
    # ctypes objects only, which skips the per-argument conversion.
    "pmd_extension_encode": (R, None),
    "pmd_extension_decode": (R, None),
    "pmd_extension_set_max_message_size": (R, [P, c_size_t]),
    "pmd_extension_negotiated": (R, [P, POINTER(Negotiated)]),
    "pmd_extension_memory_usage": (c_size_t, [P]),
    "pmd_extension_compact": (R, [P]),
    "pmd_extension_free": (None, [P]),
    "pmd_encoder_new": (R, [P, c_int, POINTER(P)]),
    "pmd_encoder_encode": (R, None),
    "pmd_encoder_free": (None, [P]),
    "pmd_extension_can_send_shared": (c_bool, [P, P]),
    "pmd_client_factory_permessage_deflate": (R, [P, POINTER(ClientFactory)]),
    "pmd_server_factory_permessage_deflate": (R, [P, POINTER(ServerFactory)]),
    "pmd_permessage_deflate_vtable": (c_void_p, []),
    "pmd_negotiator_new": (P, []),
    "pmd_negotiator_free": (None, [P]),
    "pmd_negotiator_add_client": (R, [P, POINTER(ClientFactory)]),
    "pmd_negotiator_add_server": (R, [P, POINTER(ServerFactory)]),
    "pmd_negotiator_client_offer": (R, [P, c_char_p, c_size_t, POINTER(c_size_t)]),
    "pmd_negotiator_client_accept": (R, [P, c_char_p, c_size_t, POINTER(P)]),
    "pmd_negotiator_server_negotiate": (
        R,
        [P, c_char_p, c_size_t, c_char_p, c_size_t, POINTER(c_size_t), POINTER(P)],
    ),
    "pmd_chain_encode": (R, None),
    "pmd_chain_decode": (R, None),
    "pmd_chain_set_max_message_size": (R, [P, c_size_t]),
    "pmd_chain_count": (c_size_t, [P]),
    "pmd_chain_get": (R, [P, c_size_t, POINTER(Instance)]),
    "pmd_chain_free": (None, [P]),
}


def _candidates():
    """(description, path or name) pairs, in the order they are tried."""
    env = os.environ.get(ENV_VAR)
    if env:
        return [(f"${ENV_VAR}", env)]
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), FILE_NAME)
    out = [("next to the package", here)]
    found = ctypes.util.find_library("pmdeflate")
    if found:
        out.append(("ctypes.util.find_library", found))
    out.append(("the system loader", FILE_NAME))
    return out


def _load():
    errors = []
    candidates = _candidates()
    for how, path in candidates:
        if how == "next to the package" and not os.path.exists(path):
            errors.append(f"{how}: {path} does not exist")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            errors.append(f"{how}: {exc}")
            continue
        return lib, path
    raise ImportError(
        "pmdeflate: cannot load libpmdeflate.so ("
        + "; ".join(errors)
        + f"). Set {ENV_VAR} to its path, copy it next to the package, or install it "
        "where the system loader finds it (make install; ldconfig)."
    )


def _declare(lib, path):
    for name, (restype, argtypes) in SIGNATURES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError(f"pmdeflate: {path} has no function {name}") from None
        fn.restype = restype
        if argtypes is not None:
            fn.argtypes = argtypes
    version = lib.pmd_version().decode()
    major, minor = (int(x) for x in version.split(".")[:2])
    if (major, minor) != API_VERSION:
        raise ImportError(
            f"pmdeflate: {path} is version {version}, the binding needs "
            f"{API_VERSION[0]}.{API_VERSION[1]}.x"
        )
    return version


lib, path = _load()
version = _declare(lib, path)


def last_error() -> str:
    return lib.pmd_last_error().decode("utf-8", "replace")
