"""Any spelling of an architecture in, all out; a peer key to its benchmark row: dispatch to the space.

The encodings themselves live with their space (``intrain/spaces/<space>/peers.py``), reached
through the [`Space`][intrain.spaces.Space] hooks [`encodings`][intrain.spaces.base.Space.encodings],
[`peer_codec`][intrain.spaces.base.Space.peer_codec], [`peer_id`][intrain.spaces.base.Space.peer_id] and
[`benchmark_index`][intrain.spaces.base.Space.benchmark_index]; nothing here knows a space by name, so a plugin
space that declares them converts, exports and imports like a built-in one. No torch.

Examples:
    >>> convert("nb201", "(4, 0, 3, 1, 4, 3)", table="")["arch"]
    '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|'
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intrain.core.errors import InputError

if TYPE_CHECKING:
    from intrain.spaces import Space
    from intrain.spaces.index import BenchmarkIndex
    from intrain.spaces.peers import PeerCodec

__all__ = ["benchmark_index", "codec", "convert", "default_table", "forms", "locate"]

_NORMALISED = ("arch_index", "arch", "canonical")


def _space(space: str | Space) -> Space:
    from intrain.spaces import get_space

    return get_space(space) if isinstance(space, str) else space


def codec(space: str | Space, fmt: str) -> PeerCodec:
    """How ``fmt`` keys the architectures of ``space``; a space without such files is an
    [`InputError`][intrain.core.errors.InputError] that lists the spaces that have them."""
    from intrain.spaces import get_space, list_spaces
    from intrain.spaces.base import SpaceError

    sp = _space(space)
    found = sp.peer_codec(fmt)
    if found is None:
        having = []
        for name in list_spaces():
            try:
                if get_space(name).peer_codec(fmt) is not None:
                    having.append(name)
            except SpaceError:  # a broken plugin elsewhere does not hide the answer
                continue
        raise InputError(
            f"{fmt}: no score files for space {sp.name!r}; spaces with them: {', '.join(having)} "
            "(a space declares one with Space.peer_codec, see docs/add-a-space.md)"
        )
    return found


def default_table(space: str | Space) -> str | None:
    """The space's benchmark file under the local mirror (``INTRAIN_MIRROR``), or None without one.

    Its row order is the space's benchmark index (`intrain.spaces.Space.benchmark`).
    """
    from intrain.core.download import get_file

    key = _space(space).benchmark
    mirror = os.environ.get("INTRAIN_MIRROR")
    if key is None or not mirror or mirror.startswith(("http://", "https://", "file://")):
        return None
    path = Path(mirror) / get_file(key).mirror_path
    return str(path) if path.is_file() else None


@lru_cache(maxsize=8)
def _index(space_name: str, path: str, stamp: tuple[int, int]) -> BenchmarkIndex:
    import pandas as pd

    sp = _space(space_name)
    head = pd.read_csv(path, nrows=0).columns if path.endswith(".csv") else ()
    if all(c in head for c in _NORMALISED):  # intrain's normalised ground truth
        table = pd.read_csv(path, usecols=list(_NORMALISED))
    else:  # the benchmark's own export, read by the space
        table = sp.groundtruth(path)
    return sp.benchmark_index(table, path)


def benchmark_index(space: str | Space, path: str | os.PathLike) -> BenchmarkIndex:
    """Benchmark index <-> architecture of a table: intrain's normalised ground truth, or the
    benchmark file the space's ground-truth reader takes. Cached per file version."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such {_space(space).name} benchmark table")
    st = path.stat()
    return _index(_space(space).name, str(path), (st.st_mtime_ns, st.st_size))


def forms(space: str | Space) -> tuple[str, ...]:
    """The forms ``convert`` takes for ``space``: the arch string, its encodings, the index."""
    return ("arch", *_space(space).encodings(), "index")


def _guess(sp: Space, text: str) -> str:
    t = text.strip()
    encodings = sp.encodings()
    if t[:1] in "([":
        return next((n for n, e in encodings.items() if e.matches(t)), "arch")
    if re.fullmatch(r"\d+", t):
        return "index"
    return next((n for n, e in encodings.items() if e.matches(t)), "arch")


def convert(space: str | Space, text: str, form: str | None = None, table: str | None = None) -> dict[str, Any]:
    """Every encoding of one architecture, given any one of them (``form`` guessed when None).

    ``table``: the benchmark table for ``index`` (default: the mirror's, see `default_table`;
    ``""``: none); without one ``index`` is None, and an index or a one-way form (a hash)
    cannot be given. Where the peers key the isomorphism class (`peer_identity`
    ``canonical``), ``benchmark_arch`` is the table's own member of the class.

    Examples:
        >>> out = convert("nb201", "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|", table="")
        >>> out["naslib"], out["op_ids"]
        ((4, 0, 3, 1, 4, 3), (4, 1, 0, 2, 4, 2))
    """
    sp = _space(space)
    encodings = sp.encodings()
    form = form or _guess(sp, text)
    if form not in forms(sp):
        raise InputError(f"{sp.name} has no form {form!r}; known: {forms(sp)}")
    table = default_table(sp) if table is None else (table or None)
    index = benchmark_index(sp, table) if table else None
    one_way = form in encodings and not encodings[form].reversible
    if form == "index" or one_way:
        if index is None:
            raise InputError(f"a {sp.name} {form} needs the benchmark table (--table or INTRAIN_MIRROR)")
        if form == "index":
            if not re.fullmatch(r"\s*\d+\s*", text):
                raise InputError(f"{text!r} is not a {sp.name} benchmark index (an integer)")
            arch = index.arch(int(text))
        else:
            arch = index.find(text.strip())[1]
    elif form == "arch":
        arch = sp.normalize(text)
    else:
        arch = encodings[form].decode(text)
    row = index.lookup(arch) if index else None
    out: dict[str, Any] = {"space": sp.name, "arch": arch}
    out |= {name: enc.encode(arch) for name, enc in encodings.items()}
    out["index"] = row[0] if row else None
    if sp.peer_identity != "arch":
        out["benchmark_arch"] = row[1] if row else None
    return out


def locate(space: str | Space, keys: Sequence[str], path: str | os.PathLike) -> tuple[list[int], list[str]]:
    """Benchmark index and the table's arch string of every peer key; -1 and ``""`` where the
    table lacks the architecture."""
    index = benchmark_index(space, path)
    rows = [index.lookup(k) for k in keys]
    return [r[0] if r else -1 for r in rows], [r[1] if r else "" for r in rows]
