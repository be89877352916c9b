"""The abstract classes of an extension and its factories, as in the
websockets library (websockets.extensions.base). Subclass them to write an
extension in Python and negotiate and run it beside pmdeflate's
permessage-deflate with a Negotiator (pmdeflate.framework).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from ._params import ExtensionParameter


class Extension:
    """One connection's instance of an extension."""

    name: str
    """The extension's name, a token (e.g. "x-xor")."""

    def decode(self, frame, *, max_size: Optional[int] = None):
        """Decodes an incoming frame; returns the decoded frame.

        Raises PayloadTooBig when the decoded payload would exceed max_size
        (None: no limit), ProtocolError for a frame that breaks the
        extension's rules."""
        raise NotImplementedError

    def encode(self, frame):
        """Encodes an outgoing frame; returns the encoded frame."""
        raise NotImplementedError


class ClientExtensionFactory:
    """Client side: what to offer, and what to make of the server's answer."""

    name: str

    def get_request_params(self) -> Sequence[ExtensionParameter]:
        """The parameters of the offer."""
        raise NotImplementedError

    def process_response_params(
        self,
        params: Sequence[ExtensionParameter],
        accepted_extensions: Sequence[Extension],
    ) -> Extension:
        """An extension for the server's response parameters; raises
        NegotiationError when they are not acceptable."""
        raise NotImplementedError


class ServerExtensionFactory:
    """Server side: what to answer to one offer of the client."""

    name: str

    def process_request_params(
        self,
        params: Sequence[ExtensionParameter],
        accepted_extensions: Sequence[Extension],
    ) -> Tuple[List[ExtensionParameter], Extension]:
        """The response parameters and an extension for one offer; raises
        NegotiationError to decline it."""
        raise NotImplementedError
