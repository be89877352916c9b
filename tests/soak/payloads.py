"""Random messages for the soak's honest clients: sizes up to 1 MiB, most
small and some large, text (compressible) or random bytes
(incompressible), and random fragmentations of them.
"""

from __future__ import annotations

import random

MAX_MESSAGE = 1 << 20

WORDS = (
    "the quick brown fox jumps over a lazy dog while permessage deflate compresses "
    "every websocket message with zlib and a sliding window of up to thirty two "
    "kilobytes {\"id\": 17, \"type\": \"text\", \"payload\": [1, 2, 3]} server client "
    "ünïcödé ✓ 漢字"
).split()


def text_corpus(size: int) -> str:
    """ASCII and multi-byte UTF-8 words, about `size` characters."""
    rng = random.Random(1)
    out = []
    total = 0
    while total < size:
        w = rng.choice(WORDS) + (" " if rng.random() < 0.9 else "\n")
        out.append(w)
        total += len(w)
    return "".join(out)


def message_size(rng: random.Random) -> int:
    """60 % up to 1 KiB, 30 % up to 64 KiB, 8 % up to 256 KiB, 2 % up to 1 MiB."""
    r = rng.random()
    if r < 0.60:
        return rng.randrange(0, 1025)
    if r < 0.90:
        return rng.randrange(1025, 65537)
    if r < 0.98:
        return rng.randrange(65537, 262145)
    return rng.randrange(262145, MAX_MESSAGE + 1)


def message(rng: random.Random, corpus: str) -> str | bytes:
    """A text message (str) from the corpus, or binary: random bytes or corpus bytes.

    Text slices are cut to at most MAX_MESSAGE bytes once encoded."""
    size = message_size(rng)
    kind = rng.random()
    if kind < 1 / 3:
        return rng.randbytes(size)
    start = rng.randrange(len(corpus) - size)
    text = corpus[start : start + size]
    raw = text.encode()
    if kind < 2 / 3:
        return raw[:size]
    while len(raw) > MAX_MESSAGE:
        text = text[: len(text) - (len(raw) - MAX_MESSAGE)]
        raw = text.encode()
    return text


def fragments(rng: random.Random, data: str | bytes) -> list | None:
    """None (one frame) for 60 % of messages, else 2 to 16 pieces cut at
    random places (some possibly empty)."""
    if rng.random() < 0.6 or len(data) < 2:
        return None
    n = rng.randrange(2, 17)
    cuts = sorted(rng.randrange(0, len(data) + 1) for _ in range(n - 1))
    bounds = [0] + cuts + [len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]
