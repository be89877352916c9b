"""Interop of the websocketpp endpoints on pmdeflate (examples-cpp/) with
Python websockets, Node ws and headless Chromium.

Our websocketpp server (target/examples-cpp/wspp_echo_server), in several
configurations, against the websockets and ws echo clients of
tests/interop/peers.py and tests/interop/node/peer.js (text and binary,
0 B to 1 MiB, whole and fragmented with pings, then one message over the
limit that must be closed with 1009) and against Chromium running
tests/interop/browser/page.html. Our websocketpp client
(target/examples-cpp/wspp_echo_client) against websockets and ws echo
servers, with several offers and several server settings.

Each cell checks that permessage-deflate was negotiated: the response
header the peer (or our client) saw, and the parameters our endpoint
printed, against the expected ones. Any failure, including a peer that
does not start, fails the run.

    python interop_wspp.py          (run through tests/interop/websocketpp/run.sh)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP = os.path.dirname(HERE)
sys.path.insert(0, INTEROP)
from browser_page import run_page  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(INTEROP))
BIN = os.path.join(ROOT, "target", "examples-cpp")
SERVER = os.path.join(BIN, "wspp_echo_server")
CLIENT = os.path.join(BIN, "wspp_echo_client")
PY = sys.executable
PEERS = os.path.join(INTEROP, "peers.py")
NODE_PEER = os.path.join(INTEROP, "node", "peer.js")
MAX = 2 << 20           # our endpoints' message limit (decompressed)
OVER = MAX + 1          # one byte more: must be closed with 1009
TIMEOUT = 120

results = []


def record(part, peer, cell, ok, detail):
    results.append((part, peer, cell, "PASS" if ok else "FAIL", detail))
    print(f"{'PASS' if ok else 'FAIL'}  {part:<18} {peer:<11} {cell:<34} {detail}", flush=True)


def start(cmd, what):
    """Starts a server that prints 'listening on PORT'; returns (proc, port)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 30
    lines = []
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.match(r"listening on (\d+)", line)
        if m:
            p.early = lines
            return p, int(m.group(1))
    p.kill()
    raise RuntimeError(f"{what} did not start: {''.join(lines)[-400:]}")


def stop(p):
    """Stops a server started by start() (by its own handle) and returns its output."""
    p.terminate()
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return "".join(p.early) + (out or "")


def run_json(cmd):
    """Runs a client that prints one JSON line; returns the parsed line."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"no answer within {TIMEOUT} s"}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"ok": False, "error": f"exit {p.returncode}: {(p.stdout + p.stderr)[-300:]}"}


def negotiated_lines(log):
    return [tuple(int(x) for x in m.groups())
            for m in re.finditer(r"^negotiated: (\d+) (\d+) (\d) (\d)$", log, re.M)]


def response_params(value):
    """The parameters of the permessage-deflate element of a response."""
    if isinstance(value, list):
        value = ", ".join(value)
    parts = [p.strip() for p in (value or "").split(";")]
    if not parts or parts[0] != "permessage-deflate":
        return None
    out = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        out[k.strip()] = v.strip().strip('"') or None
    return out


def tuple_from_response(params, side):
    """(local bits, remote bits, local nct, remote nct) that a response means."""
    smwb = int(params.get("server_max_window_bits") or 15)
    cmwb = int(params.get("client_max_window_bits") or 15)
    snct = int("server_no_context_takeover" in params)
    cnct = int("client_no_context_takeover" in params)
    return (smwb, cmwb, snct, cnct) if side == "server" else (cmwb, smwb, cnct, snct)


# --------------------------------------------------------------------------
# our websocketpp server <- websockets, ws, Chromium
# --------------------------------------------------------------------------

# name, server options, the response every peer here must get (they all
# offer "permessage-deflate; client_max_window_bits")
SERVER_CELLS = [
    ("default", [], "permessage-deflate"),
    ("impose server_max_wbits=9", ["--server-max-window-bits", "9"], "permessage-deflate; server_max_window_bits=9"),
    ("impose server_max_wbits=12", ["--server-max-window-bits", "12"],
     "permessage-deflate; server_max_window_bits=12"),
    ("impose client_max_wbits=9", ["--client-max-window-bits", "9"], "permessage-deflate; client_max_window_bits=9"),
    ("impose client_max_wbits=12", ["--client-max-window-bits", "12"],
     "permessage-deflate; client_max_window_bits=12"),
    ("impose server_no_ctx", ["--server-no-context-takeover"], "permessage-deflate; server_no_context_takeover"),
    ("impose client_no_ctx", ["--client-no-context-takeover"], "permessage-deflate; client_no_context_takeover"),
]


def start_server(args):
    return start([SERVER, "--port", "0", "--max-size", str(MAX)] + args, "wspp_echo_server")


def check_server_cell(peer, name, want_resp, r, log, want_checked):
    want = tuple_from_response(response_params(want_resp), "server")
    neg = negotiated_lines(log)
    seen = r.get("response_ext")
    if isinstance(seen, list):
        seen = ", ".join(seen)
    if not r.get("ok"):
        record("peer->wspp srv", peer, name, False, r.get("error", r.get("handshake", "no result")))
    elif r.get("checked") != want_checked:
        record("peer->wspp srv", peer, name, False, f"checked {r.get('checked')} of {want_checked}")
    elif r.get("oversize_close") != 1009:
        record("peer->wspp srv", peer, name, False, f"oversize closed with {r.get('oversize_close')}")
    elif not neg or any(n != want for n in neg):
        record("peer->wspp srv", peer, name, False, f"server negotiated {neg}, expected {want}")
    elif f"response: {want_resp}" not in log:
        record("peer->wspp srv", peer, name, False, f"server sent no '{want_resp}'")
    elif peer != "ws" and seen != want_resp:
        # ws reports only the extension's name in ws.extensions
        record("peer->wspp srv", peer, name, False, f"peer saw {seen!r}, expected {want_resp!r}")
    elif peer == "ws" and seen != "permessage-deflate":
        record("peer->wspp srv", peer, name, False, f"ws.extensions {seen!r}")
    else:
        record("peer->wspp srv", peer, name, True,
               f"{r['checked']} echoes, 1009 over the limit, {want_resp!r}, negotiated {want}")


def peer_clients():
    for name, args, want_resp in SERVER_CELLS:
        for peer in ("websockets", "ws"):
            try:
                srv, port = start_server(args)
            except RuntimeError as e:
                record("peer->wspp srv", peer, name, False, str(e))
                continue
            url = f"ws://127.0.0.1:{port}/"
            cfg = {"url": url, "oversize": OVER}
            if peer == "websockets":
                r = run_json([PY, PEERS, "websockets-client", json.dumps(cfg)])
            else:
                r = run_json(["node", NODE_PEER, "client", json.dumps(cfg)])
            log = stop(srv)
            check_server_cell(peer, name, want_resp, r, log, 28)


def browser():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    servers = []
    try:
        for _, args, _ in SERVER_CELLS:
            servers.append(start_server(args))
    except RuntimeError as e:
        for p, _ in servers:
            stop(p)
        record("browser->wspp srv", "chromium", "all", False, str(e))
        return
    cells = [{"name": c[0], "port": port} for c, (_, port) in zip(SERVER_CELLS, servers)]
    result = run_page(chromium, cells, OVER, "pmd-wspp-chromium-")
    logs = [stop(p) for p, _ in servers]
    if result is None:
        record("browser->wspp srv", "chromium", "all", False, "page reported nothing within 180 s")
        return
    for (name, _, want_resp), log in zip(SERVER_CELLS, logs):
        r = dict(result.get(name, {}))
        r["response_ext"] = r.get("extensions")
        check_server_cell("chromium", name, want_resp, r, log, 14)


# --------------------------------------------------------------------------
# our websocketpp client -> websockets, ws
# --------------------------------------------------------------------------

# name, our client's options, websockets server factory, ws server options,
# the response expected from both servers (None: whatever they answer, as
# long as our client agrees with it)
CLIENT_CELLS = [
    ("offer default", [], {}, {}, "permessage-deflate"),
    ("offer client_max_wbits", ["--client-max-window-bits", "-1"], {}, {}, None),
    ("offer client_max_wbits=10", ["--client-max-window-bits", "10"], {}, {}, None),
    ("offer server_max_wbits=10", ["--server-max-window-bits", "10"], {}, {},
     "permessage-deflate; server_max_window_bits=10"),
    ("offer server_no_ctx", ["--server-no-context-takeover"], {}, {},
     "permessage-deflate; server_no_context_takeover"),
    ("offer client_no_ctx", ["--client-no-context-takeover"], {}, {},
     "permessage-deflate; client_no_context_takeover"),
    ("peer imposes server_max_wbits=11", [], {"server_max_window_bits": 11}, {"serverMaxWindowBits": 11},
     "permessage-deflate; server_max_window_bits=11"),
    ("peer imposes client_max_wbits=9", ["--client-max-window-bits", "-1"], {"client_max_window_bits": 9},
     {"clientMaxWindowBits": 9}, "permessage-deflate; client_max_window_bits=9"),
    ("peer imposes server_no_ctx", [], {"server_no_context_takeover": True}, {"serverNoContextTakeover": True},
     "permessage-deflate; server_no_context_takeover"),
]


def our_client():
    for name, args, ws_factory, node_opts, want_resp in CLIENT_CELLS:
        for peer in ("websockets", "ws"):
            try:
                if peer == "websockets":
                    srv, port = start([PY, PEERS, "websockets-server",
                                       json.dumps({"port": 0, "max_size": MAX, "factory": ws_factory})],
                                      "websockets server")
                else:
                    pmd = dict(node_opts) if node_opts else True
                    srv, port = start(["node", NODE_PEER, "server",
                                       json.dumps({"port": 0, "max_size": MAX, "pmd": pmd})], "ws server")
            except RuntimeError as e:
                record("wspp cli->peer", peer, name, False, str(e))
                continue
            r = run_json([CLIENT, "--url", f"ws://127.0.0.1:{port}/", "--max-size", str(MAX)] + args)
            stop(srv)
            params = response_params(r.get("response_ext"))
            if not r.get("ok"):
                record("wspp cli->peer", peer, name, False, r.get("error", "no result"))
            elif r.get("checked") != 14:
                record("wspp cli->peer", peer, name, False, f"checked {r.get('checked')}")
            elif params is None:
                record("wspp cli->peer", peer, name, False, f"not negotiated: {r.get('response_ext')!r}")
            elif want_resp is not None and response_params(want_resp) != params:
                record("wspp cli->peer", peer, name, False, f"response {r['response_ext']!r}, expected {want_resp!r}")
            elif tuple(r.get("negotiated") or ()) != tuple_from_response(params, "client"):
                record("wspp cli->peer", peer, name, False,
                       f"client negotiated {r.get('negotiated')}, the response means "
                       f"{tuple_from_response(params, 'client')}")
            else:
                record("wspp cli->peer", peer, name, True,
                       f"14 echoes, {r['response_ext']!r}, negotiated {tuple(r['negotiated'])}")


def bad_response_server(response_ext):
    """A raw server that upgrades with the given extensions header, then
    records whether the client sent anything (it must not). Returns
    (port, result dict, thread)."""
    import base64
    import hashlib
    import socket

    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(30)
    box = {"data_after_upgrade": b""}

    def serve():
        try:
            c, _ = ls.accept()
            c.settimeout(5)
            req = b""
            while b"\r\n\r\n" not in req:
                req += c.recv(4096)
            key = re.search(rb"Sec-WebSocket-Key: *(\S+)", req, re.I).group(1)
            acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: " + acc + b"\r\nSec-WebSocket-Extensions: " +
                      response_ext.encode() + b"\r\n\r\n")
            try:
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    box["data_after_upgrade"] += d
            except OSError:
                pass
            c.close()
        except OSError as e:
            box["error"] = str(e)
        finally:
            ls.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return ls.getsockname()[1], box, t


# responses our client must refuse (RFC 7692 section 7.1), for its offer
BAD_RESPONSES = [
    ("server_max_wbits=7", [], "permessage-deflate; server_max_window_bits=7"),
    ("client_max_wbits not offered", [], "permessage-deflate; client_max_window_bits=10"),
    ("unknown parameter", [], "permessage-deflate; x=1"),
    ("server_max_wbits above the offer", ["--server-max-window-bits", "10"],
     "permessage-deflate; server_max_window_bits=12"),
]


def bad_responses():
    for name, args, resp in BAD_RESPONSES:
        port, box, t = bad_response_server(resp)
        r = run_json([CLIENT, "--url", f"ws://127.0.0.1:{port}/"] + args)
        t.join(15)
        # websocketpp may still send a close frame (opcode 8, masked: 0x88)
        # while it drops the connection, but never a data frame
        sent = box["data_after_upgrade"]
        data_frames = sent and (sent[0] & 0x0F) in (1, 2)
        if r.get("ok") or r.get("checked"):
            record("bad response->wspp cli", "raw socket", name, False, f"the client went on: {r}")
        elif data_frames:
            record("bad response->wspp cli", "raw socket", name, False, f"the client sent data: {sent[:16].hex()}")
        elif "connection failed" not in r.get("error", ""):
            record("bad response->wspp cli", "raw socket", name, False, f"unexpected outcome: {r}")
        else:
            record("bad response->wspp cli", "raw socket", name, True, f"refused {resp!r}: {r['error']}")


def main():
    for exe in (SERVER, CLIENT):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{exe} is missing: run make -C examples-cpp")
    peer_clients()
    browser()
    our_client()
    bad_responses()
    failed = [r for r in results if r[3] != "PASS"]
    print(f"\nwebsocketpp interop: {len(results) - len(failed)} of {len(results)} cells passed", flush=True)
    sys.exit(1 if failed or not results else 0)


if __name__ == "__main__":
    main()
