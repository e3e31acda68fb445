"""Bounded handling of untrusted values: short quotes in messages, JSON with bounded depth and numbers.

An error message that ``repr``s what a file holds can itself be the blow-up (a shared-reference
structure, a 100 MB string); `short_repr` quotes at most `MAX_QUOTE` characters and
a few levels. `load_json` reads peers' JSON (NASLib zc files, settings) refusing, before
Python's recursive parser sees it, nesting deeper than `MAX_JSON_DEPTH`, and refusing any
number literal longer than `MAX_NUMBER_CHARS` characters or beyond float64's range.

Examples:
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
import reprlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from intrain.core.errors import InputError

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_CHARS",
    "MAX_QUOTE",
    "SCAN_CHUNK",
    "json_depth",
    "load_json",
    "short_name",
    "short_repr",
]

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
#: Bytes `json_depth` looks at per step (its arrays are a few times this size, whatever the input).
SCAN_CHUNK = 1 << 20
_OPEN, _CLOSE = np.array([ord("["), ord("{")], np.uint8), np.array([ord("]"), ord("}")], np.uint8)


def short_repr(value: Any) -> str:
    """``repr`` of an untrusted value, at most `MAX_QUOTE` characters and 3 levels deep."""
    try:
        text = _REPR.repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 3] + "..."


def short_name(value: Any) -> str:
    """A key from a file as a message path shows it: as is when a short printable string, else
    `short_repr`.

    Examples:
        >>> short_name("snip"), short_name("x" * 100)[:5], short_name(("a",))
        ('snip', "'xxxx", "('a',)")
    """
    if isinstance(value, str) and len(value) <= MAX_QUOTE and value.isprintable():
        return value
    return short_repr(value)


def json_depth(data: bytes, chunk: int = SCAN_CHUNK) -> int:
    """Deepest nesting of ``[``/``{`` outside strings: one pass, no regex and no recursion.

    The text is scanned in blocks of ``chunk`` bytes carrying three things across them: whether
    the scan is inside a string, how many backslashes precede the block, and the depth. Within a
    block a quote is real when an even number of backslashes precedes it, and a bracket counts
    when an even number of real quotes precedes it; each block costs O(chunk log chunk), so the
    whole scan is linear in the input and its memory a few times ``chunk``. (A backslash outside a
    string is invalid JSON, where the parser stops anyway: up to that point this reading is the
    parser's.)
    """
    codes = np.frombuffer(data, np.uint8)
    depth = deepest = 0
    in_string = False
    backslashes = 0  # run of backslashes just before the block
    for start in range(0, len(codes), chunk):
        block = codes[start : start + chunk]
        is_bs = block == ord("\\")
        # index of the last non-backslash at or before each position (-1: none in this block)
        last = np.maximum.accumulate(np.where(is_bs, np.int64(-1), np.arange(len(block), dtype=np.int64)))
        quotes = np.flatnonzero(block == ord('"'))
        before = quotes - 1
        run = np.where(before >= 0, before - last[np.maximum(before, 0)], 0)
        run += np.where((before < 0) | (last[np.maximum(before, 0)] < 0), backslashes, 0)
        real = quotes[run % 2 == 0]
        brackets = np.flatnonzero(np.isin(block, _OPEN) | np.isin(block, _CLOSE))
        outside = (np.searchsorted(real, brackets) + int(in_string)) % 2 == 0
        counted = brackets[outside]
        if counted.size:
            step = np.where(np.isin(block[counted], _OPEN), 1, -1)
            levels = np.cumsum(step) + depth
            deepest = max(deepest, int(levels.max()))
            depth = int(levels[-1])
        in_string ^= bool(real.size % 2)
        backslashes = backslashes + len(block) if last[-1] < 0 else len(block) - 1 - int(last[-1])
    return deepest


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
