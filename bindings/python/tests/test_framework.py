"""The framework: extensions written in Python (an x-xor marking its frames
with RSV2, as tests/c/framework/xor_ext.h) negotiated and chained with the
native permessage-deflate by the C negotiator and chain."""

import gc
import weakref

import pytest

from pmdeflate import (
    CTRL_OPCODES,
    OP_BINARY,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    Chain,
    ClientExtensionFactory,
    ClientPerMessageDeflateFactory,
    CorruptData,
    Extension,
    Frame,
    InvalidHeaderFormat,
    NegotiationError,
    Negotiator,
    PayloadTooBig,
    ProtocolError,
    ServerExtensionFactory,
    ServerPerMessageDeflateFactory,
)
from pmdeflate.framework import NativeExtension

NAME = "x-xor"


class Xor(Extension):
    name = NAME

    def __init__(self, key):
        self.key = key

    def encode(self, frame):
        if frame.opcode in CTRL_OPCODES:
            return frame
        return frame._replace(data=bytes(b ^ self.key for b in frame.data), rsv2=True)

    def decode(self, frame, *, max_size=None):
        if frame.opcode in CTRL_OPCODES:
            return frame
        if not frame.rsv2:
            raise ProtocolError("x-xor: data frame without RSV2")
        if max_size is not None and len(frame.data) > max_size:
            raise PayloadTooBig("x-xor: over max_size")
        return frame._replace(data=bytes(b ^ self.key for b in frame.data), rsv2=False)


def key_of(params):
    if len(params) != 1 or params[0][0] != "key" or not (params[0][1] or "").isdigit():
        raise NegotiationError(f"x-xor: bad parameters {params}")
    return int(params[0][1])


class ClientXor(ClientExtensionFactory):
    name = NAME

    def __init__(self, key):
        self.key = key
        self.seen = []

    def get_request_params(self):
        return [("key", str(self.key))]

    def process_response_params(self, params, accepted_extensions):
        self.seen.append([e.name for e in accepted_extensions])
        if key_of(params) != self.key:
            raise NegotiationError("x-xor: not my key")
        return Xor(self.key)


class ServerXor(ServerExtensionFactory):
    name = NAME

    def __init__(self):
        self.seen = []

    def process_request_params(self, params, accepted_extensions):
        self.seen.append([e.name for e in accepted_extensions])
        if any(e.name == NAME for e in accepted_extensions):
            raise NegotiationError("x-xor: duplicate")
        key = key_of(params)
        return [("key", str(key))], Xor(key)


def connect(client_factories, server_factories):
    client, server = Negotiator(client=client_factories), Negotiator(server=server_factories)
    offer = client.client_offer()
    response, server_chain = server.server_negotiate(offer)
    client_chain = client.client_accept(response)
    return offer, response, client_chain, server_chain


def test_xor_then_deflate_both_ways():
    cx, sx = ClientXor(7), ServerXor()
    offer, response, cc, sc = connect(
        [cx, ClientPerMessageDeflateFactory(client_max_window_bits=12)],
        [ServerPerMessageDeflateFactory(), sx],
    )
    assert offer == "x-xor; key=7, permessage-deflate; client_max_window_bits=12"
    assert response == "x-xor; key=7, permessage-deflate; client_max_window_bits=12"
    assert sx.seen == [[]] and cx.seen == [[]]
    for chain in (cc, sc):
        exts = chain.extensions
        assert [e.name for e in exts] == [NAME, "permessage-deflate"]
        assert isinstance(exts[0], Xor) and isinstance(exts[1], NativeExtension)
    for i, size in enumerate([0, 1, 500, 70000]):
        data = bytes((i * 31 + j) % 251 for j in range(size))
        wire = cc.encode(Frame(OP_BINARY, data))
        assert wire.rsv1 and wire.rsv2 and not wire.rsv3  # deflate, then x-xor
        assert sc.decode(wire) == Frame(OP_BINARY, data)
        back = sc.encode(Frame(OP_TEXT, data))
        assert cc.decode(back).data == data


def test_fragments_and_pings_through_a_chain():
    _, _, cc, sc = connect([ClientPerMessageDeflateFactory(), ClientXor(3)], [ServerXor(), ServerPerMessageDeflateFactory()])
    parts = [b"a" * 1000, b"b" * 10, b""]
    got = []
    for i, part in enumerate(parts):
        wire = cc.encode(Frame(OP_TEXT if i == 0 else OP_CONT, part, fin=i == 2))
        ping = Frame(OP_PING, b"p")
        assert sc.decode(cc.encode(ping)) == ping
        got.append(sc.decode(wire).data)
    assert b"".join(got) == b"".join(parts)


def test_accepted_lists_show_the_native_permessage_deflate():
    cx, sx = ClientXor(9), ServerXor()
    connect([ClientPerMessageDeflateFactory(), cx], [ServerPerMessageDeflateFactory(), sx])
    assert sx.seen == [["permessage-deflate"]] and cx.seen == [["permessage-deflate"]]


def test_declines_pass_to_the_next_factory_and_offer():
    """NegotiationError from a factory declines: the next one is tried."""

    class Refuses(ServerXor):
        def process_request_params(self, params, accepted_extensions):
            raise NegotiationError("no")

    second = ServerXor()
    _, response, cc, sc = connect([ClientXor(5)], [Refuses(), second])
    assert response == "x-xor; key=5" and [type(e) for e in sc.extensions] == [Xor]
    # Nobody accepts: the offer is declined silently; no header, an empty chain.
    _, response, cc, sc = connect([ClientXor(5)], [Refuses()])
    assert response is None and sc.extensions == [] and cc.extensions == []


def test_client_refusal_fails_the_handshake():
    client = Negotiator(client=[ClientXor(5)])
    with pytest.raises(NegotiationError):
        client.client_accept("x-xor; key=6")
    with pytest.raises(NegotiationError):
        client.client_accept("x-unknown")
    with pytest.raises(InvalidHeaderFormat) as e:
        client.client_accept("x-xor; key=\"unterminated")
    assert e.value.code == 3


def test_exceptions_from_callbacks_come_out_as_they_were():
    class Broken(ServerXor):
        def process_request_params(self, params, accepted_extensions):
            raise KeyError("broken factory")

    server = Negotiator(server=[Broken()])
    with pytest.raises(KeyError, match="broken factory"):
        server.server_negotiate("x-xor; key=1")

    class BadEncode(Xor):
        def encode(self, frame):
            raise ZeroDivisionError("encode failed")

    class Factory(ClientXor):
        def process_response_params(self, params, accepted_extensions):
            return BadEncode(self.key)

    chain = Negotiator(client=[Factory(1)]).client_accept("x-xor; key=1")
    with pytest.raises(ZeroDivisionError, match="encode failed"):
        chain.encode(Frame(OP_TEXT, b"x"))


def test_decode_errors_from_python_and_native_members():
    _, _, cc, sc = connect([ClientXor(1), ClientPerMessageDeflateFactory()], [ServerXor(), ServerPerMessageDeflateFactory()])
    with pytest.raises(ProtocolError, match="without RSV2"):
        sc.decode(Frame(OP_TEXT, b"plain"))
    with pytest.raises(ProtocolError):  # sticky in the chain
        sc.decode(Frame(OP_TEXT, b"plain", rsv2=True))
    _, _, cc, sc = connect([ClientPerMessageDeflateFactory()], [ServerPerMessageDeflateFactory()])
    with pytest.raises(CorruptData):
        sc.decode(Frame(OP_TEXT, b"\xff\xff", True, True))
    _, _, cc, sc = connect([ClientPerMessageDeflateFactory()], [ServerPerMessageDeflateFactory()])
    with pytest.raises(ProtocolError, match="reserved"):
        sc.decode(Frame(OP_TEXT, b"x", rsv3=True))  # no extension claims RSV3


def test_chain_limits_reach_python_extensions():
    _, _, cc, sc = connect([ClientXor(1)], [ServerXor()])
    sc.set_max_message_size(10)
    assert sc.decode(cc.encode(Frame(OP_TEXT, b"0123456789"))).data == b"0123456789"
    with pytest.raises(PayloadTooBig):
        sc.decode(cc.encode(Frame(OP_TEXT, b"01234567890")))
    _, _, cc, sc = connect([ClientXor(1)], [ServerXor()])
    with pytest.raises(PayloadTooBig, match="x-xor"):
        sc.decode(cc.encode(Frame(OP_TEXT, b"abc")), max_size=2)


def test_chain_free_releases_python_extensions():
    _, _, cc, sc = connect([ClientXor(1)], [ServerXor()])
    refs = [weakref.ref(c.extensions[0]) for c in (cc, sc)]
    cc.close()
    del sc
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_no_factories_offer_nothing():
    assert Negotiator().client_offer() == ""
    response, chain = Negotiator().server_negotiate("permessage-deflate")
    assert response is None and isinstance(chain, Chain) and chain.extensions == []
