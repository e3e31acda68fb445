"""How a space's architectures are written by the peers (NASLib, zero-cost-nas, ...), as protocol types.

A space lists its extra spellings with [`intrain.spaces.Space.encodings`][intrain.spaces.base.Space.encodings] (NASLib's op-index
tuple, a module hash, ...) and says how each peer score-file format keys an architecture with
[`intrain.spaces.Space.peer_codec`][intrain.spaces.base.Space.peer_codec]; ``intrain convert``, ``export`` and ``import`` only
talk to these objects, never to a space by name. Two key layouts recur, so they are here for
any space to reuse: [`TupleKey`][intrain.spaces.peers.TupleKey] (a NASLib-style ``"(4, 0, 3)"`` key made by an
[`Encoding`][intrain.spaces.peers.Encoding]) and [`ArchRecord`][intrain.spaces.peers.ArchRecord] / [`IdRecord`][intrain.spaces.peers.IdRecord] (zero-cost-nas's per-architecture
pickled dict). Nothing here imports torch or pandas.

Examples:
    >>> parse_tuple("[4, 0, 3]")
    (4, 0, 3)
    >>> check_ints((4, 0, 3), 3, "a tuple", 5)
    (4, 0, 3)
"""

from __future__ import annotations

import abc
import numbers
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from intrain.core.errors import InputError

if TYPE_CHECKING:
    from intrain.spaces.base import Space

__all__ = ["ArchRecord", "Encoding", "IdRecord", "PeerCodec", "TupleKey", "check_ints", "parse_tuple"]

#: Peer score-file formats a space may key (the names ``intrain export/import --format`` use).
NASLIB_ZC = "naslib-zc"
ZERO_COST_NAS = "zero-cost-nas"


def parse_tuple(text: str) -> tuple[int, ...]:
    """``"(4, 0, 3)"`` / ``"[4,0,3]"`` / ``"4 0 3"`` -> ``(4, 0, 3)`` (the key NASLib's JSON uses).

    Examples:
        >>> parse_tuple("4 0 3")
        (4, 0, 3)
        >>> parse_tuple("(a, b)")
        Traceback (most recent call last):
        ...
        intrain.core.errors.InputError: '(a, b)' is not a tuple of integers like '(4, 0, 3, 1, 4, 3)'
    """
    body = str(text).strip()
    if body[:1] in "([" and body[-1:] in ")]":
        body = body[1:-1]
    parts = [p for p in re.split(r"[,\s]+", body) if p]
    if not parts or not all(re.fullmatch(r"-?\d+", p) for p in parts):
        raise InputError(f"{text!r} is not a tuple of integers like '(4, 0, 3, 1, 4, 3)'")
    return tuple(int(p) for p in parts)


def check_ints(values: Sequence[Any] | str, n: int | None, what: str, hi: int) -> tuple[int, ...]:
    """``values`` (or their text, see [`parse_tuple`][intrain.spaces.peers.parse_tuple]) as ``n`` integers in ``0..hi-1``;
    anything else is an [`InputError`][intrain.core.errors.InputError] that says ``what`` was expected.

    Examples:
        >>> check_ints("(1, 9)", 2, "op ids", 5)
        Traceback (most recent call last):
        ...
        intrain.core.errors.InputError: op ids entries must lie in 0..4, got (1, 9)
    """
    values = parse_tuple(values) if isinstance(values, str) else values
    if isinstance(values, bytes) or not all(isinstance(v, numbers.Integral) for v in values):
        raise InputError(f"{what} must be integers, got {values!r}")
    out = tuple(int(v) for v in values)
    if n is not None and len(out) != n:
        raise InputError(f"{what} has {n} entries, got {len(out)}: {values!r}")
    if any(not 0 <= v < hi for v in out):
        raise InputError(f"{what} entries must lie in 0..{hi - 1}, got {values!r}")
    return out


class Encoding(abc.ABC):
    """One more way to write an architecture of a space (a peer's tuple, a hash, the pruned cell).

    [`encode`][intrain.spaces.peers.Encoding.encode] takes the space's arch string; [`decode`][intrain.spaces.peers.Encoding.decode] takes the value or its text and
    returns the arch string. A one-way form (a hash) sets `reversible` False: ``convert``
    then looks it up in the benchmark table ([`intrain.spaces.Space.peer_id`][intrain.spaces.base.Space.peer_id]) instead.
    """

    #: The form's name (``intrain convert --from NAME``, the CSV export's column).
    name: ClassVar[str] = ""
    #: A regular expression a text in this form fully matches, so ``convert`` can guess the form;
    #: None: the form must be named (it looks like another one).
    guess: ClassVar[str | None] = None
    #: False for a form that cannot be turned back into an architecture without the table.
    reversible: ClassVar[bool] = True
    #: True: ``intrain export --format csv|parquet`` writes this form as a column.
    exported: ClassVar[bool] = False

    @abc.abstractmethod
    def encode(self, arch: str) -> Any:
        """The form of ``arch`` (the space's arch string)."""

    def decode(self, value: Any) -> str:
        """The arch string of ``value`` (the form's value or its text)."""
        raise InputError(f"the {self.name!r} form names an architecture only through the benchmark table")

    def matches(self, text: str) -> bool:
        """Whether ``text`` looks like this form (for guessing; see `guess`)."""
        return self.guess is not None and re.fullmatch(self.guess, text.strip()) is not None


class PeerCodec(abc.ABC):
    """How one peer score-file format keys an architecture of one space.

    The key intrain keeps per row (`intrain.interop.peerscores.PeerScores`) is an arch
    string, or whatever [`intrain.spaces.Space.peer_id`][intrain.spaces.base.Space.peer_id] accepts (an NB101 module hash).
    """

    @abc.abstractmethod
    def dump(self, key: str, index: int) -> Any:
        """What the file stores for the architecture ``key`` at benchmark ``index`` (-1: unknown)."""

    @abc.abstractmethod
    def load(self, stored: Any) -> tuple[str, int]:
        """``(key, stated benchmark index or -1)`` of what the file stores; a malformed entry is
        an [`InputError`][intrain.core.errors.InputError] (the caller adds the file and record)."""


class TupleKey(PeerCodec):
    """NASLib's key: ``str()`` of a tuple of ints that an [`Encoding`][intrain.spaces.peers.Encoding] makes (naslib-zc)."""

    def __init__(self, encoding: Encoding):
        self.encoding = encoding

    def dump(self, key: str, index: int) -> str:
        return str(self.encoding.encode(key))

    def load(self, stored: Any) -> tuple[str, int]:
        return self.encoding.decode(parse_tuple(stored)), -1


class ArchRecord(PeerCodec):
    """zero-cost-nas's NB201 layout, usable by any space: ``{'i': <index>, 'arch': <arch string>}``."""

    def __init__(self, space: Space):
        self.space = space

    def dump(self, key: str, index: int) -> dict[str, Any]:
        return {"i": int(index), "arch": key}

    def load(self, stored: Any) -> tuple[str, int]:
        i, arch = stored.get("i"), stored.get("arch")
        if not isinstance(arch, str) or isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise InputError(f"a {self.space.name} record needs 'i' (int) and 'arch' (str)")
        return self.space.normalize(arch), int(i)


class IdRecord(PeerCodec):
    """zero-cost-nas's NB101 layout: ``{'hash': <peer id>}`` (the space's `peer_id`)."""

    def __init__(self, space: Space, field: str = "hash", what: str = "the 32-character module hash"):
        self.space, self.field, self.what = space, field, what

    def dump(self, key: str, index: int) -> dict[str, Any]:
        return {self.field: self.space.peer_id(key)}

    def load(self, stored: Any) -> tuple[str, int]:
        value = stored.get(self.field)
        try:
            return self.space.peer_id(value), -1
        except (InputError, TypeError):
            raise InputError(f"a {self.space.name} record needs {self.field!r} ({self.what})") from None
