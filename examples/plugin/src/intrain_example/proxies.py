"""A plugin proxy with its own probe collector: the fraction of ReLU outputs that are not zero.

A proxy is a `intrain.proxies.base.Proxy` subclass with a `name`, what it `needs`
(collectors ride on InTrain's probe pass; passes run separately) and `compute`. Registering a
collector or a pass makes it available to every proxy.
"""

from __future__ import annotations

import torch
from torch import nn

from intrain.proxies.base import Collector, Proxy, output, register, register_collector


@register_collector
class ReluActivity(Collector):
    """Counts non-zero and total ReLU outputs during the probe's forward."""

    name = "relu_activity"
    description = "non-zero and total ReLU outputs of the probe's forward"

    def __init__(self, model: nn.Module):
        super().__init__(model)
        self.alive = torch.zeros((), dtype=torch.float64)
        self.total = 0
        self.handles = [m.register_forward_hook(self._count) for m in model.modules() if isinstance(m, nn.ReLU)]

    def _count(self, module: nn.Module, inputs, out: torch.Tensor) -> None:
        self.alive = self.alive + (out.detach() > 0).sum().double().cpu()
        self.total += out.numel()

    def result(self) -> dict[str, float]:
        return {"alive": float(self.alive), "total": float(self.total)}


@register
class AliveFraction(Proxy):
    """Fraction of ReLU outputs that are positive on the scoring batch (NaN without ReLUs).

    Examples:
        >>> import intrain
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> 0 < intrain.score(net, ["intrain_example.proxies:AliveFraction"], batch_size=4, device="cpu")["alive_fraction"] < 1
        True
    """

    name = "alive_fraction"
    needs = frozenset({"relu_activity"})

    def compute(self, probe) -> dict[str, float]:
        counts = output(probe, "relu_activity")
        return {"score": counts["alive"] / counts["total"] if counts["total"] else float("nan")}
