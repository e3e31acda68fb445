"""Zen-NAS: the feature map's response to a small input perturbation, with N(0, 1) weights.

The feature map is the network's pre-pooling output ([`PassContext.features`][intrain.engine.passes.PassContext.features]: the
``features`` option, ``forward_features``, or a transformers backbone's ``last_hidden_state``):
maps (N, C, H, W) or tokens (N, T, C) alike, since the response sums over every non-batch unit.
The BN term reads every BatchNorm's running variance; LayerNorm and GroupNorm keep none, so a
network normalised only by them has a BN term of 0 (docs/layers.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from intrain.engine.moments import samples_first
from intrain.proxies.base import (
    PassContext,
    Proxy,
    Undefined,
    float_inputs,
    gaussian_init,
    output,
    register,
    register_pass,
)

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult


@register_pass("zen")
def zen_pass(ctx: PassContext) -> dict[str, Any]:
    """log E_x sum|f(x) - f(x + 0.01 e)| + sum_BN log sqrt(mean running_var), N(0,1) weights."""
    float_inputs(ctx.x, "zen (x + 0.01 e, a Gaussian perturbation of the input)")
    model = ctx.build()
    gaussian_init(model, ctx.generator(11))
    model.train()
    gen = ctx.generator(12)
    noise = torch.randn(ctx.x.shape, generator=gen).to(ctx.x.device)
    with torch.no_grad():
        f1 = ctx.features(model, ctx.x)
        f2 = ctx.features(model, ctx.x + 0.01 * noise)
        batch = ctx.x.shape[0]  # sequence-first features (T, N, C): samples first, then per-sample sums
        f1, f2 = samples_first(f1, batch), samples_first(f2, batch)
        delta = float((f1 - f2).abs().flatten(1).sum(dim=1).mean())
        if delta != delta or delta == float("inf"):
            raise Undefined(
                "zen: the feature map is not finite under Zen's N(0, 1) weights (it overflowed float32 "
                "in this deep or wide network), so its response to a perturbation is undefined"
            )
        bn_log = 0.0
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_var is not None:
                bn_log += float(torch.log(torch.sqrt(m.running_var.double().mean())))
    score = (float(torch.log(torch.tensor(delta, dtype=torch.float64))) if delta > 0 else float("-inf")) + bn_log
    return {"score": score, "delta": delta, "bn_log_scale": bn_log}


@register
class Zen(Proxy):
    """log of the feature-map response to a small input perturbation, BN-rescaled (Zen-NAS).

    Reference: [Lin et al., ICCV 2021][ref-zen-nas] on the references page.
    """

    name = "zen"
    needs = frozenset({"zen"})
    components = ("score", "delta", "bn_log_scale")

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        return dict(output(probe, "zen"))
