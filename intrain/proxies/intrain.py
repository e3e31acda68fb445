"""InTrain: gamma * (1 + o) / log(L + 1) from the probe's per-layer PR and per-parameter gradient health."""

from __future__ import annotations

from typing import TYPE_CHECKING

from intrain.core.trainability import intrain_from_stats
from intrain.engine.probe import READ_TYPES
from intrain.proxies.base import Proxy, register

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult


@register
class InTrain(Proxy):
    """gamma * (1 + o) / log(L + 1) from per-layer PR and per-parameter gradient health.

    Reference: [InTrain, CVPR 2026][ref-intrain] on the references page.
    """

    name = "intrain"
    layer_types = READ_TYPES
    reads_loss = True
    # activations are read at the layer's output and gradient health over every trainable tensor,
    # so a parametrized layer's leaves (``parametrizations.weight.original*``) are read as they are
    reads_parametrized = True
    components = ("score", "gamma", "o", "n_layers")

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        s = probe.layer_stats
        g = probe.param_stats
        return intrain_from_stats(s[:, 0], s[:, 1], s[:, 2], g[:, 0], g[:, 1])
