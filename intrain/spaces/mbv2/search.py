"""The MobileNetV2 space as an Algorithm 1 problem (:mod:`intrain.evolution`): mutations within a FLOPs budget."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .encoding import (EXPANSIONS, INITIAL, KERNELS, LAYER_DELTAS, RESOLUTION, WIDTH_FACTORS, Spec, flops, max_layers,
                       params, parse_spec)


def _scale(width: int, factor: float) -> int:
    return max(8, int(round(width * factor / 8)) * 8)


def mutate_once(spec: Spec, rng: np.random.Generator, layer_cap: int) -> Spec:
    """One random edit of one stage: kernel, expansion, output width, bottleneck width or depth."""
    i = int(rng.integers(len(spec.stages)))
    stage = spec.stages[i]
    what = rng.choice(["kernel", "expansion", "out", "bottleneck", "layers"])
    if what == "kernel":
        new = replace(stage, kernel=int(rng.choice([k for k in KERNELS if k != stage.kernel])))
    elif what == "expansion":
        new = replace(stage, expansion=int(rng.choice([e for e in EXPANSIONS if e != stage.expansion])))
    elif what in ("out", "bottleneck"):
        new = replace(stage, **{what: _scale(getattr(stage, what), float(rng.choice(WIDTH_FACTORS)))})
    else:
        layers = stage.layers + int(rng.choice(LAYER_DELTAS))
        room = layer_cap - (spec.n_layers - stage.layers)
        new = replace(stage, layers=int(min(max(1, layers), room)))
    stages = list(spec.stages)
    stages[i] = new
    return replace(spec, stages=tuple(stages))


def mutate(spec: Spec, rng: np.random.Generator, budget: float, resolution: int = RESOLUTION,
           max_tries: int = 1000) -> Spec:
    """A mutated spec within ``budget`` FLOPs and the layer cap (never the parent itself)."""
    cap = max_layers(budget)
    for _ in range(max_tries):
        child = mutate_once(spec, rng, cap)
        if child != spec and child.n_layers <= cap and flops(child, resolution) <= budget:
            return child
    raise RuntimeError(f"no mutation of the parent fits {budget:.3g} FLOPs in {max_tries} tries")


@dataclass
class BudgetedSpace:
    """The search problem Algorithm 1 runs on: start, mutate, key (see :mod:`intrain.evolution`)."""

    budget: float
    resolution: int = RESOLUTION
    initial: Spec = field(default_factory=lambda: INITIAL)

    def __post_init__(self) -> None:
        if flops(self.initial, self.resolution) > self.budget:
            raise ValueError(f"the initial spec ({flops(self.initial, self.resolution):.3g} FLOPs) exceeds "
                             f"the budget {self.budget:.3g}")

    def start(self, rng: np.random.Generator) -> str:
        return self.initial.to_json()

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        return mutate(parse_spec(arch), rng, self.budget, self.resolution).to_json()

    def describe(self, arch: str) -> dict[str, float]:
        spec = parse_spec(arch)
        return {"flops": float(flops(spec, self.resolution)), "params": float(params(spec)),
                "layers": float(spec.n_layers)}
