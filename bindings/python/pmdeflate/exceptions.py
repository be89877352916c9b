"""The errors of pmdeflate as exceptions, named as in the websockets library.

Every exception the binding raises for a failed library call is a
PmdeflateError carrying the pmd_result (`code`), the WebSocket close code to
send (`close_code`) and the library's one-line detail (`detail`, from
pmd_last_error). Your own extensions and factories raise the same classes
(e.g. NegotiationError to decline an offer).

    PmdeflateError
      NegotiationError            PMD_ERR_NEGOTIATION: parameters not acceptable
        DuplicateParameter        a parameter given twice (.name)
        InvalidParameterName      an unknown parameter (.name)
        InvalidParameterValue     a value out of range (.name, .value)
      InvalidHeaderFormat         PMD_ERR_HEADER_SYNTAX: a header that does not parse
      ProtocolError               PMD_ERR_PROTOCOL: close 1002
        CorruptData               PMD_ERR_CORRUPT_DATA: invalid DEFLATE data, close 1007
      PayloadTooBig               PMD_ERR_PAYLOAD_TOO_BIG: close 1009 (.max_size)
      InvalidArgument             PMD_ERR_INVALID_ARGUMENT (also a ValueError)
      OutOfMemory                 PMD_ERR_OUT_OF_MEMORY (also a MemoryError), close 1011
      InternalError               PMD_ERR_INTERNAL and results the binding never expects
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

from ._library import lib, last_error

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


class PmdeflateError(Exception):
    """Base class. `code` is the pmd_result, `detail` the library's text
    when the library raised it."""

    code = ERR_INTERNAL

    def __init__(self, *args, detail: Optional[str] = None) -> None:
        super().__init__(*args)
        self.detail = detail

    @property
    def result_name(self) -> str:
        return lib.pmd_result_name(self.code).decode()

    @property
    def close_code(self) -> int:
        """The close code to send: 1002, 1007, 1009, 1011, or 0 (nothing to close for)."""
        return lib.pmd_result_close_code(self.code)


class NegotiationError(PmdeflateError):
    code = ERR_NEGOTIATION


class DuplicateParameter(NegotiationError):
    def __init__(self, name: str, *, detail: Optional[str] = None) -> None:
        super().__init__(detail or f"duplicate parameter: {name}", detail=detail)
        self.name = name


class InvalidParameterName(NegotiationError):
    def __init__(self, name: str, *, detail: Optional[str] = None) -> None:
        super().__init__(detail or f"invalid parameter name: {name}", detail=detail)
        self.name = name


class InvalidParameterValue(NegotiationError):
    def __init__(self, name: str, value: Optional[str], *, detail: Optional[str] = None) -> None:
        text = f"missing value for parameter {name}" if value is None else (
            f"invalid value for parameter {name}: {value}"
        )
        super().__init__(detail or text, detail=detail)
        self.name = name
        self.value = value


class InvalidHeaderFormat(PmdeflateError):
    code = ERR_HEADER_SYNTAX


class ProtocolError(PmdeflateError):
    code = ERR_PROTOCOL


class CorruptData(ProtocolError):
    code = ERR_CORRUPT_DATA


class PayloadTooBig(PmdeflateError):
    code = ERR_PAYLOAD_TOO_BIG

    def __init__(self, *args, max_size: Optional[int] = None, detail: Optional[str] = None) -> None:
        super().__init__(*args, detail=detail)
        self.max_size = max_size


class InvalidArgument(PmdeflateError, ValueError):
    code = ERR_INVALID_ARGUMENT


class OutOfMemory(PmdeflateError, MemoryError):
    code = ERR_OUT_OF_MEMORY


class InternalError(PmdeflateError):
    code = ERR_INTERNAL


_BY_CODE = {
    ERR_INVALID_ARGUMENT: InvalidArgument,
    ERR_HEADER_SYNTAX: InvalidHeaderFormat,
    ERR_NEGOTIATION: NegotiationError,
    ERR_PROTOCOL: ProtocolError,
    ERR_PAYLOAD_TOO_BIG: PayloadTooBig,
    ERR_CORRUPT_DATA: CorruptData,
    ERR_OUT_OF_MEMORY: OutOfMemory,
}

# The library's wording of parameter errors (src/params.rs), after "func: ".
_DUPLICATE = re.compile(r": duplicate parameter (\S+)$")
_BAD_NAME = re.compile(r": invalid parameter name (.*)$")
_BAD_VALUE = re.compile(r": invalid value for parameter (\S+): (.*)$")


def _negotiation_error(detail: str, params: Optional[Sequence]) -> NegotiationError:
    m = _DUPLICATE.search(detail)
    if m:
        return DuplicateParameter(m.group(1), detail=detail)
    m = _BAD_NAME.search(detail)
    if m:
        return InvalidParameterName(m.group(1), detail=detail)
    m = _BAD_VALUE.search(detail)
    if m:
        name, text = m.group(1), m.group(2)
        # The first occurrence is the one found wrong (a later one is a duplicate).
        given = [v for n, v in params or () if n == name]
        value = given[0] if given else (None if text == "(none)" else text)
        return InvalidParameterValue(name, value, detail=detail)
    return NegotiationError(detail, detail=detail)


def error_for(code: int, params: Optional[Sequence] = None, max_size: Optional[int] = None):
    """The exception for a failed call's result, with the thread's detail."""
    detail = last_error()
    if code == ERR_NEGOTIATION:
        return _negotiation_error(detail, params)
    if code == ERR_PAYLOAD_TOO_BIG:
        return PayloadTooBig(detail, max_size=max_size, detail=detail)
    cls = _BY_CODE.get(code)
    if cls is None:
        name = lib.pmd_result_name(code).decode()
        exc = InternalError(f"{name}: {detail}", detail=detail)
        exc.code = code
        return exc
    return cls(detail, detail=detail)


def code_of(exc: BaseException) -> int:
    """The pmd_result a callback returns for an exception it caught."""
    if isinstance(exc, PmdeflateError):
        return exc.code
    if isinstance(exc, MemoryError):
        return ERR_OUT_OF_MEMORY
    return ERR_INTERNAL
