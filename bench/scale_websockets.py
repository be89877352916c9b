#!/usr/bin/env python3
"""scale_websockets.py - round 1 of bench/scale.c, through Python websockets.

N server-side PerMessageDeflate objects in one process, each negotiated
for real: the client factory's offer is written as a
Sec-WebSocket-Extensions value and parsed back, the server factory
accepts it, and its response goes back through the header format to the
client factory, which gives the client-side object. The client sends a
small message, the server decodes it; the server replies, the client
decodes it; both are checked, then the client object is dropped, so only
the N server objects stay. Printed: the RSS they add (VmRSS of
/proc/self/status, after gc.collect()), per connection, and the server's
messages per second (time in the server's decode and encode calls).

Run it with the interpreter that has websockets (.venv/bin/python).

Usage: scale_websockets.py N nct|w15|w12
"""
import gc
import sys
import time

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.headers import build_extension, parse_extension

# name: (no_context_takeover both ways, window bits, memLevel)
SETTINGS = {"nct": (True, 15, 8), "w15": (False, 15, 8), "w12": (False, 12, 5)}
TEXTS = ["hello", "are you there?", "on my way", "ok, see you soon", "the build is green again"]


def message(conn, rnd, from_server):
    kind = "reply" if from_server else "message"
    text = TEXTS[(conn + rnd + from_server) % 5]
    return f'{{"type":"{kind}","conn":{conn},"round":{rnd},"text":"{text}"}}'.encode()


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("scale_websockets: no VmRSS")


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in SETTINGS:
        sys.exit("usage: scale_websockets.py N nct|w15|w12")
    n = int(sys.argv[1])
    name = sys.argv[2]
    nct, wbits, mem = SETTINGS[name]
    bits = None if wbits == 15 else wbits
    client_factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=nct,
        client_no_context_takeover=nct,
        server_max_window_bits=bits,
        client_max_window_bits=bits if bits else True,
        compress_settings={"memLevel": mem},
    )
    server_factory = ServerPerMessageDeflateFactory(compress_settings={"memLevel": mem})
    offer = build_extension([(client_factory.name, client_factory.get_request_params())])

    servers = [None] * n
    gc.collect()
    rss0 = rss_bytes()
    clock = time.perf_counter
    server_s = 0.0
    wall = clock()
    for i in range(n):
        [(_, request_params)] = parse_extension(offer)
        t0 = clock()
        response_params, server = server_factory.process_request_params(request_params, [])
        server_s += clock() - t0
        [(_, params)] = parse_extension(build_extension([(server.name, response_params)]))
        client = client_factory.process_response_params(params, [])
        if i == 0 and (
            server.local_no_context_takeover != nct
            or server.remote_no_context_takeover != nct
            or server.local_max_window_bits != wbits
            or server.remote_max_window_bits != wbits
        ):
            sys.exit("scale_websockets: negotiated parameters differ from the setting")
        cmsg, smsg = message(i, 1, 0), message(i, 1, 1)
        wire = client.encode(Frame(Opcode.TEXT, cmsg))
        t0 = clock()
        plain = server.decode(wire)
        t1 = clock()
        if plain.data != cmsg:
            sys.exit(f"scale_websockets: server decoded wrong bytes (connection {i})")
        wire = server.encode(Frame(Opcode.TEXT, smsg))
        server_s += clock() - t1 + (t1 - t0)
        if client.decode(wire).data != smsg:
            sys.exit(f"scale_websockets: client decoded wrong bytes (connection {i})")
        servers[i] = server
        del client
    wall = clock() - wall
    gc.collect()
    rss1 = rss_bytes()
    print(
        f"scale setting={name} wbits={wbits} memlevel={mem} takeover={int(not nct)} n={n} "
        f"compact=0 rounds=1 rss_base_MB={rss0 / 1e6:.1f} rss_round1_MB={(rss1 - rss0) / 1e6:.1f} "
        f"rss_round1_per_conn_B={(rss1 - rss0) / n:.0f} round1_conn_per_s={n / wall:.0f} "
        f"round1_server_msgs_per_s={2 * n / server_s:.0f} peer=websockets-{websockets.__version__}"
    )


if __name__ == "__main__":
    main()
