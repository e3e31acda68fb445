"""NAS-Bench-101 as the peers write it: NASLib's 56-tuple, the module hash, the pruned cell.

``naslib``       the pruned cell padded to 7 vertices as NASLib pads (empty vertices before the
                 output, op conv3x3), the flattened 7x7 matrix then op ids (0 input, 1 output,
                 2 maxpool3x3, 3 conv1x1-bn-relu, 4 conv3x3-bn-relu); NASLib's ``convert_to_cell``
                 and NAS-Bench-Suite-Zero's ``zc_nasbench101.json`` keys
``hash``         the benchmark's module hash (`.encoding.module_hash`), how zero-cost-nas's
                 ``nasbench1_pred.py`` keys its records; one-way (found in the benchmark table)
``pruned_arch``  the arch string of the cell the benchmark trains (`.encoding.prune`)

Examples:
    >>> t = NASLibTuple().encode("0100-0010-0001-0000|conv3x3,maxpool3x3")
    >>> len(t), NASLibTuple().decode(t)
    (56, '0100-0010-0001-0000|conv3x3,maxpool3x3')
"""

from __future__ import annotations

from typing import Any

from intrain.core.errors import InputError
from intrain.spaces.nb101.encoding import MAX_VERTICES, OPS, make_spec, module_hash, parse_arch, prune
from intrain.spaces.peers import Encoding, check_ints

__all__ = ["NASLIB_OPS", "ModuleHash", "NASLibTuple", "PrunedArch"]

#: NASLib's ``all_ops`` (naslib/search_spaces/nasbench101/conversions.py).
NASLIB_OPS: tuple[str, ...] = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
_PAD_OP = OPS[0]  # NASLib pads with conv3x3


class NASLibTuple(Encoding):
    """NASLib's flattened (matrix, ops) tuple of the pruned cell, padded to 7 vertices."""

    name = "naslib"
    guess = r"[\(\[].*"
    exported = True

    def encode(self, arch: str) -> tuple[int, ...]:
        cell = prune(parse_arch(arch))
        n, m = cell.num_vertices, MAX_VERTICES
        matrix = [[0] * m for _ in range(m)]
        for i in range(n):  # interior vertices keep their place, the output moves to the last one
            for j in range(n):
                if cell.matrix[i][j]:
                    matrix[i][m - 1 if j == n - 1 else j] = 1
        ops = [*cell.ops[:-1], *[_PAD_OP] * (m - n), "output"]
        return tuple(v for row in matrix for v in row) + tuple(NASLIB_OPS.index(op) for op in ops)

    def decode(self, value: Any) -> str:
        """The pruned cell's arch string of a tuple of any ``n * n + n`` length."""
        t = check_ints(value, None, "a NASLib NB101 tuple", len(NASLIB_OPS))
        n = next((k for k in range(2, MAX_VERTICES + 1) if k * k + k == len(t)), None)
        if n is None:
            raise InputError(f"a NASLib NB101 tuple has n*n + n entries (56 for 7 vertices), got {len(t)}")
        if any(v > 1 for v in t[: n * n]):
            raise InputError(f"NASLib NB101 tuple: the first {n * n} entries are a 0/1 matrix, got {t[: n * n]}")
        matrix = [list(t[i * n : (i + 1) * n]) for i in range(n)]
        return prune(make_spec(matrix, [NASLIB_OPS[v] for v in t[n * n :]])).to_str()


class ModuleHash(Encoding):
    """The benchmark's module hash (one-way: ``convert`` finds it in the benchmark table)."""

    name = "hash"
    guess = r"[0-9a-f]{32}"
    reversible = False
    exported = True

    def encode(self, arch: str) -> str:
        return module_hash(arch)


class PrunedArch(Encoding):
    """The arch string of the pruned cell (what the benchmark builds and trains)."""

    name = "pruned_arch"

    def encode(self, arch: str) -> str:
        return prune(parse_arch(arch)).to_str()

    def decode(self, value: Any) -> str:
        return self.encode(str(value))
