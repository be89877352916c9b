"""pmdeflate as the permessage-deflate of the websockets library.

    from pmdeflate.websockets_adapter import (
        ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory)
    from websockets.sync.client import connect
    from websockets.sync.server import serve

    connect(uri, compression=None, extensions=[ClientPerMessageDeflateFactory()])
    serve(handler, host, port, compression=None,
          extensions=[ServerPerMessageDeflateFactory(server_max_window_bits=12,
                                                     client_max_window_bits=12)])

The factories take the same keyword parameters as websockets' own (plus
max_message_size), are websockets ClientExtensionFactory /
ServerExtensionFactory subclasses, and make PerMessageDeflate extensions
that are websockets Extensions: websockets calls their encode and decode on
its own Frame objects, and they run libpmdeflate. Errors come out as
websockets' exceptions, so websockets handles them as its own: a refused
response is its NegotiationError (DuplicateParameter, ...), an oversized
message its PayloadTooBig (close 1009), a bad frame or invalid DEFLATE data
its ProtocolError (close 1002, as websockets' own extension does).

enable_client_permessage_deflate / enable_server_permessage_deflate add the
factory with websockets' compression="deflate" defaults, as websockets'
functions of the same names do. Requires the websockets package.
"""

from __future__ import annotations

from typing import Optional, Sequence

from websockets import exceptions as _ws
from websockets.extensions import base as _ws_base

from . import exceptions as _pmd
from . import permessage_deflate as _core

__all__ = [
    "PerMessageDeflate",
    "ClientPerMessageDeflateFactory",
    "ServerPerMessageDeflateFactory",
    "enable_client_permessage_deflate",
    "enable_server_permessage_deflate",
]


def _negotiation(exc: _pmd.NegotiationError) -> _ws.NegotiationError:
    if isinstance(exc, _pmd.DuplicateParameter):
        return _ws.DuplicateParameter(exc.name)
    if isinstance(exc, _pmd.InvalidParameterName):
        return _ws.InvalidParameterName(exc.name)
    if isinstance(exc, _pmd.InvalidParameterValue):
        return _ws.InvalidParameterValue(exc.name, exc.value)
    return _ws.NegotiationError(str(exc))


class PerMessageDeflate(_core.PerMessageDeflate, _ws_base.Extension):
    """pmdeflate's PerMessageDeflate as a websockets Extension."""

    def encode(self, frame):
        try:
            return _core.PerMessageDeflate.encode(self, frame)
        except _pmd.InvalidArgument as exc:
            raise _ws.ProtocolError(str(exc)) from exc

    def decode(self, frame, *, max_size: Optional[int] = None):
        try:
            return _core.PerMessageDeflate.decode(self, frame, max_size=max_size)
        except _pmd.PayloadTooBig as exc:
            limit = max_size if max_size is not None else self.max_message_size
            raise _ws.PayloadTooBig(None, limit if limit is not None else 0) from exc
        except _pmd.ProtocolError as exc:  # CorruptData included
            raise _ws.ProtocolError(str(exc)) from exc


class ClientPerMessageDeflateFactory(_core.ClientPerMessageDeflateFactory, _ws_base.ClientExtensionFactory):
    """websockets' ClientPerMessageDeflateFactory, on pmdeflate."""

    extension_class = PerMessageDeflate

    def process_response_params(self, params, accepted_extensions):
        try:
            return super().process_response_params(params, accepted_extensions)
        except _pmd.NegotiationError as exc:
            raise _negotiation(exc) from exc


class ServerPerMessageDeflateFactory(_core.ServerPerMessageDeflateFactory, _ws_base.ServerExtensionFactory):
    """websockets' ServerPerMessageDeflateFactory, on pmdeflate."""

    extension_class = PerMessageDeflate

    def process_request_params(self, params, accepted_extensions):
        try:
            return super().process_request_params(params, accepted_extensions)
        except _pmd.NegotiationError as exc:
            raise _negotiation(exc) from exc


def enable_client_permessage_deflate(
    extensions: Optional[Sequence[_ws_base.ClientExtensionFactory]],
) -> Sequence[_ws_base.ClientExtensionFactory]:
    """Adds pmdeflate's client factory with websockets' defaults unless a
    permessage-deflate factory is there already."""
    extensions = list(extensions or [])
    if not any(f.name == _core.NAME for f in extensions):
        extensions.append(ClientPerMessageDeflateFactory(compress_settings={"memLevel": 5}))
    return extensions


def enable_server_permessage_deflate(
    extensions: Optional[Sequence[_ws_base.ServerExtensionFactory]],
) -> Sequence[_ws_base.ServerExtensionFactory]:
    """Adds pmdeflate's server factory with websockets' defaults unless a
    permessage-deflate factory is there already."""
    extensions = list(extensions or [])
    if not any(f.name == _core.NAME for f in extensions):
        extensions.append(
            ServerPerMessageDeflateFactory(
                server_max_window_bits=12,
                client_max_window_bits=12,
                compress_settings={"memLevel": 5},
            )
        )
    return extensions
