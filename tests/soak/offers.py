"""Every configuration the echo server (default pmd_config: no limits of
its own) can agree to, as the offers the honest clients make.

Python websockets clients cover: no offer; a plain offer; client window
"novalue" or 9..15; server window unset or 8..15; either
no_context_takeover. websockets refuses to compress with an 8-bit window,
so client_max_window_bits=8 is covered by the soak's own raw client
(honest_raw.py), which compresses with 9 bits (docs/window-bits-8.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)

NOVALUE = True


@dataclass(frozen=True)
class Offer:
    deflate: bool                    # False: no Sec-WebSocket-Extensions at all
    server_bits: int | None = None   # None: not offered
    client_bits: int | bool | None = None  # None: not offered, True: novalue
    server_nct: bool = False
    client_nct: bool = False

    def factories(self) -> list:
        if not self.deflate:
            return []
        return [
            ClientPerMessageDeflateFactory(
                server_no_context_takeover=self.server_nct,
                client_no_context_takeover=self.client_nct,
                server_max_window_bits=self.server_bits,
                client_max_window_bits=self.client_bits,
            )
        ]

    def check(self, extensions: list) -> None:
        """Raises unless the negotiated extension is the one asked for."""
        if not self.deflate:
            if extensions:
                raise AssertionError(f"{self}: negotiated {extensions!r} without an offer")
            return
        if len(extensions) != 1 or not isinstance(extensions[0], PerMessageDeflate):
            raise AssertionError(f"{self}: negotiated {extensions!r}")
        e = extensions[0]
        local = self.client_bits if isinstance(self.client_bits, int) and self.client_bits is not True else 15
        remote = self.server_bits or 15
        got = (e.local_max_window_bits, e.remote_max_window_bits, e.local_no_context_takeover,
               e.remote_no_context_takeover)
        want = (local, remote, self.client_nct, self.server_nct)
        if got != want:
            raise AssertionError(f"{self}: negotiated (local bits, remote bits, local nct, remote nct) {got}, wanted {want}")

    def label(self) -> str:
        if not self.deflate:
            return "no offer"
        parts = ["pmd"]
        if self.server_bits:
            parts.append(f"s{self.server_bits}")
        if self.client_bits is True:
            parts.append("c-novalue")
        elif self.client_bits:
            parts.append(f"c{self.client_bits}")
        if self.server_nct:
            parts.append("snct")
        if self.client_nct:
            parts.append("cnct")
        return ",".join(parts)


def all_offers() -> list[Offer]:
    offers = [Offer(deflate=False)]
    for sb, cb, snct, cnct in itertools.product(
        [None, *range(8, 16)], [None, NOVALUE, *range(9, 16)], (False, True), (False, True)
    ):
        offers.append(Offer(True, sb, cb, snct, cnct))
    return offers
