"""Several extensions at once: your Python extensions beside pmdeflate's
permessage-deflate, negotiated and run by the C framework (pmd_negotiator,
pmd_chain) with the rules of websockets' process_extensions.

    neg = Negotiator(client=[XorFactory(7), ClientPerMessageDeflateFactory()])
    offer = neg.client_offer()              # "x-xor; key=7, permessage-deflate; ..."
    chain = neg.client_accept(response)     # a Chain: encode in order, decode in reverse
    wire = chain.encode(Frame(OP_TEXT, b"hello"))

Factories are written on pmdeflate.base's classes (websockets' vocabulary).
pmdeflate's own ClientPerMessageDeflateFactory and
ServerPerMessageDeflateFactory (not subclassed with other negotiation
methods) run natively inside the library; any other factory and its
extensions are called back through ctypes. An exception other than
NegotiationError raised in a callback stops the C call and is raised again,
as it was, by the Negotiator or Chain method that made the call.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
from ctypes import POINTER, byref, c_size_t, c_void_p
from typing import Dict, List, Optional, Sequence, Tuple

from ._codec import FrameCodec
from ._config import size_arg
from ._library import (
    DECODE_CB,
    DESTROY_CB,
    ENCODE_CB,
    GET_REQUEST_PARAMS_CB,
    PROCESS_REQUEST_PARAMS_CB,
    PROCESS_RESPONSE_PARAMS_CB,
    ClientFactory,
    Instance,
    Param,
    ServerFactory,
    Vtable,
    lib,
)
from ._params import ParamArray, read_params
from .base import ClientExtensionFactory, Extension, ServerExtensionFactory
from .exceptions import (
    ERR_BUFFER_TOO_SMALL,
    ERR_NEGOTIATION,
    NegotiationError,
    code_of,
    error_for,
)
from .frames import Frame
from .permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory

_BUILTIN_VTABLE = lib.pmd_permessage_deflate_vtable()


class NativeExtension(Extension):
    """A member of a chain that runs inside the library (pmdeflate's
    permessage-deflate): seen in accepted lists and Chain.extensions by
    its name only."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"NativeExtension({self.name!r})"


# --------------------------------------------------------------- callbacks

_pending = threading.local()


def _fail(exc: BaseException) -> int:
    """Keeps the exception to raise again after the C call; its result."""
    _pending.exc = exc
    return code_of(exc)


def _take_pending():
    exc = getattr(_pending, "exc", None)
    _pending.exc = None
    return exc


class _Slot:
    """A Python extension instance given to C: the object, and the last
    output of each side, which C reads after the callback returns."""

    __slots__ = ("ext", "enc_keep", "dec_keep")

    def __init__(self, ext: Extension) -> None:
        self.ext = ext
        self.enc_keep = None
        self.dec_keep = None


_instances: Dict[int, _Slot] = {}
_ids = itertools.count(1)
_vtables: Dict[str, Vtable] = {}
_vtable_names: Dict[int, str] = {}
_registry_lock = threading.Lock()


def _frame_in(f) -> Frame:
    data = ctypes.string_at(f.data, f.len) if f.len else b""
    return Frame(f.opcode, data, bool(f.fin), bool(f.rsv1), bool(f.rsv2), bool(f.rsv3))


def _frame_out(res, given: Frame, in_addr, o):
    """Writes the extension's result frame to *o; returns what must stay
    alive until the next call on that side."""
    data = res.data
    if data is given.data:
        keep, addr, n = None, in_addr, len(data)
    else:
        keep = data if type(data) is bytes else bytes(data)
        addr, n = ctypes.cast(ctypes.c_char_p(keep), c_void_p).value, len(keep)
    o.opcode = int(res.opcode)
    o.fin, o.rsv1, o.rsv2, o.rsv3 = bool(res.fin), bool(res.rsv1), bool(res.rsv2), bool(res.rsv3)
    o.data = addr
    o.len = n
    return keep


def _encode_cb(state, inp, outp) -> int:
    try:
        slot = _instances[state]
        given = _frame_in(inp.contents)
        res = slot.ext.encode(given)
        slot.enc_keep = _frame_out(res, given, inp.contents.data, outp.contents)
        return 0
    except BaseException as exc:
        return _fail(exc)


def _decode_cb(state, inp, max_size, outp) -> int:
    try:
        slot = _instances[state]
        given = _frame_in(inp.contents)
        limit = None if max_size == c_size_t(-1).value else max_size
        res = slot.ext.decode(given, max_size=limit)
        slot.dec_keep = _frame_out(res, given, inp.contents.data, outp.contents)
        return 0
    except BaseException as exc:
        return _fail(exc)


def _destroy_cb(state) -> None:
    with _registry_lock:
        _instances.pop(state, None)


_ENCODE = ENCODE_CB(_encode_cb)
_DECODE = DECODE_CB(_decode_cb)
_DESTROY = DESTROY_CB(_destroy_cb)


def _vtable_for(name: str) -> Vtable:
    with _registry_lock:
        vt = _vtables.get(name)
        if vt is None:
            vt = Vtable(ctypes.sizeof(Vtable), name.encode("utf-8"), _ENCODE, _DECODE, _DESTROY)
            _vtables[name] = vt
            _vtable_names[ctypes.addressof(vt)] = name
        return vt


def _give(ext: Extension, out) -> None:
    """Hands a Python extension to C as *out (an Instance)."""
    if not isinstance(getattr(ext, "name", None), str):
        raise TypeError(f"{ext!r} has no name")
    vt = _vtable_for(ext.name)
    with _registry_lock:
        state = next(_ids)
        _instances[state] = _Slot(ext)
    out.vtable = ctypes.pointer(vt)
    out.state = state


def _view(inst: Instance) -> Extension:
    """The Python object for an instance C shows back."""
    addr = ctypes.cast(inst.vtable, c_void_p).value
    if addr == _BUILTIN_VTABLE:
        return NativeExtension("permessage-deflate")
    if addr in _vtable_names:
        slot = _instances.get(inst.state)
        if slot is not None:
            return slot.ext
    return NativeExtension(inst.vtable.contents.name.decode("utf-8", "replace"))


def _views(accepted, n: int) -> List[Extension]:
    return [_view(accepted[i]) for i in range(n)]


class _ClientSlot:
    """A Python client factory as a pmd_client_factory; keeps its callbacks
    and the last parameters it returned alive."""

    def __init__(self, factory: ClientExtensionFactory) -> None:
        self.factory = factory
        self.keep = None
        self.struct = ClientFactory(
            ctypes.sizeof(ClientFactory),
            factory.name.encode("utf-8"),
            None,
            GET_REQUEST_PARAMS_CB(self._get_request_params),
            PROCESS_RESPONSE_PARAMS_CB(self._process_response_params),
            DESTROY_CB(),
        )

    def _get_request_params(self, user, params_out, n_out) -> int:
        try:
            array = ParamArray(list(self.factory.get_request_params()))
            self.keep = array
            params_out[0] = ctypes.cast(array.array, POINTER(Param))
            n_out[0] = array.n
            return 0
        except BaseException as exc:
            return _fail(exc)

    def _process_response_params(self, user, params, n, accepted, n_accepted, out) -> int:
        try:
            ext = self.factory.process_response_params(read_params(params, n), _views(accepted, n_accepted))
            _give(ext, out.contents)
            return 0
        except NegotiationError:
            return ERR_NEGOTIATION
        except BaseException as exc:
            return _fail(exc)


class _ServerSlot:
    """A Python server factory as a pmd_server_factory."""

    def __init__(self, factory: ServerExtensionFactory) -> None:
        self.factory = factory
        self.keep = None
        self.struct = ServerFactory(
            ctypes.sizeof(ServerFactory),
            factory.name.encode("utf-8"),
            None,
            PROCESS_REQUEST_PARAMS_CB(self._process_request_params),
            DESTROY_CB(),
        )

    def _process_request_params(self, user, params, n, accepted, n_accepted, resp_out, n_resp_out, out) -> int:
        try:
            response, ext = self.factory.process_request_params(
                read_params(params, n), _views(accepted, n_accepted)
            )
            array = ParamArray(list(response))
            self.keep = array
            _give(ext, out.contents)
            resp_out[0] = ctypes.cast(array.array, POINTER(Param))
            n_resp_out[0] = array.n
            return 0
        except NegotiationError:
            return ERR_NEGOTIATION
        except BaseException as exc:
            return _fail(exc)


def _native(factory) -> bool:
    """True for pmdeflate's own factory whose negotiation is not overridden."""
    if isinstance(factory, ClientPerMessageDeflateFactory):
        return (
            type(factory).process_response_params is ClientPerMessageDeflateFactory.process_response_params
            and type(factory).get_request_params is ClientPerMessageDeflateFactory.get_request_params
        )
    if isinstance(factory, ServerPerMessageDeflateFactory):
        return type(factory).process_request_params is ServerPerMessageDeflateFactory.process_request_params
    return False


def _raise(result: int, max_size: Optional[int] = None):
    exc = _take_pending()
    if exc is not None:
        return exc
    return error_for(result, max_size=max_size)


# ------------------------------------------------------------------ chain


class Chain(FrameCodec):
    """One connection's negotiated extensions (pmd_chain). encode runs them
    first accepted to last, decode last to first, then refuses a reserved
    bit no extension cleared (ProtocolError). encode and decode may run on
    two threads at once; Python extensions of one chain never run at once."""

    _c_encode = staticmethod(lib.pmd_chain_encode)
    _c_decode = staticmethod(lib.pmd_chain_decode)

    def __init__(self, ptr: int) -> None:
        self._ptr = c_void_p(ptr)
        self._codec_init()

    @staticmethod
    def _error(result: int, max_size: Optional[int]):
        return _raise(result, max_size)

    def encode(self, frame):
        _pending.exc = None
        return super().encode(frame)

    def decode(self, frame, *, max_size: Optional[int] = None):
        _pending.exc = None
        return super().decode(frame, max_size=max_size)

    @property
    def extensions(self) -> List[Extension]:
        """The accepted extensions in order: your objects, and a
        NativeExtension for pmdeflate's permessage-deflate."""
        out = []
        for i in range(lib.pmd_chain_count(self._ptr)):
            inst = Instance()
            result = lib.pmd_chain_get(self._ptr, i, byref(inst))
            if result:
                raise error_for(result)
            out.append(_view(inst))
        return out

    def set_max_message_size(self, max_message_size: Optional[int]) -> None:
        """The most bytes one incoming message may decode to (None: no limit)."""
        result = lib.pmd_chain_set_max_message_size(self._ptr, size_arg(max_message_size))
        if result:
            raise error_for(result)

    def close(self) -> None:
        """Frees the chain and destroys its extensions, last accepted first."""
        if self._ptr:
            lib.pmd_chain_free(self._ptr)
            self._ptr = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


# ------------------------------------------------------------- negotiator


def _header_arg(value: Optional[str]) -> Tuple[Optional[bytes], int]:
    if value is None:
        return None, 0
    data = value.encode("latin-1") if isinstance(value, str) else bytes(value)
    return data, len(data)


class Negotiator:
    """Ordered client and server factories (pmd_negotiator): what a client
    offers and accepts, what a server answers."""

    def __init__(
        self,
        client: Sequence[ClientExtensionFactory] = (),
        server: Sequence[ServerExtensionFactory] = (),
    ) -> None:
        self._ptr = None
        ptr = lib.pmd_negotiator_new()
        if not ptr:
            raise MemoryError("pmd_negotiator_new returned NULL")
        self._ptr = c_void_p(ptr)
        self._slots: list = []
        for f in client:
            self.add_client(f)
        for f in server:
            self.add_server(f)

    def add_client(self, factory: ClientExtensionFactory) -> None:
        """Appends a client factory: offered in the order added."""
        if _native(factory):
            struct = ClientFactory()
            result = lib.pmd_client_factory_permessage_deflate(factory._config.ptr, byref(struct))
            if result:
                raise error_for(result)
            result = lib.pmd_negotiator_add_client(self._ptr, byref(struct))
            if result:
                struct.destroy(struct.user)
                raise error_for(result)
            return
        slot = _ClientSlot(factory)
        result = lib.pmd_negotiator_add_client(self._ptr, byref(slot.struct))
        if result:
            raise error_for(result)
        self._slots.append(slot)

    def add_server(self, factory: ServerExtensionFactory) -> None:
        """Appends a server factory: tried in the order added for each offer."""
        if _native(factory):
            struct = ServerFactory()
            result = lib.pmd_server_factory_permessage_deflate(factory._config.ptr, byref(struct))
            if result:
                raise error_for(result)
            result = lib.pmd_negotiator_add_server(self._ptr, byref(struct))
            if result:
                struct.destroy(struct.user)
                raise error_for(result)
            return
        slot = _ServerSlot(factory)
        result = lib.pmd_negotiator_add_server(self._ptr, byref(slot.struct))
        if result:
            raise error_for(result)
        self._slots.append(slot)

    def client_offer(self) -> str:
        """The Sec-WebSocket-Extensions request value; "" means send no header."""
        cap = 1024
        while True:
            _pending.exc = None
            buf = ctypes.create_string_buffer(cap)
            n = c_size_t(0)
            result = lib.pmd_negotiator_client_offer(self._ptr, buf, cap, byref(n))
            if result == ERR_BUFFER_TOO_SMALL:
                cap = n.value + 1
                continue
            if result:
                raise _raise(result)
            return buf.raw[: n.value].decode("latin-1")

    def client_accept(self, response: Optional[str]) -> Chain:
        """Processes the server's response value (None: no header); the
        chain of accepted extensions. NegotiationError (or
        InvalidHeaderFormat) means: fail the connection."""
        data, n = _header_arg(response)
        out = c_void_p()
        _pending.exc = None
        result = lib.pmd_negotiator_client_accept(self._ptr, data, n, byref(out))
        if result:
            raise _raise(result)
        return Chain(out.value)

    def server_negotiate(self, request: Optional[str]) -> Tuple[Optional[str], Chain]:
        """Processes the client's request value (None: no header); the
        response value (None: send no header) and the chain.
        InvalidHeaderFormat means: answer HTTP 400."""
        data, n = _header_arg(request)
        cap = 1024
        while True:
            _pending.exc = None
            buf = ctypes.create_string_buffer(cap)
            n_out = c_size_t(0)
            out = c_void_p()
            result = lib.pmd_negotiator_server_negotiate(self._ptr, data, n, buf, cap, byref(n_out), byref(out))
            if result == ERR_BUFFER_TOO_SMALL:
                cap = n_out.value + 1
                continue
            if result:
                raise _raise(result)
            text = buf.raw[: n_out.value].decode("latin-1")
            return (text or None), Chain(out.value)

    def close(self) -> None:
        if self._ptr:
            lib.pmd_negotiator_free(self._ptr)
            self._ptr = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
