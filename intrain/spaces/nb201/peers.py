"""NB201 as the peers write it: NASLib's op-index tuple and NATS-Bench's op ids, on the space's own parser.

``naslib``  six op ids in NASLib's order (0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1,
            4 avg_pool_3x3) at the positions of NASLib's EDGE_LIST ((1,2),(1,3),(1,4),(2,3),(2,4),(3,4)),
            nodes 1-based (naslib/search_spaces/nasbench201/conversions.py); NAS-Bench-Suite-Zero's
            ``zc_nasbench201.json`` keys architectures by its text
``op_ids``  six op ids in NATS-Bench's order (`.encoding.OPS`) in arch-string order
            (``str2matrix``'s numbers)

zero-cost-nas's ``nasbench2_pred.py`` keys its records by the arch string and the benchmark
index ([`intrain.spaces.peers.ArchRecord`][intrain.spaces.peers.ArchRecord]). Researchers keep asking what a NASLib tuple
such as ``(4, 0, 3, 1, 4, 3)`` means (automl/NASLib #144 #171):

Examples:
    >>> NASLibTuple().decode((4, 0, 3, 1, 4, 3))
    '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|'
"""

from __future__ import annotations

from typing import Any

from intrain.spaces.nb201.encoding import EDGES, OPS, Cell, parse_arch
from intrain.spaces.peers import Encoding, check_ints

__all__ = ["NASLIB_EDGES", "NASLIB_OPS", "NASLibTuple", "OpIds"]

#: NASLib's ``OP_NAMES_NB201``.
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: NASLib's ``EDGE_LIST`` (from node, to node), nodes 1-based.
NASLIB_EDGES: tuple[tuple[int, int], ...] = ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))
#: NASLib tuple position of each arch-string edge (into node i from node j): NASLib edge (j + 1, i + 1).
_NASLIB_POS: tuple[int, ...] = tuple(NASLIB_EDGES.index((j + 1, i + 1)) for i, j in EDGES)


class NASLibTuple(Encoding):
    """NASLib's op-index tuple of an NB201 cell.

    Examples:
        >>> NASLibTuple().encode("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|")
        (4, 0, 3, 1, 4, 3)
    """

    name = "naslib"
    guess = r"[\(\[].*"
    exported = True

    def encode(self, arch: str) -> tuple[int, ...]:
        out = [0] * len(EDGES)
        for k, op in enumerate(parse_arch(arch).ops):
            out[_NASLIB_POS[k]] = NASLIB_OPS.index(op)
        return tuple(out)

    def decode(self, value: Any) -> str:
        t = check_ints(value, len(EDGES), "a NASLib NB201 tuple", len(NASLIB_OPS))
        return Cell(tuple(NASLIB_OPS[t[_NASLIB_POS[k]]] for k in range(len(EDGES)))).to_str()


class OpIds(Encoding):
    """NATS-Bench op ids in arch-string order (must be named: it looks like an index list).

    Examples:
        >>> OpIds().decode("4 1 0 2 4 2")
        '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|'
    """

    name = "op_ids"

    def encode(self, arch: str) -> tuple[int, ...]:
        return tuple(OPS.index(op) for op in parse_arch(arch).ops)

    def decode(self, value: Any) -> str:
        return Cell(tuple(OPS[v] for v in check_ints(value, len(EDGES), "NB201 op ids", len(OPS)))).to_str()
