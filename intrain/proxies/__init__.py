"""Zero-cost proxies: a registry of reductions over one fused probe pass.

Each proxy declares the statistics it needs and reduces a :class:`~intrain.probe.ProbeResult`
to named scalars; ``score`` is the value ranked against accuracy. Adding a proxy is adding a
class with ``@register``; the scorer and the HDF5 writer need no change.
"""

from __future__ import annotations

from typing import ClassVar

from ..probe import ProbeResult
from ..trainability import intrain_from_stats


class Proxy:
    name: ClassVar[str]
    #: True where a larger score predicts a better architecture.
    higher_is_better: ClassVar[bool] = True
    #: Statistics the probe must collect: "layer_cov", "param_grads".
    needs: ClassVar[frozenset[str]] = frozenset()
    version: ClassVar[int] = 1

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        raise NotImplementedError


REGISTRY: dict[str, type[Proxy]] = {}


def register(cls: type[Proxy]) -> type[Proxy]:
    if cls.name in REGISTRY:
        raise ValueError(f"proxy {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def get_proxy(name: str) -> Proxy:
    try:
        return REGISTRY[name]()
    except KeyError:
        raise ValueError(f"unknown proxy {name!r}; available: {sorted(REGISTRY)}") from None


@register
class InTrain(Proxy):
    """gamma * (1 + o) / log(L + 1) from per-layer PR and per-parameter gradient health."""

    name = "intrain"
    needs = frozenset({"layer_cov", "param_grads"})

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        s = probe.layer_stats
        g = probe.param_stats
        return intrain_from_stats(s[:, 0], s[:, 1], s[:, 2], g[:, 0], g[:, 1])


@register
class NumParams(Proxy):
    """Trainable parameter count of the network (needs no pass; filled in by the scorer)."""

    name = "params"
    needs = frozenset()

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        return {"score": float(probe.extras["params"])}
