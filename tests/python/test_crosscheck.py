"""Cross-checks of pmdeflate against the Python websockets library.

pmdeflate's behaviour is that of the permessage-deflate extension of
websockets 17.4 (websockets.extensions.permessage_deflate). Every check
compares what pmdeflate does through its C ABI (tests/python/pmd.py) with
what websockets does for the same input, and asserts equality. Where
pmdeflate deliberately differs (docs/differences.md), the check asserts
pmdeflate's documented rule instead and says which rule; those places are
listed in DELIBERATE below.

Run with tests/python/run.sh (plain unittest, no plugins).
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pmd  # noqa: E402
import websockets  # noqa: E402
from websockets.exceptions import (  # noqa: E402
    InvalidHeaderFormat,
    NegotiationError,
    PayloadTooBig,
    ProtocolError,
)
from websockets.extensions.permessage_deflate import (  # noqa: E402
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.client import ClientProtocol  # noqa: E402
from websockets.datastructures import Headers  # noqa: E402
from websockets.frames import Frame as WsFrame  # noqa: E402
from websockets.frames import Opcode  # noqa: E402
from websockets.headers import build_extension, parse_extension  # noqa: E402
from websockets.server import ServerProtocol  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402

NAME = "permessage-deflate"

# Places where pmdeflate deliberately differs from websockets 17.4
# (docs/differences.md). Each is asserted as the docs say, never skipped.
DELIBERATE = {
    "wbits8": "docs/window-bits-8.md: window bits 8 accepted on both sides (websockets refuses "
    "server_max_window_bits=8 on a server and client_max_window_bits=8 on a client)",
    "ows": "docs/header.md: leading/trailing OWS of the whole value ignored "
    "(websockets expects the HTTP layer to strip it)",
    "empty": "docs/header.md: an empty or all-comma value means no extensions "
    "(websockets' parser raises on it)",
    "limits": "docs/header.md: a value over 64 KiB or with more than 1024 elements/parameters "
    "is HEADER_SYNTAX (websockets has no limit)",
    "other_ext": "docs/negotiation.md: pmd_client_accept ignores other extensions' elements "
    "(the websockets client fails the handshake on an extension it has no factory for)",
    "require": "docs/negotiation.md: pmd_config_set_require (no websockets equivalent)",
    "build_quote": "docs/header.md: pmd_header_build quotes a non-token value "
    "(websockets writes it as is)",
    "exact_max_size": "docs/limits.md: a frame decoding to exactly max_size is accepted",
    "bfinal": "docs/frames.md: after a BFINAL block, the next message decodes with the window kept",
    "corrupt": "docs/frames.md: invalid DEFLATE data is CORRUPT_DATA/1007 "
    "(websockets raises ProtocolError, close code 1002)",
    "beast15": "docs/negotiation.md: a client that offered server_max_window_bits=15 "
    "accepts a response without it as 15 (Boost.Beast leaves defaults out; websockets fails)",
}

COUNTS: dict[str, int] = {}


def count(key: str, n: int = 1) -> None:
    COUNTS[key] = COUNTS.get(key, 0) + n


# Outcomes compared everywhere: ("ok", value) or ("err", pmd result code).


def ok(value):
    return ("ok", value)


def err(code):
    return ("err", code)


def fmt(outcome) -> str:
    kind, v = outcome
    return repr(v) if kind == "ok" else pmd.result_name(v) if isinstance(v, int) else repr(v)


class FakeExt:
    """An accepted extension, as websockets' accepted_extensions lists hold them."""

    def __init__(self, name: str) -> None:
        self.name = name


def neg_of(ext: PerMessageDeflate) -> pmd.Negotiated:
    return pmd.Negotiated(
        ext.remote_no_context_takeover,
        ext.local_no_context_takeover,
        ext.remote_max_window_bits,
        ext.local_max_window_bits,
    )


# ------------------------------------------------------------------ configs
#
# A config is a dict: snct, cnct (bool), smwb (0 or 8..15), cmwb (0, -1 or
# 8..15), req_cmwb (bool). 0 means "not set", -1 PMD_WINDOW_BITS_NO_VALUE.

SMWB_VALUES = [0, 8, 9, 12, 15]
CMWB_VALUES = [0, -1, 8, 9, 12, 15]


def server_configs():
    for snct, cnct, smwb, cmwb, req in itertools.product(
        [False, True], [False, True], SMWB_VALUES, CMWB_VALUES, [False, True]
    ):
        yield dict(snct=snct, cnct=cnct, smwb=smwb, cmwb=cmwb, req_cmwb=req)


def client_configs():
    for snct, cnct, smwb, cmwb in itertools.product(
        [False, True], [False, True], SMWB_VALUES, CMWB_VALUES
    ):
        yield dict(snct=snct, cnct=cnct, smwb=smwb, cmwb=cmwb, req_cmwb=False)


def make_pmd_config(c: dict, **extra) -> pmd.Config:
    cfg = pmd.Config(
        server_no_context_takeover=c["snct"],
        client_no_context_takeover=c["cnct"],
        server_max_window_bits=c["smwb"],
        client_max_window_bits=c["cmwb"],
        require_client_max_window_bits=c["req_cmwb"],
        **extra,
    )
    return cfg


def _ws_bits(v):
    return None if v == 0 else True if v == -1 else v


def make_ref_client(c: dict) -> ClientPerMessageDeflateFactory:
    cmwb = _ws_bits(c["cmwb"])
    f = ClientPerMessageDeflateFactory(
        server_no_context_takeover=c["snct"],
        client_no_context_takeover=c["cnct"],
        server_max_window_bits=_ws_bits(c["smwb"]),
        client_max_window_bits=9 if cmwb == 8 else cmwb,
    )
    # websockets' constructor refuses 8 here (zlib limitation); set it
    # afterwards so that its negotiation logic runs, and classify the
    # resulting "= 8, use 9" refusal as the deliberate difference.
    f.client_max_window_bits = cmwb
    return f


def make_ref_server(c: dict) -> ServerPerMessageDeflateFactory:
    """Raises ValueError where websockets refuses the configuration."""
    smwb = _ws_bits(c["smwb"])
    f = ServerPerMessageDeflateFactory(
        server_no_context_takeover=c["snct"],
        client_no_context_takeover=c["cnct"],
        server_max_window_bits=9 if smwb == 8 else smwb,
        client_max_window_bits=_ws_bits(c["cmwb"]),
        require_client_max_window_bits=c["req_cmwb"],
    )
    f.server_max_window_bits = smwb  # see make_ref_client
    return f


# ------------------------------------------------------------------ oracle
#
# The parameter rules and negotiation tables of docs/negotiation.md written
# out independently. Used only where websockets refuses window bits 8
# (DELIBERATE["wbits8"]); everywhere else it is itself checked against
# websockets.

WB_STRINGS = [str(b) for b in range(8, 16)]
KNOWN = [
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
]


class _Neg(Exception):
    pass


def _extract(params, is_server):
    seen = {}
    for name, value in params:
        if name not in KNOWN:
            raise _Neg("unknown")
        if name in seen:
            raise _Neg("dup")
        if name.endswith("no_context_takeover"):
            if value is not None:
                raise _Neg("value")
            seen[name] = True
        else:
            if value is None:
                if name == "client_max_window_bits" and is_server:
                    seen[name] = -1
                else:
                    raise _Neg("novalue")
            elif value in WB_STRINGS:
                seen[name] = int(value)
            else:
                raise _Neg("bad value")
    return (
        seen.get("server_no_context_takeover", False),
        seen.get("client_no_context_takeover", False),
        seen.get("server_max_window_bits", 0),
        seen.get("client_max_window_bits", 0),
    )


def _build(snct, cnct, smwb, cmwb):
    out = []
    if snct:
        out.append(("server_no_context_takeover", None))
    if cnct:
        out.append(("client_no_context_takeover", None))
    if smwb:
        out.append(("server_max_window_bits", str(smwb)))
    if cmwb == -1:
        out.append(("client_max_window_bits", None))
    elif cmwb:
        out.append(("client_max_window_bits", str(cmwb)))
    return out


def oracle_request_params(c):
    return _build(c["snct"], c["cnct"], c["smwb"], c["cmwb"])


def oracle_client(c, params, accepted):
    if NAME in accepted:
        return err(pmd.ERR_NEGOTIATION)
    try:
        snct, cnct, smwb, cmwb = _extract(params, is_server=False)
        if c["snct"] and not snct:
            raise _Neg("expected snct")
        cnct = cnct or c["cnct"]
        if c["smwb"]:
            if (not smwb and c["smwb"] != 15) or (smwb and smwb > c["smwb"]):
                raise _Neg("smwb")
        if c["cmwb"] == 0:
            if cmwb:
                raise _Neg("unexpected cmwb")
        elif c["cmwb"] > 0:
            if not cmwb:
                cmwb = c["cmwb"]
            elif cmwb > c["cmwb"]:
                raise _Neg("cmwb")
    except _Neg:
        return err(pmd.ERR_NEGOTIATION)
    return ok(pmd.Negotiated(snct, cnct, smwb or 15, cmwb or 15))


def oracle_server(c, params, accepted):
    if c["cmwb"] == -1 or (c["req_cmwb"] and not c["cmwb"]):
        return err(pmd.ERR_INVALID_ARGUMENT)
    if NAME in accepted:
        return err(pmd.ERR_NEGOTIATION)
    try:
        snct, cnct, smwb, cmwb = _extract(params, is_server=True)
    except _Neg:
        return err(pmd.ERR_NEGOTIATION)
    snct = snct or c["snct"]
    cnct = cnct or c["cnct"]
    if c["smwb"]:
        smwb = min(smwb, c["smwb"]) if smwb else c["smwb"]
    if not c["cmwb"]:
        if cmwb == -1:
            cmwb = 0
    else:
        if not cmwb:
            if c["req_cmwb"]:
                return err(pmd.ERR_NEGOTIATION)
        elif cmwb == -1:
            cmwb = c["cmwb"]
        else:
            cmwb = min(cmwb, c["cmwb"])
    return ok((_build(snct, cnct, smwb, cmwb), pmd.Negotiated(cnct, snct, cmwb or 15, smwb or 15)))


# ------------------------------------------------------ websockets wrappers
#
# ref_* functions give websockets' answer (websockets is the reference the
# checks compare with).


def _is_wbits8_refusal(exc: Exception) -> bool:
    return isinstance(exc, NegotiationError) and "= 8, use 9" in str(exc)


def ref_client(c, params, accepted):
    """("ok", Negotiated) / ("err", code) / ("ref8", None)."""
    f = make_ref_client(c)
    try:
        ext = f.process_response_params(params, [FakeExt(n) for n in accepted])
    except NegotiationError as exc:
        if _is_wbits8_refusal(exc):
            return ("ref8", None)
        return err(pmd.ERR_NEGOTIATION)
    return ok(neg_of(ext))


def ref_server(c, params, accepted):
    """("ok", (params, Negotiated)) / ("err", code) / ("ref8", None)."""
    try:
        f = make_ref_server(c)
    except ValueError:
        return err(pmd.ERR_INVALID_ARGUMENT)
    try:
        resp, ext = f.process_request_params(params, [FakeExt(n) for n in accepted])
    except NegotiationError as exc:
        if _is_wbits8_refusal(exc):
            return ("ref8", None)
        return err(pmd.ERR_NEGOTIATION)
    return ok((list(resp), neg_of(ext)))


def _beast15(c, params) -> bool:
    """DELIBERATE["beast15"]: the offer said server_max_window_bits=15 and
    the response leaves it out."""
    return c["smwb"] == 15 and all(name != "server_max_window_bits" for name, _ in params)


def expected_client(c, params, accepted, tc=None):
    """websockets' answer, or pmdeflate's documented rule where it deliberately
    differs; also checks that the oracle agrees with websockets everywhere else."""
    if _beast15(c, params):
        # websockets' answer to the same response with the 15 spelt out.
        params = list(params) + [("server_max_window_bits", "15")]
        count("client: response without server_max_window_bits after offering 15 (deliberate)")
    r = ref_client(c, params, accepted)
    o = oracle_client(c, params, accepted)
    if r[0] == "ref8":
        count("client: websockets refuses wbits 8, pmdeflate accepts")
        return o
    if tc is not None and r != o:
        tc.fail(f"test oracle disagrees with websockets: client {c} {params} {accepted}: {r} vs {o}")
    return r


def expected_server(c, params, accepted, tc=None):
    r = ref_server(c, params, accepted)
    o = oracle_server(c, params, accepted)
    if r[0] == "ref8":
        count("server: websockets refuses wbits 8, pmdeflate accepts")
        return o
    if tc is not None and r != o:
        tc.fail(f"test oracle disagrees with websockets: server {c} {params} {accepted}: {r} vs {o}")
    return r


# ---------------------------------------------------------- pmd wrappers


def pmd_call(fn, *args):
    try:
        return ok(fn(*args))
    except pmd.PmdError as e:
        if not e.detail:
            raise AssertionError(f"{e.func} failed with {e.name} but pmd_last_error() is empty")
        return err(e.code)


def pmd_client(cfg, params, accepted):
    r = pmd_call(pmd.client_process_response_params, cfg, params, accepted)
    if r[0] == "ok":
        ext = r[1]
        out = ok(ext.negotiated())
        ext.free()
        return out
    return r


def pmd_server(cfg, params, accepted):
    r = pmd_call(pmd.server_process_request_params, cfg, params, accepted)
    if r[0] == "ok":
        resp, ext = r[1]
        out = ok((resp, ext.negotiated()))
        ext.free()
        return out
    return r


# --------------------------------------------------------- generated offers

NCT_VALUES = [None, "x"]  # plus absent
MWB_VALUES = [None, "8", "9", "12", "15", "16", "08"]  # plus absent
ODD_VALUES = ["7", "16", "0", "08", "+9", "-9", " 9", "9 ", "", "9.0", "0x9", "1e1", "٩", "１５", "15\x00", "x"]
ABSENT = object()


def generated_param_lists():
    for snct, cnct, smwb, cmwb in itertools.product(
        [ABSENT] + NCT_VALUES, [ABSENT] + NCT_VALUES, [ABSENT] + MWB_VALUES, [ABSENT] + MWB_VALUES
    ):
        params = []
        for name, v in zip(KNOWN, [snct, cnct, smwb, cmwb]):
            if v is not ABSENT:
                params.append((name, v))
        yield params


def handwritten_param_lists():
    lists = [
        [],
        [("server_no_context_takeover", None), ("server_no_context_takeover", None)],
        [("client_no_context_takeover", None), ("client_no_context_takeover", None)],
        [("server_max_window_bits", "10"), ("server_max_window_bits", "10")],
        [("server_max_window_bits", "10"), ("server_max_window_bits", "11")],
        [("client_max_window_bits", None), ("client_max_window_bits", None)],
        [("client_max_window_bits", None), ("client_max_window_bits", "10")],
        [("client_max_window_bits", "10"), ("client_max_window_bits", None)],
        [("unknown", None)],
        [("unknown", "1")],
        [("server_max_window_bits", "10"), ("unknown", None)],
        [("Server_No_Context_Takeover", None)],
        [("server_no_context_takeover ", None)],
        [("", None)],
        [("server_no_context_takeover", "")],
        [("client_no_context_takeover", "true")],
        [("server_max_window_bits", None)],
        [("client_max_window_bits", None)],
        [("client_max_window_bits", "10"), ("server_no_context_takeover", None)],
        [("client_max_window_bits", "9"), ("server_max_window_bits", "9"),
         ("client_no_context_takeover", None), ("server_no_context_takeover", None)],
    ]
    for name in ["server_max_window_bits", "client_max_window_bits"]:
        for v in ODD_VALUES:
            lists.append([(name, v)])
            lists.append([("server_no_context_takeover", None), (name, v)])
    # Every order of a full offer.
    full = [("server_no_context_takeover", None), ("client_no_context_takeover", None),
            ("server_max_window_bits", "10"), ("client_max_window_bits", None)]
    lists.extend(list(p) for p in itertools.permutations(full))
    full2 = [("server_max_window_bits", "9"), ("client_max_window_bits", "12"),
             ("client_no_context_takeover", None)]
    lists.extend(list(p) for p in itertools.permutations(full2))
    return lists


ACCEPTED_LISTS = [[], [NAME], ["x-foo"], ["x-foo", NAME], ["permessage-deflate-x"]]


def strip_ows(s: str) -> str:
    return s.strip(" \t")


def is_empty_list(s: str) -> bool:
    return all(ch in ", \t" for ch in s)


def ref_parse(value: str):
    """websockets' parse with pmdeflate's deliberate differences applied first."""
    v = strip_ows(value)
    if is_empty_list(v):
        return ok([])
    try:
        return ok([(n, list(p)) for n, p in parse_extension(v)])
    except InvalidHeaderFormat:
        return err(pmd.ERR_HEADER_SYNTAX)


# ---------------------------------------------------------------- tests


class TestBinding(unittest.TestCase):
    def test_version_and_names(self):
        self.assertRegex(pmd.version(), r"^\d+\.\d+\.\d+$")
        for code, name in pmd.RESULT_NAMES.items():
            self.assertEqual(pmd.result_name(code), name)
        expected_close = {pmd.ERR_PROTOCOL: 1002, pmd.ERR_CORRUPT_DATA: 1007,
                          pmd.ERR_PAYLOAD_TOO_BIG: 1009, pmd.ERR_OUT_OF_MEMORY: 1011,
                          pmd.ERR_INTERNAL: 1011}
        for code in pmd.RESULT_NAMES:
            self.assertEqual(pmd.result_close_code(code), expected_close.get(code, 0), pmd.result_name(code))

    def test_config_setters_range(self):
        cfg = pmd.Config()
        for name, good, bad in [
            ("server_max_window_bits", [0, 8, 15], [7, 16, -1, -2]),
            ("client_max_window_bits", [0, -1, 8, 15], [7, 16, -2]),
            ("compress_level", [-1, 0, 9], [-2, 10]),
            ("mem_level", [1, 9], [0, 10]),
            ("strategy", [0, 1, 2, 3, 4], [-1, 5]),
        ]:
            for v in good:
                cfg.set(name, v)
            for v in bad:
                with self.assertRaises(pmd.PmdError, msg=f"{name}={v}") as cm:
                    cfg.set(name, v)
                self.assertEqual(cm.exception.code, pmd.ERR_INVALID_ARGUMENT)
                self.assertNotEqual(cm.exception.detail, "")
        # A rejected value leaves the config unchanged.
        cfg = pmd.Config(server_max_window_bits=10)
        with self.assertRaises(pmd.PmdError):
            cfg.set("server_max_window_bits", 16)
        self.assertEqual(pmd.client_request_params(cfg), [("server_max_window_bits", "10")])

    def test_default_offer(self):
        # docs/negotiation.md: the default config offers exactly "permessage-deflate".
        # Note: websockets 17.4's ClientPerMessageDeflateFactory() defaults to
        # client_max_window_bits=True and so offers
        # "permessage-deflate; client_max_window_bits"; pmdeflate's default is
        # the unset parameter (mapped to None for websockets in every check).
        cfg = pmd.Config()
        self.assertEqual(pmd.client_offer(cfg), NAME)
        self.assertEqual(pmd.client_request_params(cfg), [])
        self.assertEqual(
            build_extension([(NAME, ClientPerMessageDeflateFactory().get_request_params())]),
            "permessage-deflate; client_max_window_bits",
        )

    def test_extension_basics(self):
        ext = pmd.Extension.new(True, False, 10, 12)
        self.assertEqual(ext.name, NAME)
        self.assertEqual(ext.negotiated(), pmd.Negotiated(True, False, 10, 12))
        ext.free()
        ext = pmd.Extension.new(False, False, 15, 15)
        f = ext.encode(pmd.Frame(1, b"Hello", True))
        self.assertEqual(ext.decode(f).data, b"Hello")
        # With takeover both ways the zlib streams persist after a message.
        self.assertGreater(ext.memory_usage(), 32 * 1024)
        ext.free()
        for bad in [(7, 15), (15, 7), (16, 15), (15, 16)]:
            with self.assertRaises(pmd.PmdError) as cm:
                pmd.Extension.new(False, False, *bad)
            self.assertEqual(cm.exception.code, pmd.ERR_INVALID_ARGUMENT)


class TestNegotiationParams(unittest.TestCase):
    def test_client_request_params(self):
        n = 0
        for c in client_configs():
            cfg = make_pmd_config(c)
            got = pmd.client_request_params(cfg)
            want = list(make_ref_client(c).get_request_params())
            self.assertEqual(want, oracle_request_params(c))
            self.assertEqual(got, want, c)
            offer = pmd.client_offer(cfg)
            self.assertEqual(offer, build_extension([(NAME, want)]), c)
            limit = pmd.max_response_len()
            if limit is not None:
                self.assertLessEqual(len(offer), limit)
            n += 1
        count("client request params configs", n)

    def _run_server(self, param_lists, accepted_lists, label):
        mismatches = []
        n = 0
        for c in server_configs():
            cfg = make_pmd_config(c)
            for params in param_lists:
                for accepted in accepted_lists:
                    want = expected_server(c, params, accepted, self)
                    got = pmd_server(cfg, params, accepted)
                    n += 1
                    if got != want:
                        mismatches.append((c, params, accepted, fmt(want), fmt(got)))
        count(label, n)
        self.assertEqual(mismatches[:20], [], f"{len(mismatches)} of {n} differ (config, params, accepted, want, got)")

    def _run_client(self, param_lists, accepted_lists, label):
        mismatches = []
        n = 0
        for c in client_configs():
            cfg = make_pmd_config(c)
            for params in param_lists:
                for accepted in accepted_lists:
                    want = expected_client(c, params, accepted, self)
                    got = pmd_client(cfg, params, accepted)
                    n += 1
                    if got != want:
                        mismatches.append((c, params, accepted, fmt(want), fmt(got)))
        count(label, n)
        self.assertEqual(mismatches[:20], [], f"{len(mismatches)} of {n} differ (config, params, accepted, want, got)")

    def test_server_generated(self):
        self._run_server(list(generated_param_lists()), [[]], "server params: generated x configs")

    def test_server_handwritten(self):
        self._run_server(handwritten_param_lists(), ACCEPTED_LISTS, "server params: handwritten x configs x accepted")

    def test_client_generated(self):
        self._run_client(list(generated_param_lists()), [[]], "client params: generated x configs")

    def test_client_handwritten(self):
        self._run_client(handwritten_param_lists(), ACCEPTED_LISTS, "client params: handwritten x configs x accepted")

    def test_server_error_detail(self):
        cfg = pmd.Config()
        with self.assertRaises(pmd.PmdError) as cm:
            pmd.server_process_request_params(
                cfg, [("server_max_window_bits", "10"), ("server_max_window_bits", "10")]
            )
        self.assertEqual(cm.exception.code, pmd.ERR_NEGOTIATION)
        self.assertIn("duplicate", cm.exception.detail)
        self.assertIn("server_max_window_bits", cm.exception.detail)
        with self.assertRaises(pmd.PmdError) as cm:
            pmd.server_process_request_params(cfg, [("foo", None)])
        self.assertIn("foo", cm.exception.detail)


# ----------------------------------------------------- whole header values


def expected_server_header(c, value, require=False, tc=None):
    """("ok", (response or None, Negotiated or None)) or ("err", code)."""
    if c["cmwb"] == -1 or (c["req_cmwb"] and not c["cmwb"]):
        # docs/negotiation.md: an invalid server config is INVALID_ARGUMENT when
        # used to negotiate (websockets refuses it in the factory's constructor).
        try:
            make_ref_server(c)
        except ValueError:
            return err(pmd.ERR_INVALID_ARGUMENT)
        raise AssertionError("websockets accepted a config docs/negotiation.md calls invalid")
    parsed = ref_parse(value)
    if parsed[0] == "err":
        return parsed
    accepted = []
    response = None
    neg = None
    any8 = False
    for name, params in parsed[1]:
        if name != NAME:
            continue
        any8 = any8 or ref_server(c, params, accepted)[0] == "ref8"
        r = expected_server(c, params, accepted, tc)
        if r[0] == "err":
            continue
        resp_params, neg_r = r[1]
        if response is None:
            response = build_extension([(NAME, resp_params)])
            neg = neg_r
        accepted.append(NAME)
    if tc is not None and not any8 and parsed[1]:
        # Without window bits 8 in play, this is exactly websockets' own
        # ServerProtocol.process_extensions (which accepts one offer only
        # because its factory refuses a second permessage-deflate).
        proto = ServerProtocol(extensions=[make_ref_server(c)])
        real_resp, real_exts = proto.process_extensions(Headers({"Sec-WebSocket-Extensions": strip_ows(value)}))
        real = (real_resp, neg_of(real_exts[0]) if real_exts else None)
        if real != (response, neg):
            tc.fail(f"reproduction disagrees with ServerProtocol: {c} {value!r}: {real} vs {(response, neg)}")
        count("server whole header: same as websockets ServerProtocol.process_extensions")
    if response is None and require:
        return err(pmd.ERR_NEGOTIATION)
    return ok((response, neg))


def pmd_server_header(cfg, value):
    r = pmd_call(pmd.server_negotiate, cfg, value)
    if r[0] == "err":
        return r
    resp, ext = r[1]
    if ext is None:
        return ok((None, None))
    out = ok((resp, ext.negotiated()))
    ext.free()
    return out


def expected_client_header(c, value, tc=None):
    if value is None:
        return ok(None)
    parsed = ref_parse(value)
    if parsed[0] == "err":
        return parsed
    accepted = []
    neg = None
    result = None
    any8 = others = False
    for name, params in parsed[1]:
        if name != NAME:
            count("client header: other extension ignored (deliberate)")
            others = True
            continue
        any8 = any8 or ref_client(c, params, accepted)[0] == "ref8" or _beast15(c, params)
        r = expected_client(c, params, accepted, tc)
        if r[0] == "err":
            result = r
            break
        neg = r[1]
        accepted.append(NAME)
    if result is None:
        result = ok(neg)
    if tc is not None and not any8 and not others and parsed[1]:
        # Then this is exactly websockets' ClientProtocol.process_extensions.
        proto = ClientProtocol(parse_uri("ws://localhost/"), extensions=[make_ref_client(c)])
        try:
            exts = proto.process_extensions(Headers({"Sec-WebSocket-Extensions": strip_ows(value)}))
            real = ok(neg_of(exts[0]) if exts else None)
        except NegotiationError:
            real = err(pmd.ERR_NEGOTIATION)
        if real != result:
            tc.fail(f"reproduction disagrees with ClientProtocol: {c} {value!r}: {real} vs {result}")
        count("client whole header: same as websockets ClientProtocol.process_extensions")
    return result


def pmd_client_header(cfg, value):
    r = pmd_call(pmd.client_accept, cfg, value)
    if r[0] == "err":
        return r
    ext = r[1]
    if ext is None:
        return ok(None)
    out = ok(ext.negotiated())
    ext.free()
    return out


REQUEST_HEADERS = [
    "permessage-deflate",
    "permessage-deflate; client_max_window_bits",
    "permessage-deflate;client_max_window_bits",
    "permessage-deflate ; client_max_window_bits = 10",
    "permessage-deflate;\tserver_max_window_bits=10\t;\tclient_no_context_takeover",
    'permessage-deflate; client_max_window_bits="10"',
    'permessage-deflate; client_max_window_bits="1\\0"',
    'permessage-deflate; client_max_window_bits="1 0"',
    'permessage-deflate; client_max_window_bits=""',
    'permessage-deflate; client_max_window_bits="10',
    "permessage-deflate; client_max_window_bits=08",
    "permessage-deflate; client_max_window_bits=+9",
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=8",
    "permessage-deflate; server_max_window_bits=9",
    "permessage-deflate; client_max_window_bits=8",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; foo",
    "permessage-deflate; foo=bar",
    "permessage-deflate; Server_No_Context_Takeover",
    "Permessage-Deflate",
    "x-webkit-deflate-frame",
    "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=12",
    "x-foo; a=1; b, permessage-deflate, x-bar",
    "permessage-deflate; server_max_window_bits=16, permessage-deflate; server_max_window_bits=11",
    "permessage-deflate; foo, permessage-deflate; client_no_context_takeover, permessage-deflate",
    "permessage-deflate; client_max_window_bits=10, permessage-deflate; client_max_window_bits=11",
    "permessage-deflate, permessage-deflate; foo",
    "permessage-deflate; client_max_window_bits, permessage-deflate",
    "permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate; "
    "client_max_window_bits",
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
    "server_max_window_bits=9; client_max_window_bits=9",
    ",,permessage-deflate,,",
    ", , permessage-deflate , , x-foo",
    "permessage-deflate,",
    "  permessage-deflate  ",
    "\tpermessage-deflate; client_max_window_bits\t",
    "",
    " ",
    ",",
    " , ,\t, ",
    ";",
    "permessage-deflate;",
    "permessage-deflate; ;",
    "permessage-deflate; =",
    "permessage-deflate; a=",
    "permessage-deflate; =1",
    "permessage-deflate x-foo",
    "permessage-deflate;; client_max_window_bits",
    "permessage-deflate; client_max_window_bits==9",
    "permessage-deflate; a=b=c",
    "permessage-deflate\x00",
    "permessage-deflate; a=\x01",
    "permessage-deflate; a=(b)",
    "permessage-deflate; a/b",
    "permessage-deflate, ;",
    "permessage-deflate,; a",
    '"permessage-deflate"',
    "permessage-deflate; server_max_window_bits=1\\0",
]


def random_headers(seed: int, n: int):
    rng = random.Random(seed)
    atoms = [NAME, "x-foo", "server_no_context_takeover", "client_no_context_takeover",
             "server_max_window_bits", "client_max_window_bits", "foo", "=", "; ", ";", ",", ", ",
             " ", "\t", '"', "\\", "9", "10", "8", "16", "08", '"12"', "=9", "=15", "a", "\x7f", "é", "/"]
    for _ in range(n):
        yield "".join(rng.choice(atoms) for _ in range(rng.randint(1, 9)))


def structured_random_headers(seed: int, n: int):
    """Mostly valid permessage-deflate offers, with some bad values mixed in."""
    rng = random.Random(seed)
    values = {
        "server_no_context_takeover": [None, None, None, "1"],
        "client_no_context_takeover": [None, None, None, '""'],
        "server_max_window_bits": ["8", "9", "10", "12", "15", '"11"', "16", "07", None],
        "client_max_window_bits": [None, None, "8", "9", "11", "15", '"13"', "7", "+10"],
    }
    for _ in range(n):
        elements = []
        for _ in range(rng.randint(1, 3)):
            name = NAME if rng.random() < 0.85 else "x-other"
            parts = [name]
            names = list(values)
            rng.shuffle(names)
            for pname in names[: rng.randint(0, 4)]:
                v = rng.choice(values[pname])
                parts.append(pname if v is None else f"{pname}={v}")
            if rng.random() < 0.05:
                parts.append(rng.choice(list(values)))  # duplicate or extra
            elements.append(rng.choice(["; ", ";", " ;\t"]).join(parts))
        yield rng.choice([", ", ",", " ,  "]).join(elements)


class TestHeaderGrammar(unittest.TestCase):
    def _compare_parse(self, values, label):
        mismatches = []
        for v in values:
            want = ref_parse(v)
            got = pmd_call(pmd.header_parse, v)
            if got != want:
                mismatches.append((v, fmt(want), fmt(got)))
        count(label, len(values))
        self.assertEqual(mismatches[:20], [], f"{len(mismatches)} of {len(values)} differ (value, want, got)")

    def test_parse_handwritten(self):
        self._compare_parse(REQUEST_HEADERS, "header parse: handwritten")

    def test_parse_random(self):
        self._compare_parse(list(random_headers(1, 20000)), "header parse: random atoms")

    def test_parse_structured(self):
        self._compare_parse(list(structured_random_headers(2, 3000)), "header parse: structured random")

    def test_deliberate_parse_differences(self):
        # DELIBERATE["ows"], ["empty"]: websockets raises on these.
        for v in ["", ",", " , ", " permessage-deflate", "\tpermessage-deflate"]:
            with self.assertRaises(InvalidHeaderFormat):
                parse_extension(v)
        self.assertEqual(pmd.header_parse(""), [])
        self.assertEqual(pmd.header_parse(" ,\t, "), [])
        self.assertEqual(pmd.header_parse(" permessage-deflate\t"), [(NAME, [])])
        # DELIBERATE["limits"]
        ok_1024 = ", ".join(["a"] * 1024)
        self.assertEqual(len(pmd.header_parse(ok_1024)), 1024)
        self.assertEqual(len(parse_extension(ok_1024 + ", a")), 1025)
        with self.assertRaises(pmd.PmdError) as cm:
            pmd.header_parse(ok_1024 + ", a")
        self.assertEqual(cm.exception.code, pmd.ERR_HEADER_SYNTAX)
        many_params = NAME + "".join("; p%d" % i for i in range(1025))
        with self.assertRaises(pmd.PmdError) as cm:
            pmd.header_parse(many_params)
        self.assertEqual(cm.exception.code, pmd.ERR_HEADER_SYNTAX)
        self.assertEqual(len(pmd.header_parse(NAME + "".join("; p%d" % i for i in range(1024)))[0][1]), 1024)
        exact = "a" * (64 * 1024)
        self.assertEqual(pmd.header_parse(exact), [(exact, [])])
        with self.assertRaises(pmd.PmdError) as cm:
            pmd.header_parse(exact + "a")
        self.assertEqual(cm.exception.code, pmd.ERR_HEADER_SYNTAX)
        self.assertIn("too long", cm.exception.detail)

    def test_syntax_error_names_offset(self):
        with self.assertRaises(pmd.PmdError) as cm:
            pmd.header_parse("permessage-deflate; =")
        self.assertEqual(cm.exception.code, pmd.ERR_HEADER_SYNTAX)
        self.assertRegex(cm.exception.detail, r"\d")

    def test_header_get_out_of_range(self):
        self.assertNotEqual(pmd.header_get_raw("a, b", 2), pmd.OK)

    def test_build(self):
        cases = [
            (NAME, []),
            (NAME, [("client_max_window_bits", None)]),
            (NAME, [("server_no_context_takeover", None), ("server_max_window_bits", "10")]),
            ("x-foo", [("a", "b"), ("c", None), ("d", "1")]),
        ]
        for name, params in cases:
            got = pmd.header_build(name, params)
            self.assertEqual(got, build_extension([(name, params)]))
            self.assertEqual(pmd.header_parse(got), [(name, params)])
            self.assertEqual(parse_extension(got), [(name, params)])
        # DELIBERATE["build_quote"]: a non-token value is quoted; both parsers
        # then refuse it (RFC 6455 9.1 wants a token after unquoting), so
        # only the quoting itself is asserted.
        got = pmd.header_build("x", [("a", "b c")])
        self.assertEqual(got, 'x; a="b c"')
        count("header build cases", len(cases) + 1)


class TestWholeHeaderServer(unittest.TestCase):
    def test_server_negotiate_vs_websockets(self):
        headers = REQUEST_HEADERS + list(structured_random_headers(3, 400))
        for c in client_configs():
            headers.append(build_extension([(NAME, make_ref_client(c).get_request_params())]))
        mismatches = []
        n = 0
        limit = pmd.max_response_len()
        for c in server_configs():
            cfg = make_pmd_config(c)
            for v in headers:
                want = expected_server_header(c, v, tc=self)
                got = pmd_server_header(cfg, v)
                n += 1
                if got != want:
                    mismatches.append((c, v, fmt(want), fmt(got)))
                elif limit is not None and got[0] == "ok" and got[1][0] is not None:
                    self.assertLessEqual(len(got[1][0]), limit)
        count("server whole header: headers x configs", n)
        self.assertEqual(mismatches[:20], [], f"{len(mismatches)} of {n} differ (config, header, want, got)")

    def test_require(self):
        # DELIBERATE["require"]: no acceptable offer -> NEGOTIATION when set.
        base = dict(snct=False, cnct=False, smwb=0, cmwb=0, req_cmwb=False)
        cfg = make_pmd_config(base, require=True)
        n = 0
        for v in REQUEST_HEADERS:
            want = expected_server_header(base, v, require=True, tc=self)
            got = pmd_server_header(cfg, v)
            self.assertEqual(got, want, v)
            n += 1
        count("server whole header: require", n)
        self.assertEqual(pmd_server_header(cfg, "x-foo"), err(pmd.ERR_NEGOTIATION))
        self.assertEqual(pmd_server_header(cfg, ""), err(pmd.ERR_NEGOTIATION))


class TestWholeHeaderClient(unittest.TestCase):
    def test_client_accept_vs_websockets(self):
        # Every response a websockets server gives to this client's offer,
        # plus hand-written and generated responses.
        responses = [None, ""] + REQUEST_HEADERS + list(structured_random_headers(4, 300))
        server_resps = set()
        for c in client_configs():
            offer = build_extension([(NAME, make_ref_client(c).get_request_params())])
            for s in server_configs():
                try:
                    f = make_ref_server(s)
                except ValueError:
                    continue
                try:
                    resp, _ = f.process_request_params(parse_extension(offer)[0][1], [])
                except NegotiationError:
                    continue
                server_resps.add(build_extension([(NAME, resp)]))
        responses += sorted(server_resps)
        responses += [
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate, permessage-deflate",
            "permessage-deflate; server_max_window_bits=10, x-foo",
            "x-foo, permessage-deflate; client_no_context_takeover",
            "x-foo",
        ]
        mismatches = []
        n = 0
        for c in client_configs():
            cfg = make_pmd_config(c)
            for v in responses:
                want = expected_client_header(c, v, tc=self)
                got = pmd_client_header(cfg, v)
                n += 1
                if got != want:
                    mismatches.append((c, v, fmt(want), fmt(got)))
        count("client whole header: responses x configs", n)
        self.assertEqual(mismatches[:20], [], f"{len(mismatches)} of {n} differ (config, response, want, got)")

    def test_other_extensions_deliberate(self):
        # DELIBERATE["other_ext"]: the websockets client fails the handshake.
        c = dict(snct=False, cnct=False, smwb=0, cmwb=0, req_cmwb=False)
        self.assertEqual(pmd_client_header(make_pmd_config(c), "x-foo"), ok(None))
        self.assertEqual(
            pmd_client_header(make_pmd_config(c), "x-foo, permessage-deflate"),
            ok(pmd.Negotiated(False, False, 15, 15)),
        )
        self.assertEqual(pmd_client_header(make_pmd_config(c), None), ok(None))

    def test_full_handshake_grid(self):
        """pmd client offer -> pmd server -> pmd client, vs the same with websockets."""
        mismatches = []
        n = 0
        for cc in client_configs():
            ccfg = make_pmd_config(cc)
            offer = pmd.client_offer(ccfg)
            for sc in server_configs():
                scfg = make_pmd_config(sc)
                want_s = expected_server_header(sc, offer)
                got_s = pmd_server_header(scfg, offer)
                n += 1
                if got_s != want_s:
                    mismatches.append(("server", cc, sc, offer, fmt(want_s), fmt(got_s)))
                    continue
                if got_s[0] == "err" or got_s[1][0] is None:
                    continue
                resp, sneg = got_s[1]
                want_c = expected_client_header(cc, resp)
                got_c = pmd_client_header(ccfg, resp)
                if got_c != want_c:
                    mismatches.append(("client", cc, sc, resp, fmt(want_c), fmt(got_c)))
                    continue
                if got_c[0] == "ok":
                    cneg = got_c[1]
                    # Both ends agree, mirrored.
                    if (cneg.remote_no_context_takeover, cneg.local_no_context_takeover,
                            cneg.remote_max_window_bits, cneg.local_max_window_bits) != (
                            sneg.local_no_context_takeover, sneg.remote_no_context_takeover,
                            sneg.local_max_window_bits, sneg.remote_max_window_bits):
                        mismatches.append(("mirror", cc, sc, resp, cneg, sneg))
        count("full handshake: client configs x server configs", n)
        self.assertEqual(mismatches[:20], [], f"{len(mismatches)} of {n} differ")


# -------------------------------------------------------------------- data

TEXT_WORDS = ("the quick brown fox jumps over a lazy dog while permessage deflate "
              "compresses every websocket message with zlib and a sliding window of "
              "up to thirty two kilobytes").split()


def text_message(rng: random.Random, size: int) -> bytes:
    out = []
    total = 0
    while total < size:
        w = rng.choice(TEXT_WORDS) + (" " if rng.random() < 0.9 else ".\n")
        out.append(w)
        total += len(w)
    return "".join(out).encode()[:size]


def split_points(rng: random.Random, size: int, parts: int):
    cuts = sorted(rng.randint(0, size) for _ in range(parts - 1))
    return [0] + cuts + [size]


def fragments(data: bytes, opcode: int, rng: random.Random, parts: int):
    """[(opcode, data, fin)] for a message in `parts` frames (1 = whole)."""
    if parts == 1:
        return [(opcode, data, True)]
    pts = split_points(rng, len(data), parts)
    frames = []
    for i in range(parts):
        frames.append((opcode if i == 0 else 0, data[pts[i]:pts[i + 1]], i == parts - 1))
    return frames


def ws_frame(opcode, data, fin, rsv1=False):
    return WsFrame(Opcode(opcode), data, fin, rsv1)


def make_pair(cwb, swb, cnct, snct, level, mem_level=None, strategy=None):
    """pmdeflate as the client, websockets as the server, with the same agreed parameters.

    websockets cannot compress with window bits 8 (it asserts local >= 9):
    its side then compresses with 9, as pmdeflate does for 8 (docs/window-bits-8.md)."""
    cfg = pmd.Config(compress_level=level, mem_level=mem_level, strategy=strategy)
    p = pmd.Extension.new(snct, cnct, swb, cwb, cfg)
    settings = {"level": level}
    if mem_level is not None:
        settings["memLevel"] = mem_level
    if strategy is not None:
        settings["strategy"] = strategy  # PMD_STRATEGY_* are zlib's numbers
    w = PerMessageDeflate(cnct, snct, cwb, max(swb, 9), settings)
    return p, w


def same_settings(cwb, swb, cnct, snct):
    """Both encoders (pmdeflate at cwb, websockets at max(swb, 9)) use the same zlib settings,
    so their compressed sizes must match (pmdeflate compresses an agreed 8 with 9,
    docs/window-bits-8.md)."""
    return max(cwb, 9) == max(swb, 9) and cnct == snct


def messages_for(seed: int, sizes):
    rng = random.Random(seed)
    msgs = []
    for size in sizes:
        msgs.append((1, text_message(rng, size)))
        msgs.append((2, rng.randbytes(size)))
    return msgs


class TestData(unittest.TestCase):
    SIZES = [0, 1, 125, 126, 65535, 65536]

    def _exchange(self, p, w, msgs, rng, parts_choices, sizes_table=None, check_bytes=False):
        """Sends msgs both ways; returns mismatch descriptions."""
        problems = []
        for idx, (opcode, data) in enumerate(msgs):
            parts = parts_choices[idx % len(parts_choices)]
            frames = fragments(data, opcode, rng, parts)
            # pmdeflate -> websockets
            out = []
            penc_total = 0
            pencs = []
            for op, chunk, fin in frames:
                ef = p.encode(pmd.Frame(op, chunk, fin))
                pencs.append(bytes(ef.data))
                if ef.rsv1 != (op != 0):
                    problems.append(f"msg {idx}: pmd rsv1={ef.rsv1} on opcode {op}")
                penc_total += len(ef.data)
                df = w.decode(ws_frame(ef.opcode, ef.data, ef.fin, ef.rsv1))
                out.append(bytes(df.data))
            if b"".join(out) != data:
                problems.append(f"msg {idx} ({len(data)} B, op {opcode}, {parts} frames): pmd->ws mismatch")
            # websockets -> pmdeflate
            out = []
            wenc_total = 0
            wencs = []
            for op, chunk, fin in frames:
                ef = w.encode(ws_frame(op, chunk, fin))
                wenc_total += len(ef.data)
                wencs.append(bytes(ef.data))
                df = p.decode(pmd.Frame(int(ef.opcode), bytes(ef.data), ef.fin, ef.rsv1))
                if df.rsv1:
                    problems.append(f"msg {idx}: pmd decode left rsv1 set")
                out.append(df.data)
            if b"".join(out) != data:
                problems.append(f"msg {idx} ({len(data)} B, op {opcode}, {parts} frames): ws->pmd mismatch")
            # Same settings: every frame's payload is byte-identical to the
            # websockets' (pmdeflate feeds zlib as Python's compress()+flush()).
            if check_bytes and pencs != wencs:
                problems.append(f"msg {idx} ({len(data)} B, op {opcode}, {parts} frames): "
                                f"compressed bytes differ: pmd {penc_total} B, websockets {wenc_total} B")
            if sizes_table is not None:
                sizes_table.append((len(data), opcode, parts, penc_total, wenc_total))
        return problems

    def test_window_bits_and_takeover_grid(self):
        """Every window bits 8..15 per side x takeover per side, level 6, sizes up to 64 KiB."""
        problems = []
        n = 0
        msgs = messages_for(10, self.SIZES)
        for cwb, swb, cnct, snct in itertools.product(range(8, 16), range(8, 16), [False, True], [False, True]):
            p, w = make_pair(cwb, swb, cnct, snct, 6)
            rng = random.Random(cwb * 100 + swb)
            probs = self._exchange(p, w, msgs, rng, [1, 3, 1, 4], check_bytes=same_settings(cwb, swb, cnct, snct))
            problems += [f"cwb={cwb} swb={swb} cnct={cnct} snct={snct}: {x}" for x in probs]
            # Consecutive messages: run the set twice in one connection.
            probs = self._exchange(p, w, msgs, rng, [2, 1])
            problems += [f"cwb={cwb} swb={swb} cnct={cnct} snct={snct} (2nd round): {x}" for x in probs]
            n += 2 * len(msgs)
            p.free()
        count("data: messages each way, wbits x takeover grid", n)
        self.assertEqual(problems[:20], [], f"{len(problems)} problems")

    def test_levels_and_big_messages(self):
        problems = []
        n = 0
        msgs = messages_for(11, self.SIZES + [1 << 20])
        for level, (cwb, swb), (cnct, snct) in itertools.product(
            [0, 1, 6, 9], [(15, 15), (9, 12), (8, 8), (12, 9)], [(False, False), (True, True), (False, True)]
        ):
            p, w = make_pair(cwb, swb, cnct, snct, level)
            rng = random.Random(level)
            same = same_settings(cwb, swb, cnct, snct)
            # Level 0 (stored blocks): zlib sizes stored blocks by the output
            # space it is given and Python grows its buffers differently, so
            # block boundaries (and a few header bytes) differ; only the round
            # trip is compared there.
            probs = self._exchange(p, w, msgs, rng, [1, 5], check_bytes=same and level != 0)
            problems += [f"level={level} cwb={cwb} swb={swb} cnct={cnct} snct={snct}: {x}" for x in probs]
            n += len(msgs)
            p.free()
        count("data: messages each way, levels x big", n)
        self.assertEqual(problems[:20], [], f"{len(problems)} problems")

    def test_mem_level_and_strategy(self):
        """compress_settings memLevel/strategy: same output sizes as websockets with the same settings."""
        self.assertEqual(
            [pmd.STRATEGY_DEFAULT, pmd.STRATEGY_FILTERED, pmd.STRATEGY_HUFFMAN_ONLY, pmd.STRATEGY_RLE,
             pmd.STRATEGY_FIXED],
            [zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE, zlib.Z_FIXED],
        )
        problems = []
        n = 0
        msgs = messages_for(13, [0, 1, 126, 20000, 65536])
        for mem_level, strategy, (wb, nct) in itertools.product(
            [1, 5, 9], [None, 1, 2, 3, 4], [(12, False), (15, True), (9, False)]
        ):
            p, w = make_pair(wb, wb, nct, nct, 6, mem_level, strategy)
            probs = self._exchange(p, w, msgs, random.Random(mem_level), [1, 3], check_bytes=True)
            problems += [f"memLevel={mem_level} strategy={strategy} wbits={wb} nct={nct}: {x}" for x in probs]
            n += len(msgs)
            p.free()
        count("data: messages each way, memLevel x strategy", n)
        self.assertEqual(problems[:20], [], f"{len(problems)} problems")

    def test_wbits8_identical_to_zlib9(self):
        """docs/window-bits-8.md: for an agreed 8, pmdeflate compresses with raw
        wbits 9 (byte-identical to websockets at 9) and python's zlib inflates it with wbits -8."""
        msgs = messages_for(12, [0, 1, 300, 5000, 70000])
        for nct in [False, True]:
            p = pmd.Extension.new(False, nct, 15, 8)
            w9 = PerMessageDeflate(False, nct, 15, 9)
            d8 = zlib.decompressobj(-8)
            for opcode, data in msgs:
                a = p.encode(pmd.Frame(opcode, data, True)).data
                b = bytes(w9.encode(ws_frame(opcode, data, True)).data)
                self.assertEqual(a, b, f"nct={nct} {len(data)} B")
                if nct:
                    d8 = zlib.decompressobj(-8)
                self.assertEqual(d8.decompress(a + b"\x00\x00\xff\xff"), data)
            p.free()
        # zlib refuses to *compress* with raw wbits 8 (the reason websockets refuses 8).
        try:
            zlib.compressobj(wbits=-8)
            refused = False
        except ValueError:
            refused = True
        count("data: wbits 8 byte-identity checks", 2 * len(msgs))
        # Not asserted either way: zlib versions differ; reported by the runner.
        COUNTS["info: python zlib refuses compressobj(wbits=-8)"] = int(refused)

    def test_compress_threshold_websockets_decodes(self):
        """pmd_config_set_compress_threshold: whole messages under 200 bytes go out
        as they are (RSV1 clear), the rest compressed; websockets decodes the mix,
        with and without context takeover, and so does pmdeflate what websockets
        sends back."""
        n = 0
        for nct, bits in itertools.product([False, True], [9, 12, 15]):
            cfg = pmd.Config()
            cfg.set("compress_threshold", 200)
            p = pmd.Extension.new(nct, nct, bits, bits, cfg)
            w = PerMessageDeflate(nct, nct, bits, bits)
            rng = random.Random(bits)
            words = [b"alpha ", b"beta ", b"gamma ", b"delta ", b"message "]
            plain = 0
            for i in range(300):
                data = b"".join(rng.choice(words) for _ in range(rng.randrange(0, 80)))
                ef = p.encode(pmd.Frame(1, data, True))
                self.assertEqual(ef.rsv1, len(data) >= 200, f"{len(data)} bytes")
                if not ef.rsv1:
                    plain += 1
                    self.assertEqual(bytes(ef.data), data)
                df = w.decode(ws_frame(ef.opcode, ef.data, ef.fin, ef.rsv1))
                self.assertEqual(bytes(df.data), data, f"nct={nct} bits={bits} msg {i}")
                back = w.encode(ws_frame(1, data, True))
                self.assertEqual(p.decode(pmd.Frame(1, bytes(back.data), True, True)).data, data)
                n += 1
            self.assertTrue(50 < plain < 250, plain)
            p.free()
        count("data: messages with a compress threshold, pmd -> websockets -> pmd", n)

    def test_control_frames_and_rsv(self):
        p = pmd.Extension.new(False, False, 15, 15)
        w = PerMessageDeflate(False, False, 15, 15)
        for op in [8, 9, 10]:
            f = p.encode(pmd.Frame(op, b"ping!", True))
            self.assertEqual(f, pmd.Frame(op, b"ping!", True))
            self.assertEqual(p.decode(pmd.Frame(op, b"x", True)), pmd.Frame(op, b"x", True))
        # rsv2/rsv3 carried over, as in websockets
        a = p.encode(pmd.Frame(1, b"abc", True, rsv2=True, rsv3=True))
        b = w.encode(WsFrame(Opcode.TEXT, b"abc", True, False, True, True))
        self.assertEqual((a.rsv1, a.rsv2, a.rsv3, a.data), (b.rsv1, b.rsv2, b.rsv3, bytes(b.data)))
        # uncompressed message passes through both
        self.assertEqual(p.decode(pmd.Frame(1, b"plain", False)).data, b"plain")
        self.assertEqual(p.decode(pmd.Frame(0, b"text", True)).data, b"text")
        # RSV1 on a continuation of a compressed message: both refuse
        p2 = pmd.Extension.new(False, False, 15, 15)
        w2 = PerMessageDeflate(False, False, 15, 15)
        first = bytes(PerMessageDeflate(False, False, 15, 15).encode(WsFrame(Opcode.TEXT, b"Hel", False)).data)
        p2.decode(pmd.Frame(1, first, False, True))
        w2.decode(WsFrame(Opcode.TEXT, first, False, True))
        with self.assertRaises(ProtocolError):
            w2.decode(WsFrame(Opcode.CONT, b"\x00", True, True))
        with self.assertRaises(pmd.PmdError) as cm:
            p2.decode(pmd.Frame(0, b"\x00", True, True))
        self.assertEqual(cm.exception.code, pmd.ERR_PROTOCOL)
        # RSV1 on a control frame (docs/frames.md: PROTOCOL; websockets passes it
        # through and its frame layer then rejects the reserved bit)
        p3 = pmd.Extension.new(False, False, 15, 15)
        with self.assertRaises(pmd.PmdError) as cm:
            p3.decode(pmd.Frame(9, b"", True, True))
        self.assertEqual(cm.exception.code, pmd.ERR_PROTOCOL)
        # Corrupt data: DELIBERATE["corrupt"]
        p4 = pmd.Extension.new(False, False, 15, 15)
        w4 = PerMessageDeflate(False, False, 15, 15)
        with self.assertRaises(ProtocolError):
            w4.decode(WsFrame(Opcode.TEXT, b"\xff\xff\xff", True, True))
        with self.assertRaises(pmd.PmdError) as cm:
            p4.decode(pmd.Frame(1, b"\xff\xff\xff", True, True))
        self.assertEqual(cm.exception.code, pmd.ERR_CORRUPT_DATA)
        # sticky
        with self.assertRaises(pmd.PmdError) as cm:
            p4.decode(pmd.Frame(1, b"\x00", True, True))
        self.assertEqual(cm.exception.code, pmd.ERR_CORRUPT_DATA)


def print_size_table():
    """Sample compressed sizes at level 6 with takeover, window bits 15."""
    rng = random.Random(99)
    p = pmd.Extension.new(False, False, 15, 15)
    w = PerMessageDeflate(False, False, 15, 15, {"level": 6})
    rows = []
    for size in [0, 1, 125, 126, 1000, 65535, 65536, 1 << 20]:
        for kind, data in [("text", text_message(rng, size)), ("binary", rng.randbytes(size))]:
            a = p.encode(pmd.Frame(1 if kind == "text" else 2, data, True)).data
            b = w.encode(ws_frame(1 if kind == "text" else 2, data, True)).data
            rows.append((size, kind, len(a), len(b), a == bytes(b)))
    p.free()
    print("\nsample sizes (level 6, wbits 15, takeover, consecutive messages):")
    print(f"{'raw':>8} {'kind':>6} {'pmdeflate':>10} {'websockets':>10} same-bytes")
    for r in rows:
        print(f"{r[0]:>8} {r[1]:>6} {r[2]:>10} {r[3]:>10} {r[4]}")
    return rows


# ---------------------------------------------------------- RFC 7692 vectors

H = bytes.fromhex


class TestVectors(unittest.TestCase):
    def _both(self, frames_list, nct=False):
        """Decodes a sequence of messages ([(opcode, payload, fin, rsv1)]) with both."""
        p = pmd.Extension.new(nct, False, 15, 15)
        w = PerMessageDeflate(nct, False, 15, 15)
        res_p, res_w = [], []
        for frames in frames_list:
            a, b = [], []
            for op, data, fin, rsv1 in frames:
                a.append(p.decode(pmd.Frame(op, data, fin, rsv1)).data)
                b.append(bytes(w.decode(WsFrame(Opcode(op), data, fin, rsv1)).data))
            res_p.append(b"".join(a))
            res_w.append(b"".join(b))
        p.free()
        return res_p, res_w

    def test_vectors(self):
        single = [
            H("f248cdc9c90700"),
            H("000500faff48656c6c6f00"),
            H("f348cdc9c9070000"),
            H("f24805000000ffffcac9c90700"),
        ]
        for payload in single:
            rp, rw = self._both([[(1, payload, True, True)]])
            self.assertEqual(rp, [b"Hello"], payload.hex())
            self.assertEqual(rw, [b"Hello"], payload.hex())
        rp, rw = self._both([[(1, H("00"), True, True)]])
        self.assertEqual((rp, rw), ([b""], [b""]))
        # 7.2.3.2: second "Hello" with takeover
        two = [[(1, H("f248cdc9c90700"), True, True)], [(1, H("f200110000"), True, True)]]
        rp, rw = self._both(two)
        self.assertEqual((rp, rw), ([b"Hello", b"Hello"], [b"Hello", b"Hello"]))
        # two frames
        rp, rw = self._both([[(1, H("f248cd01000000ffff"), False, True), (0, H("cac90700"), True, False)]])
        self.assertEqual((rp, rw), ([b"Hello"], [b"Hello"]))
        count("RFC 7692 vectors", 8)

    def test_encode_hello(self):
        p = pmd.Extension.new(False, False, 15, 15)
        w = PerMessageDeflate(False, False, 15, 15)
        a = p.encode(pmd.Frame(1, b"Hello", True))
        self.assertEqual(a.data, H("f248cdc9c90700"))
        self.assertTrue(a.rsv1)
        self.assertEqual(bytes(w.encode(WsFrame(Opcode.TEXT, b"Hello", True)).data), a.data)
        # second Hello with takeover: 7.2.3.2
        self.assertEqual(p.encode(pmd.Frame(1, b"Hello", True)).data, H("f200110000"))
        self.assertEqual(p.encode(pmd.Frame(1, b"", True)).data, H("00"))
        p.free()

    def test_bfinal_then_next_message(self):
        # DELIBERATE["bfinal"]: a BFINAL message followed by a takeover message.
        msgs = [[(1, H("f348cdc9c9070000"), True, True)], [(1, H("f200110000"), True, True)]]
        rp, rw = self._both(msgs)
        self.assertEqual(rp, [b"Hello", b"Hello"])
        self.assertNotEqual(rw, [b"Hello", b"Hello"])  # websockets breaks here
        # Trailing garbage after a BFINAL block is CORRUPT_DATA (docs/frames.md).
        p = pmd.Extension.new(False, False, 15, 15)
        with self.assertRaises(pmd.PmdError) as cm:
            p.decode(pmd.Frame(1, H("f348cdc9c90700") + b"\x12\x34", True, True))
        self.assertEqual(cm.exception.code, pmd.ERR_CORRUPT_DATA)


# ------------------------------------------------------------------ max_size

MAX_SIZE_TABLE = []


class TestMaxSize(unittest.TestCase):
    def test_limits(self):
        rng = random.Random(5)
        problems = []
        for size in [1, 10, 125, 2000, 2043, 2044, 5000, 65536, 300000]:
            for kind, data in [("text", text_message(rng, size)), ("binary", rng.randbytes(size))]:
                comp = bytes(PerMessageDeflate(False, True, 15, 15).encode(WsFrame(Opcode.BINARY, data, True)).data)
                row = [size, kind, len(comp)]
                for limit in [size - 1, size, size + 1]:
                    # pmdeflate (fresh extension each time: errors are sticky)
                    p = pmd.Extension.new(True, True, 15, 15)
                    try:
                        got = p.decode(pmd.Frame(2, comp, True, True), limit).data
                        rp = "ok" if got == data else "WRONG"
                    except pmd.PmdError as e:
                        rp = e.name
                    p.free()
                    w = PerMessageDeflate(True, True, 15, 15)
                    try:
                        got = bytes(w.decode(WsFrame(Opcode.BINARY, comp, True, True), max_size=limit).data)
                        rw = "ok" if got == data else "WRONG"
                    except PayloadTooBig:
                        rw = "PayloadTooBig"
                    row += [rp, rw]
                    # max_size 0 allows only empty output in pmdeflate;
                    # websockets hands 0 to zlib, where it means "no limit".
                    want = "PMD_ERR_PAYLOAD_TOO_BIG" if limit < size else "ok"
                    if rp != want:
                        problems.append(f"{kind} {size} B, max_size {limit}: pmd {rp}, want {want}")
                    if limit == 0:
                        continue
                    if limit < size and rw != "PayloadTooBig":
                        problems.append(f"{kind} {size} B, max_size {limit}: websockets {rw}")
                    if limit > size and rw != "ok":
                        problems.append(f"{kind} {size} B, max_size {limit}: websockets {rw}")
                MAX_SIZE_TABLE.append(row)
        count("max_size cases", 3 * len(MAX_SIZE_TABLE))
        self.assertEqual(problems, [])

    def test_fragmented_budget(self):
        # max_size bounds each call: a fragmented message where each frame fits.
        data = b"a" * 10000 + bytes(range(256)) * 10
        w = PerMessageDeflate(False, False, 15, 15)
        frames = [w.encode(ws_frame(op, chunk, fin)) for op, chunk, fin in
                  fragments(data, 2, random.Random(3), 3)]
        outs_p, outs_w = [], []
        p = pmd.Extension.new(False, False, 15, 15)
        w2 = PerMessageDeflate(False, False, 15, 15)
        for f in frames:
            outs_p.append(p.decode(pmd.Frame(int(f.opcode), bytes(f.data), f.fin, f.rsv1), len(data) + 1).data)
            outs_w.append(bytes(w2.decode(f, max_size=len(data) + 1).data))
        self.assertEqual(b"".join(outs_p), data)
        self.assertEqual(outs_p, outs_w)
        # too-big result has close code 1009 and is sticky
        p = pmd.Extension.new(False, False, 15, 15)
        comp = bytes(PerMessageDeflate(False, False, 15, 15).encode(ws_frame(2, data, True)).data)
        with self.assertRaises(pmd.PmdError) as cm:
            p.decode(pmd.Frame(2, comp, True, True), 100)
        self.assertEqual(cm.exception.code, pmd.ERR_PAYLOAD_TOO_BIG)
        self.assertEqual(pmd.result_close_code(cm.exception.code), 1009)
        with self.assertRaises(pmd.PmdError) as cm:
            p.decode(pmd.Frame(2, H("00"), True, True))
        self.assertEqual(cm.exception.code, pmd.ERR_PAYLOAD_TOO_BIG)


def main() -> int:
    print(f"pmdeflate {pmd.version()} ({pmd.LIB_PATH}); websockets {websockets.__version__}; "
          f"zlib {zlib.ZLIB_RUNTIME_VERSION}")
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    print_size_table()
    if MAX_SIZE_TABLE:
        print("\nmax_size (decoded size S; limit S-1 / S / S+1; pmdeflate vs websockets):")
        for row in MAX_SIZE_TABLE:
            print("  ", row)
    print("\nchecks performed:")
    for k, v in sorted(COUNTS.items()):
        print(f"  {k}: {v}")
    print("\ndeliberate differences from websockets 17.4, asserted as docs/differences.md says:")
    for k, v in DELIBERATE.items():
        print(f"  {k}: {v}")
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"\ncrosscheck: {passed} passed, {failed} failed")
    if skipped:
        print(f"{skipped} tests were skipped: that is a failure here")
        return 1
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
