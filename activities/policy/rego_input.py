r"""Hand a JSON document to a regopy interpreter as its input, quickly.

``regopy.Input`` walks the document in Python with an ABC ``isinstance`` check per value
(``Mapping``, ``Sequence``...), which took a quarter of a gate decision. The document here
always comes from ``json.loads``, so each value is exactly a dict, list, str, int, float,
bool or None, and one ``type()`` lookup picks the C call. The C calls are regopy's own.

regopy keeps an input string's bytes as given and writes them back unescaped in its JSON
output, so a string holding a quote, a backslash or a control character (a freeze reason
with a tab) made the whole decision unreadable: every action in scope was denied. Each
string is therefore handed over as the body of its JSON literal (``\u0001``, ``\"``):
regopy writes it back as valid JSON and ``json.loads`` restores the original. Ordinary
text has nothing to escape and reaches the policy unchanged; NUL, which would end the C
string early, and lone surrogates, which UTF-8 cannot carry, travel as escapes as well.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable
from typing import Any

from regopy import Interpreter, RegoError
from regopy.rego_shared import rego

_new = rego.regoNewInput
_free = rego.regoFreeInput
_set = rego.regoSetInput
_string = rego.regoInputString
_int = rego.regoInputInt
_float = rego.regoInputFloat
_bool = rego.regoInputBoolean
_null = rego.regoInputNull
_item = rego.regoInputObjectItem
_object = rego.regoInputObject
_array = rego.regoInputArray

# What JSON requires escaping in a string, plus the code points UTF-8 cannot encode.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def json_string_body(text: str) -> bytes:
    """Return ``text`` as the UTF-8 body of its JSON string literal, without the quotes."""
    return _NEEDS_ESCAPE.sub(_escape_one, text).encode()


def set_json_input(interpreter: Interpreter, document: Any) -> None:
    """Make ``document`` (as parsed by ``json.loads``) the interpreter's input.

    Raises:
        RegoError: regopy refused a value.
        TypeError: A value is not one ``json.loads`` produces.
    """
    handle = _new()
    try:
        _add(handle, document)
        if _set(interpreter._impl, handle) != 0:
            raise RegoError("unable to set the input", 1)
    finally:
        # regopy copies the input into the interpreter; regopy.Input frees it the same way.
        _free(handle)


def _check(code: int) -> None:
    if code != 0:
        raise RegoError("unable to create the input", code)


def _add(handle: ctypes.c_void_p, value: Any) -> None:
    kind = type(value)
    if kind is str:
        _check(_string(handle, json_string_body(value)))
    elif kind is dict:
        for key, item in value.items():
            _check(_string(handle, json_string_body(key)))
            _add(handle, item)
            _check(_item(handle))
        _check(_object(handle, len(value)))
    elif kind is list:
        for item in value:
            _add(handle, item)
        _check(_array(handle, len(value)))
    else:
        _scalar(handle, value, kind)


def _scalar(handle: ctypes.c_void_p, value: Any, kind: type) -> None:
    adder: Callable[..., int] | None = _SCALARS.get(kind)
    if adder is None:
        if value is None:
            _check(_null(handle))
            return
        raise TypeError(f"a {kind.__name__} is not a JSON value")
    _check(adder(handle, value))


# bool before int does not matter here: type() is exact, True is a bool, not an int.
_SCALARS: dict[type, Callable[..., int]] = {bool: _bool, int: _int, float: _float}
