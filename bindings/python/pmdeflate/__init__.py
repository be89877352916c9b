"""pmdeflate for Python: permessage-deflate (RFC 7692) on libpmdeflate,
through ctypes (no compiler needed), with the vocabulary of the websockets
library. See docs/python.md in the pmdeflate repository.

    from pmdeflate import ClientPerMessageDeflateFactory, Frame, OP_TEXT
    factory = ClientPerMessageDeflateFactory(client_max_window_bits=12)
    factory.get_request_params()        # [('client_max_window_bits', '12')]
    ext = factory.process_response_params(response_params, [])
    wire = ext.encode(Frame(OP_TEXT, b"hello"))

pmdeflate.framework runs your own extensions beside it (Negotiator, Chain);
pmdeflate.websockets_adapter plugs it into the websockets library.
"""

from ._library import SIZE_MAX
from ._library import path as library_path
from ._library import version as library_version
from .base import ClientExtensionFactory, Extension, ServerExtensionFactory
from .exceptions import (
    CorruptData,
    DuplicateParameter,
    InternalError,
    InvalidArgument,
    InvalidHeaderFormat,
    InvalidParameterName,
    InvalidParameterValue,
    NegotiationError,
    OutOfMemory,
    PayloadTooBig,
    PmdeflateError,
    ProtocolError,
)
from .framework import Chain, Negotiator
from .frames import CTRL_OPCODES, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, Frame
from .permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from .shared_encoder import SharedEncoder

__version__ = "0.1.0"

__all__ = [
    "SIZE_MAX",
    "library_path",
    "library_version",
    "Extension",
    "ClientExtensionFactory",
    "ServerExtensionFactory",
    "PerMessageDeflate",
    "ClientPerMessageDeflateFactory",
    "ServerPerMessageDeflateFactory",
    "SharedEncoder",
    "Negotiator",
    "Chain",
    "Frame",
    "OP_CONT",
    "OP_TEXT",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_PING",
    "OP_PONG",
    "CTRL_OPCODES",
    "PmdeflateError",
    "NegotiationError",
    "DuplicateParameter",
    "InvalidParameterName",
    "InvalidParameterValue",
    "InvalidHeaderFormat",
    "ProtocolError",
    "CorruptData",
    "PayloadTooBig",
    "InvalidArgument",
    "OutOfMemory",
    "InternalError",
]
