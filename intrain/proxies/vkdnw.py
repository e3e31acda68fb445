"""VKDNW: number of parameter tensors + entropy of the Fisher information spectrum's deciles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch.func import functional_call, jacrev, vmap

from intrain.proxies import formulas
from intrain.proxies.base import PassContext, Proxy, kaiming_fanin_init, output, register, register_pass

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult

#: Samples per vmap chunk of VKDNW's per-sample Jacobians: 100+ logits otherwise take tens of GB on a GPU.
VKDNW_CHUNK = 16


@register_pass("vkdnw")
def vkdnw_pass(ctx: PassContext) -> dict[str, Any]:
    """Fisher information of the softmax output w.r.t. the first entry of every parameter tensor.

    Kaiming fan_in initialisation, eval mode, per-sample Jacobians through ``torch.func``;
    reverse mode when there are fewer classes than parameter tensors, forward mode otherwise.
    """
    model = ctx.build()
    kaiming_fanin_init(model, ctx.generator(41))
    model.eval()
    params = {k: p.detach() for k, p in model.named_parameters()}
    buffers = {k: b for k, b in model.named_buffers()}
    names = list(params)
    zeros = torch.zeros(len(names), dtype=ctx.x.dtype, device=ctx.x.device)

    def logits_of(delta: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        shifted = {}
        for i, k in enumerate(names):
            p = params[k]
            onehot = torch.zeros(p.numel(), dtype=p.dtype, device=p.device)
            onehot[0] = 1.0
            shifted[k] = p + delta[i] * onehot.reshape(p.shape)
        return functional_call(model, {**shifted, **buffers}, (xb.unsqueeze(0),)).squeeze(0)

    jac_fn = jacrev(logits_of) if ctx.num_classes <= len(names) else torch.func.jacfwd(logits_of)
    jac = vmap(jac_fn, in_dims=(None, 0), chunk_size=VKDNW_CHUNK)(zeros, ctx.x)  # (B, K, P)
    with torch.no_grad():
        logits = model(ctx.x)
    fisher = formulas.categorical_fisher(jac, logits)
    eig = torch.linalg.eigvalsh(fisher)
    return {"entropy": formulas.decile_entropy(eig), "dim": float(len(names))}


@register
class Vkdnw(Proxy):
    """Number of parameter tensors + entropy of the Fisher spectrum's deciles (VKDNW_single)."""

    name = "vkdnw"
    needs = frozenset({"vkdnw"})
    components = ("score", "entropy", "dim")

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        v = output(probe, "vkdnw")
        return {"score": v["dim"] + v["entropy"], "entropy": v["entropy"], "dim": v["dim"]}
