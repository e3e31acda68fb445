"""ZiCo: inverse coefficient of variation of the weight gradients over two half-batches."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from intrain.proxies import formulas
from intrain.proxies.base import (
    WEIGHTED,
    PassContext,
    Proxy,
    check_plain_weights,
    register,
    register_pass,
    weighted_modules,
)


def _zico_over(ctx: PassContext, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, Any]:
    """ZiCo from the conv/linear weight gradients of the CE loss on each batch, train mode."""
    model = ctx.build().train()
    check_plain_weights(model, "zico")
    mods = [(n, m) for n, m in weighted_modules(model) if m.weight.requires_grad]  # frozen layers: not read
    per_layer: list[list[torch.Tensor]] = [[] for _ in mods]
    for x, y in batches:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        for k, (_, m) in enumerate(mods):
            g = m.weight.grad
            per_layer[k].append(torch.zeros_like(m.weight).reshape(-1) if g is None else g.detach().reshape(-1))
    return {"score": formulas.zico_score([torch.stack(g) for g in per_layer])}


@register_pass("zico")
def zico_pass(ctx: PassContext) -> dict[str, Any]:
    """The two halves of the scoring batch (this project's uniform protocol: one batch of B for all proxies)."""
    half = max(1, ctx.x.shape[0] // 2)
    return _zico_over(ctx, [(ctx.x[sl], ctx.y[sl]) for sl in (slice(0, half), slice(half, 2 * half))])


@register_pass("zico_batches")
def zico_batches_pass(ctx: PassContext) -> dict[str, Any]:
    """ZiCo as its AZ-NAS/VKDNW NB201 ports run it: two whole batches of B images (the loader's first two)."""
    return _zico_over(ctx, [ctx.batch(0), ctx.batch(1)])


@register
class Zico(Proxy):
    """sum_l log sum mean|g|/std(g) of gradients over two half-batches (ZiCo); under the
    reference protocol over two whole batches of B real images.

    Reference: [Li et al., ICLR 2023][ref-zico] on the references page.
    """

    name = "zico"
    layer_types = WEIGHTED
    reads_loss = True
    reference_input = "real"
    # The VKDNW run scores ZiCo on the network instance the proxies before it re-initialised
    # Kaiming fan-in (jacov, az_nas); ZiCo itself re-initialises nothing.
    reference_init = "kaiming"
    score_from = ("zico", "score")
    reference_from = ("zico_batches", "score")
