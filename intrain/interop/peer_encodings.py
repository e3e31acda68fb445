"""Architecture encodings of the peers, converted through one canonical form per space (no torch).

Researchers keep asking what a NASLib tuple such as ``(4, 0, 3, 1, 4, 3)`` means (automl/NASLib
#144 #171). Every form converts through the benchmark's arch string, so no two peers' op orders
are ever mixed directly:

NAS-Bench-201 (NATS-Bench topology space)
    ``arch``    ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (the benchmark's string)
    ``naslib``  six op ids in NASLib's order (0 skip_connect, 1 none, 2 nor_conv_3x3,
                3 nor_conv_1x1, 4 avg_pool_3x3) at the positions of NASLib's EDGE_LIST
                ((1,2),(1,3),(1,4),(2,3),(2,4),(3,4)), nodes 1-based
    ``op_ids``  six op ids in NATS-Bench's order (0 none, 1 skip_connect, 2 nor_conv_1x1,
                3 nor_conv_3x3, 4 avg_pool_3x3) in arch-string order (``str2matrix``'s numbers)
    ``index``   the NATS-Bench / NAS-Bench-201 index: the row of the benchmark table
NAS-Bench-101
    ``arch``    intrain's string: matrix rows ``0110000-...`` ``|`` interior ops (short names)
    ``hash``    the benchmark's module hash (MD5, invariant to vertex order, of the pruned cell)
    ``naslib``  NASLib's 56-tuple: the pruned cell padded to 7 vertices as NASLib pads
                (empty vertices before the output, op conv3x3), flattened 7x7 matrix then
                op ids (0 input, 1 output, 2 maxpool3x3, 3 conv1x1-bn-relu, 4 conv3x3-bn-relu)
    ``index``   the row of the benchmark file intrain's ground truth is built from

>>> convert("nb201", "(4, 0, 3, 1, 4, 3)")["arch"]
'|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|'
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from intrain.core.errors import InputError

__all__ = [
    "NB201_OPS", "NASLIB_NB201_OPS", "NASLIB_NB201_EDGES", "NB101_HASH_OPS", "NASLIB_NB101_OPS",
    "nb201_parse", "nb201_str", "nb201_to_naslib", "nb201_from_naslib", "nb201_to_op_ids",
    "nb201_from_op_ids", "NB201Index", "nb201_index", "NB101Cell", "nb101_parse", "nb101_cell",
    "nb101_prune", "nb101_hash", "nb101_to_naslib", "nb101_from_naslib", "NB101Table", "nb101_table",
    "parse_tuple", "default_table", "convert",
]

# ----------------------------------------------------------------------------- NAS-Bench-201

#: NATS-Bench's op order (``search_space_info``; also intrain.spaces.nb201.OPS).
NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: NASLib's ``OP_NAMES_NB201`` (naslib/search_spaces/nasbench201/conversions.py).
NASLIB_NB201_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_NB201_EDGES: tuple[tuple[int, int], ...] = ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))
#: Arch-string edge order as (into node i, from node j), nodes 0-based.
_STRING_EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
#: NASLib tuple position of each arch-string edge: NASLib edge (j + 1, i + 1). = (0, 1, 3, 2, 4, 5)
_NASLIB_POS: tuple[int, ...] = tuple(NASLIB_NB201_EDGES.index((j + 1, i + 1)) for i, j in _STRING_EDGES)


def nb201_parse(arch: str) -> tuple[str, ...]:
    """The six ops of an NB201 arch string in string order; :class:`InputError` says what is wrong.

    >>> nb201_parse("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")[:2]
    ('nor_conv_3x3', 'none')
    """
    if not isinstance(arch, str):
        raise InputError(f"NB201 arch string must be str, got {type(arch).__name__}")
    groups = arch.strip().split("+")
    if len(groups) != 3:
        raise InputError(f"{arch!r}: an NB201 arch string has 3 '+'-separated node groups, got {len(groups)}")
    ops: list[str] = []
    for i, group in enumerate(groups, start=1):
        if len(group) < 2 or group[0] != "|" or group[-1] != "|":
            raise InputError(f"{arch!r}: node group {i} {group!r} must look like |op~j|...|")
        items = group[1:-1].split("|")
        if len(items) != i:
            raise InputError(f"{arch!r}: node {i} must have exactly {i} incoming edges, got {len(items)}")
        for j, item in enumerate(items):
            op, sep, src = item.partition("~")
            if op not in NB201_OPS:
                raise InputError(f"{arch!r}: unknown operation {op!r}; expected one of {NB201_OPS}")
            if not sep or src != str(j):
                raise InputError(f"{arch!r}: edge {item!r} of node {i} must read {op}~{j} (edges in source order)")
            ops.append(op)
    return tuple(ops)


def nb201_str(ops: Sequence[str]) -> str:
    """The arch string of six ops in string order.

    >>> nb201_str(["none"] * 6)
    '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'
    """
    ops = list(ops)
    if len(ops) != 6 or any(op not in NB201_OPS for op in ops):
        raise InputError(f"an NB201 cell has six ops from {NB201_OPS}, got {ops!r}")
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)


def _ints(values: Sequence[Any], n: int | None, what: str, hi: int) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not all(isinstance(v, numbers.Integral) for v in values):
        raise InputError(f"{what} must be integers, got {values!r}")
    out = tuple(int(v) for v in values)
    if n is not None and len(out) != n:
        raise InputError(f"{what} has {n} entries, got {len(out)}: {values!r}")
    if any(not 0 <= v < hi for v in out):
        raise InputError(f"{what} entries must lie in 0..{hi - 1}, got {values!r}")
    return out


def parse_tuple(text: str) -> tuple[int, ...]:
    """``"(4, 0, 3)"`` / ``"[4,0,3]"`` / ``"4 0 3"`` -> ``(4, 0, 3)`` (the key NASLib's JSON uses).

    >>> parse_tuple("(4, 0, 3, 1, 4, 3)")
    (4, 0, 3, 1, 4, 3)
    """
    body = text.strip()
    if body[:1] in "([" and body[-1:] in ")]":
        body = body[1:-1]
    parts = [p for p in re.split(r"[,\s]+", body) if p]
    if not parts or not all(re.fullmatch(r"-?\d+", p) for p in parts):
        raise InputError(f"{text!r} is not a tuple of integers like '(4, 0, 3, 1, 4, 3)'")
    return tuple(int(p) for p in parts)


def nb201_to_naslib(arch: str) -> tuple[int, ...]:
    """NASLib's op-index tuple of an arch string.

    >>> nb201_to_naslib("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|")
    (4, 0, 3, 1, 4, 3)
    """
    ops = nb201_parse(arch)
    out = [0] * 6
    for k, op in enumerate(ops):
        out[_NASLIB_POS[k]] = NASLIB_NB201_OPS.index(op)
    return tuple(out)


def nb201_from_naslib(values: Sequence[int] | str) -> str:
    """The arch string of a NASLib tuple (or its text).

    >>> nb201_from_naslib((1, 1, 1, 1, 1, 1))
    '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'
    """
    t = _ints(parse_tuple(values) if isinstance(values, str) else values, 6, "a NASLib NB201 tuple", 5)
    return nb201_str([NASLIB_NB201_OPS[t[_NASLIB_POS[k]]] for k in range(6)])


def nb201_to_op_ids(arch: str) -> tuple[int, ...]:
    """NATS-Bench op ids in arch-string order.

    >>> nb201_to_op_ids("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|")
    (4, 1, 0, 2, 4, 2)
    """
    return tuple(NB201_OPS.index(op) for op in nb201_parse(arch))


def nb201_from_op_ids(values: Sequence[int] | str) -> str:
    """The arch string of six NATS-Bench op ids in arch-string order.

    >>> nb201_from_op_ids("4 1 0 2 4 2")
    '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|'
    """
    t = _ints(parse_tuple(values) if isinstance(values, str) else values, 6, "NB201 op ids", 5)
    return nb201_str([NB201_OPS[v] for v in t])


class NB201Index:
    """Benchmark index <-> arch string from a table whose row order is the benchmark's.

    Reads the benchmark export (``ArchitectureString``), a ``*_train_valid_test.csv``
    (``arch str``) or intrain's normalised ground truth (``arch_index``, ``arch``).

    >>> idx = NB201Index(["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    >>> idx.index("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    0
    """

    def __init__(self, archs: Sequence[str], indices: Sequence[int] | None = None, source: str = "<table>"):
        self.source = source
        indices = list(range(len(archs))) if indices is None else [int(i) for i in indices]
        self._arch: dict[int, str] = {}
        self._index: dict[str, int] = {}
        for i, a in zip(indices, archs):
            a = nb201_str(nb201_parse(a))
            if a in self._index:
                raise InputError(f"{source}: architecture {a} is listed twice")
            self._arch[i], self._index[a] = a, i

    @classmethod
    def from_csv(cls, path: str | os.PathLike) -> "NB201Index":
        import pandas as pd

        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such NB201 table")
        head = pd.read_csv(path, nrows=0).columns
        if "arch_index" in head and "arch" in head:
            df = pd.read_csv(path, usecols=["arch_index", "arch"])
            return cls(df["arch"].tolist(), df["arch_index"].tolist(), str(path))
        for col in ("ArchitectureString", "arch str", "arch"):
            if col in head:
                return cls(pd.read_csv(path, usecols=[col])[col].tolist(), None, str(path))
        raise InputError(f"{path}: no arch column (ArchitectureString, 'arch str' or arch_index + arch)")

    def __len__(self) -> int:
        return len(self._arch)

    def arch(self, index: int) -> str:
        try:
            return self._arch[int(index)]
        except KeyError:
            raise InputError(f"NB201 index {index} is not in {self.source} ({len(self)} architectures)") from None

    def index(self, arch: str) -> int:
        key = nb201_str(nb201_parse(arch))
        try:
            return self._index[key]
        except KeyError:
            raise InputError(f"{arch!r} is not in {self.source}") from None


@lru_cache(maxsize=4)
def nb201_index(path: str) -> NB201Index:
    """:class:`NB201Index` of a table file, cached (the 15,625-row table takes ~0.1 s to read)."""
    return NB201Index.from_csv(path)


# ----------------------------------------------------------------------------- NAS-Bench-101

#: Op labels of the module hash (nasbench ``model_spec``): conv3x3 0, conv1x1 1, maxpool 2.
NB101_HASH_OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
#: NASLib's ``all_ops`` (naslib/search_spaces/nasbench101/conversions.py).
NASLIB_NB101_OPS: tuple[str, ...] = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
_SHORT = {"conv3x3": "conv3x3-bn-relu", "conv1x1": "conv1x1-bn-relu", "maxpool3x3": "maxpool3x3"}
_LONG = {v: k for k, v in _SHORT.items()}
_MAX_V, _MAX_E = 7, 9


@dataclass(frozen=True)
class NB101Cell:
    """A validated NB101 cell: upper-triangular 0/1 ``matrix``; ``ops`` long names incl. input/output."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    def to_str(self) -> str:
        """intrain's arch string (same as :meth:`intrain.spaces.nb101.CellSpec.to_str`)."""
        rows = "-".join("".join(map(str, row)) for row in self.matrix)
        return rows + "|" + ",".join(_LONG[op] for op in self.ops[1:-1])


def _reach(matrix: Sequence[Sequence[int]], start: int, forward: bool) -> set[int]:
    n, seen, todo = len(matrix), {start}, [start]
    while todo:
        v = todo.pop()
        for w in range(n):
            if (matrix[v][w] if forward else matrix[w][v]) and w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def _live(matrix: Sequence[Sequence[int]]) -> set[int]:
    n = len(matrix)
    live = _reach(matrix, 0, True) & _reach(matrix, n - 1, False)
    return live if {0, n - 1} <= live else set()


def nb101_cell(matrix: Any, ops: Sequence[str]) -> NB101Cell:
    """Validate (matrix, ops) as the benchmark does; ``ops`` may use long or short names.

    >>> nb101_cell([[0, 1], [0, 0]], ["input", "output"]).to_str()
    '01-00|'
    """
    try:
        rows = [[int(v) for v in row] for row in matrix]
    except (TypeError, ValueError):
        raise InputError(f"NB101 adjacency must be a square 0/1 matrix, got {matrix!r}") from None
    n = len(rows)
    if not 2 <= n <= _MAX_V or any(len(r) != n for r in rows):
        raise InputError(f"NB101 adjacency must be square with 2..{_MAX_V} vertices, got {matrix!r}")
    if any(v not in (0, 1) for r in rows for v in r) or any(rows[i][j] for i in range(n) for j in range(i + 1)):
        raise InputError("NB101 adjacency must be strictly upper-triangular with 0/1 entries")
    ops = [_SHORT.get(op, op) for op in ops]
    if len(ops) != n or ops[0] != "input" or ops[-1] != "output":
        raise InputError(f"NB101 cell with {n} vertices needs {n} ops from 'input' to 'output', got {list(ops)!r}")
    bad = [op for op in ops[1:-1] if op not in NB101_HASH_OPS]
    if bad:
        raise InputError(f"unknown NB101 operation(s) {bad}; expected {list(NB101_HASH_OPS)} or {list(_SHORT)}")
    if sum(map(sum, rows)) > _MAX_E:
        raise InputError(f"an NB101 cell has at most {_MAX_E} edges, got {sum(map(sum, rows))}")
    if not _live(rows):
        raise InputError("NB101 cell has no path from the input to the output vertex")
    return NB101Cell(tuple(map(tuple, rows)), tuple(ops))


def nb101_parse(arch: str) -> NB101Cell:
    """Parse intrain's NB101 arch string (``ROW-ROW-...|op,op,...``).

    >>> nb101_parse("011-001-000|conv3x3").ops
    ('input', 'conv3x3-bn-relu', 'output')
    """
    if not isinstance(arch, str) or arch.count("|") != 1:
        raise InputError(f"NB101 arch string must look like 'ROW-ROW-...|op,op,...', got {arch!r}")
    rows_part, ops_part = arch.strip().split("|")
    rows = rows_part.split("-")
    if any(not r or set(r) - {"0", "1"} for r in rows):
        raise InputError(f"NB101 matrix rows must be 0/1 digits joined by '-', got {rows_part!r}")
    ops = ops_part.split(",") if ops_part else []
    return nb101_cell([[int(c) for c in r] for r in rows], ["input", *ops, "output"])


def nb101_prune(cell: NB101Cell) -> NB101Cell:
    """Drop vertices off every input -> output path, as the benchmark does before training."""
    keep = sorted(_live(cell.matrix))
    return NB101Cell(tuple(tuple(cell.matrix[i][j] for j in keep) for i in keep), tuple(cell.ops[i] for i in keep))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def nb101_hash(cell: NB101Cell | str) -> str:
    """The benchmark's module hash of the pruned cell (nasbench ``graph_util.hash_module``).

    >>> nb101_hash("0100-0010-0001-0000|conv3x3,maxpool3x3") == nb101_hash("0100-0010-0001-0000|conv3x3,maxpool3x3")
    True
    """
    cell = nb101_prune(nb101_parse(cell) if isinstance(cell, str) else cell)
    m, n = cell.matrix, len(cell.ops)
    labels = [-1] + [NB101_HASH_OPS.index(op) for op in cell.ops[1:-1]] + [-2]
    out_deg = [sum(m[v]) for v in range(n)]
    in_deg = [sum(m[u][v] for u in range(n)) for v in range(n)]
    hashes = [_md5(str((out_deg[v], in_deg[v], labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [_md5("".join(sorted(hashes[u] for u in range(n) if m[u][v])) + "|"
                       + "".join(sorted(hashes[w] for w in range(n) if m[v][w])) + "|" + hashes[v])
                  for v in range(n)]
    return _md5(str(sorted(hashes)))


def nb101_to_naslib(cell: NB101Cell | str) -> tuple[int, ...]:
    """NASLib's 56-tuple: the pruned cell padded to 7 vertices (NASLib's ``convert_to_cell``).

    >>> len(nb101_to_naslib("0100-0010-0001-0000|conv3x3,maxpool3x3"))
    56
    """
    cell = nb101_prune(nb101_parse(cell) if isinstance(cell, str) else cell)
    n = len(cell.ops)
    matrix = [[0] * _MAX_V for _ in range(_MAX_V)]
    for i in range(n):  # interior vertices keep their place, the output moves to the last one
        for j in range(n):
            if cell.matrix[i][j]:
                matrix[i][_MAX_V - 1 if j == n - 1 else j] = 1
    ops = [*cell.ops[:-1], *["conv3x3-bn-relu"] * (_MAX_V - n), "output"]
    return tuple(v for row in matrix for v in row) + tuple(NASLIB_NB101_OPS.index(op) for op in ops)


def nb101_from_naslib(values: Sequence[int] | str) -> str:
    """The pruned cell's arch string of a NASLib NB101 tuple (any n*n + n length).

    >>> nb101_from_naslib(nb101_to_naslib("0100-0010-0001-0000|conv3x3,maxpool3x3"))
    '0100-0010-0001-0000|conv3x3,maxpool3x3'
    """
    t = _ints(parse_tuple(values) if isinstance(values, str) else values, None, "a NASLib NB101 tuple", 5)
    n = next((k for k in range(2, _MAX_V + 1) if k * k + k == len(t)), None)
    if n is None:
        raise InputError(f"a NASLib NB101 tuple has n*n + n entries (56 for 7 vertices), got {len(t)}")
    if any(v > 1 for v in t[:n * n]):
        raise InputError(f"NASLib NB101 tuple: the first {n * n} entries are a 0/1 matrix, got {t[:n * n]}")
    matrix = [list(t[i * n:(i + 1) * n]) for i in range(n)]
    return nb101_prune(nb101_cell(matrix, [NASLIB_NB101_OPS[v] for v in t[n * n:]])).to_str()


class NB101Table:
    """Module hash -> (benchmark row, arch string) of a benchmark file or normalised ground truth.

    The row is what intrain's ground truth calls ``arch_index`` (the order of the file's records).
    """

    def __init__(self, archs: Sequence[str], indices: Sequence[int] | None = None,
                 hashes: Sequence[str] | None = None, source: str = "<table>"):
        self.source = source
        indices = list(range(len(archs))) if indices is None else [int(i) for i in indices]
        hashes = [nb101_hash(a) for a in archs] if hashes is None else list(hashes)
        self.by_hash: dict[str, tuple[int, str]] = {}
        self.by_index: dict[int, str] = {}
        for i, a, h in zip(indices, archs, hashes):
            self.by_hash.setdefault(h, (i, a))
            self.by_index[i] = a

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "NB101Table":
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such NB101 table")
        if path.suffix == ".csv":
            import pandas as pd

            df = pd.read_csv(path)
            if not {"arch_index", "arch", "canonical"} <= set(df.columns):
                raise InputError(f"{path}: not intrain's normalised NB101 ground truth (arch_index, arch, canonical)")
            return cls(df["arch"].tolist(), df["arch_index"].tolist(), df["canonical"].tolist(), str(path))
        try:
            raw = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: not JSON ({e})") from None
        archs = []
        for k, item in enumerate(raw if isinstance(raw, list) else []):
            if isinstance(item, dict):
                matrix = item.get("adjacency", item.get("module_adjacency", item.get("matrix")))
                ops = item.get("operations", item.get("module_operations", item.get("ops")))
            elif isinstance(item, list) and len(item) == 2 and isinstance(item[0], list) and len(item[0]) == 2:
                matrix, ops = item[0]
            else:
                raise InputError(f"{path}: record {k} is neither [[matrix, ops], accuracy] nor a dict")
            try:
                archs.append(nb101_cell(matrix, ops).to_str())
            except InputError as e:
                raise InputError(f"{path}: record {k}: {e}") from None
        if not archs:
            raise InputError(f"{path}: expected a non-empty JSON list of NB101 cells")
        return cls(archs, source=str(path))

    def lookup(self, key: str) -> tuple[int, str]:
        """(row, arch) of a module hash."""
        try:
            return self.by_hash[key]
        except KeyError:
            raise InputError(f"NB101 hash {key} is not in {self.source}") from None


@lru_cache(maxsize=4)
def nb101_table(path: str) -> NB101Table:
    """:class:`NB101Table` of a file, cached."""
    return NB101Table.from_file(path)


# ----------------------------------------------------------------------------- any form in, all out

#: The benchmark file (intrain/data/benchmarks.yaml key) whose row order is each space's index.
_TABLE_KEYS = {"nb201": "nb201_test", "nb101": "nb101_2500"}


def default_table(space: str) -> str | None:
    """The space's index table under the local mirror (``INTRAIN_MIRROR``), or None without one."""
    from intrain.core.download import get_file

    mirror = os.environ.get("INTRAIN_MIRROR")
    if space not in _TABLE_KEYS or not mirror or mirror.startswith(("http://", "https://", "file://")):
        return None
    path = Path(mirror) / get_file(_TABLE_KEYS[space]).mirror_path
    return str(path) if path.is_file() else None


def _form(space: str, text: str) -> str:
    t = text.strip()
    if t[:1] in "([":
        return "naslib"
    if re.fullmatch(r"\d+", t):
        return "index"
    if space == "nb101" and re.fullmatch(r"[0-9a-f]{32}", t):
        return "hash"
    return "arch"


FORMS = {"nb201": ("arch", "naslib", "op_ids", "index"), "nb101": ("arch", "naslib", "hash", "index")}


def convert(space: str, text: str, form: str | None = None, table: str | None = None) -> dict[str, Any]:
    """Every encoding of one architecture, given any one of them (``form`` guessed when None).

    ``table``: the benchmark table for ``index`` (default: the mirror's, see :func:`default_table`);
    without one ``index`` is None (and an index or hash cannot be given).

    >>> out = convert("nb201", "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|", table="")
    >>> out["naslib"], out["op_ids"]
    ((4, 0, 3, 1, 4, 3), (4, 1, 0, 2, 4, 2))
    """
    if space not in FORMS:
        raise InputError(f"no encodings for space {space!r}; known: {sorted(FORMS)}")
    form = form or _form(space, text)
    if form not in FORMS[space]:
        raise InputError(f"{space} has no form {form!r}; known: {FORMS[space]}")
    table = default_table(space) if table is None else (table or None)
    if space == "nb201":
        index = nb201_index(table) if table else None
        if form == "index":
            if index is None:
                raise InputError("an NB201 index needs the benchmark table (--table or INTRAIN_MIRROR)")
            arch = index.arch(int(text))
        else:
            arch = {"arch": lambda s: nb201_str(nb201_parse(s)), "naslib": nb201_from_naslib,
                    "op_ids": nb201_from_op_ids}[form](text)
        return {"space": space, "arch": arch, "naslib": nb201_to_naslib(arch), "op_ids": nb201_to_op_ids(arch),
                "index": index.index(arch) if index else None}
    nb101 = nb101_table(table) if table else None
    if form in ("hash", "index") and nb101 is None:
        raise InputError(f"an NB101 {form} needs the benchmark table (--table or INTRAIN_MIRROR)")
    if form == "hash":
        arch = nb101.lookup(text.strip())[1]
    elif form == "index":
        if int(text) not in nb101.by_index:
            raise InputError(f"NB101 index {text} is not in {nb101.source}")
        arch = nb101.by_index[int(text)]
    elif form == "naslib":
        arch = nb101_from_naslib(text)
    else:
        arch = nb101_parse(text).to_str()
    h = nb101_hash(arch)
    row = nb101.by_hash.get(h) if nb101 else None
    return {"space": space, "arch": arch, "pruned_arch": nb101_prune(nb101_parse(arch)).to_str(), "hash": h,
            "naslib": nb101_to_naslib(arch), "index": row[0] if row else None,
            "benchmark_arch": row[1] if row else None}
