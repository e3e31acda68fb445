"""The one table every peer reader returns and every writer takes, and the peers' proxy names.

Readers keep the peer's own key per architecture (an arch string, or an NB101 module hash where
the peer stores only that); `.importer` turns keys into benchmark indices. Scores are kept
exactly as read (float64), so export -> import reproduces intrain's values bit for bit.

Examples:
    >>> to_peer("naswot", "naslib-zc"), from_peer("jacob_cov", "zero-cost-nas")
    ('nwot', 'jacov')
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from intrain.core.bounded import short_repr
from intrain.core.errors import InputError

__all__ = ["PEER_NAMES", "PeerScores", "from_peer", "proxy_names", "to_peer", "write_atomic"]

#: intrain proxy name -> the peer's, where they differ (NASLib ``ZeroCost`` method types;
#: zero-cost-nas ``@measure`` names). Every other name is kept.
PEER_NAMES: dict[str, dict[str, str]] = {
    "naslib-zc": {"naswot": "nwot"},
    "zero-cost-nas": {"jacov": "jacob_cov"},
}


def to_peer(name: str, peer: str) -> str:
    """The peer's name of an intrain proxy."""
    return PEER_NAMES.get(peer, {}).get(name, name)


def from_peer(name: str, peer: str) -> str:
    """intrain's name of a peer's proxy."""
    back = {v: k for k, v in PEER_NAMES.get(peer, {}).items()}
    return back.get(name, name)


def proxy_names(names: Iterable[str], peer: str, where: str) -> dict[str, str]:
    """intrain's name of each of a record's proxy names (``{peer name: intrain name}``), refusing
    a record that stores one proxy twice under two spellings (the peer's and intrain's): which
    value is meant cannot be told. Names are quoted through `short_repr`.

    Examples:
        >>> proxy_names(["jacob_cov", "snip"], "zero-cost-nas", "nb2.p: record 0")
        {'jacob_cov': 'jacov', 'snip': 'snip'}
        >>> proxy_names(["jacob_cov", "jacov"], "zero-cost-nas", "nb2.p: record 3")
        Traceback (most recent call last):
        ...
        intrain.core.errors.InputError: nb2.p: record 3: holds both 'jacob_cov' and 'jacov', two spellings of the proxy 'jacov'; keep one
    """
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name in names:
        proxy = from_peer(name, peer)
        if proxy in seen:
            raise InputError(
                f"{where}: holds both {short_repr(seen[proxy])} and {short_repr(name)}, two spellings of the proxy "
                f"{short_repr(proxy)}; keep one"
            )
        seen[proxy], out[name] = name, proxy
    return out


@dataclass
class PeerScores:
    """Scores of one (space, dataset): one row per architecture.

    ``key``: arch string (NB201, NB101) or NB101 module hash; ``index``: the benchmark index the
    file states (-1 when it states none); ``scores``/``times``: per proxy (intrain names), NaN
    where unknown; ``val_accuracy``: % or None when the file has none at all.
    """

    space: str
    dataset: str
    key: list[str]
    index: np.ndarray
    scores: dict[str, np.ndarray]
    times: dict[str, np.ndarray] = field(default_factory=dict)
    val_accuracy: np.ndarray | None = None
    source: str = ""

    def __len__(self) -> int:
        return len(self.key)


def write_atomic(dest: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``dest`` through a temporary file in its folder, so no half-written file is left."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
