"""Gradient saliency proxies of zero-cost-nas: grad_norm and SNIP (probe collector), GraSP (own pass)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from intrain.proxies.base import (
    WEIGHTED,
    Collector,
    PassContext,
    Proxy,
    Undefined,
    check_plain_weights,
    register,
    register_collector,
    register_pass,
    weighted_modules,
)


@register_collector
class GradSums(Collector):
    """Sum of per-layer gradient norms and sum |w * g| over conv/linear weights, after the probe's backward."""

    name = "grad_sums"
    description = (
        "sum of per-layer gradient norms and sum |w * g| over conv/linear weights; "
        "the global gradient norm over all parameters"
    )

    def after_backward(self) -> None:
        check_plain_weights(self.model, "grad_norm/snip")
        squares = [p.grad.detach().double().pow(2).sum() for p in self.model.parameters() if p.grad is not None]
        zero = torch.zeros((), dtype=torch.float64)
        norms, saliency = [], []
        for _, m in weighted_modules(self.model):
            if m.weight.grad is not None:
                g = m.weight.grad.detach()
                norms.append(torch.linalg.vector_norm(g.double()))
                saliency.append((m.weight.detach().double() * g.double()).abs().sum())
        # one copy to the host for all three sums (no sync per value on a GPU)
        packed = torch.stack(
            [torch.stack(t).sum() if t else zero.to(self._device()) for t in (norms, saliency, squares)]
        ).cpu()
        self._out = {
            "grad_norm": float(packed[0]),
            "snip": float(packed[1]),
            "grad_norm_global": float(packed[2].sqrt()),
        }

    def _device(self) -> torch.device:
        return next((p.device for p in self.model.parameters()), torch.device("cpu"))

    def result(self) -> dict[str, float]:
        return self._out


@register
class GradNorm(Proxy):
    """Sum over conv/linear layers of |dL/dW|_2 (zero-cost-nas); under the reference protocol
    the published NB201 number's definition: one L2 norm over the gradients of all parameters
    (BN and biases included) after a Kaiming fan-in re-init (AZ-NAS compute_gradnorm_score.py).

    Reference: [Abdelfattah et al., ICLR 2021][ref-zero-cost-proxies] on the references page.
    """

    name = "grad_norm"
    layer_types = WEIGHTED
    reads_loss = True
    reference_input = "gaussian"  # the VKDNW run (the published number) fed it noise, not images
    score_from = ("grad_sums", "grad_norm")
    reference_from = ("grad_sums", "grad_norm_global")
    reference_init = "kaiming"


@register
class GradNormLayers(Proxy):
    """Sum over conv/linear layers of |dL/dW|_2 (zero-cost-nas grad_norm.py), under both protocols.

    Reference: [Abdelfattah et al., ICLR 2021][ref-zero-cost-proxies] on the references page.
    """

    name = "grad_norm_layers"
    layer_types = WEIGHTED
    reads_loss = True
    reference_input = "real"
    score_from = ("grad_sums", "grad_norm")


@register
class Snip(Proxy):
    """Sum over conv/linear weights of |w * dL/dw| (SNIP as zero-cost-nas scores it).

    Reference: [Lee et al., ICLR 2019][ref-snip] on the references page.
    """

    name = "snip"
    layer_types = WEIGHTED
    reads_loss = True
    reference_input = "real"
    score_from = ("grad_sums", "snip")
    reference_init = "kaiming"


#: GraSP's Hessian-gradient product from one forward (True) or, as zero-cost-nas writes it, from
#: a second forward that recomputes the same loss for the double backward (False: kept for the
#: equality test and ``benchmarks/proxy_cost.py --before-after``). Same operations, same values.
GRASP_ONE_FORWARD = True


@register_pass("grasp")
def grasp_pass(ctx: PassContext) -> dict[str, Any]:
    """-sum(w * Hg) with g the CE gradient (detached) and Hg from a second backward (GraSP)."""
    model = ctx.build().train()
    weights = [m.weight for _, m in weighted_modules(model) if m.weight.requires_grad]  # frozen: not read
    loss = nn.functional.cross_entropy(model(ctx.x), ctx.y)
    # allow_unused: in the reference network a conv whose output only feeds `none` edges is run but
    # unused (AutoDL's x.mul(0) keeps it in the graph with a zero gradient): its terms are 0
    if GRASP_ONE_FORWARD:
        # the graph-building backward gives g itself: the train-mode forward is deterministic, so
        # zero-cost-nas's second forward recomputes exactly this loss (BN's running statistics,
        # which it also updates twice, are not read in train mode)
        grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
        g = [None if t is None else t.detach() for t in grads]
    else:
        g = [None if t is None else t.detach() for t in torch.autograd.grad(loss, weights, allow_unused=True)]
        loss = nn.functional.cross_entropy(model(ctx.x), ctx.y)
        grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    used = [k for k, (gi, ci) in enumerate(zip(grads, g)) if gi is not None and ci is not None]
    z = sum((grads[k] * g[k]).sum() for k in used)
    assert isinstance(z, torch.Tensor)  # the classifier's weight always has a gradient: never the empty sum 0
    try:
        hg = torch.autograd.grad(z, [weights[k] for k in used], allow_unused=True)
    except RuntimeError as err:
        if "derivative for" not in str(err) or "not implemented" not in str(err):
            raise
        advice = (
            "; for fused attention, build transformers models with attn_implementation='eager' or call "
            "timm.layers.set_fused_attn(False)"
            if "attention" in str(err)  # fused attention kernels (_scaled_dot_product_*_attention)
            else ""
        )
        raise Undefined(
            f"grasp needs second derivatives, and this network has an operation without one ({str(err)[:160]}){advice}"
        ) from None
    score = sum(float((-weights[k].detach() * h).sum()) for k, h in zip(used, hg) if h is not None)
    return {"score": score}


@register
class Grasp(Proxy):
    """-sum(w * Hg) over conv/linear weights (GraSP, sign as in zero-cost-nas).

    Reference: [Wang et al., ICLR 2020][ref-grasp] on the references page.
    """

    name = "grasp"
    layer_types = WEIGHTED
    reads_loss = True
    reference_input = "real"
    score_from = ("grasp", "score")
    reference_init = "kaiming"
