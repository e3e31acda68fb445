"""Bounded handling of untrusted values: short quotes in messages, JSON with bounded depth and numbers.

An error message that ``repr``s what a file holds can itself be the blow-up (a shared-reference
structure, a 100 MB string); :func:`short_repr` quotes at most :data:`MAX_QUOTE` characters and
a few levels. :func:`load_json` reads peers' JSON (NASLib zc files, settings) refusing, before
Python's recursive parser sees it, nesting deeper than :data:`MAX_JSON_DEPTH`, and refusing any
number literal longer than :data:`MAX_NUMBER_CHARS` characters or beyond float64's range.

>>> short_repr("x" * 1000)[:12], len(short_repr("x" * 1000)) <= MAX_QUOTE
("'xxxxxxxxxxx", True)
>>> load_json('{"a": [1, 2.5, NaN]}', "peer.json")
{'a': [1, 2.5, nan]}
>>> load_json("[" * 100 + "]" * 100, "deep.json")
Traceback (most recent call last):
...
intrain.core.errors.InputError: deep.json: JSON nested 100 levels deep, more than the 64 read
"""

from __future__ import annotations

import json
import math
import os
import re
import reprlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from intrain.core.errors import InputError

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "MAX_NUMBER_CHARS", "MAX_QUOTE", "load_json", "short_repr"]

#: Characters of an untrusted value quoted in a message.
MAX_QUOTE = 80
#: Nesting of JSON arrays/objects read (NASLib zc files nest 4 deep).
MAX_JSON_DEPTH = 64
#: Characters of one JSON number literal (float64 needs at most 24: ``-2.2250738585072014e-308``).
MAX_NUMBER_CHARS = 40
#: Bytes of one JSON document read.
MAX_JSON_BYTES = 1 << 30

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, MAX_QUOTE - 10, MAX_QUOTE - 10
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 5
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def short_repr(value: Any) -> str:
    """``repr`` of an untrusted value, at most :data:`MAX_QUOTE` characters and 3 levels deep."""
    try:
        text = _REPR.repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 3] + "..."


def json_depth(data: bytes) -> int:
    """Deepest nesting of ``[``/``{`` outside strings, without recursion."""
    stripped = _STRING.sub(b'""', data)
    codes = np.frombuffer(stripped, np.uint8)
    step = np.isin(codes, (ord("["), ord("{"))).astype(np.int64) - np.isin(codes, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0))


def load_json(source: str | bytes | os.PathLike[str], label: str | None = None, kind: str = "valid JSON") -> Any:
    """Parse JSON text/bytes (or the file at a ``Path``) within the bounds above; errors name
    ``label`` (and say the file is not ``kind`` when it does not parse)."""
    if isinstance(source, os.PathLike):
        path = Path(source)
        label = label or str(path)
        if not path.is_file():
            raise InputError(f"{label}: no such file")
        if path.stat().st_size > MAX_JSON_BYTES:
            raise InputError(f"{label}: {path.stat().st_size:,} bytes, more than the {MAX_JSON_BYTES:,} read")
        source = path.read_bytes()
    label = label or "<json>"
    data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else bytes(source)
    if len(data) > MAX_JSON_BYTES:
        raise InputError(f"{label}: {len(data):,} bytes of JSON, more than the {MAX_JSON_BYTES:,} read")
    depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        raise InputError(f"{label}: JSON nested {depth} levels deep, more than the {MAX_JSON_DEPTH} read")

    def number(text: str, parse: Callable[[str], Any]) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise InputError(
                f"{label}: JSON number {text[:20]}... has {len(text)} characters, more than the {MAX_NUMBER_CHARS} read"
            )
        value = parse(text)
        if isinstance(value, float) and math.isinf(value):
            raise InputError(f"{label}: JSON number {text} is beyond the float64 range")
        return value

    try:
        return json.loads(data, parse_int=lambda t: number(t, int), parse_float=lambda t: number(t, float))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{label}: not {kind} ({str(e)[:200]})") from None
    except RecursionError:
        raise InputError(f"{label}: JSON nested too deeply") from None
