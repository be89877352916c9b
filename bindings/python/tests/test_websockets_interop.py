"""The websockets adapter against real websockets peers over loopback: a
websockets server whose permessage-deflate is pmdeflate's, against a plain
websockets client with its own (and the reverse, and pmdeflate on both
ends); mixed sizes, text and binary, whole and fragmented, window bits
8-15 and no_context_takeover, every echo compared byte for byte, and the
negotiated extension objects checked to be pmdeflate's (or websockets')."""

import contextlib
import random
import threading

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.extensions import permessage_deflate as ws
from websockets.sync.client import connect
from websockets.sync.server import serve

from pmdeflate import websockets_adapter as pmd

SIZES = [0, 1, 125, 126, 1000, 65535, 65536, 300_000, 1 << 20]


def side(kind, **kwargs):
    """How one end sets up permessage-deflate: (compression, extensions, expected class)."""
    if kind == "ws-default":  # websockets' compression="deflate"
        return "deflate", None, ws.PerMessageDeflate
    return None, [kwargs], (pmd.PerMessageDeflate if kind == "pmd" else ws.PerMessageDeflate), kind


def factories(spec, role):
    compression, ext_kwargs, cls, *kind = spec
    if ext_kwargs is None:
        return compression, None, cls
    module = pmd if kind[0] == "pmd" else ws
    factory = module.ClientPerMessageDeflateFactory if role == "client" else module.ServerPerMessageDeflateFactory
    return compression, [factory(**ext_kwargs[0])], cls


CASES = {
    # pmdeflate server, websockets client
    "pmd-server/ws-default": (side("ws-default"), side("pmd")),
    "pmd-server-deflate-defaults/ws-default": (
        side("ws-default"),
        side("pmd", server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5}),
    ),
    "pmd-server-9-nct/ws-client-10": (
        side("ws", client_max_window_bits=10),
        side("pmd", server_max_window_bits=9, client_no_context_takeover=True),
    ),
    "pmd-server-8/ws-client-offers-8": (side("ws", server_max_window_bits=8), side("pmd")),
    "pmd-server/ws-client-both-nct": (
        side("ws", server_no_context_takeover=True, client_no_context_takeover=True, client_max_window_bits=None),
        side("pmd", compress_settings={"level": 1}),
    ),
    # pmdeflate client, websockets server
    "pmd-client/ws-default": (side("pmd"), side("ws-default")),
    "pmd-client-9-10/ws-server-nct": (
        side("pmd", client_max_window_bits=9, server_max_window_bits=10),
        side("ws", server_no_context_takeover=True),
    ),
    "pmd-client-8/ws-server-imposes-8": (
        side("pmd", client_max_window_bits=8),
        side("ws", client_max_window_bits=8),
    ),
    "pmd-client-nct/ws-server-15": (
        side("pmd", client_no_context_takeover=True, client_max_window_bits=None),
        side("ws", server_max_window_bits=15, client_max_window_bits=15),
    ),
    # pmdeflate on both ends
    "pmd/pmd-11-12": (
        side("pmd", client_max_window_bits=11),
        side("pmd", server_max_window_bits=12, client_max_window_bits=12, server_no_context_takeover=True),
    ),
}


@contextlib.contextmanager
def echo_server(spec, **serve_kwargs):
    compression, extensions, _ = factories(spec, "server")
    seen = []

    def handler(conn):
        seen.append(list(conn.protocol.extensions))
        for message in conn:
            conn.send(message)

    with serve(handler, "127.0.0.1", 0, compression=compression, extensions=extensions, **serve_kwargs) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.socket.getsockname()[1], seen
        finally:
            server.shutdown()
            thread.join(10)


def messages(seed):
    rnd = random.Random(seed)
    for i, n in enumerate(SIZES):
        raw = bytes(rnd.choice(b"abcdefgh {}:,0123456789") for _ in range(min(n, 4096))) * (n // 4096 + 1)
        raw = raw[:n] if i % 3 else rnd.randbytes(n)
        yield raw.decode("latin-1") if i % 2 == 0 else raw


@pytest.mark.parametrize("case", list(CASES))
def test_echo(case):
    client_spec, server_spec = CASES[case]
    compression, extensions, client_cls = factories(client_spec, "client")
    server_cls = server_spec[2]
    with echo_server(server_spec, max_size=None) as (port, seen):
        with connect(
            f"ws://127.0.0.1:{port}", compression=compression, extensions=extensions, max_size=None
        ) as conn:
            header = conn.response.headers["Sec-WebSocket-Extensions"]
            sent = 0
            for i, message in enumerate(messages(hash(case) & 0xFFFF)):
                conn.send(message)
                assert conn.recv() == message, (case, i, len(message))
                # The same message in fragments of varied sizes.
                n = len(message)
                cut = [0, min(1, n), max(min(1, n), n // 3), n]
                parts = [message[a:b] for a, b in zip(cut, cut[1:])]
                conn.send(parts)
                assert conn.recv() == message
                sent += 2
            assert sent == 2 * len(SIZES)
            [client_ext] = conn.protocol.extensions
        [[server_ext]] = seen
    assert header.startswith("permessage-deflate")
    assert type(client_ext) is client_cls and type(server_ext) is server_cls, (case, client_ext, server_ext)
    # Both ends agree on what each compressor may use.
    assert client_ext.local_max_window_bits == server_ext.remote_max_window_bits
    assert client_ext.remote_max_window_bits == server_ext.local_max_window_bits
    assert client_ext.local_no_context_takeover == server_ext.remote_no_context_takeover
    assert client_ext.remote_no_context_takeover == server_ext.local_no_context_takeover
    expected_bits = {
        "pmd-server-8/ws-client-offers-8": (15, 8),
        "pmd-client-8/ws-server-imposes-8": (8, 15),
        "pmd-client-9-10/ws-server-nct": (9, 10),
        "pmd/pmd-11-12": (11, 12),
    }.get(case)
    if expected_bits:
        assert (client_ext.local_max_window_bits, client_ext.remote_max_window_bits) == expected_bits


def test_oversized_message_closes_with_1009():
    """The adapter's PayloadTooBig is websockets' own: the server closes 1009."""
    server_spec = side("pmd")
    with echo_server(server_spec, max_size=1000) as (port, seen):
        with connect(f"ws://127.0.0.1:{port}", max_size=None) as conn:
            conn.send(b"x" * 1000)
            assert conn.recv() == b"x" * 1000
            conn.send(b"x" * 1001)  # compresses to a few bytes: only decoding can tell
            with pytest.raises(ConnectionClosedError) as e:
                conn.recv()
    assert e.value.rcvd.code == 1009
    assert type(seen[0][0]) is pmd.PerMessageDeflate


def test_adapter_refusals_are_websockets_negotiation_errors():
    from websockets import exceptions as wsx

    factory = pmd.ClientPerMessageDeflateFactory()
    with pytest.raises(wsx.DuplicateParameter):
        factory.process_response_params([("server_max_window_bits", "9")] * 2, [])
    with pytest.raises(wsx.InvalidParameterValue):
        factory.process_response_params([("server_max_window_bits", "99")], [])
    with pytest.raises(wsx.NegotiationError):
        pmd.ServerPerMessageDeflateFactory().process_request_params([], [ws.PerMessageDeflate(False, False, 15, 15)])


def test_enable_helpers_use_websockets_defaults_and_keep_a_given_factory():
    [f] = pmd.enable_server_permessage_deflate(None)
    assert isinstance(f, pmd.ServerPerMessageDeflateFactory)
    assert (f.server_max_window_bits, f.client_max_window_bits, f.compress_settings) == (12, 12, {"memLevel": 5})
    mine = ws.ClientPerMessageDeflateFactory()
    assert pmd.enable_client_permessage_deflate([mine]) == [mine]
