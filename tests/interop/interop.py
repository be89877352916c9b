"""Interop matrix driver: our C endpoints (examples-c) against websockets,
ws, Autobahn|Python, Boost.Beast and headless Chromium. Run through
tests/interop/run.sh.

Every cell starts real processes on loopback ports, exchanges text and
binary messages of 0, 1, 125, 126, 65535, 65536 and 1048576 bytes (whole
and fragmented, with pings between fragments where the peer's API allows),
compares every echo byte for byte, sends one message over the receiver's
max size and expects close code 1009, and checks what was negotiated
against the expected parameters. Where a peer cannot do something, the cell
asserts the peer's documented behaviour instead (status DOC) and
docs/interop.md says why.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

from browser_page import run_page  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
EX = os.path.join(ROOT, "examples-c")
SERVER = os.path.join(EX, "ws_echo_server")
WSLAY_SERVER = os.path.join(EX, "wslay_echo_server")
# The wslay integration runs a representative subset of the client cells.
WSLAY_CELLS = {"default", "impose server_max_wbits=9", "offer client_max_wbits=12", "impose server_no_ctx",
               "offer client_no_ctx", "all params, wbits 9"}
CLIENT = os.path.join(EX, "ws_echo_client")
PY = os.path.join(ROOT, ".venv", "bin", "python")
PEERS = os.path.join(HERE, "peers.py")
NODE_PEER = os.path.join(HERE, "node", "peer.js")
BEAST_SRC = os.path.join(HERE, "beast", "beast_peer.cpp")
BEAST = os.path.join(ROOT, "target", "beast-peer", "beast_peer")
BEAST_CXX = ["g++", "-std=c++17", "-O1", "-pthread", "-Wall", "-Wextra"]

MAX = 1100000          # receiver max size in every cell (> 1 MiB)
OVER = 1200000         # the message that must be closed with 1009

results = []           # (direction, peer, cell, status, detail)


def record(direction, peer, cell, status, detail=""):
    results.append((direction, peer, cell, status, detail))
    print(f"{status:4}  {direction:13} {peer:11} {cell:28} {detail}", flush=True)


def start(cmd, what):
    """Starts a server process; returns (proc, port). A server that does
    not print its port is a failure (raised)."""
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    p.errfile = err
    deadline = time.time() + 20
    seen = []
    while time.time() < deadline:
        line = p.stdout.readline()
        seen.append(line.strip())
        m = re.match(r"listening on (\d+)", line)
        if m:
            return p, int(m.group(1))
        if p.poll() is not None:
            break
    p.kill()
    err.seek(0)
    raise RuntimeError(f"{what} did not start: {' '.join(seen)!r} {err.read().decode()[-500:]}")


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    p.errfile.seek(0)
    return p.errfile.read().decode(errors="replace")


NEG = re.compile(r"negotiated: permessage-deflate local_max_window_bits=(\d+) remote_max_window_bits=(\d+) "
                 r"local_no_context_takeover=(\d) remote_no_context_takeover=(\d)")


def negotiated(text):
    """All 'negotiated' lines of a log as tuples, None for 'none'."""
    out = []
    for line in text.splitlines():
        m = NEG.search(line)
        if m:
            out.append(tuple(int(g) for g in m.groups()))
        elif "negotiated: none" in line:
            out.append(None)
    return out


def want(smwb=15, cmwb=15, snct=0, cnct=0, side="server"):
    """Expected negotiated tuple as our endpoint prints it (local first)."""
    if side == "server":
        return (smwb, cmwb, snct, cnct)
    return (cmwb, smwb, cnct, snct)


# --------------------------------------------------------------------------
# the Boost.Beast peer (tests/interop/beast/beast_peer.cpp), compiled here
# --------------------------------------------------------------------------

_beast = {}


def beast_error():
    """Builds the Beast peer into target/beast-peer/ once per run, only when
    its source, the compile command, g++ or Boost changed (Beast compiles
    slowly). Returns None when the binary is ready, else why not (the cells
    then fail: a missing peer is never a skip)."""
    if "error" in _beast:
        return _beast["error"]
    _beast["error"] = None
    try:
        gxx = subprocess.run(["g++", "-dumpfullversion"], capture_output=True, text=True, check=True).stdout
        key = hashlib.sha256(open(BEAST_SRC, "rb").read() + " ".join(BEAST_CXX).encode() + gxx.encode()
                             + open("/usr/include/boost/version.hpp", "rb").read()).hexdigest()
        stamp = BEAST + ".sha256"
        if os.path.exists(BEAST) and os.path.exists(stamp) and open(stamp).read().strip() == key:
            print("beast_peer: up to date", flush=True)
            return None
        os.makedirs(os.path.dirname(BEAST), exist_ok=True)
        print("beast_peer: compiling (Beast is slow to compile)", flush=True)
        t0 = time.time()
        p = subprocess.run(BEAST_CXX + ["-o", BEAST + ".tmp", BEAST_SRC], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"g++ failed: {p.stderr[-600:]}")
        os.replace(BEAST + ".tmp", BEAST)
        with open(stamp, "w") as f:
            f.write(key + "\n")
        _beast["seconds"] = time.time() - t0
        print(f"beast_peer: compiled in {_beast['seconds']:.0f} s", flush=True)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as e:
        _beast["error"] = f"Beast peer not built: {type(e).__name__}: {e}"
    return _beast["error"]


def beast_pmd_args(spec):
    """beast_peer options for a spec (keys smwb, cmwb, snct, cnct)."""
    args = []
    if "smwb" in spec:
        args += ["--server-max-window-bits", str(spec["smwb"])]
    if "cmwb" in spec:
        args += ["--client-max-window-bits", str(spec["cmwb"])]
    if spec.get("snct"):
        args.append("--server-no-context-takeover")
    if spec.get("cnct"):
        args.append("--client-no-context-takeover")
    return args


def beast_answers(log):
    """The Sec-WebSocket-Extensions values the Beast server answered, in order."""
    return [m.group(1) for m in re.finditer(r"^beast server: answer: \d+ (.*)$", log, re.M)]


# --------------------------------------------------------------------------
# peer clients -> our C server
# --------------------------------------------------------------------------

# The permessage-deflate option names of the peers' APIs, in the order
# smwb, cmwb, snct, cnct.
WS_NAMES = ("serverMaxWindowBits", "clientMaxWindowBits", "serverNoContextTakeover", "clientNoContextTakeover")
PY_NAMES = ("server_max_window_bits", "client_max_window_bits", "server_no_context_takeover",
            "client_no_context_takeover")
_ABSENT = object()


def pmd_options(spec, names, cmwb_default=_ABSENT):
    """The options of a spec (keys smwb, cmwb (int or True), snct, cnct)
    under a peer's option names; cmwb_default, when given, stands for an
    absent cmwb."""
    smwb, cmwb, snct, cnct = names
    o = {}
    if "smwb" in spec:
        o[smwb] = spec["smwb"]
    if "cmwb" in spec:
        o[cmwb] = spec["cmwb"]
    elif cmwb_default is not _ABSENT:
        o[cmwb] = cmwb_default
    if spec.get("snct"):
        o[snct] = True
    if spec.get("cnct"):
        o[cnct] = True
    return o


def ws_offer(spec):
    """The ws option object of a spec (client_max_window_bits always offered)."""
    return pmd_options(spec, WS_NAMES, cmwb_default=True)


def py_offer(spec):
    """The websockets option dict of a spec (client_max_window_bits always offered)."""
    return pmd_options(spec, PY_NAMES, cmwb_default=True)


def client_cells():
    """(name, server args, offers (list of specs or "default" / "none"),
    expected negotiated tuple, or "400" / "none")."""
    cells = [("default", [], "default", want())]
    for n in (8, 9, 12, 15):
        cells.append((f"offer server_max_wbits={n}", [], [{"smwb": n}], want(smwb=n)))
    for n in (8, 9, 12, 15):
        cells.append((f"offer client_max_wbits={n}", [], [{"cmwb": n}], want(cmwb=n)))
    for n in (8, 9, 12, 15):
        cells.append((f"impose server_max_wbits={n}", ["--server-max-window-bits", str(n)], "default",
                      want(smwb=n)))
    for n in (8, 9, 12, 15):
        cells.append((f"impose client_max_wbits={n}", ["--client-max-window-bits", str(n)], "default",
                      want(cmwb=n)))
    cells += [
        ("offer server_no_ctx", [], [{"snct": True}], want(snct=1)),
        ("impose server_no_ctx", ["--server-no-context-takeover"], "default", want(snct=1)),
        ("offer client_no_ctx", [], [{"cnct": True}], want(cnct=1)),
        ("impose client_no_ctx", ["--client-no-context-takeover"], "default", want(cnct=1)),
        ("all params, wbits 9", ["--server-no-context-takeover", "--client-no-context-takeover"],
         [{"smwb": 9, "cmwb": 9, "snct": True, "cnct": True}], want(9, 9, 1, 1)),
        ("require + offer", ["--require"], "default", want()),
        ("require, no offer", ["--require"], "none", "400"),
        ("decline invalid offer", [], "invalid", None),
        ("several offers", ["--client-max-window-bits", "10", "--require-client-max-window-bits"],
         [{"cmwb": None}, {"cmwb": True}], want(cmwb=10)),
        # The server compacts after every echo (pmd_extension_compact): its
        # streams are rebuilt from the kept history for the next message,
        # and the peer must decode what a restored encoder sends.
        ("compact, default", ["--compact"], "default", want()),
        ("compact, wbits 9 both", ["--compact"], [{"smwb": 9, "cmwb": 9}], want(9, 9)),
        ("compact, server_no_ctx", ["--compact"], [{"snct": True}], want(snct=1)),
    ]
    return cells


# Where a peer cannot do what a cell asks, the documented behaviour we assert.
PEER_LIMITS = {
    ("websockets", "offer client_max_wbits=8"): (
        "refused-by-peer",
        "websockets refuses client_max_window_bits=8 (ValueError: zlib cannot compress with a 256-byte window)"),
    ("websockets", "impose client_max_wbits=8"): (
        "failed",
        "websockets client fails the handshake when the server asks it to compress with window bits 8"),
    ("autobahn", "offer client_max_wbits=8"): ("n/a", "Autobahn offers client_max_window_bits only without a value"),
    ("autobahn", "offer client_max_wbits=9"): ("n/a", "Autobahn offers client_max_window_bits only without a value"),
    ("autobahn", "offer client_max_wbits=12"): ("n/a", "Autobahn offers client_max_window_bits only without a value"),
    ("autobahn", "offer client_max_wbits=15"): ("n/a", "Autobahn offers client_max_window_bits only without a value"),
    ("autobahn", "decline invalid offer"): ("n/a", "Autobahn cannot send a raw extension header"),
    ("ws", "several offers"): ("n/a", "ws makes exactly one offer"),
    ("beast", "several offers"): ("n/a", "Beast makes exactly one offer"),
    ("beast", "offer server_max_wbits=8"): (
        "refused-by-peer", "Beast refuses window bits 8 in its permessage_deflate options (std::invalid_argument; "
                           "its deflate, like zlib's, would use 9)"),
    ("beast", "offer client_max_wbits=8"): (
        "refused-by-peer", "Beast refuses window bits 8 in its permessage_deflate options (std::invalid_argument; "
                           "its deflate, like zlib's, would use 9)"),
    ("autobahn", "offer server_max_wbits=8"): (
        "refused-by-peer", "Autobahn refuses to offer window bits 8 (permissible values 9..15), against RFC 7692"),
    ("autobahn", "impose server_max_wbits=8"): (
        "failed", "Autobahn fails the handshake on server_max_window_bits=8 in a response "
                  "(\"illegal extension parameter value\"), against RFC 7692"),
    ("autobahn", "impose client_max_wbits=8"): (
        "failed", "Autobahn fails the handshake on client_max_window_bits=8 in a response "
                  "(\"illegal extension parameter value\"), against RFC 7692"),
}

# Cells whose expected parameters differ for one peer because its API
# cannot express part of the offer.
PEER_EXPECT = {
    ("autobahn", "all params, wbits 9"): (
        want(9, 15, 1, 1), "Autobahn cannot offer client_max_window_bits=9 (only without a value)"),
    ("autobahn", "compact, wbits 9 both"): (
        want(9, 15), "Autobahn cannot offer client_max_window_bits=9 (only without a value)"),
}


def run_peer_client(peer, cfg):
    if peer == "beast":
        cmd = [BEAST, "client"] + cfg["beast_args"]
    elif peer == "ws":
        cmd = ["node", NODE_PEER, "client", json.dumps(cfg)]
    else:
        cmd = [PY, PEERS, f"{peer}-client", json.dumps(cfg)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"ok": False, "error": f"no result (exit {p.returncode}): {p.stderr[-400:]}"}
    return json.loads(lines[-1])


def peer_client_config(peer, url, offers):
    if peer == "beast":
        args = ["--url", url, "--oversize", str(OVER), "--max-size", str(4 << 20)]
        if offers == "none":
            args.append("--no-deflate")
        elif offers == "invalid":
            args += ["--no-deflate", "--extension-header", "permessage-deflate; server_max_window_bits=7"]
        elif offers != "default":
            args += beast_pmd_args(offers[0])
        return {"beast_args": args}
    cfg = {"url": url, "oversize": OVER, "max_size": 4 << 20}
    if offers == "default":
        if peer == "ws":
            cfg["pmd"] = True
        return cfg
    if offers == "none":
        if peer == "ws":
            cfg["pmd"] = False
        elif peer == "websockets":
            cfg["no_compression"] = True
        else:
            cfg["offers"] = []
        return cfg
    if offers == "invalid":
        # an offer no server may accept: window bits 7
        cfg["extra_headers"] = {"Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=7"}
        if peer == "ws":
            cfg["pmd"] = False
        else:
            cfg["no_compression"] = True
        return cfg
    if peer == "ws":
        cfg["pmd"] = ws_offer(offers[0])
    else:
        cfg["offers"] = [py_offer(o) for o in offers]
    if peer == "autobahn":
        cfg["frame_api_probe"] = offers == [{"snct": True}]
    return cfg


def peer_clients(server=SERVER, label="peer->our srv", peers=("websockets", "ws", "autobahn", "beast"),
                 cells=None):
    for peer in peers:
        for name, args, offers, expect in client_cells():
            if cells is not None and name not in cells:
                continue
            limit = PEER_LIMITS.get((peer, name))
            if limit and limit[0] == "n/a":
                record(label, peer, name, "N/A", limit[1])
                continue
            if peer == "beast" and beast_error():
                record(label, peer, name, "FAIL", beast_error())
                continue
            try:
                srv, port = start([server, "--port", "0", "--max-size", str(MAX), "--max-connections", "0"] + args,
                                  os.path.basename(server))
            except RuntimeError as e:
                record(label, peer, name, "FAIL", str(e))
                continue
            cfg = peer_client_config(peer, f"ws://127.0.0.1:{port}/", offers)
            try:
                r = run_peer_client(peer, cfg)
            except subprocess.TimeoutExpired:
                r = {"ok": False, "error": "peer timed out"}
            log = stop(srv)
            neg = negotiated(log)
            note = ""
            if (peer, name) in PEER_EXPECT:
                expect, note = PEER_EXPECT[(peer, name)]
            status, detail = judge_client_cell(peer, name, expect, r, neg, limit)
            if "--compact" in args and status == "PASS":
                status, detail = judge_compactions(log, detail)
            if note and status == "PASS":
                status, detail = "DOC", f"{note}; {detail}"
            if peer == "beast" and status == "PASS" and "response_ext" in r:
                detail += f"; response seen by Beast: {r['response_ext']!r}"
            record(label, peer, name, status, detail)


def judge_compactions(log, detail):
    """A --compact cell passes only if the server compacted: its log names
    how many times, for each connection that echoed messages."""
    counts = [int(n) for n in re.findall(r"\((?:\d+ messages echoed, )?(\d+) compactions\)", log)]
    if not counts or max(counts) == 0:
        return "FAIL", f"the server never compacted ({detail})"
    return "PASS", f"{detail}; compacted {sum(counts)} times"


def wslay_clients():
    """The wslay integration (examples-c/wslay_echo_server.c) against real clients."""
    peer_clients(WSLAY_SERVER, "peer->wslay srv", ("websockets", "ws", "beast"), WSLAY_CELLS)


def judge_client_cell(peer, name, expect, r, neg, limit):
    if limit:
        kind, note = limit
        if r.get("handshake") == kind:
            return "DOC", note
        return "FAIL", f"expected documented '{kind}' ({note}), got {r}"
    if expect == "400":
        if r.get("handshake") == "failed" and "400" in str(r.get("error", "")) + str(r.get("status", "")):
            return "PASS", "HTTP 400 as required"
        return "FAIL", f"expected HTTP 400, got {r}"
    if not r.get("ok"):
        return "FAIL", r.get("error") or str(r)
    if r.get("checked") != 28:
        return "FAIL", f"only {r.get('checked')} echoes checked"
    if r.get("oversize_close") != 1009:
        return "FAIL", f"oversize message closed with {r.get('oversize_close')}, expected 1009"
    if r.get("frame_api_close") not in (None, 1007):
        return "FAIL", f"uncompressed data with RSV1 closed with {r.get('frame_api_close')}, expected 1007"
    if not neg or neg[0] != expect:
        return "FAIL", f"negotiated {neg[:1]}, expected {expect}"
    return "PASS", fmt_neg(expect)


def fmt_neg(t):
    if t is None:
        return "no extension"
    return f"local wbits {t[0]}, remote wbits {t[1]}, local no_ctx {t[2]}, remote no_ctx {t[3]}"


# --------------------------------------------------------------------------
# our C client -> peer servers
# --------------------------------------------------------------------------

def server_cells():
    """(name, our client args, peer server factory (spec) or None, expected tuple)"""
    cells = [("default", [], None, want(side="client"))]
    for n in (8, 9, 12, 15):
        cells.append((f"offer server_max_wbits={n}", ["--server-max-window-bits", str(n)], None,
                      want(smwb=n, side="client")))
    for n in (8, 9, 12, 15):
        cells.append((f"offer client_max_wbits={n}", ["--client-max-window-bits", str(n)], None,
                      want(cmwb=n, side="client")))
    for n in (8, 9, 12, 15):
        cells.append((f"impose server_max_wbits={n}", [], {"smwb": n}, want(smwb=n, side="client")))
    for n in (8, 9, 12, 15):
        cells.append((f"impose client_max_wbits={n}", ["--client-max-window-bits", "novalue"], {"cmwb": n},
                      want(cmwb=n, side="client")))
    cells += [
        ("client_max_wbits novalue", ["--client-max-window-bits", "novalue"], None, want(side="client")),
        ("offer server_no_ctx", ["--server-no-context-takeover"], None, want(snct=1, side="client")),
        ("impose server_no_ctx", [], {"snct": True}, want(snct=1, side="client")),
        ("offer client_no_ctx", ["--client-no-context-takeover"], None, want(cnct=1, side="client")),
        ("impose client_no_ctx", [], {"cnct": True}, want(cnct=1, side="client")),
    ]
    return cells


SERVER_LIMITS = {
    ("websockets", "offer server_max_wbits=8"): (
        None, "websockets declines server_max_window_bits=8 (cannot compress with a 256-byte window): "
              "the connection runs uncompressed"),
    ("websockets", "impose server_max_wbits=8"): (
        "peer-refuses", "websockets refuses server_max_window_bits=8 in its server factory (ValueError)"),
    ("autobahn", "impose server_max_wbits=8"): (
        "peer-refuses", "Autobahn refuses window bits 8 in its server settings (permissible 9..15)"),
    ("autobahn", "impose client_max_wbits=8"): (
        "peer-refuses", "Autobahn refuses window bits 8 in its server settings (permissible 9..15)"),
    ("autobahn", "offer server_max_wbits=8"): (
        "http-400", "Autobahn server answers HTTP 400 to an offer of server_max_window_bits=8 instead of "
                    "accepting it or declining the offer (RFC 7692 allows 8)"),
    ("autobahn", "offer client_max_wbits=8"): (
        "http-400", "Autobahn server answers HTTP 400 to an offer of client_max_window_bits=8 instead of "
                    "accepting it or declining the offer (RFC 7692 allows 8)"),
    ("beast", "impose server_max_wbits=8"): (
        "peer-refuses", "Beast refuses window bits 8 in its permessage_deflate options (std::invalid_argument)"),
    ("beast", "impose client_max_wbits=8"): (
        "peer-refuses", "Beast refuses window bits 8 in its permessage_deflate options (std::invalid_argument)"),
    ("beast", "offer server_max_wbits=8"): (
        "negotiation", "Beast answers server_max_window_bits=9 to an offer of 8 (it never uses 8), more than "
                       "offered, against RFC 7692 7.1.2.1: our client fails the handshake with PMD_ERR_NEGOTIATION"),
}

# What the Beast server answers (Sec-WebSocket-Extensions) to our client's
# offer in each cell, read from its log. It leaves out every parameter whose
# value is the default (15), the reported case being "offer
# server_max_wbits=15" answered by a bare "permessage-deflate".
_PMD = "permessage-deflate"
BEAST_ANSWERS = {
    "default": _PMD,
    **{f"offer server_max_wbits={n}": f"{_PMD}; server_max_window_bits={max(n, 9)}" for n in (8, 9, 12)},
    "offer server_max_wbits=15": _PMD,
    **{f"offer client_max_wbits={n}": f"{_PMD}; client_max_window_bits={n}" for n in (8, 9, 12, 15)},
    **{f"impose server_max_wbits={n}": f"{_PMD}; server_max_window_bits={n}" for n in (9, 12)},
    "impose server_max_wbits=15": _PMD,
    **{f"impose client_max_wbits={n}": f"{_PMD}; client_max_window_bits={n}" for n in (9, 12)},
    "impose client_max_wbits=15": _PMD,
    "client_max_wbits novalue": _PMD,
    "offer server_no_ctx": f"{_PMD}; server_no_context_takeover",
    "impose server_no_ctx": f"{_PMD}; server_no_context_takeover",
    "offer client_no_ctx": f"{_PMD}; client_no_context_takeover",
    "impose client_no_ctx": f"{_PMD}; client_no_context_takeover",
}

SERVER_EXPECT = {
    ("autobahn", f"impose server_max_wbits={n}"): (
        want(side="client"), f"Autobahn compresses with window bits {n} but does not say so in its response "
                             "(it only echoes parameters the client requested)") for n in (9, 12)}
SERVER_EXPECT[("autobahn", "impose server_no_ctx")] = (
    want(side="client"), "Autobahn resets its compressor per message but does not send server_no_context_takeover "
                         "unless the client requested it")


def peer_server_cmd(peer, factory):
    if peer == "beast":
        return [BEAST, "server", "--port", "0", "--max-size", str(MAX)] + beast_pmd_args(factory or {})
    cfg = {"port": 0, "max_size": MAX}
    if peer == "ws":
        if factory is not None:
            cfg["pmd"] = pmd_options(factory, WS_NAMES)
        return ["node", NODE_PEER, "server", json.dumps(cfg)]
    if factory is not None:
        cfg["factory"] = pmd_options(factory, PY_NAMES)
    return [PY, PEERS, f"{peer}-server", json.dumps(cfg)]


def run_client(port, args):
    p = subprocess.run([CLIENT, "--port", str(port), "--max-size", str(4 << 20)] + args,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def peer_servers():
    for peer in ("websockets", "ws", "autobahn", "beast"):
        for name, args, factory, expect in server_cells():
            limit = SERVER_LIMITS.get((peer, name))
            if peer == "beast" and beast_error():
                record("our cli->peer", peer, name, "FAIL", beast_error())
                continue
            try:
                srv, port = start(peer_server_cmd(peer, factory), f"{peer} server")
            except RuntimeError as e:
                if limit and limit[0] == "peer-refuses" and "refused:" in str(e):
                    record("our cli->peer", peer, name, "DOC", limit[1])
                else:
                    record("our cli->peer", peer, name, "FAIL", str(e)[:300])
                continue
            if limit and limit[0] == "http-400":
                rc, out = run_client(port, args + ["--quiet"])
                stop(srv)
                ok = rc != 0 and "server answered 400" in out
                record("our cli->peer", peer, name, "DOC" if ok else "FAIL",
                       limit[1] if ok else "expected HTTP 400: " + " | ".join(out.splitlines()[-3:]))
                continue
            if limit and limit[0] == "negotiation":
                rc, out = run_client(port, args + ["--quiet"])
                answers = beast_answers(stop(srv))
                ok = rc != 0 and "PMD_ERR_NEGOTIATION" in out and answers == [BEAST_ANSWERS[name]]
                record("our cli->peer", peer, name, "DOC" if ok else "FAIL",
                       f"{limit[1]}; Beast answered {answers[0]!r}" if ok else
                       f"expected the handshake to fail with PMD_ERR_NEGOTIATION after Beast answered "
                       f"{BEAST_ANSWERS[name]!r}; got {answers}: " + " | ".join(out.splitlines()[-3:]))
                continue
            try:
                rc, out = run_client(port, args + ["--quiet"])
                rc2, out2 = run_client(port, args + ["--quiet", "--oversize", str(OVER)])
                rc3, out3 = run_client(port, args + ["--quiet", "--max-size", "100000", "--oversize-echo", "200000"])
            except subprocess.TimeoutExpired:
                stop(srv)
                record("our cli->peer", peer, name, "FAIL", "our client timed out")
                continue
            srv_log = stop(srv)
            neg = negotiated(out)
            exp = expect
            status = "PASS"
            note = ""
            if peer == "beast":
                answers = beast_answers(srv_log)
                if answers != [BEAST_ANSWERS[name]] * 3:
                    record("our cli->peer", peer, name, "FAIL",
                           f"Beast answered {answers}, expected {BEAST_ANSWERS[name]!r} to each of 3 connections")
                    continue
                note = f"Beast answered {answers[0]!r}"
            if limit and limit[0] is None:
                exp, status, note = None, "DOC", limit[1]
            if (peer, name) in SERVER_EXPECT:
                exp, note = SERVER_EXPECT[(peer, name)]
                status = "DOC"
            if rc != 0 or "RESULT: PASS (28 checks" not in out:
                record("our cli->peer", peer, name, "FAIL", "echo run: " + " | ".join(out.splitlines()[-4:]))
            elif rc2 != 0:
                record("our cli->peer", peer, name, "FAIL", "oversize: " + " | ".join(out2.splitlines()[-3:]))
            elif rc3 != 0:
                record("our cli->peer", peer, name, "FAIL", "oversize echo: " + " | ".join(out3.splitlines()[-3:]))
            elif not neg or neg[0] != exp:
                record("our cli->peer", peer, name, "FAIL", f"negotiated {neg[:1]}, expected {exp}")
            else:
                record("our cli->peer", peer, name, status, (note + "; " if note else "") + fmt_neg(exp))


def beast_window_probe():
    """Raw offers of server_max_window_bits 9..15 to Beast servers configured
    with 9, 12 and 15: does Beast ever answer an offer below 15 without the
    parameter (which our client must fail)? It must answer min(offer, own)
    and may leave the parameter out only when that is 15."""
    for own in (9, 12, 15):
        cell = f"offers 9..15, Beast smwb={own}"
        if beast_error():
            record("raw->beast srv", "beast", cell, "FAIL", beast_error())
            continue
        try:
            srv, port = start([BEAST, "server", "--port", "0", "--server-max-window-bits", str(own)], "beast server")
        except RuntimeError as e:
            record("raw->beast srv", "beast", cell, "FAIL", str(e)[:300])
            continue
        got, want_ = [], []
        try:
            for n in range(9, 16):
                status, exts = raw_handshake(port, [f"{_PMD}; server_max_window_bits={n}"])
                got.append((status, exts))
                w = min(n, own)
                want_.append(("101", [_PMD + (f"; server_max_window_bits={w}" if w < 15 else "")]))
        finally:
            stop(srv)
        shown = " ".join(e[0].split("=", 1)[1] if e and "=" in e[0] else "absent" for _, e in got)
        if got == want_:
            record("raw->beast srv", "beast", cell, "PASS", f"server_max_window_bits answered to offers 9..15: {shown}")
        else:
            record("raw->beast srv", "beast", cell, "FAIL", f"answered {got}, expected {want_}")


def servers():
    peer_servers()
    beast_window_probe()


# --------------------------------------------------------------------------
# raw handshakes against our server (cases no peer library can send)
# --------------------------------------------------------------------------

def raw_handshake(port, ext_lines):
    import base64
    import socket
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
    for line in ext_lines:
        req += f"Sec-WebSocket-Extensions: {line}\r\n"
    req += "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n")[0].decode()
    status = head.split(" ")[1] if " " in head else ""
    exts = [l.split(":", 1)[1].strip() for l in head.split("\r\n")[1:]
            if l.lower().startswith("sec-websocket-extensions:")]
    return status, exts


def raw_cells():
    cases = [
        ("invalid offer, then valid", [], ["permessage-deflate; server_max_window_bits=7, permessage-deflate; "
                                          "client_max_window_bits"], "101", ["permessage-deflate"]),
        ("several header lines", [], ["x-unknown; a=1", "permessage-deflate; server_no_context_takeover"],
         "101", ["permessage-deflate; server_no_context_takeover"]),
        ("quoted value", [], ['permessage-deflate; server_max_window_bits="10"'],
         "101", ["permessage-deflate; server_max_window_bits=10"]),
        ("header syntax error", [], ["permessage-deflate; ="], "400", []),
        ("require, all declined", ["--require"], ["permessage-deflate; client_max_window_bits=16"], "400", []),
        ("require, no header", ["--require"], [], "400", []),
        ("decline, no require", [], ["permessage-deflate; server_max_window_bits=16"], "101", []),
    ]
    for name, args, lines, status, exts in cases:
        srv, port = start([SERVER, "--port", "0"] + args, "ws_echo_server")
        try:
            got_status, got_exts = raw_handshake(port, lines)
        finally:
            stop(srv)
        ok = got_status == status and got_exts == exts
        record("raw->our srv", "raw socket", name, "PASS" if ok else "FAIL",
               f"{got_status} {got_exts}" + ("" if ok else f", expected {status} {exts}"))


# --------------------------------------------------------------------------
# headless Chromium -> our server
# --------------------------------------------------------------------------

BROWSER_CELLS = [("default", [], want())] + \
    [(f"impose server_max_wbits={n}", ["--server-max-window-bits", str(n)], want(smwb=n)) for n in (8, 9, 12, 15)] + \
    [(f"impose client_max_wbits={n}", ["--client-max-window-bits", str(n)], want(cmwb=n)) for n in (8, 9, 12, 15)] + \
    [("impose server_no_ctx", ["--server-no-context-takeover"], want(snct=1)),
     ("impose client_no_ctx", ["--client-no-context-takeover"], want(cnct=1)),
     ("compact after each echo", ["--compact"], want()),
     ("compact, impose server_max_wbits=10", ["--compact", "--server-max-window-bits", "10"], want(smwb=10))]


def browser():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    servers = []
    try:
        for name, args, _ in BROWSER_CELLS:
            servers.append(start([SERVER, "--port", "0", "--max-size", str(MAX)] + args, "ws_echo_server"))
    except RuntimeError as e:
        for p, _ in servers:
            stop(p)
        record("browser->srv", "chromium", "all", "FAIL", str(e))
        return
    cells = [{"name": c[0], "port": port} for c, (_, port) in zip(BROWSER_CELLS, servers)]
    result = run_page(chromium, cells, OVER, "pmd-chromium-")
    logs = [stop(p) for p, _ in servers]
    if result is None:
        record("browser->srv", "chromium", "all", "FAIL", "page reported nothing within 180 s")
        return
    res = result
    for (name, args, expect), log in zip(BROWSER_CELLS, logs):
        r = res.get(name, {})
        neg = negotiated(log)
        if not r.get("ok"):
            record("browser->srv", "chromium", name, "FAIL", r.get("error", "no result"))
        elif r.get("checked") != 14:
            record("browser->srv", "chromium", name, "FAIL", f"checked {r.get('checked')}")
        elif r.get("oversize_close") != 1009:
            record("browser->srv", "chromium", name, "FAIL", f"oversize closed with {r.get('oversize_close')}")
        elif not neg or neg[0] != expect:
            record("browser->srv", "chromium", name, "FAIL", f"negotiated {neg[:1]}, expected {expect}")
        else:
            detail = fmt_neg(expect) + f"; response seen by the page: {r.get('extensions')!r}"
            status = "PASS"
            if "--compact" in args:
                status, detail = judge_compactions(log, detail)
            record("browser->srv", "chromium", name, status, detail)


# --------------------------------------------------------------------------

def versions():
    v = {}
    v["websockets"] = subprocess.run([PY, "-c", "import websockets; print(websockets.__version__)"],
                                     capture_output=True, text=True).stdout.strip()
    v["autobahn"] = subprocess.run([PY, "-c", "import autobahn; print(autobahn.__version__)"],
                                   capture_output=True, text=True).stdout.strip()
    v["ws"] = json.load(open(os.path.join(HERE, "node", "node_modules", "ws", "package.json")))["version"]
    v["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    v["chromium"] = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.strip()
    v["beast"] = "(not built)" if beast_error() else \
        subprocess.run([BEAST, "version"], capture_output=True, text=True).stdout.strip()
    v["g++"] = subprocess.run(["g++", "-dumpfullversion"], capture_output=True, text=True).stdout.strip()
    v["python"] = subprocess.run([PY, "--version"], capture_output=True, text=True).stdout.strip()
    return v


def write_doc(v, elapsed):
    path = os.path.join(ROOT, "docs", "interop.md")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path) as f:
        text = f.read()
    table = ["| direction | peer | configuration | result | detail |", "|---|---|---|---|---|"]
    for d, peer, cell, status, detail in results:
        table.append(f"| {d} | {peer} | {cell} | {status} | {detail.replace('|', '/')} |")
    counts = {s: sum(1 for r in results if r[3] == s) for s in ("PASS", "DOC", "N/A", "FAIL")}
    gen = [
        "<!-- BEGIN GENERATED MATRIX (tests/interop/run.sh rewrites this part) -->",
        "",
        "Peer versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        f"Last run: {counts['PASS']} PASS, {counts['DOC']} DOC, {counts['N/A']} N/A, "
        f"{counts['FAIL']} FAIL in {elapsed:.0f} s.",
        "",
        *table,
        "",
        "<!-- END GENERATED MATRIX -->",
    ]
    start = text.index("<!-- BEGIN GENERATED MATRIX")
    end = text.index("<!-- END GENERATED MATRIX -->") + len("<!-- END GENERATED MATRIX -->")
    with open(path, "w") as f:
        f.write(text[:start] + "\n".join(gen) + text[end:])


def main():
    only = sys.argv[1:]
    t0 = time.time()
    v = versions()
    print("peers:", ", ".join(f"{k} {val}" for k, val in v.items()), flush=True)
    parts = {"clients": peer_clients, "wslay": wslay_clients, "servers": servers, "raw": raw_cells,
             "browser": browser}
    for name, fn in parts.items():
        if not only or name in only:
            try:
                fn()
            except Exception as e:  # a harness error is a failure, never a skip
                record(name, "-", "harness", "FAIL", f"{type(e).__name__}: {e}")
    elapsed = time.time() - t0
    fails = [r for r in results if r[3] == "FAIL"]
    print(f"\n{sum(r[3] == 'DOC' for r in results)} documented peer limits asserted, "
          f"{sum(r[3] == 'N/A' for r in results)} cells not expressible with the peer's API, {elapsed:.0f} s")
    print(f"{sum(r[3] in ('PASS', 'DOC') for r in results)} passed, {len(fails)} failed")
    if not only:
        write_doc(v, elapsed)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
