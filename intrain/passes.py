"""Passes over a network that the baseline proxies reduce, each run once per architecture.

The InTrain probe (:func:`intrain.probe.run_probe`) is the shared train-mode forward/backward:
the proxies that only read its activations or its cross-entropy gradients (grad_norm, snip,
jacov, naswot) ride on it. Everything else needs a pass of its own, because it needs another
network state: a different initialisation (Zen, AZ-NAS, VKDNW), modified weights (SynFlow),
eval-mode per-sample gradients (TE-NAS, GradAlign), a second-order graph (GraSP), split batches
(ZiCo), a few training steps (LGA), or other inputs (linear regions). A pass builds its own
fresh copy with :attr:`PassContext.build`, so no pass sees another's changes, and it is run at
most once per architecture however many proxies read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from . import formulas

PassFn = Callable[["PassContext"], dict[str, Any]]
PASSES: dict[str, PassFn] = {}

#: Layers whose weights the zero-cost-nas family sums over (its "prunable" layers).
WEIGHTED = (nn.Conv2d, nn.Linear)
#: Samples per vmap chunk of VKDNW's per-sample Jacobians: 100+ logits otherwise take tens of GB on a GPU.
VKDNW_CHUNK = 16
#: Learning rate of LGA's few SGD steps (momentum 0.9).
LGA_LR = 0.05


@dataclass
class PassContext:
    """What every pass may use: a factory for fresh seeded copies and the scoring batch."""

    build: Callable[[], nn.Module]  # a freshly initialised network on the device (same seed each call)
    x: torch.Tensor
    y: torch.Tensor
    num_classes: int
    seed: int
    options: dict[str, Any] = field(default_factory=dict)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A CPU generator for a pass's own random draws, independent of the global RNG."""
        return torch.Generator().manual_seed(self.seed * 1000 + offset)


def register_pass(name: str) -> Callable[[PassFn], PassFn]:
    def wrap(fn: PassFn) -> PassFn:
        if name in PASSES:
            raise ValueError(f"pass {name!r} registered twice")
        PASSES[name] = fn
        return fn
    return wrap


def weighted_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHTED)]


def _features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if not hasattr(model, "forward_features"):
        raise TypeError(f"{type(model).__name__} has no forward_features(x) (the pre-pooling feature map)")
    return model.forward_features(x)


def _feature_modules(model: nn.Module) -> list[nn.Module]:
    if not hasattr(model, "feature_modules"):
        raise TypeError(f"{type(model).__name__} has no feature_modules() (stem and cell outputs)")
    return list(model.feature_modules())


@torch.no_grad()
def _reinit(model: nn.Module, draw: Callable[[torch.Size, int], torch.Tensor]) -> None:
    """Conv/linear weights from ``draw(shape, fan_in)``, zero biases, BN weight 1 and bias 0."""
    for m in model.modules():
        if isinstance(m, WEIGHTED):
            m.weight.copy_(draw(m.weight.shape, m.weight[0].numel()))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            m.weight.fill_(1.0)
            m.bias.zero_()


def kaiming_fanin_init(model: nn.Module, gen: torch.Generator) -> None:
    """AZ-NAS / VKDNW initialisation: Kaiming-normal fan_in conv/linear, BN weight 1, bias 0."""
    _reinit(model, lambda shape, fan_in: torch.randn(shape, generator=gen) * (2.0 / fan_in) ** 0.5)


def gaussian_init(model: nn.Module, gen: torch.Generator) -> None:
    """Zen-NAS initialisation: conv/linear weights N(0, 1), BN weight 1, bias 0."""
    _reinit(model, lambda shape, fan_in: torch.randn(shape, generator=gen))


# ----------------------------------------------------------------------------- passes


@register_pass("flops")
def flops_pass(ctx: PassContext) -> dict[str, Any]:
    """Multiply-accumulates of conv and linear layers for one input at the scoring resolution."""
    model = ctx.build().eval()
    total = [0]

    def hook(module: nn.Module, inputs, output: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total[0] += output[0].numel() * (module.in_channels // module.groups) * kh * kw
        else:
            total[0] += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for _, m in weighted_modules(model)]
    try:
        with torch.no_grad():
            model(ctx.x[:1])
    finally:
        for h in handles:
            h.remove()
    return {"macs": float(total[0])}


@register_pass("grasp")
def grasp_pass(ctx: PassContext) -> dict[str, Any]:
    """-sum(w * Hg) with g the CE gradient (detached) and Hg from a second backward (GraSP)."""
    model = ctx.build().train()
    weights = [m.weight for _, m in weighted_modules(model)]
    loss = nn.functional.cross_entropy(model(ctx.x), ctx.y)
    g = [t.detach() for t in torch.autograd.grad(loss, weights)]
    loss = nn.functional.cross_entropy(model(ctx.x), ctx.y)
    grads = torch.autograd.grad(loss, weights, create_graph=True)
    z = sum((gi * ci).sum() for gi, ci in zip(grads, g))
    hg = torch.autograd.grad(z, weights)
    score = sum(float((-w.detach() * h).sum()) for w, h in zip(weights, hg))
    return {"score": score}


@register_pass("synflow")
def synflow_pass(ctx: PassContext) -> dict[str, Any]:
    """sum |w * dR/dw| with R the output sum for an all-ones input, |weights|, float64, BN off.

    BN is bypassed by eval mode at initialisation (running mean 0, variance 1, affine 1/0):
    each BN is then the identity up to 1/sqrt(1 + eps).
    """
    model = ctx.build().double().eval()
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


@register_pass("zen")
def zen_pass(ctx: PassContext) -> dict[str, Any]:
    """log E_x sum|f(x) - f(x + 0.01 e)| + sum_BN log sqrt(mean running_var), N(0,1) weights."""
    model = ctx.build()
    gaussian_init(model, ctx.generator(11))
    model.train()
    gen = ctx.generator(12)
    noise = torch.randn(ctx.x.shape, generator=gen).to(ctx.x.device)
    with torch.no_grad():
        f1 = _features(model, ctx.x)
        f2 = _features(model, ctx.x + 0.01 * noise)
        delta = float((f1 - f2).abs().flatten(1).sum(dim=1).mean())
        bn_log = 0.0
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d) and m.running_var is not None:
                bn_log += float(torch.log(torch.sqrt(m.running_var.double().mean())))
    score = (float(torch.log(torch.tensor(delta, dtype=torch.float64))) if delta > 0 else float("-inf")) + bn_log
    return {"score": score, "delta": delta, "bn_log_scale": bn_log}


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


def _split_params(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(conv/linear weights, every other parameter and buffer) as detached tensors by name."""
    weight_names = {f"{n}.weight" if n else "weight" for n, _ in weighted_modules(model)}
    weights, rest = {}, {}
    for name, p in model.named_parameters():
        (weights if name in weight_names else rest)[name] = p.detach()
    for name, b in model.named_buffers():
        rest[name] = b
    return weights, rest


@torch.no_grad()
def calibrate_bn(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """Set every BN's running statistics to those of ``x``, then switch to eval mode.

    TE-NAS's ``recal_bn``: in eval mode each sample's gradient is its own, and calibrated
    statistics keep activations normalised as in training. Uncalibrated eval mode at init
    (mean 0, variance 1) lets NB201's residual sums grow until the softmax saturates and some
    per-sample cross-entropy gradients are exactly zero.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch, exactly that batch's statistics
    model.train()
    model(x)
    return model.eval()


def per_sample_grams(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gram matrices of per-sample gradients of sum(logits) and of CE, over conv/linear weights.

    BN calibrated on ``x`` and then frozen (:func:`calibrate_bn`), so each sample's gradient
    is its own, as TE-NAS computes its NTK. Returns (NTK, CE-gradient Gram), (B, B) float64.
    """
    calibrate_bn(model, x)
    weights, rest = _split_params(model)

    def outputs(w: dict[str, torch.Tensor], xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, {**w, **rest}, (xb.unsqueeze(0),))
        ce = nn.functional.cross_entropy(logits, yb.unsqueeze(0))
        return torch.stack([logits.sum(), ce])

    jac = vmap(jacrev(outputs), in_dims=(None, 0, 0))(weights, x, y)
    b = x.shape[0]
    ntk = torch.zeros(b, b, dtype=torch.float64, device=x.device)
    ce_gram = torch.zeros_like(ntk)
    for g in jac.values():  # (B, 2, *shape)
        g = g.reshape(b, 2, -1).double()
        ntk += g[:, 0] @ g[:, 0].t()
        ce_gram += g[:, 1] @ g[:, 1].t()
    return ntk, ce_gram


@register_pass("per_sample")
def per_sample_pass(ctx: PassContext) -> dict[str, Any]:
    model = ctx.build()
    ntk, ce_gram = per_sample_grams(model, ctx.x, ctx.y)
    return {"ntk": ntk, "ce_gram": ce_gram}


@register_pass("lga")
def lga_pass(ctx: PassContext) -> dict[str, Any]:
    """The NTK after ``lga_steps`` SGD steps on the scoring batch (LGA needs a little training)."""
    model = ctx.build().train()
    steps = int(ctx.options.get("lga_steps", 10))
    opt = torch.optim.SGD(model.parameters(), lr=LGA_LR, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(ctx.x), ctx.y).backward()
        opt.step()
    ntk, _ = per_sample_grams(model, ctx.x, ctx.y)
    return {"ntk": ntk, "labels": ctx.y, "steps": steps}


@register_pass("linear_regions")
def linear_regions_pass(ctx: PassContext) -> dict[str, Any]:
    """Distinct ReLU activation patterns over many small Gaussian inputs (TE-NAS).

    The count saturates at ``lr_samples`` when every input gets its own pattern; TE-NAS keeps
    inputs tiny (one channel, 3x3) so that it does not. NB201 needs at least 4x4.
    """
    model = ctx.build().train()
    n = int(ctx.options.get("lr_samples", 1000))
    res = int(ctx.options.get("lr_resolution", 4))
    # One channel broadcast to all: TE-NAS counts regions of a one-channel input (RandChannel(1)).
    x = torch.randn((n, 1, res, res), generator=ctx.generator(21)).expand(n, ctx.x.shape[1], res, res)
    x = x.contiguous().to(ctx.x.device)
    codes: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs, output: torch.Tensor) -> None:
        codes.append((output.detach() > 0).reshape(n, -1))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    if not codes:
        return {"regions": 1.0}
    patterns = torch.cat(codes, dim=1)
    return {"regions": float(torch.unique(patterns, dim=0).shape[0])}


@register_pass("az_nas")
def az_nas_pass(ctx: PassContext) -> dict[str, Any]:
    """AZ-NAS expressivity, progressivity and trainability on stem + block outputs."""
    model = ctx.build()
    kaiming_fanin_init(model, ctx.generator(31))
    model.train()
    feats: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda _m, _i, out: feats.append(out)) for m in _feature_modules(model)]
    try:
        model(ctx.x)
    finally:
        for h in handles:
            h.remove()
    entropies = []
    for f in feats:
        rows = f.detach().permute(0, 2, 3, 1).reshape(-1, f.shape[1]).double()
        rows = rows - rows.mean(dim=0, keepdim=True)
        entropies.append(formulas.spectral_entropy(rows.t() @ rows / rows.shape[0]))
    gen = ctx.generator(32)
    terms = []
    for i in reversed(range(1, len(feats))):
        f_out, f_in = feats[i], feats[i - 1]
        g_out = (torch.randint(0, 2, f_out.shape, generator=gen).to(f_out) * 2.0 - 1.0)
        g_in = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True, allow_unused=True)[0]
        if g_in is None:
            g_in = torch.zeros_like(f_in)
        if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
            terms.append(float("-inf"))  # an identity block: the reference's -inf
            continue
        if g_in.shape[-1] != g_out.shape[-1]:
            g_in = nn.functional.pixel_unshuffle(g_in, g_in.shape[-1] // g_out.shape[-1])
        terms.append(formulas.az_trainability_term(
            g_in.permute(0, 2, 3, 1).reshape(-1, g_in.shape[1]),
            g_out.permute(0, 2, 3, 1).reshape(-1, g_out.shape[1])))
    e = torch.tensor(entropies, dtype=torch.float64)
    return {
        "expressivity": float(e.sum()),
        "progressivity": float((e[1:] - e[:-1]).min()) if len(e) > 1 else 0.0,
        "trainability": float(torch.tensor(terms, dtype=torch.float64).mean()) if terms else 0.0,
    }


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
