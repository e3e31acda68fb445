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
from torch.func import functional_call, jvp, vmap
from torch.nn import functional as F

__all__ = [
    "MEMORY_BUDGET",
    "Unsupported",
    "activation_bytes",
    "first_entry_jacobian",
    "forward_jacobian",
    "loop_jacobian",
    "out_of_memory",
    "spot_check",
]

#: Bytes of derivative tensors the chunked paths keep in flight at once (tangents of the
#: activations and parameters in forward mode, cotangents per class chunk in reverse mode).
#: 512 MiB: ImageNet-sized models at batch 8 used 18-23 GiB when every tangent ran at once.
MEMORY_BUDGET = 512 * 2**20

#: Called as ``CHUNK_HOOK(path, n)`` before every chunk of ``n`` tangents / classes / samples a
#: chunked path puts in flight (tests count them; None in normal use).
CHUNK_HOOK: Callable[[str, int], None] | None = None


def _note(path: str, n: int) -> None:
    if CHUNK_HOOK is not None:
        CHUNK_HOOK(path, n)


def out_of_memory(e: BaseException) -> bool:
    """The machine's limit (never a reason to try a fallback): Python's, CUDA's or torch's CPU allocator's."""
    if isinstance(e, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and ("DefaultCPUAllocator" in text or "out of memory" in text)


def activation_bytes(model: nn.Module, x: torch.Tensor) -> tuple[int, torch.Tensor]:
    """Bytes of every module output of one eval forward of ``x`` (an upper bound of the peak), and the logits."""
    total = [x.numel() * x.element_size()]

    def hook(m: nn.Module, inputs: object, out: object) -> None:
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                total[0] += t.numel() * t.element_size()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        for h in handles:
            h.remove()
    return total[0], logits


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


def _batched_grad(out: torch.Tensor, inputs: list[torch.Tensor], cot: torch.Tensor) -> list[torch.Tensor | None]:
    """Gradients of ``out`` for a chunk of cotangents (c, *out.shape): vmapped, or one class at a time
    where the backward cannot be vmapped (never on running out of memory)."""
    if cot.shape[0] > 1:
        try:
            return list(
                torch.autograd.grad(out, inputs, cot, retain_graph=True, allow_unused=True, is_grads_batched=True)
            )
        except (RuntimeError, NotImplementedError) as e:
            if out_of_memory(e):
                raise
    per = [torch.autograd.grad(out, inputs, c, retain_graph=True, allow_unused=True) for c in cot]
    return [None if per[0][i] is None else torch.stack([g[i] for g in per]) for i in range(len(inputs))]


def first_entry_jacobian(
    model: nn.Module, x: torch.Tensor, budget: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample d logits / d theta_t[0] for every parameter tensor t, (B, K, T), and the logits (B, K).

    ``model`` must be in eval mode (samples independent). One backward per class, each computing
    only activation gradients, batched over chunks of classes whose cotangents fit in ``budget``
    bytes (default `MEMORY_BUDGET`); raises `Unsupported` where the rules above do not apply.
    """
    if model.training:
        raise Unsupported("train mode couples the samples")
    owners = _owners(model)
    modules = list(dict.fromkeys(m for m, _ in owners))
    seen: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(m: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> torch.Tensor:
        if m in seen:
            raise Unsupported(f"a {type(m).__name__} called twice in one forward")
        # the network goes on with a copy: an in-place op downstream (ReLU(inplace=True) after a batch
        # norm) rewrites the copy, never the output we differentiate (a view would be rebased onto it)
        seen[m] = (inputs[0].detach(), out)
        return out.clone()

    # prepend: read the module's own output before any user hook rewrites it (the rewrite then
    # lies downstream of the tensor we differentiate and is counted by the backward)
    handles = [m.register_forward_hook(hook, prepend=True) for m in modules]
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
    per_class = sum(seen[m][1].numel() * seen[m][1].element_size() for m in used) or 1
    chunk = max(1, min(k, (MEMORY_BUDGET if budget is None else budget) // per_class))
    columns: dict[tuple[nn.Module, str], list[torch.Tensor]] = {}
    start = 0
    while start < k:
        stop = min(k, start + chunk)
        _note("reverse-classes", stop - start)
        cot = torch.zeros(stop - start, *logits.shape, dtype=logits.dtype, device=logits.device)
        cot[torch.arange(stop - start), :, torch.arange(start, stop)] = 1.0
        outs = [seen[m][1] for m in used]
        grads = _batched_grad(logits, outs, cot)
        for m, g in zip(used, grads):
            if g is None:
                continue  # run but not on the path to the logits: a zero column
            for which in ("weight", "bias"):
                if getattr(m, which, None) is not None:
                    columns.setdefault((m, which), []).append(RULES[type(m)](m, seen[m][0], g, which))
        start = stop
    entries = {key: torch.cat(col) for key, col in columns.items()}  # (K, B) each
    zero = torch.zeros(k, b, dtype=logits.dtype, device=logits.device)
    jac = torch.stack([entries.get(o, zero) for o in owners], dim=-1)  # (K, B, T)
    return jac.transpose(0, 1).detach(), logits.detach()


def _onehot(p: torch.Tensor) -> torch.Tensor:
    e = torch.zeros(p.numel(), dtype=p.dtype, device=p.device)
    e[0] = 1.0
    return e.view_as(p)


def _tangent_chunks(sizes: list[int], act: int, budget: int) -> list[list[int]]:
    """Consecutive tensor indices grouped so that chunk x (activations + the chunk's tensors) fits ``budget``."""
    chunks: list[list[int]] = []
    cur: list[int] = []
    for i in range(len(sizes)):
        cand = [*cur, i]
        if cur and len(cand) * (act + sum(sizes[j] for j in cand)) > budget:
            chunks.append(cur)
            cand = [i]
        cur = cand
    if cur:
        chunks.append(cur)
    return chunks


def forward_jacobian(
    model: nn.Module, x: torch.Tensor, budget: int | None = None, vectorize: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, K, T) d logits / d theta_t[0] in forward mode, and the logits: one jvp of the *whole batch* per tensor.

    In eval mode the samples are independent, so the tangent "first entry of tensor t = 1" gives
    d logits[b, k] / d theta_t[0] for every sample and class at once: T batched jvps, no per-sample
    machinery. ``vectorize``: vmap the jvps over chunks of tangents sized so that the chunk's
    activation and parameter tangents fit in ``budget`` bytes (default `MEMORY_BUDGET`); False:
    one jvp at a time (for modules vmap cannot batch).
    """
    if model.training:
        raise Unsupported("train mode couples the samples")
    params = {k: p.detach() for k, p in model.named_parameters()}
    names = list(params)
    act, logits = activation_bytes(model, x)
    if not names:
        return torch.zeros(*logits.shape, 0, dtype=logits.dtype, device=logits.device), logits
    sizes = [p.numel() * p.element_size() for p in params.values()]
    budget = MEMORY_BUDGET if budget is None else budget
    chunks = _tangent_chunks(sizes, act, budget) if vectorize else [[i] for i in range(len(names))]
    cols = []
    with torch.no_grad():  # forward AD ignores grad mode; no autograd graph for the untouched weights
        for chunk in chunks:
            _note("forward-tangents" if vectorize else "forward-loop", len(chunk))
            keys = [names[i] for i in chunk]
            shifts = {n: _onehot(params[n]) for n in keys}
            zero = torch.zeros(len(keys), dtype=params[keys[0]].dtype, device=params[keys[0]].device)

            def logits_of(delta: torch.Tensor, keys: list[str] = keys, shifts: dict = shifts) -> torch.Tensor:
                over = {n: params[n] + delta[i] * shifts[n] for i, n in enumerate(keys)}
                return functional_call(model, over, (x,))

            def tangent(v: torch.Tensor, f: Callable = logits_of, zero: torch.Tensor = zero) -> torch.Tensor:
                return jvp(f, (zero,), (v,))[1]

            eye = torch.eye(len(keys), dtype=zero.dtype, device=zero.device)
            cols.append(vmap(tangent)(eye) if vectorize else tangent(eye[0])[None])  # (c, B, K)
    return torch.cat(cols).permute(1, 2, 0).contiguous(), logits


def loop_jacobian(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, K, T) by plain autograd, one sample and one class at a time: the last resort (slow, bounded memory).

    Needs neither vmap nor forward AD, so any module autograd can differentiate works.
    """
    params = list(model.parameters())
    rows = []
    logits_rows = []
    for b in range(x.shape[0]):
        _note("loop-samples", 1)
        with torch.enable_grad():
            out = model(x[b : b + 1])
        if out.dim() != 2:
            raise Unsupported(f"logits of shape {tuple(out.shape)}")
        k = out.shape[1]
        per_class = []
        for c in range(k):
            grads = torch.autograd.grad(out[0, c], params, retain_graph=c < k - 1, allow_unused=True)
            per_class.append(
                torch.stack([g.reshape(-1)[0] if g is not None else out.new_zeros(()) for g in grads])
                if params
                else out.new_zeros(0)
            )
        rows.append(torch.stack(per_class))
        logits_rows.append(out.detach())
    return torch.stack(rows).detach(), torch.cat(logits_rows)


#: `spot_check` tolerance: an entry may differ from plain autograd's by ``SPOT_RTOL * |ref| +
#: SPOT_ATOL * max |ref row|`` (float32 rounding of differently ordered sums is ~1e-6 of the scale;
#: the errors it guards against -- a missed weight use, a skipped hook, a wrong vmap rule -- are O(1)).
SPOT_RTOL = 1e-3
SPOT_ATOL = 1e-4


def spot_check(model: nn.Module, x: torch.Tensor, jac: torch.Tensor) -> None:
    """Raise `Unsupported` unless ``jac[b, k]`` matches plain autograd of sample b alone, for the
    first, middle and last sample and class (up to 9 entries of the Jacobian's rows).

    The batched paths rest on assumptions a network can break silently (every weight used only
    inside its module's own call, no hook rewriting an output, a correct vmap rule for every
    op); one backward per checked (sample, class) (eval mode: samples independent) catches a broken
    assumption before it becomes a wrong score. A break that shows only in unchecked rows still
    passes: the check samples the Jacobian, it does not recompute it. The loop path is the reference.
    """
    params = list(model.parameters())
    if not params or jac.numel() == 0:
        return
    n, k = jac.shape[0], jac.shape[1]
    for b in sorted({0, n // 2, n - 1}):
        with torch.enable_grad():
            out = model(x[b : b + 1])
        if out.dim() != 2 or out.shape[1] != k:
            raise Unsupported(f"spot check: logits of shape {tuple(out.shape)}")
        classes = sorted({0, k // 2, k - 1})
        for i, c in enumerate(classes):
            grads = torch.autograd.grad(out[0, c], params, retain_graph=i < len(classes) - 1, allow_unused=True)
            ref = torch.stack([g.reshape(-1)[0] if g is not None else out.new_zeros(()) for g in grads]).detach()
            got = jac[b, c].to(ref.dtype)
            tol = SPOT_RTOL * ref.abs() + SPOT_ATOL * ref.abs().max()
            bad = ((got - ref).abs() > tol) | ~torch.isfinite(got) & torch.isfinite(ref)
            if bool(bad.any()):
                t = int(bad.nonzero()[0, 0])
                raise Unsupported(
                    f"spot check: d logit[{b}, {c}] / d theta_{t}[0] is {float(got[t]):.6g}, plain autograd gives "
                    f"{float(ref[t]):.6g} (a weight used outside its module, a rewriting hook or a wrong vmap rule)"
                )
