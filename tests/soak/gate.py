"""The point where every honest connection of a round waits until all
have sent their messages, so that all are open at once; the last to
arrive samples how many connections the server holds at that moment."""

from __future__ import annotations

import asyncio
from typing import Callable


class Gate:
    def __init__(self, parties: int, sample: Callable[[], int]) -> None:
        self.parties = parties
        self.arrived = 0
        self.sample = sample
        self.held = 0
        self.open = asyncio.Event()

    async def arrive(self) -> None:
        self.arrived += 1
        if self.arrived == self.parties:
            self.held = self.sample()
            self.open.set()
        await self.open.wait()

    def leave(self) -> None:
        """A party that failed: the others must not wait for it."""
        self.parties -= 1
        if self.arrived >= self.parties and not self.open.is_set():
            self.held = self.sample()
            self.open.set()
