"""VKDNW: number of parameter tensors + entropy of the Fisher information spectrum's deciles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch.func import functional_call, jacrev, vmap

from intrain.engine import functional as _functional
from intrain.engine.functional import (
    Unsupported,
    activation_bytes,
    first_entry_jacobian,
    forward_jacobian,
    loop_jacobian,
    out_of_memory,
    spot_check,
)
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
#: ``torch.func`` paths (kept for the equality test and ``benchmarks/proxy_cost.py --before-after``).
FAST = True

#: Forward mode (T batched jvps) when K > FORWARD_RATIO * T, reverse mode (K backward passes)
#: otherwise; a jvp and a backward of the batch cost about the same (benchmarks/heavy_full.md).
FORWARD_RATIO = 1.0

#: At most this many samples per vmap chunk of the ``torch.func`` reverse path.
VKDNW_CHUNK = 16


def _note(path: str, n: int) -> None:
    _functional._note(path, n)


#: Force one path ("fast", "reverse", "forward", "forward-loop", "loop") instead of choosing; None: choose.
#: For the equality tests and benchmarks.
PATH: str | None = None


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
    for p in model.parameters():  # T counts frozen tensors too; this copy is ours (the user's model is untouched)
        p.requires_grad_(True)
    jac, logits = jacobian(model, ctx.x, ctx.num_classes)
    fisher = formulas.categorical_fisher(jac, logits)
    if not torch.isfinite(fisher).all():  # eigvalsh would fail to converge, not describe the network
        raise Undefined(
            "vkdnw: the Fisher information is not finite (non-finite logits or parameter Jacobians of the "
            "Kaiming-initialised network: activations overflow or a weight is NaN/inf)"
        )
    eig = torch.linalg.eigvalsh(fisher)
    return {"entropy": formulas.decile_entropy(eig), "dim": float(jac.shape[-1])}


def _fast(model: torch.nn.Module, x: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    return first_entry_jacobian(model, x)


def _reverse(model: torch.nn.Module, x: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    return _jacobian_func(model, x, num_classes)


def _forward(model: torch.nn.Module, x: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    return forward_jacobian(model, x)


def _forward_loop(model: torch.nn.Module, x: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    return forward_jacobian(model, x, vectorize=False)


def _loop(model: torch.nn.Module, x: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    return loop_jacobian(model, x)


#: Every way to the (B, K, T) Jacobian; all agree within float32 rounding (tests/test_vkdnw_paths.py).
PATHS = {"fast": _fast, "reverse": _reverse, "forward": _forward, "forward-loop": _forward_loop, "loop": _loop}


def plan(num_classes: int, num_tensors: int) -> list[str]:
    """The paths to try, in order: the cheaper mode first, then the fallbacks that need no vmap.

    Examples:
        >>> plan(10, 40)
        ['fast', 'reverse', 'forward', 'forward-loop', 'loop']
        >>> plan(1000, 200)
        ['forward', 'fast', 'forward-loop', 'loop']
    """
    if PATH is not None:
        return [PATH]
    if num_classes > FORWARD_RATIO * num_tensors:
        first = ["forward", "fast"] if FAST else ["forward"]
    else:  # per-sample vmap refuses more modules than tangent vmap (nn.PReLU, nn.GRU): forward next
        first = ["fast", "reverse", "forward"] if FAST else ["reverse", "forward"]
    return [*first, "forward-loop", "loop"]


def jacobian(model: torch.nn.Module, x: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, K, T) d logits / d theta_t[0] and the logits, by the first path of `plan` that runs.

    A path that refuses the network (`Unsupported`, vmap or forward AD not implemented for a
    module) hands over to the next, and so does a batched path whose result fails `spot_check`
    against plain autograd; running out of memory is raised, never retried. Every parameter
    tensor counts (VKDNW's T), frozen or not: ``requires_grad`` is switched on for the call and
    restored afterwards.
    """
    params = list(model.parameters())
    frozen = [p for p in params if not p.requires_grad]
    for p in frozen:
        p.requires_grad_(True)
    try:
        errors = []
        for name in plan(num_classes, len(params)):
            try:
                jac, logits = PATHS[name](model, x, num_classes)
                if name != "loop":
                    spot_check(model, x, jac)
                return jac, logits
            except (Unsupported, RuntimeError, NotImplementedError, ValueError) as e:
                if out_of_memory(e):
                    raise
                errors.append(f"{name}: {type(e).__name__}: {e}")
        raise RuntimeError("vkdnw: no path computes the Jacobian: " + " | ".join(errors))
    finally:
        for p in frozen:
            p.requires_grad_(False)


def _jacobian_func(model: torch.nn.Module, x: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, K, T) per-sample Jacobian through ``torch.func`` reverse mode, and the logits.

    ``vmap`` over chunks of samples of ``jacrev`` over chunks of classes; a (sample, class) pair
    holds the activations of one sample and a gradient of every parameter, so chunk sizes keep
    samples x classes x that under `MEMORY_BUDGET`.
    """
    params = {k: p.detach() for k, p in model.named_parameters()}
    buffers = {k: b for k, b in model.named_buffers()}
    names = list(params)
    dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()  # token ids: float shifts
    zeros = torch.zeros(len(names), dtype=dtype, device=x.device)
    act, logits = activation_bytes(model, x)
    per_pair = act // max(1, x.shape[0]) + sum(p.numel() * p.element_size() for p in params.values())
    pairs = max(1, _functional.MEMORY_BUDGET // max(1, per_pair))
    samples = max(1, min(x.shape[0], VKDNW_CHUNK, pairs))
    classes = max(1, min(num_classes, pairs // samples))

    def logits_of(delta: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        shifted = {}
        for i, k in enumerate(names):
            p = params[k]
            onehot = torch.zeros(p.numel(), dtype=p.dtype, device=p.device)
            onehot[0] = 1.0
            shifted[k] = p + delta[i] * onehot.reshape(p.shape)
        return functional_call(model, {**shifted, **buffers}, (xb.unsqueeze(0),)).squeeze(0)

    jac_fn = jacrev(logits_of, chunk_size=classes)
    parts = []
    for start in range(0, x.shape[0], samples):
        xs = x[start : start + samples]
        _note("reverse-samples", xs.shape[0])
        _note("reverse-classes", classes)
        parts.append(vmap(jac_fn, in_dims=(None, 0))(zeros, xs))  # (b, K, T)
    return torch.cat(parts), logits


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
