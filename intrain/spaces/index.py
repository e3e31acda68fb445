"""Benchmark index <-> architecture of one normalised ground-truth table, for the peers' files.

Peers name an architecture by its benchmark index, its arch string or a fingerprint; intrain's
artifacts by the row of the space's normalised table (``arch_index``). A `BenchmarkIndex`
maps between them through [`intrain.spaces.Space.peer_id`][intrain.spaces.base.Space.peer_id]: by the arch string itself where
the space's peers key every spelling (NB201), by the canonical class where they key the class
(NB101's module hash; then the table's first member of the class answers). No torch, no pandas.

Examples:
    >>> from intrain.spaces import get_space
    >>> archs = ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    ...          "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    >>> idx = BenchmarkIndex(get_space("nb201"), [10, 11], archs, archs, "t.csv")
    >>> idx.lookup(archs[1]), idx.lookup("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    ((11, '|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|'), None)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from intrain.core.errors import InputError

if TYPE_CHECKING:
    from intrain.spaces.base import Space

__all__ = ["BenchmarkIndex"]


class BenchmarkIndex:
    """Rows ``(arch_index, arch)`` of a table, found by the space's peer id (``ids``, one per row)."""

    def __init__(
        self, space: Space, indices: Sequence[int], archs: Sequence[str], ids: Sequence[str], source: str = "<table>"
    ):
        self.space, self.source = space, source
        self.by_index: dict[int, str] = {}
        self.by_id: dict[str, tuple[int, str]] = {}
        for i, arch, key in zip(indices, archs, ids):
            self.by_index[int(i)] = arch
            if key in self.by_id and space.peer_identity == "arch":
                raise InputError(f"{source}: architecture {arch} is listed twice")
            self.by_id.setdefault(key, (int(i), arch))

    def __len__(self) -> int:
        return len(self.by_index)

    def lookup(self, key: str) -> tuple[int, str] | None:
        """``(arch_index, the table's arch string)`` of a peer key, or None when the table lacks it."""
        return self.by_id.get(self.space.peer_id(key))

    def find(self, key: str) -> tuple[int, str]:
        """`lookup`, with a missing architecture an [`InputError`][intrain.core.errors.InputError] naming the table."""
        row = self.lookup(key)
        if row is None:
            raise InputError(f"{self.space.name} architecture {key!r} is not in {self.source}")
        return row

    def arch(self, index: int) -> str:
        """The arch string of a benchmark index; one the table lacks is an [`InputError`][intrain.core.errors.InputError]."""
        try:
            return self.by_index[int(index)]
        except KeyError:
            raise InputError(
                f"{self.space.name} index {index} is not in {self.source} ({len(self)} architectures)"
            ) from None
