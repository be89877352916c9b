"""The factories: websockets' keyword parameters, offers and answers equal
to websockets' own factories', and refusals raised as the same exceptions."""

import itertools

import pytest
from websockets import exceptions as wsx
from websockets.extensions import permessage_deflate as ws

import pmdeflate
from pmdeflate import (
    ClientPerMessageDeflateFactory,
    DuplicateParameter,
    InvalidParameterName,
    InvalidParameterValue,
    NegotiationError,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)

TAKEOVER = [False, True]
CLIENT_BITS = [None, True, 9, 12, 15]
SERVER_BITS = [None, 9, 12, 15]


def agreed(ext):
    return (
        ext.remote_no_context_takeover,
        ext.local_no_context_takeover,
        ext.remote_max_window_bits,
        ext.local_max_window_bits,
    )


def client_kwargs():
    for snct, cnct, smwb, cmwb in itertools.product(TAKEOVER, TAKEOVER, SERVER_BITS, CLIENT_BITS):
        yield dict(
            server_no_context_takeover=snct,
            client_no_context_takeover=cnct,
            server_max_window_bits=smwb,
            client_max_window_bits=cmwb,
        )


def server_kwargs():
    for snct, cnct, smwb, cmwb, req in itertools.product(
        TAKEOVER, TAKEOVER, SERVER_BITS, [None, 9, 12, 15], TAKEOVER
    ):
        if req and cmwb is None:
            continue
        yield dict(
            server_no_context_takeover=snct,
            client_no_context_takeover=cnct,
            server_max_window_bits=smwb,
            client_max_window_bits=cmwb,
            require_client_max_window_bits=req,
        )


def test_defaults_are_websockets_defaults():
    assert ClientPerMessageDeflateFactory().get_request_params() == (
        ws.ClientPerMessageDeflateFactory().get_request_params()
    )
    assert ClientPerMessageDeflateFactory().get_request_params() == [("client_max_window_bits", None)]
    assert ClientPerMessageDeflateFactory.name == ServerPerMessageDeflateFactory.name == "permessage-deflate"


@pytest.mark.parametrize("kwargs", list(client_kwargs()))
def test_offer_equals_websockets(kwargs):
    assert ClientPerMessageDeflateFactory(**kwargs).get_request_params() == (
        ws.ClientPerMessageDeflateFactory(**kwargs).get_request_params()
    )


RESPONSES = [
    [],
    [("server_no_context_takeover", None)],
    [("client_no_context_takeover", None)],
    [("server_max_window_bits", "10")],
    [("server_max_window_bits", "15")],
    [("client_max_window_bits", "9")],
    [("client_max_window_bits", "13")],
    [("server_no_context_takeover", None), ("client_max_window_bits", "11"), ("server_max_window_bits", "9")],
    [("server_max_window_bits", "16")],
    [("server_max_window_bits", "09")],
    [("client_max_window_bits", None)],
    [("server_no_context_takeover", "1")],
    [("server_max_window_bits", "10"), ("server_max_window_bits", "10")],
    [("client_no_context_takeover", None), ("client_no_context_takeover", None)],
    [("x", None)],
]


def outcome_client(factory, params, accepted=()):
    try:
        return "ok", agreed(factory.process_response_params(params, list(accepted)))
    except (NegotiationError, wsx.NegotiationError) as exc:
        return "refused", type(exc).__name__


def test_client_answers_equal_websockets():
    """Every client config x response: the same extension or the same refusal."""
    checked = 0
    for kwargs in client_kwargs():
        ours, theirs = ClientPerMessageDeflateFactory(**kwargs), ws.ClientPerMessageDeflateFactory(**kwargs)
        for params in RESPONSES:
            expected = params
            if kwargs["server_max_window_bits"] == 15 and all(n != "server_max_window_bits" for n, _ in params):
                # docs/differences.md: a response that leaves out server_max_window_bits
                # after an offer of 15 means 15 (Boost.Beast); websockets refuses it.
                expected = params + [("server_max_window_bits", "15")]
            assert outcome_client(ours, params) == outcome_client(theirs, expected), (kwargs, params)
            checked += 1
    assert checked == 2 * 2 * 4 * 5 * len(RESPONSES)


OFFERS = RESPONSES + [
    [("client_max_window_bits", None)],
    [("client_max_window_bits", None), ("server_max_window_bits", "12"), ("client_no_context_takeover", None)],
    [("client_max_window_bits", "x")],
]


def outcome_server(factory, params, accepted=()):
    try:
        response, ext = factory.process_request_params(params, list(accepted))
        return "ok", response, agreed(ext)
    except (NegotiationError, wsx.NegotiationError) as exc:
        return "refused", type(exc).__name__


def test_server_answers_equal_websockets():
    checked = 0
    for kwargs in server_kwargs():
        ours, theirs = ServerPerMessageDeflateFactory(**kwargs), ws.ServerPerMessageDeflateFactory(**kwargs)
        for params in OFFERS:
            assert outcome_server(ours, params) == outcome_server(theirs, params), (kwargs, params)
            checked += 1
    assert checked > 1000


def test_duplicate_extension_refused_on_both_sides():
    prior = [PerMessageDeflate(False, False, 15, 15)]
    with pytest.raises(NegotiationError, match="received duplicate"):
        ClientPerMessageDeflateFactory().process_response_params([], prior)
    with pytest.raises(NegotiationError, match="skipped duplicate"):
        ServerPerMessageDeflateFactory().process_request_params([], prior)


def test_parameter_errors_carry_names_and_values():
    client = ClientPerMessageDeflateFactory()
    with pytest.raises(DuplicateParameter) as e:
        client.process_response_params([("server_max_window_bits", "10")] * 2, [])
    assert e.value.name == "server_max_window_bits"
    assert e.value.code == 4 and e.value.result_name == "PMD_ERR_NEGOTIATION" and e.value.close_code == 0
    assert "duplicate parameter server_max_window_bits" in e.value.detail
    with pytest.raises(InvalidParameterName) as e:
        client.process_response_params([("x-unknown", "1")], [])
    assert e.value.name == "x-unknown"
    with pytest.raises(InvalidParameterValue) as e:
        client.process_response_params([("server_max_window_bits", "16")], [])
    assert (e.value.name, e.value.value) == ("server_max_window_bits", "16")
    with pytest.raises(InvalidParameterValue) as e:
        client.process_response_params([("client_max_window_bits", None)], [])
    assert (e.value.name, e.value.value) == ("client_max_window_bits", None)
    # A rule of RFC 7692 section 7.1, not a parameter's syntax: the base class.
    with pytest.raises(NegotiationError) as e:
        ClientPerMessageDeflateFactory(server_no_context_takeover=True).process_response_params([], [])
    assert type(e.value) is NegotiationError
    assert "server_no_context_takeover" in str(e.value)


def test_window_bits_8_accepted_where_websockets_refuses():
    """docs/window-bits-8.md: pmdeflate compresses an agreed 8 with 9."""
    ext = ClientPerMessageDeflateFactory(client_max_window_bits=8).process_response_params(
        [("client_max_window_bits", "8")], []
    )
    assert ext.local_max_window_bits == 8
    with pytest.raises(wsx.NegotiationError):
        ws.ClientPerMessageDeflateFactory().process_response_params([("client_max_window_bits", "8")], [])
    response, ext = ServerPerMessageDeflateFactory(server_max_window_bits=8).process_request_params([], [])
    assert response == [("server_max_window_bits", "8")] and ext.local_max_window_bits == 8


@pytest.mark.parametrize(
    "cls,kwargs,message",
    [
        (ClientPerMessageDeflateFactory, dict(server_max_window_bits=7), "server_max_window_bits"),
        (ClientPerMessageDeflateFactory, dict(server_max_window_bits=16), "server_max_window_bits"),
        (ClientPerMessageDeflateFactory, dict(server_max_window_bits=True), "server_max_window_bits"),
        (ClientPerMessageDeflateFactory, dict(client_max_window_bits=16), "client_max_window_bits"),
        (ClientPerMessageDeflateFactory, dict(compress_settings={"wbits": 12}), "wbits"),
        (ServerPerMessageDeflateFactory, dict(client_max_window_bits=True), "client_max_window_bits"),
        (ServerPerMessageDeflateFactory, dict(require_client_max_window_bits=True), "require_client"),
        (ServerPerMessageDeflateFactory, dict(compress_settings={"wbits": 12}), "server_max_window_bits"),
        (ServerPerMessageDeflateFactory, dict(compress_settings={"zdict": b"x"}), "zdict"),
        (ServerPerMessageDeflateFactory, dict(compress_settings={"method": 7}), "method"),
        (ServerPerMessageDeflateFactory, dict(compress_settings={"level": 10}), "level"),
        (ServerPerMessageDeflateFactory, dict(compress_settings={"memLevel": 0}), "mem"),
        (ServerPerMessageDeflateFactory, dict(compress_settings={"strategy": 5}), "strategy"),
        (ServerPerMessageDeflateFactory, dict(max_message_size=-1), "size"),
    ],
)
def test_bad_configuration_is_a_value_error(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_invalid_argument_is_also_the_library_error():
    with pytest.raises(pmdeflate.InvalidArgument) as e:
        ServerPerMessageDeflateFactory(compress_settings={"level": 10})
    assert e.value.code == 2 and "pmd_config_set_compress_level" in e.value.detail
