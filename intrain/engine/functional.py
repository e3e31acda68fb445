"""Per-sample derivatives without per-sample weight gradients: the fast paths of the heavy proxies.

VKDNW needs d logits / d theta_t[0] for the *first entry* of every parameter tensor, per sample.
``vmap(jacrev(...))`` gets it by materialising each sample's full weight gradient (B x K x P
floats) and then reading one entry. Here the first entry's derivative is read off the
cotangent at the module's *output* instead: a conv weight's entry ``W[0, 0, 0, 0]`` only feeds
output channel 0, through input channel 0 at kernel offset (0, 0), so

    d logit_k(x_b) / d W[0, 0, 0, 0] = sum_p  delta_k[b, 0, p] * x_pad[b, 0, stride * p],

with ``delta_k`` the gradient of ``sum_b logit_k(x_b)`` with respect to the conv's output (in
eval mode each sample's rows are its own). That is one backward per class that computes no
weight gradient at all, then a few multiply-adds per parameter tensor. Batch norm (eval mode,
running statistics) and linear layers have the same one-line rules. Any other parameter-holding
module, a module called twice, or a padding this file does not model: `Unsupported`,
and the caller keeps its ``torch.func`` path.

Examples:
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(32, 3)).eval()
    >>> x = torch.randn(5, 1, 4, 4)
    >>> jac, logits = first_entry_jacobian(net, x)
    >>> jac.shape, logits.shape
    (torch.Size([5, 3, 6]), torch.Size([5, 3]))
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["Unsupported", "first_entry_jacobian"]


class Unsupported(Exception):
    """The network has a module or a use the fast rules do not cover (callers fall back)."""


def _conv_entry(m: nn.Module, x: torch.Tensor, delta: torch.Tensor, which: str) -> torch.Tensor:
    """d out / d (weight[0,0,0,0] or bias[0]) contracted with ``delta`` (K, B, C, H, W) -> (K, B); K = 1 here."""
    if which == "bias":
        return delta[:, :, 0].sum(dim=(-2, -1))
    assert isinstance(m, nn.Conv2d)
    if isinstance(m.padding, str) or m.padding_mode != "zeros":
        raise Unsupported(f"conv padding {m.padding!r} / {m.padding_mode!r}")
    ph, pw = m.padding
    sh, sw = m.stride
    h, w = delta.shape[-2:]
    xp = F.pad(x[:, 0], (pw, pw, ph, ph))  # input channel 0 (of group 0), zero padded
    window = xp[:, 0 : sh * (h - 1) + 1 : sh, 0 : sw * (w - 1) + 1 : sw]  # kernel offset (0, 0)
    return torch.einsum("kbhw,bhw->kb", delta[:, :, 0], window)


def _bn_entry(m: nn.Module, x: torch.Tensor, delta: torch.Tensor, which: str) -> torch.Tensor:
    """Eval-mode batch norm: d out[:, 0] / d gamma[0] = x_hat[:, 0], / d beta[0] = 1."""
    assert isinstance(m, nn.BatchNorm2d)
    if m.training or m.running_mean is None or m.running_var is None:
        raise Unsupported("batch norm that normalises with the batch's statistics")
    d0 = delta[:, :, 0]
    if which == "bias":
        return d0.sum(dim=(-2, -1))
    x_hat = (x[:, 0] - m.running_mean[0]) / torch.sqrt(m.running_var[0] + m.eps)
    return torch.einsum("kbhw,bhw->kb", d0, x_hat)


def _linear_entry(m: nn.Module, x: torch.Tensor, delta: torch.Tensor, which: str) -> torch.Tensor:
    """d out[..., 0] / d (W[0, 0] or b[0]) = x[..., 0] or 1, summed over any middle dimensions."""
    d0 = delta[..., 0].reshape(delta.shape[0], delta.shape[1], -1)
    if which == "bias":
        return d0.sum(dim=-1)
    return (d0 * x[..., 0].reshape(x.shape[0], -1)).sum(dim=-1)


#: The first-entry rule of each supported parameter-holding module type.
RULES: dict[type[nn.Module], Callable[[nn.Module, torch.Tensor, torch.Tensor, str], torch.Tensor]] = {
    nn.Conv2d: _conv_entry,
    nn.BatchNorm2d: _bn_entry,
    nn.Linear: _linear_entry,
}


def _owners(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """(module, "weight" | "bias") of every entry of ``model.named_parameters()``, in its order."""
    by_id: dict[int, tuple[nn.Module, str]] = {}
    for _, m in model.named_modules():
        for pname, p in m.named_parameters(recurse=False):
            if type(m) not in RULES or pname not in ("weight", "bias"):
                raise Unsupported(f"parameter {pname!r} of a {type(m).__name__}")
            if id(p) in by_id:
                raise Unsupported("a parameter shared by two modules")
            by_id[id(p)] = (m, pname)
    return [by_id[id(p)] for _, p in model.named_parameters()]


def first_entry_jacobian(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample d logits / d theta_t[0] for every parameter tensor t, (B, K, T), and the logits (B, K).

    ``model`` must be in eval mode (samples independent). One backward per class, each computing
    only activation gradients; raises `Unsupported` where the rules above do not apply.
    """
    if model.training:
        raise Unsupported("train mode couples the samples")
    owners = _owners(model)
    modules = list(dict.fromkeys(m for m, _ in owners))
    seen: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(m: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> torch.Tensor:
        if m in seen:
            raise Unsupported(f"a {type(m).__name__} called twice in one forward")
        out = out.view_as(out)  # its own node: later in-place ops cannot rewrite the tensor we differentiate
        seen[m] = (inputs[0].detach(), out)
        return out

    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        with torch.enable_grad():
            logits = model(x)
    finally:
        for h in handles:
            h.remove()
    if logits.dim() != 2:
        raise Unsupported(f"logits of shape {tuple(logits.shape)}")
    used = [m for m in modules if m in seen and seen[m][1].requires_grad]
    b, k = logits.shape
    columns: dict[tuple[nn.Module, str], list[torch.Tensor]] = {}
    for c in range(k):
        cot = torch.zeros_like(logits)
        cot[:, c] = 1.0
        grads = torch.autograd.grad(logits, [seen[m][1] for m in used], cot, retain_graph=c < k - 1, allow_unused=True)
        for m, g in zip(used, grads):
            if g is None:
                continue  # run but not on the path to the logits: a zero column
            for which in ("weight", "bias"):
                if getattr(m, which, None) is not None:
                    columns.setdefault((m, which), []).append(RULES[type(m)](m, seen[m][0], g[None], which)[0])
    entries = {key: torch.stack(col) for key, col in columns.items()}  # (K, B) each
    zero = torch.zeros(k, b, dtype=logits.dtype, device=logits.device)
    jac = torch.stack([entries.get(o, zero) for o in owners], dim=-1)  # (K, B, T)
    return jac.transpose(0, 1).detach(), logits.detach()
