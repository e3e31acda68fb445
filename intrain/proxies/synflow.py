"""SynFlow: the synaptic flow of the |weight| network on an all-ones input."""

from __future__ import annotations

from typing import Any

import torch

from intrain.proxies.base import (
    WEIGHTED,
    PassContext,
    Proxy,
    check_plain_weights,
    float_inputs,
    register,
    register_pass,
    weighted_modules,
)


@register_pass("synflow")
def synflow_pass(ctx: PassContext) -> dict[str, Any]:
    """sum |w * dR/dw| with R the output sum for an all-ones input, |weights|, float64, BN off.

    BN is bypassed by eval mode at initialisation (running mean 0, variance 1, affine 1/0):
    each BN is then the identity up to 1/sqrt(1 + eps).
    """
    float_inputs(ctx.x, "SynFlow (an all-ones input of the scoring batch's shape)")
    model = ctx.build().double().eval()
    check_plain_weights(model, "synflow")
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    x = torch.ones((1,) + tuple(ctx.x.shape[1:]), dtype=torch.float64, device=ctx.x.device)
    model.zero_grad(set_to_none=True)
    model(x).sum().backward()
    score = 0.0
    for _, m in weighted_modules(model):
        if m.weight.grad is not None:
            score += float((m.weight.detach() * m.weight.grad).abs().sum())
    return {"score": score}


@register
class Synflow(Proxy):
    """sum |w * dR/dw|, R the output sum of the |weight| network on an all-ones input.

    Reference: [Tanaka et al., NeurIPS 2020][ref-synflow] on the references page.
    """

    name = "synflow"
    layer_types = WEIGHTED
    reference_init = "kaiming"  # AZ-NAS/VKDNW NB201 ports re-init before scoring
    score_from = ("synflow", "score")
