"""Extension parameters between Python ((name, value) pairs, value None for
"no value", as in websockets) and C (pmd_param arrays)."""

from __future__ import annotations

import ctypes
from ctypes import c_char_p
from typing import List, Optional, Sequence, Tuple

from ._library import Param

ExtensionParameter = Tuple[str, Optional[str]]


def _encode(s) -> bytes:
    if isinstance(s, str):
        return s.encode("utf-8")
    return bytes(s)


class ParamArray:
    """A pmd_param array built from pairs; keeps its strings alive."""

    def __init__(self, params: Sequence[ExtensionParameter]) -> None:
        self.n = len(params)
        self.array = (Param * max(self.n, 1))()
        self._keep = []
        for i, (name, value) in enumerate(params):
            self.array[i].name, self.array[i].name_len = self._ptr(_encode(name))
            if value is None:
                self.array[i].value, self.array[i].value_len = None, 0
            else:
                self.array[i].value, self.array[i].value_len = self._ptr(_encode(value))

    def _ptr(self, data: bytes):
        buf = ctypes.create_string_buffer(data, len(data) + 1)
        self._keep.append(buf)
        return ctypes.addressof(buf), len(data)


def read_params(array, n: int) -> List[ExtensionParameter]:
    out = []
    for i in range(n):
        p = array[i]
        name = ctypes.string_at(p.name, p.name_len).decode("utf-8")
        value = None if p.value is None else ctypes.string_at(p.value, p.value_len).decode("utf-8")
        out.append((name, value))
    return out


def name_array(names: Sequence[str]):
    """A const char *const * array of NUL-terminated names, and its length."""
    arr = (c_char_p * max(len(names), 1))()
    for i, name in enumerate(names):
        arr[i] = _encode(name)
    return arr, len(names)
