"""NAS-Bench-201 (NATS-Bench topology search space): arch strings, cells, networks.

Architecture strings use the benchmark's encoding ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``:
group ``i`` (1-based) lists the edges into cell node ``i``, each ``op~j`` naming the operation
applied to node ``j``. Node 0 is the cell input, node 3 the cell output.

The network follows the benchmark's reference model (AutoDL ``tiny_network``): a 3x3 stem conv
+ BN, three stages of N=5 cells (C, 2C, 4C channels) joined by residual reduction blocks, a
final BN + ReLU, global average pooling and a linear head. Operations are ReLU -> Conv(bias
False) -> BN(affine) as in the benchmark (not the SamsungLabs copy, which differs).

Dead computation. An edge whose input is identically zero (its source node receives only
``none`` edges) or whose output never reaches the cell output does no useful work. With
``prune=True`` (the default) such edges are not instantiated at all; the cell computes the same
function at initialisation and its per-layer statistics are those of the live graph. This is
also what makes isomorphic cells (same `canonical_form`) equal in distribution.

This module holds the encoding (arch strings, cells, canonical form) and does not import torch;
the network is in `.network`.

Examples:
    >>> normalize_arch(" |nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2| ")
    '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'
    >>> canonical_form("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    'x'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from intrain.core.errors import InputError
from intrain.spaces.base import DatasetSpec, SpaceError

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_NODES = 4  # node 0 = input, node 3 = output
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(1, NUM_NODES) for j in range(i))
NUM_ARCHS = len(OPS) ** len(EDGES)  # 15,625


DATASETS: dict[str, DatasetSpec] = {
    "cifar10": DatasetSpec("cifar10", 10, 32),
    "cifar100": DatasetSpec("cifar100", 100, 32),
    "ImageNet16-120": DatasetSpec("ImageNet16-120", 120, 16),
}


class ArchStringError(InputError):
    """A NB201 architecture string that does not follow the benchmark's encoding."""


def dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise SpaceError(f"unknown NB201 dataset {name!r}; expected one of {sorted(DATASETS)}") from None


# ----------------------------------------------------------------------------- arch strings

_NODE_RE = re.compile(r"^\|(.*)\|$")


@dataclass(frozen=True)
class Cell:
    """A parsed NB201 cell: ``ops[(i, j)]`` is the op on the edge from node j into node i."""

    ops: tuple[str, ...]  # in EDGES order

    def op(self, i: int, j: int) -> str:
        return self.ops[EDGES.index((i, j))]

    def to_str(self) -> str:
        groups = []
        for i in range(1, NUM_NODES):
            groups.append("|" + "|".join(f"{self.op(i, j)}~{j}" for j in range(i)) + "|")
        return "+".join(groups)

    @property
    def code(self) -> int:
        """Position in the lexicographic enumeration of cells (first edge varies fastest).

        Not the benchmark's index: NB201 stores cells in its own order, which only the
        benchmark table knows (see [`intrain.spaces.Space.benchmark_index`][intrain.spaces.base.Space.benchmark_index]).
        """
        code = 0
        for op in reversed(self.ops):
            code = code * len(OPS) + OPS.index(op)
        return code

    @classmethod
    def from_code(cls, code: int) -> Cell:
        if not 0 <= int(code) < NUM_ARCHS:
            raise IndexError(f"NB201 cell code {code} out of range [0, {NUM_ARCHS})")
        ops = []
        for _ in EDGES:
            ops.append(OPS[code % len(OPS)])
            code //= len(OPS)
        return cls(tuple(ops))


EXAMPLE_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"
_FORMAT = (
    f"an NB201 arch string is 3 '+'-joined node groups |op~j|...| where group i lists the edges into "
    f"node i from nodes j = 0..i-1, e.g. {EXAMPLE_ARCH!r}"
)


def parse_arch(arch: str) -> Cell:
    """Parse an arch string, raising `ArchStringError` that says which edge or op is wrong.

    Examples:
        >>> parse_arch("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")
        Traceback (most recent call last):
        ...
        intrain.spaces.nb201.encoding.ArchStringError: '|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|': edge 1 of node 1 (node 0 -> node 1): unknown operation 'conv'; allowed: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3
    """
    if not isinstance(arch, str):
        raise ArchStringError(f"arch string must be str, got {type(arch).__name__}; {_FORMAT}")
    shown = arch if len(arch) <= 200 else arch[:200] + "..."
    groups = arch.strip().split("+")
    if len(groups) != NUM_NODES - 1:
        raise ArchStringError(
            f"{shown!r}: expected {NUM_NODES - 1} '+'-separated node groups, got {len(groups)}; {_FORMAT}"
        )
    ops: dict[tuple[int, int], str] = {}
    for i, group in enumerate(groups, start=1):
        m = _NODE_RE.match(group)
        if not m:
            raise ArchStringError(
                f"{shown!r}: node group {i} {group[:80]!r} must look like |op~j|...| "
                f"(start and end with '|'); {_FORMAT}"
            )
        items = m.group(1).split("|")
        if len(items) != i:
            raise ArchStringError(
                f"{shown!r}: node {i} must have exactly {i} incoming edges (one from each of nodes "
                f"{', '.join(map(str, range(i)))}), got {len(items)}"
            )
        for k, item in enumerate(items, start=1):
            where = f"edge {k} of node {i}"
            op, sep, src = item.partition("~")
            if not sep or not (src.isascii() and src.isdigit()):
                raise ArchStringError(
                    f"{shown!r}: {where} is {item[:80]!r}, must look like op~j "
                    f"(an operation, '~', the source node number)"
                )
            j = int(src)
            if j >= i:
                raise ArchStringError(
                    f"{shown!r}: {where} ({item!r}) comes from node {j}; "
                    f"an edge into node {i} must come from a node < {i}"
                )
            if op not in OPS:
                raise ArchStringError(
                    f"{shown!r}: {where} (node {j} -> node {i}): unknown operation {op[:80]!r}; "
                    f"allowed: {', '.join(OPS)}"
                )
            if (i, j) in ops:
                raise ArchStringError(
                    f"{shown!r}: {where}: duplicate edge from node {j} into node {i}; "
                    "each source node appears once per group"
                )
            ops[(i, j)] = op
    return Cell(tuple(ops[e] for e in EDGES))


def normalize_arch(arch: str) -> str:
    """The arch string in canonical spelling (validated)."""
    return parse_arch(arch).to_str()


def all_cells() -> list[Cell]:
    """Every NB201 cell, in lexicographic code order."""
    return [Cell.from_code(c) for c in range(NUM_ARCHS)]


# ----------------------------------------------------------------------------- cell analysis


def live_edges(cell: Cell) -> tuple[tuple[int, int], ...]:
    """Edges that carry a non-zero signal from the cell input to the cell output."""
    nonzero = {0}
    for i in range(1, NUM_NODES):
        if any(cell.op(i, j) != "none" and j in nonzero for j in range(i)):
            nonzero.add(i)
    reaches_out = {NUM_NODES - 1}
    for j in range(NUM_NODES - 2, -1, -1):
        if any(cell.op(i, j) != "none" and i in reaches_out for i in range(j + 1, NUM_NODES)):
            reaches_out.add(j)
    return tuple((i, j) for (i, j) in EDGES if cell.op(i, j) != "none" and j in nonzero and i in reaches_out)


def canonical_form(arch: str | Cell) -> str:
    """A string equal for cells that compute the same function up to weight renaming.

    Sums through ``skip_connect`` are flattened and terms sorted, so the form is the multiset of
    parametrised paths from input to output. ``"0"`` is the zero cell (output unreachable).
    Partitions the 15,625 NB201 cells into the benchmark's 6,466 classes (tested).
    """
    cell = arch if isinstance(arch, Cell) else parse_arch(arch)
    live = set(live_edges(cell))
    terms: dict[int, list[str]] = {0: ["x"]}
    for i in range(1, NUM_NODES):
        node_terms: list[str] = []
        for j in range(i):
            if (i, j) not in live:
                continue
            op = cell.op(i, j)
            if op == "skip_connect":
                node_terms.extend(terms[j])
            else:
                node_terms.append(f"{op}({'+'.join(terms[j])})")
        terms[i] = sorted(node_terms)
    out = terms[NUM_NODES - 1]
    return "+".join(out) if out else "0"


@lru_cache(maxsize=1)
def canonical_classes() -> dict[str, list[str]]:
    """Canonical form -> arch strings of its members, over the whole space."""
    classes: dict[str, list[str]] = {}
    for cell in all_cells():
        classes.setdefault(canonical_form(cell), []).append(cell.to_str())
    return classes


def conv_macs(
    arch: str | Cell, dataset: str, reference: bool = True, channels: int = 16, cells_per_stage: int = 5
) -> int:
    """Multiply-accumulates of the conv and linear layers for one image, counted analytically
    (torch-free, the convention of [`intrain.proxies.base.count_macs`][intrain.proxies.base.count_macs]; AutoDL's
    ``flop_benchmark`` adds the classifier bias, ``num_classes`` more).

    ``reference=True``: the benchmark's network, every non-``none`` conv edge counted (dead
    ones too, as its cost API does); ``False``: the pruned network (live edges only).
    """
    cell = arch if isinstance(arch, Cell) else parse_arch(arch)
    spec = dataset_spec(dataset)
    edges = [e for e in EDGES if cell.op(*e) != "none"] if reference else list(live_edges(cell))
    k2 = {"nor_conv_3x3": 9, "nor_conv_1x1": 1}
    per_cell = sum(k2.get(cell.op(*e), 0) for e in edges)  # x C^2 x side^2
    side, c = spec.resolution, channels
    total = 3 * c * 9 * side * side  # stem
    for stage in range(3):
        if stage > 0:
            side = (side + 1) // 2
            total += c * 2 * c * 9 * side * side + (2 * c) ** 2 * 9 * side * side + c * 2 * c * side * side
            c *= 2
        total += cells_per_stage * per_cell * c * c * side * side
    return total + c * spec.num_classes
