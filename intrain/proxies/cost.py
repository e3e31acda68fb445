"""Cost proxies: #Params (from the probe's network) and FLOPs (conv + linear multiply-accumulates)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from intrain.proxies.base import PassContext, Proxy, count_macs, register, register_pass

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult


@register
class NumParams(Proxy):
    """Parameter count of the network, frozen (``requires_grad=False``) parameters included: the
    model's size, which freezing does not change (needs no pass; filled in by the scorer)."""

    name = "params"

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        return {"score": float(probe.extras["params"])}


@register_pass("flops")
def flops_pass(ctx: PassContext) -> dict[str, Any]:
    """Multiply-accumulates of conv and linear layers for one input at the scoring resolution."""
    return {"macs": float(count_macs(ctx.build(), ctx.x))}


@register
class Flops(Proxy):
    """Multiply-accumulates of conv and linear layers for one input at the scoring resolution."""

    name = "flops"
    score_from = ("flops", "macs")
