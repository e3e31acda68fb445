"""NB201 as an Algorithm 1 problem (`intrain.search.evolution`): one edge's operation per mutation,
so the search loop is validated where ground truth exists."""

from __future__ import annotations

import numpy as np

from intrain.spaces.nb201.encoding import EDGES, OPS, Cell, parse_arch


class NB201Edges:
    """A random cell to start, one edge's operation changed per mutation.

    Examples:
        >>> problem, rng = NB201Edges(), np.random.default_rng(0)
        >>> arch = problem.start(rng)
        >>> sum(a != b for a, b in zip(parse_arch(arch).ops, parse_arch(problem.mutate(arch, rng)).ops))
        1
    """

    def start(self, rng: np.random.Generator) -> str:
        return Cell(tuple(OPS[int(i)] for i in rng.integers(len(OPS), size=len(EDGES)))).to_str()

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        ops = list(parse_arch(arch).ops)
        e = int(rng.integers(len(ops)))
        ops[e] = str(rng.choice([op for op in OPS if op != ops[e]]))
        return Cell(tuple(ops)).to_str()

    def describe(self, arch: str) -> dict[str, float]:
        return {}
