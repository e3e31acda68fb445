"""Zen-NAS: the feature map's response to a small input perturbation, with N(0, 1) weights."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from intrain.proxies.base import PassContext, Proxy, gaussian_init, output, register, register_pass

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult


@register_pass("zen")
def zen_pass(ctx: PassContext) -> dict[str, Any]:
    """log E_x sum|f(x) - f(x + 0.01 e)| + sum_BN log sqrt(mean running_var), N(0,1) weights."""
    model = ctx.build()
    gaussian_init(model, ctx.generator(11))
    model.train()
    gen = ctx.generator(12)
    noise = torch.randn(ctx.x.shape, generator=gen).to(ctx.x.device)
    with torch.no_grad():
        f1 = ctx.features(model, ctx.x)
        f2 = ctx.features(model, ctx.x + 0.01 * noise)
        delta = float((f1 - f2).abs().flatten(1).sum(dim=1).mean())
        bn_log = 0.0
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d) and m.running_var is not None:
                bn_log += float(torch.log(torch.sqrt(m.running_var.double().mean())))
    score = (float(torch.log(torch.tensor(delta, dtype=torch.float64))) if delta > 0 else float("-inf")) + bn_log
    return {"score": score, "delta": delta, "bn_log_scale": bn_log}


@register
class Zen(Proxy):
    """log of the feature-map response to a small input perturbation, BN-rescaled (Zen-NAS)."""

    name = "zen"
    needs = frozenset({"zen"})
    components = ("score", "delta", "bn_log_scale")

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        return dict(output(probe, "zen"))
