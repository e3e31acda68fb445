"""NAS-Bench-101: cell specs, pruning and the benchmark's module hash (no torch; the network is in `.network`).

A cell is a DAG of at most 7 vertices (input, up to 5 operations, output) and at most 9 edges,
given as an upper-triangular 0/1 adjacency matrix and one operation per vertex. The benchmark
trains the *pruned* cell (vertices not on an input->output path removed) and identifies it by
an MD5 fingerprint that is invariant to vertex order; both are reproduced here and tested
against real benchmark records (parameter count and hash).

Arch strings: the matrix rows as 0/1 digits joined by ``-``, a ``|``, then the interior
vertices' operations joined by ``,`` in short form (``conv3x3``, ``conv1x1``, ``maxpool3x3``):

    0110000-0010001-0001000-0000100-0000010-0000001-0000000|conv3x3,conv1x1,maxpool3x3,conv3x3,conv1x1

The string keeps the spec as given (unpruned); its canonical form is the module hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from intrain.core.errors import InputError
from intrain.spaces.base import DatasetSpec, SpaceError

INPUT, OUTPUT = "input", "output"
#: The benchmark's operation names, in the order its hash labels them (0, 1, 2).
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
SHORT_OPS: dict[str, str] = {"conv3x3": "conv3x3-bn-relu", "conv1x1": "conv1x1-bn-relu", "maxpool3x3": "maxpool3x3"}
LONG_TO_SHORT = {v: k for k, v in SHORT_OPS.items()}
MAX_VERTICES = 7
MAX_EDGES = 9
STEM_CHANNELS = 128
NUM_STACKS = 3
CELLS_PER_STACK = 3

DATASETS: dict[str, DatasetSpec] = {"cifar10": DatasetSpec("cifar10", 10, 32)}


class ArchSpecError(InputError):
    """A NAS-Bench-101 cell that the benchmark would not accept, with the reason."""


@dataclass(frozen=True)
class CellSpec:
    """A validated cell: ``matrix[i][j] == 1`` is an edge i -> j (i < j); ``ops`` include input/output."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def edge(self, i: int, j: int) -> bool:
        return bool(self.matrix[i][j])

    def to_str(self) -> str:
        rows = "-".join("".join(str(v) for v in row) for row in self.matrix)
        return rows + "|" + ",".join(LONG_TO_SHORT[op] for op in self.ops[1:-1])


def _bit(v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, str)) or (isinstance(v, str) and v not in ("0", "1")):
        raise ValueError(v)
    return int(v)


def make_spec(matrix, ops) -> CellSpec:
    """Validate a (matrix, ops) pair as the benchmark does; ``ops`` may use long or short names."""
    try:
        rows = [[_bit(v) for v in row] for row in matrix]
    except (TypeError, ValueError, OverflowError):
        raise ArchSpecError(f"adjacency must be a square 0/1 matrix, got {matrix!r}") from None
    n = len(rows)
    if any(len(r) != n for r in rows):
        raise ArchSpecError(f"adjacency must be square, got rows of lengths {[len(r) for r in rows]}")
    if not 2 <= n <= MAX_VERTICES:
        raise ArchSpecError(f"a cell has 2..{MAX_VERTICES} vertices, got {n}")
    if any(v not in (0, 1) for r in rows for v in r):
        raise ArchSpecError("adjacency entries must be 0 or 1")
    below = [(i, j) for i in range(n) for j in range(i + 1) if rows[i][j]]
    if below:
        raise ArchSpecError(
            f"adjacency must be strictly upper-triangular (a DAG in vertex order); edge(s) {below[:3]} are not"
        )
    if not isinstance(ops, (list, tuple)) or not all(isinstance(op, str) for op in ops):
        raise ArchSpecError(f"operations must be a list of names, got {ops!r:.120}")
    ops = list(ops)
    if len(ops) != n:
        raise ArchSpecError(f"{n} vertices but {len(ops)} operations")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ArchSpecError(
            f"the first operation must be {INPUT!r} and the last {OUTPUT!r}, got {ops[0]!r}, {ops[-1]!r}"
        )
    interior = []
    for op in ops[1:-1]:
        long = SHORT_OPS.get(op, op)
        if long not in OPS:
            raise ArchSpecError(f"unknown operation {op!r}; expected one of {list(OPS)} (or {list(SHORT_OPS)})")
        interior.append(long)
    edges = sum(map(sum, rows))
    if edges > MAX_EDGES:
        raise ArchSpecError(f"a cell has at most {MAX_EDGES} edges, got {edges}")
    spec = CellSpec(tuple(map(tuple, rows)), (INPUT, *interior, OUTPUT))
    if not _on_path(spec):
        raise ArchSpecError("no path from the input to the output vertex")
    return spec


def parse_arch(arch: str) -> CellSpec:
    """Parse the arch string format in the module docstring."""
    if not isinstance(arch, str) or arch.count("|") != 1:
        raise ArchSpecError(f"NB101 arch string must look like 'ROW-ROW-...|op,op,...', got {arch!r}")
    rows_part, ops_part = arch.strip().split("|")
    rows = rows_part.split("-")
    if any(not r or set(r) - {"0", "1"} for r in rows):
        raise ArchSpecError(f"matrix rows must be 0/1 digits joined by '-', got {rows_part!r}")
    ops = [o for o in ops_part.split(",")] if ops_part else []
    try:
        return make_spec([[int(c) for c in r] for r in rows], [INPUT, *ops, OUTPUT])
    except ArchSpecError as e:
        raise ArchSpecError(f"{arch!r}: {e}") from None


def normalize_arch(arch: str) -> str:
    return parse_arch(arch).to_str()


def _reach(matrix, start: int, forward: bool) -> set[int]:
    n = len(matrix)
    seen, frontier = {start}, [start]
    while frontier:
        v = frontier.pop()
        nbrs = (w for w in range(n) if (matrix[v][w] if forward else matrix[w][v]))
        for w in nbrs:
            if w not in seen:
                seen.add(w)
                frontier.append(w)
    return seen


def _on_path(spec: CellSpec) -> set[int]:
    """Vertices on some input -> output path (empty when the output is unreachable)."""
    n = spec.num_vertices
    live = _reach(spec.matrix, 0, True) & _reach(spec.matrix, n - 1, False)
    return live if {0, n - 1} <= live else set()


def prune(spec: CellSpec) -> CellSpec:
    """Drop vertices not on an input -> output path, as the benchmark does before building."""
    keep = sorted(_on_path(spec))
    matrix = tuple(tuple(spec.matrix[i][j] for j in keep) for i in keep)
    return CellSpec(matrix, tuple(spec.ops[i] for i in keep))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def module_hash(spec: CellSpec | str) -> str:
    """The benchmark's isomorphism-invariant fingerprint of the pruned cell.

    Vertex labels are (out-degree, in-degree, op label) with input = -1, output = -2 and the
    operations numbered by `OPS`; ``n`` rounds of neighbourhood hashing (sorted in- and
    out-neighbour hashes) follow, and the fingerprint is the MD5 of the sorted final hashes.
    """
    spec = prune(parse_arch(spec) if isinstance(spec, str) else spec)
    n = spec.num_vertices
    labels = [-1] + [OPS.index(op) for op in spec.ops[1:-1]] + [-2]
    out_deg = [sum(spec.matrix[v]) for v in range(n)]
    in_deg = [sum(spec.matrix[u][v] for u in range(n)) for v in range(n)]
    hashes = [_md5(str((out_deg[v], in_deg[v], labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[u] for u in range(n) if spec.matrix[u][v]))
                + "|"
                + "".join(sorted(hashes[w] for w in range(n) if spec.matrix[v][w]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def canonical_form(arch: str) -> str:
    return module_hash(arch)


def vertex_channels(c_in: int, c_out: int, matrix) -> list[int]:
    """Channels of each vertex of a pruned cell (the benchmark's split of ``c_out``).

    Vertices feeding the output share ``c_out`` (the first ``c_out mod k`` get one extra channel);
    every other interior vertex takes the largest width among its successors, so that an edge
    into a narrower vertex only ever drops (truncates) channels.
    """
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    if n == 2:
        return channels
    into_output = sum(matrix[v][n - 1] for v in range(1, n - 1))
    base, extra = divmod(c_out, into_output)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = base + (1 if extra else 0)
            extra -= 1 if extra else 0
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            channels[v] = max((channels[w] for w in range(v + 1, n - 1) if matrix[v][w]), default=0)
    if any(c <= 0 for c in channels[1:-1]):
        raise ArchSpecError(f"vertex without channels in {matrix}; was the cell pruned?")
    return channels


def dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise SpaceError(f"unknown NB101 dataset {name!r}; expected one of {sorted(DATASETS)}") from None
