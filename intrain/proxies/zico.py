"""ZiCo: inverse coefficient of variation of the weight gradients over two half-batches."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .. import formulas
from .base import PassContext, Proxy, register, register_pass, weighted_modules


@register_pass("zico")
def zico_pass(ctx: PassContext) -> dict[str, Any]:
    """Conv/linear weight gradients of the CE loss on each half of the batch (ZiCo's NB201 port)."""
    model = ctx.build().train()
    mods = weighted_modules(model)
    half = max(1, ctx.x.shape[0] // 2)
    per_layer: list[list[torch.Tensor]] = [[] for _ in mods]
    for sl in (slice(0, half), slice(half, 2 * half)):
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(ctx.x[sl]), ctx.y[sl]).backward()
        for k, (_, m) in enumerate(mods):
            g = m.weight.grad
            per_layer[k].append(torch.zeros_like(m.weight).reshape(-1) if g is None else g.detach().reshape(-1))
    return {"score": formulas.zico_score([torch.stack(g) for g in per_layer])}


@register_pass("zico_batches")
def zico_batches_pass(ctx: PassContext) -> dict[str, Any]:
    """ZiCo as its AZ-NAS/VKDNW NB201 ports run it: the CE gradients of two whole batches of B
    images (the loader's first two), conv/linear weights, train mode."""
    model = ctx.build().train()
    mods = weighted_modules(model)
    per_layer: list[list[torch.Tensor]] = [[] for _ in mods]
    for k in (0, 1):
        x, y = ctx.batch(k)
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        for j, (_, m) in enumerate(mods):
            g = m.weight.grad
            per_layer[j].append(torch.zeros_like(m.weight).reshape(-1) if g is None else g.detach().reshape(-1))
    return {"score": formulas.zico_score([torch.stack(g) for g in per_layer])}


@register
class Zico(Proxy):
    """sum_l log sum mean|g|/std(g) of gradients over two half-batches (ZiCo); under the
    reference protocol over two whole batches of B real images."""

    name = "zico"
    reference_input = "real"
    # The VKDNW run scores ZiCo on the network instance the proxies before it re-initialised
    # Kaiming fan-in (jacov, az_nas); ZiCo itself re-initialises nothing.
    reference_init = "kaiming"
    score_from = ("zico", "score")
    reference_from = ("zico_batches", "score")
