"""The Python examples of docs/python.md run, and give what their comments say."""

import os
import re

from test_framework import ClientXor, ServerXor

from pmdeflate import OP_TEXT, Frame

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "python.md")


def blocks():
    with open(DOC, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def test_permessage_deflate_example():
    ns = {}
    exec(blocks()[0], ns)
    assert ns["offer"] == [("client_max_window_bits", "12")]
    assert ns["wire"].rsv1 and ns["wire"].data == bytes.fromhex("f248cdc9c90700")
    assert ns["plain"] == Frame(OP_TEXT, b"Hello")


def test_framework_example():
    ns = {"XorFactory": ClientXor, "ServerXorFactory": ServerXor, "Frame": Frame, "OP_TEXT": OP_TEXT}
    exec(blocks()[1], ns)
    assert ns["offer"] == "x-xor; key=7, permessage-deflate; client_max_window_bits"
    assert ns["server_chain"].decode(ns["wire"], max_size=1 << 20) == Frame(OP_TEXT, b"hi")


def test_adapter_example_names_real_classes():
    code = blocks()[2]
    compile(code, "docs/python.md", "exec")
    from pmdeflate import websockets_adapter

    for name in re.findall(r"(\w+PerMessageDeflateFactory)", code):
        assert hasattr(websockets_adapter, name), name
