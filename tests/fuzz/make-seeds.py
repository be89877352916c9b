#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz targets,
tests/fuzz/corpus/<target>/: the RFC 7692 examples, the hostile cases of
tests/hostile_input.rs and docs/frames.md (bad headers, RSV abuse,
reserved opcodes, frames out of order, corrupt DEFLATE data, bombs whole
and spread over continuation frames, a distance beyond the window), in the
targets' text seed format (fuzz/fuzz_targets/common/mod.rs, SEED_MAGIC),
plus a few deterministic random inputs per target for the `arbitrary`
path. Deterministic: running it again rewrites the same files.

    python3 tests/fuzz/make-seeds.py
"""
import os
import random
import shutil
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
MAGIC = b"#pmd-seed\n"


def deflate(data, wbits=15, level=6):
    """A permessage-deflate payload: raw DEFLATE, sync-flushed, the
    00 00 ff ff tail removed (RFC 7692 7.2.1)."""
    c = zlib.compressobj(level, zlib.DEFLATED, -wbits)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


HEADERS = {
    # RFC 7692 section 5 and 7 examples.
    "rfc-plain": b"permessage-deflate",
    "rfc-client-bits": b"permessage-deflate; client_max_window_bits",
    "rfc-two-offers": b"permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
    b"permessage-deflate; client_max_window_bits",
    "rfc-quoted-bits": b'permessage-deflate; client_max_window_bits="10"',
    "rfc-no-takeover": b"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    "rfc-server-bits-8": b"permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
    "response-full": b"permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
    b"server_max_window_bits=9; client_max_window_bits=11",
    # Hostile: tests/hostile_input.rs seeds and docs/header.md limits.
    "other-ext-quoted": b'permessage-deflate; server_no_context_takeover, x-foo; a="b", permessage-deflate',
    "bits-7": b"permessage-deflate; server_max_window_bits=7",
    "bits-16": b"permessage-deflate; client_max_window_bits=16",
    "bits-leading-zero": b"permessage-deflate; server_max_window_bits=010",
    "bits-sign": b"permessage-deflate; server_max_window_bits=+10",
    "duplicate": b"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "unknown-param": b"permessage-deflate; foo=bar",
    "nct-with-value": b"permessage-deflate; client_no_context_takeover=1",
    "quoted-non-token": b'permessage-deflate; a="b c"',
    "quoted-escape": b'permessage-deflate; client_max_window_bits="1\\0"',
    "unterminated": b'permessage-deflate; client_max_window_bits="10',
    "empty-elements": b" ,, permessage-deflate ,,, ",
    "semicolons": b"permessage-deflate;;",
    "missing-comma": b"permessage-deflate x-foo",
    "control-bytes": b"permessage-deflate;\x00 a=\x7f\xff",
    "tabs": b"permessage-deflate\t;\tclient_max_window_bits\t=\t9",
    "too-many-params": b"permessage-deflate" + b"; a" * 1025,
    "too-many-elements": b"a," * 1025,
    "empty": b"",
}

OFFERS = [
    "",
    "client_bits=-1",
    "server_bits=8 client_bits=8 server_nct=1 client_nct=1",
    "server_bits=10 client_bits=12",
    "server_nct=1",
    "client_bits=15 server_bits=15",
]

SERVER_CFGS = [
    "",
    "client_bits=12",
    "server_bits=10 server_nct=1",
    "require=1",
    "require_client_bits=1 client_bits=10",
    "client_bits=-1",
    "server_bits=8 client_bits=8 client_nct=1",
]


def decode_seeds():
    hello = deflate(b"Hello")
    rnd = random.Random(7)
    far = bytes(rnd.randrange(256) for _ in range(700))
    zeros = deflate(b"\x00" * (1 << 20), level=9)
    spread = [zeros[i : i + len(zeros) // 60 + 1] for i in range(0, len(zeros), len(zeros) // 60 + 1)]
    s = {
        # RFC 7692 7.2.3.1 .. 7.2.3.5.
        "rfc-hello": "0 0 15 15\nframe 1 1 4 inf f248cdc9c90700",
        "rfc-takeover": "0 0 15 15\nframe 1 1 4 inf f248cdc9c90700\nframe 1 1 4 inf f200110000",
        "rfc-stored": "0 0 15 15\nframe 1 1 4 inf 000500faff48656c6c6f00",
        "rfc-bfinal": "0 0 15 15\nframe 1 1 4 inf f348cdc9c907000000",
        "rfc-two-blocks": "0 0 15 15\nframe 1 1 4 inf f248050000 00ffffcac9c90700",
        "rfc-fragmented": "0 0 15 15\nframe 1 0 4 inf f248cd0100000000ffff\nframe 0 1 0 inf cac90700",
        "empty-message": "0 0 15 15\nframe 1 1 4 inf 00",
        "messages": "1 1 9 9\nmsg Hello\nmsgcut 10,100,200 Hello, hello, hello, hello\ncompact\nmsg again",
        "messages-takeover": "0 0 12 8 strict=1\nmsg abcabcabcabc\nmsg abcabcabcabc\ncompact\nmsg abc",
        "limit": "0 0 15 15\nlimit 10\nmsg Hello, Hello, Hello\nmsg more",
        "ping-between": "0 0 15 15\nframe 1 0 4 inf f248cd0100000000ffff\nframe 9 1 0 inf 70696e67\nframe 0 1 0 inf cac90700",
        # RSV abuse, reserved opcodes, frames out of order.
        "rsv1-control": "0 0 15 15\nframe 9 1 4 inf 00",
        "rsv1-continuation": "0 0 15 15\nframe 1 0 4 inf f248cd0100000000ffff\nframe 0 1 4 inf cac90700",
        "rsv2-rsv3": "0 0 15 15\nframe 2 1 3 inf 0102",
        "reserved-opcode": "0 0 15 15\nframe 3 1 0 inf 00",
        "opcode-above-15": "0 0 15 15\nframe 32 1 0 inf 00\nmsg after",
        "orphan-continuation": "0 0 15 15\nframe 0 1 0 inf 41",
        "data-in-message": "0 0 15 15\nframe 1 0 0 inf 41\nframe 2 1 0 inf 42",
        "fragmented-control": "0 0 15 15\nframe 9 0 0 inf 41",
        # Corrupt DEFLATE data.
        "corrupt-garbage": "0 0 15 15\nframe 1 1 4 inf ffffffff",
        "corrupt-reserved-block": "0 0 15 15\nframe 1 1 4 inf 07",
        "corrupt-one-byte": "0 0 15 15\ncorrupt 2 255 Hello, Hello, Hello",
        "after-bfinal": "0 0 15 15\nframe 1 1 4 inf 0300 " + hello.hex(),
        "far-distance": "0 0 8 15 strict=1\nframe 2 1 4 inf " + deflate(far + far).hex(),
        "far-distance-lax": "0 0 8 15\nframe 2 1 4 inf " + deflate(far + far).hex(),
        # Bombs: 1 MiB of zeros in about 1 KB.
        "bomb-max-size": "0 0 15 15\nframe 2 1 4 1000 " + zeros.hex(),
        "bomb-limit": "0 0 15 15\nlimit 1000\nframe 2 1 4 inf " + zeros.hex(),
        "bomb-spread": "0 0 15 15 max=65535\n"
        + "\n".join(
            "frame %d %d %d inf %s" % (2 if i == 0 else 0, int(i == len(spread) - 1), 4 if i == 0 else 0, p.hex())
            for i, p in enumerate(spread)
        ),
        "bomb-max-size-zero": "0 0 15 15\nframe 2 1 4 0 " + zeros.hex(),
    }
    return {k: v.encode() for k, v in s.items()}


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    for name, h in HEADERS.items():
        write("header", name, h)
        write("client_response", name, MAGIC + b"\n" + h)
        write("client_response", name + "-asks", MAGIC + b"server_nct=1 client_bits=-1 server_bits=10\n" + h)
        write("framework", name, MAGIC + h)
    for i, cfg in enumerate(SERVER_CFGS):
        for name in ["rfc-plain", "rfc-two-offers", "rfc-no-takeover", "other-ext-quoted", "bits-16", "empty"]:
            write("server_negotiate", "%s-cfg%d" % (name, i), MAGIC + cfg.encode() + b"\n" + HEADERS[name])
        for j, offer in enumerate(OFFERS):
            write("server_negotiate", "offer%d-cfg%d" % (j, i), MAGIC + cfg.encode() + b"\noffer " + offer.encode())
    for name in ["too-many-params", "too-many-elements", "control-bytes", "unterminated"]:
        write("server_negotiate", name, MAGIC + b"\n" + HEADERS[name])
    write("framework", "offer", MAGIC + b"offer")
    write("framework", "custom-response", MAGIC + b"x-xor; k=7, permessage-deflate, x-mark; k=9")
    write("framework", "custom-wrong-key", MAGIC + b"x-xor; k=8, x-mark; k=9")
    for name, data in decode_seeds().items():
        write("decode", name, MAGIC + data)
    rnd = random.Random(12)
    text = " ".join(rnd.choice(["the", "permessage", "deflate", "frame", "window", "zlib"]) for _ in range(600))
    for bits in [(15, 15, 0, 0), (8, 8, 1, 1), (9, 12, 0, 1), (15, 8, 1, 0), (11, 11, 0, 0)]:
        head = " ".join(map(str, bits)).encode() + b"\n"
        write("round_trip", "hello-%d-%d-%d-%d" % bits, MAGIC + head + b"Hello")
        write("round_trip", "text-%d-%d-%d-%d" % bits, MAGIC + head + text.encode())
        write("round_trip", "random-%d-%d-%d-%d" % bits, MAGIC + head + bytes(rnd.randrange(256) for _ in range(3000)))
    write("round_trip", "empty", MAGIC + b"15 15 0 0\n")
    # Random inputs for every target's `arbitrary` path.
    for target in ["header", "header_build", "client_response", "server_negotiate", "decode", "round_trip", "framework"]:
        for i in range(12):
            n = rnd.choice([8, 32, 128, 512, 2048])
            write(target, "random-%02d" % i, bytes(rnd.randrange(256) for _ in range(n)))


if __name__ == "__main__":
    main()
