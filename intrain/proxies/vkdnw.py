"""VKDNW: number of parameter tensors + entropy of the Fisher information spectrum's deciles."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import torch
from torch.func import functional_call, jacrev, vmap

from intrain.engine.functional import Unsupported, first_entry_jacobian
from intrain.proxies import formulas
from intrain.proxies.base import (
    PassContext,
    Proxy,
    Undefined,
    kaiming_fanin_init,
    output,
    register,
    register_pass,
)

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult

#: Read the Jacobian off the module outputs' cotangents (`first_entry_jacobian`, one
#: activation-only backward per class) where the network allows it; False: always the
#: ``torch.func`` path (kept for the equality test and ``benchmarks/proxy_cost.py --before-after``).
FAST = True

#: Samples per vmap chunk of VKDNW's per-sample Jacobians: 100+ logits otherwise take tens of GB on a GPU.
VKDNW_CHUNK = 16


@register_pass("vkdnw")
def vkdnw_pass(ctx: PassContext) -> dict[str, Any]:
    """Fisher information of the softmax output w.r.t. the first entry of every parameter tensor.

    Kaiming fan_in initialisation, eval mode. The per-sample Jacobian comes from the module
    outputs' cotangents (`first_entry_jacobian`); for a network
    those rules do not cover, from ``torch.func`` (reverse mode when there are fewer classes than
    parameter tensors, forward mode otherwise). Both give the same Jacobian up to float32 rounding.
    """
    model = ctx.build()
    kaiming_fanin_init(model, ctx.generator(41))
    model.eval()
    jac, logits = None, None
    if FAST:
        with contextlib.suppress(Unsupported):  # a module the rules do not model: the torch.func path
            jac, logits = first_entry_jacobian(model, ctx.x)
    if jac is None or logits is None:
        jac, logits = _jacobian_func(model, ctx.x, ctx.num_classes)
    fisher = formulas.categorical_fisher(jac, logits)
    if not torch.isfinite(fisher).all():  # eigvalsh would fail to converge, not describe the network
        raise Undefined(
            "vkdnw: the Fisher information is not finite (non-finite logits or parameter Jacobians of the "
            "Kaiming-initialised network: activations overflow or a weight is NaN/inf)"
        )
    eig = torch.linalg.eigvalsh(fisher)
    return {"entropy": formulas.decile_entropy(eig), "dim": float(jac.shape[-1])}


def _jacobian_func(model: torch.nn.Module, x: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, K, T) per-sample Jacobian through ``torch.func`` (the original path), and the logits."""
    params = {k: p.detach() for k, p in model.named_parameters()}
    buffers = {k: b for k, b in model.named_buffers()}
    names = list(params)
    dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()  # token ids: float shifts
    zeros = torch.zeros(len(names), dtype=dtype, device=x.device)

    def logits_of(delta: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        shifted = {}
        for i, k in enumerate(names):
            p = params[k]
            onehot = torch.zeros(p.numel(), dtype=p.dtype, device=p.device)
            onehot[0] = 1.0
            shifted[k] = p + delta[i] * onehot.reshape(p.shape)
        return functional_call(model, {**shifted, **buffers}, (xb.unsqueeze(0),)).squeeze(0)

    jac_fn = jacrev(logits_of) if num_classes <= len(names) else torch.func.jacfwd(logits_of)
    jac = vmap(jac_fn, in_dims=(None, 0), chunk_size=VKDNW_CHUNK)(zeros, x)  # (B, K, P)
    with torch.no_grad():
        logits = model(x)
    return jac, logits


@register
class Vkdnw(Proxy):
    """Number of parameter tensors + entropy of the Fisher spectrum's deciles (VKDNW_single).

    Reference: [Týbl and Neumann, CVPR 2025][ref-vkdnw] on the references page.
    """

    name = "vkdnw"
    needs = frozenset({"vkdnw"})
    components = ("score", "entropy", "dim")

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        v = output(probe, "vkdnw")
        return {"score": v["dim"] + v["entropy"], "entropy": v["entropy"], "dim": v["dim"]}
