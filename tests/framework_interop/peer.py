"""The Python side of the framework interop test: websockets 17.4 with
permessage-deflate and x-xor, x-xor written against websockets' own
abstract classes (Extension, ClientExtensionFactory,
ServerExtensionFactory). The rules are those of
tests/c/framework/xor_ext.h:

- the client offers "x-xor; key=N"; the server accepts exactly one key
  parameter 1..255 and answers it back; the client accepts only its key;
  a second x-xor is declined on both sides;
- every data frame goes out with RSV2 and its payload XORed with the key;
  an incoming data frame without RSV2, or a control frame with it, is a
  protocol error.

    peer.py server PORT EXPECTED_RESPONSE   echo server for one connection
    peer.py client PORT KEY EXPECTED_RESPONSE
"""

import dataclasses
import os
import random
import sys
import threading

from websockets.exceptions import NegotiationError, ProtocolError
from websockets.extensions.base import ClientExtensionFactory, Extension, ServerExtensionFactory
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import CTRL_OPCODES
from websockets.sync.client import connect
from websockets.sync.server import serve

NAME = "x-xor"


def xor(data, key):
    return bytes(b ^ key for b in data)


class XorExtension(Extension):
    name = NAME

    def __init__(self, key):
        self.key = key

    def encode(self, frame):
        if frame.opcode in CTRL_OPCODES:
            return frame
        return dataclasses.replace(frame, data=xor(frame.data, self.key), rsv2=True)

    def decode(self, frame, *, max_size=None):
        if frame.opcode in CTRL_OPCODES:
            if frame.rsv2:
                raise ProtocolError("x-xor: RSV2 on a control frame")
            return frame
        if not frame.rsv2:
            raise ProtocolError("x-xor: data frame without RSV2")
        if max_size is not None and len(frame.data) > max_size:
            raise ProtocolError("x-xor: frame over max_size")
        return dataclasses.replace(frame, data=xor(frame.data, self.key), rsv2=False)


def key_of(params):
    if len(params) != 1 or params[0][0] != "key" or params[0][1] is None:
        raise NegotiationError(f"x-xor: bad parameters {params}")
    value = params[0][1]
    if not value.isdigit() or value.startswith("0") or not 1 <= int(value) <= 255:
        raise NegotiationError(f"x-xor: bad key {value!r}")
    return int(value)


class ClientXorFactory(ClientExtensionFactory):
    name = NAME

    def __init__(self, key):
        self.key = key

    def get_request_params(self):
        return [("key", str(self.key))]

    def process_response_params(self, params, accepted_extensions):
        if any(e.name == NAME for e in accepted_extensions):
            raise NegotiationError("x-xor: duplicate")
        if key_of(params) != self.key:
            raise NegotiationError("x-xor: the server changed the key")
        return XorExtension(self.key)


class ServerXorFactory(ServerExtensionFactory):
    name = NAME

    def process_request_params(self, params, accepted_extensions):
        if any(e.name == NAME for e in accepted_extensions):
            raise NegotiationError("x-xor: duplicate")
        key = key_of(params)
        return [("key", str(key))], XorExtension(key)


def check_chain(extensions):
    names = [e.name for e in extensions]
    assert names == ["permessage-deflate", NAME], names


def run_server(port, expected):
    seen = {}

    def handler(ws):
        seen["response"] = ws.response.headers.get("Sec-WebSocket-Extensions")
        check_chain(ws.protocol.extensions)
        count = 0
        for message in ws:
            ws.send(message)
            count += 1
        seen["count"] = count
        # shutdown() waits for the handlers: call it from another thread.
        threading.Thread(target=server.shutdown).start()

    with serve(
        handler,
        "127.0.0.1",
        port,
        compression=None,
        extensions=[ServerPerMessageDeflateFactory(server_max_window_bits=11), ServerXorFactory()],
        max_size=16 << 20,
    ) as server:
        print("listening", flush=True)
        server.serve_forever()
    assert seen.get("response") == expected, (seen.get("response"), expected)
    print(f"python server: negotiated {seen['response']!r}, echoed {seen['count']} messages")


def run_client(port, key, expected):
    rng = random.Random(7692)
    messages = []
    for size in (0, 1, 5, 125, 126, 1000, 65535, 65536, 100000):
        text = "".join(rng.choice("abcde é€") for _ in range(size // 4))
        messages.append(text)
        messages.append(bytes(rng.choice(b"xyz\x00\xff") for _ in range(size)))
        messages.append(os.urandom(size))
    with connect(
        f"ws://127.0.0.1:{port}/",
        compression=None,
        extensions=[ClientPerMessageDeflateFactory(client_max_window_bits=True), ClientXorFactory(key)],
        max_size=16 << 20,
    ) as ws:
        got = ws.response.headers.get("Sec-WebSocket-Extensions")
        assert got == expected, (got, expected)
        check_chain(ws.protocol.extensions)
        for m in messages:
            ws.send(m)
            echo = ws.recv()
            assert type(echo) is type(m) and echo == m, (type(m), len(m))
        # A fragmented message: websockets sends each piece as a frame.
        pieces = [b"frag-" * 100, b"ment-" * 50, b"ed"]
        ws.send(iter(pieces))
        assert ws.recv() == b"".join(pieces)
        ws.ping(b"are you there")
    print(f"python client: negotiated {got!r}, {len(messages) + 1} messages round-tripped byte for byte")


def main():
    if sys.argv[1] == "server":
        run_server(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "client":
        run_client(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
