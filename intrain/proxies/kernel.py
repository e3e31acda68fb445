"""Kernel proxies from per-sample gradients: TE-NAS (NTK + linear regions), GradAlign (i, ii) and LGA."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from intrain.core.flags import Flag
from intrain.core.ranking import PopulationRule
from intrain.engine.counting import is_nonlinearity
from intrain.engine.functional import out_of_memory
from intrain.engine.moments import samples_first
from intrain.proxies import formulas
from intrain.proxies.base import (
    WEIGHTED,
    PassContext,
    Proxy,
    Undefined,
    float_inputs,
    hooked,
    output,
    parametrized_weights,
    register,
    register_pass,
    weighted_modules,
)

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult

#: Learning rate of LGA's few SGD steps (momentum 0.9).
LGA_LR = 0.05


def _split_params(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(conv/linear weights, every other parameter and buffer) as detached tensors by name.

    A weight computed from other tensors (weight_norm, spectral_norm, a user's parametrization:
    `parametrized_weights`) is read through its trainable leaves (``parametrizations.weight.original*``,
    ``weight_g``/``weight_v``, ``weight_orig``): they are what training updates, and the
    per-sample gradient with respect to them is well defined (``functional_call`` recomputes the
    weight from them, so the parametrization stays in the graph).
    """
    computed = parametrized_weights(model)
    weight_names: set[str] = set()
    for n, m in weighted_modules(model):
        if n in computed:
            weight_names.update(computed[n][1])
        elif m.weight.requires_grad:
            weight_names.add(f"{n}.weight" if n else "weight")
    weights: dict[str, torch.Tensor] = {}
    rest: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        (weights if name in weight_names else rest)[name] = p.detach()
    for name, b in model.named_buffers():
        rest[name] = b
    return weights, rest


@torch.no_grad()
def calibrate_bn(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """Set every BN's running statistics to those of ``x``, then switch to eval mode.

    This project's choice for the uniform protocol, not TE-NAS's: TENAS's ``get_ntk_n`` has a
    ``recal_bn`` helper but its call is commented out, and the AZ-NAS/VKDNW ports score in train
    mode (`train_mode_ntk`, the reference protocol). In eval mode each sample's gradient is
    its own, and calibrated statistics keep activations normalised as in training; uncalibrated
    eval mode at init (mean 0, variance 1) lets NB201's residual sums grow until the softmax
    saturates and some per-sample cross-entropy gradients are exactly zero.
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

    BN calibrated on ``x`` and then frozen (`calibrate_bn`), so each sample's gradient
    is its own, as TE-NAS computes its NTK. Returns (NTK, CE-gradient Gram), (B, B) float64.
    """
    calibrate_bn(model, x)
    weights, rest = _split_params(model)

    def outputs(w: dict[str, torch.Tensor], xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, {**w, **rest}, (xb.unsqueeze(0),))
        ce = nn.functional.cross_entropy(logits, yb.unsqueeze(0))
        return torch.stack([logits.sum(), ce])

    try:
        jac = vmap(jacrev(outputs), in_dims=(None, 0, 0))(weights, x, y)
    except Exception as e:  # a layer torch.func cannot batch (PReLU, GRU, full backward hooks, ...)
        if out_of_memory(e):  # the machine's limit: the loop would need as much, and it is no fallback
            raise
        jac = _per_sample_loop(model, list(weights), x, y)
    b = x.shape[0]
    ntk = torch.zeros(b, b, dtype=torch.float64, device=x.device)
    ce_gram = torch.zeros_like(ntk)
    for g in jac.values():  # (B, 2, *shape)
        g = g.reshape(b, 2, -1).double()
        ntk += g[:, 0] @ g[:, 0].t()
        ce_gram += g[:, 1] @ g[:, 1].t()
    return ntk, ce_gram


def _per_sample_loop(model: nn.Module, names: list[str], x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """`per_sample_grams`'s Jacobians, one autograd backward per sample and output: the same
    values where ``torch.func`` refuses the network (slower, so only then)."""
    params = dict(model.named_parameters())
    chosen = [params[n] for n in names]
    rows: list[list[torch.Tensor]] = []
    for i in range(x.shape[0]):
        logits = model(x[i : i + 1])
        ce = nn.functional.cross_entropy(logits, y[i : i + 1])
        pair = []
        for value in (logits.sum(), ce):
            grads = torch.autograd.grad(value, chosen, retain_graph=True, allow_unused=True)
            pair.append([torch.zeros_like(p) if g is None else g for p, g in zip(chosen, grads)])
        rows.append([torch.stack([pair[0][k], pair[1][k]]) for k in range(len(chosen))])
    return {n: torch.stack([r[k] for r in rows]) for k, n in enumerate(names)}


@register_pass("per_sample")
def per_sample_pass(ctx: PassContext) -> dict[str, Any]:
    model = ctx.build()
    ntk, ce_gram = per_sample_grams(model, ctx.x, ctx.y)
    return {"ntk": ntk, "ce_gram": ce_gram}


def train_mode_ntk(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """TE-NAS's NTK as the AZ-NAS/VKDNW NB201 ports compute it (``get_ntk_n(train_mode=True)``).

    One train-mode forward of the whole batch (BN normalises with the batch's statistics, so
    each sample's gradient also flows through the others'), then the gradient of each sample's
    summed logits with respect to every parameter whose name contains ``weight`` (conv, linear
    and BN γ), stacked and multiplied in float32. Returns the (B, B) float32 kernel.
    """
    model.train()
    named = [(n, p) for n, p in model.named_parameters() if "weight" in n and p.requires_grad]
    params = [p for _, p in named]
    logits = model(x)
    rows = []
    for i in range(x.shape[0]):  # one backward per sample, as the reference (a batched vmap was 2.7x slower on CPU)
        grads = torch.autograd.grad(logits[i].sum(), params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads if g is not None]))
    g = torch.stack(rows).float()
    return g @ g.t()


@register_pass("ntk_train")
def ntk_train_pass(ctx: PassContext) -> dict[str, Any]:
    """TE-NAS's reference NTK (`train_mode_ntk`) on a fresh network."""
    return {"ntk": train_mode_ntk(ctx.build(), ctx.x)}


@register_pass("linear_regions_batch")
def linear_regions_batch_pass(ctx: PassContext) -> dict[str, Any]:
    """TE-NAS's linear regions as the AZ-NAS/VKDNW NB201 ports count them: distinct ReLU sign
    patterns over B Gaussian inputs of the scoring batch's own shape (3 channels, full side), in
    train mode. At NB201's sizes nearly every input gets its own pattern, so the count sits at
    (or next to) B: the reference TE-NAS ranks almost by its NTK alone."""
    float_inputs(ctx.x, "TE-NAS linear regions (Gaussian inputs)")
    x = torch.randn(tuple(ctx.x.shape), generator=ctx.generator(22)).to(ctx.x.device)
    # TE-NAS's hook keeps only ReLUs applied to 4-d (feature map) inputs
    return {"regions": count_activation_patterns(ctx.build().train(), x, spatial_only=True)}


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
    inputs tiny (one channel, 3x3) so that it does not. NB201 needs at least 4x4; a network
    whose stem downsamples more gets the smallest side it accepts (`linear_region_side`).
    """
    float_inputs(ctx.x, "TE-NAS linear regions (small Gaussian images)")
    if ctx.x.dim() != 4:
        raise Undefined(
            f"TE-NAS linear regions count patterns over small square images (N, C, H, W); this network "
            f"takes inputs of shape {tuple(ctx.x.shape[1:])} per sample, which have no side to shrink"
        )
    n = int(ctx.options.get("lr_samples", 1000))
    model = ctx.build().train()
    try:
        res = linear_region_side(model, ctx.x, int(ctx.options.get("lr_resolution", 4)))
    except ValueError as err:  # no square side runs: TE-NAS is undefined here, the reason names the option
        raise Undefined(str(err)) from None
    # One channel broadcast to all: TE-NAS counts regions of a one-channel input (RandChannel(1)).
    x = torch.randn((n, 1, res, res), generator=ctx.generator(21)).expand(n, ctx.x.shape[1], res, res)
    regions = count_activation_patterns(model, x.contiguous().to(ctx.x.device), undefined_without=True)
    return {"regions": regions}


def linear_region_side(model: nn.Module, x: torch.Tensor, side: int) -> int:
    """``side`` if the network runs on ``side`` x ``side`` inputs, else the smallest larger side it
    runs on, up to the scoring batch's own (a stem that downsamples 4x4 to nothing must not end
    the run with a raw padding or pooling error). Tried in eval mode on two zero inputs, so no
    batch statistic or running statistic changes; the model is left in train mode.
    """
    full = max(side, *x.shape[2:])
    last: Exception | None = None
    try:
        for s in range(side, full + 1):
            try:
                with torch.no_grad():
                    model.eval()(torch.zeros((2, x.shape[1], s, s), dtype=x.dtype, device=x.device))
                return s
            except (
                RuntimeError,
                ValueError,
                AssertionError,
            ) as err:  # torch's shape errors; timm asserts its input size
                if out_of_memory(err):  # the machine's limit, not a side the network refuses
                    raise
                last = err
    finally:
        model.train()
    raise ValueError(
        f"TE-NAS linear regions: the network runs on no square input from lr_resolution={side} "
        f"up to {full} pixels (last error: {last}); set the side it accepts: "
        f"options={{'lr_resolution': ...}} in intrain.score, scoring.lr_resolution in a workflow config"
    )


def count_activation_patterns(
    model: nn.Module, x: torch.Tensor, spatial_only: bool = False, undefined_without: bool = False
) -> float:
    """Distinct sign patterns of every nonlinearity's output over the inputs ``x`` (TE-NAS's
    linear regions; ReLU in the paper's networks, GELU/SiLU/Hardswish modules in others, read in
    any layout with the samples first); 1 when the network has no (counted) nonlinearity, or
    [`Undefined`][intrain.proxies.base.Undefined] with ``undefined_without`` (a network whose
    activations are functions, F.relu, is not linear: its regions are just not visible).
    ``spatial_only`` counts only those with 4-d outputs."""
    codes: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs, out: torch.Tensor) -> None:
        if not spatial_only or out.dim() == 4:
            codes.append((samples_first(out.detach(), x.shape[0]) > 0).reshape(x.shape[0], -1))

    with hooked([m for m in model.modules() if is_nonlinearity(m)], hook), torch.no_grad():
        model(x)
    if not codes and undefined_without:
        raise Undefined(
            "tenas: linear_regions needs a nonlinearity module (ReLU, GELU, SiLU, Hardswish, ...) and none "
            "ran; activations called as functions (F.relu) cannot be hooked, so there are no patterns to count"
        )
    if not codes:
        return 1.0
    return float(torch.unique(torch.cat(codes, dim=1), dim=0).shape[0])


@register
class TeNas(Proxy):
    """NTK condition number (lower is better) and linear-region count; score = rank sum.

    Reference: [Chen et al., ICLR 2021][ref-tenas] on the references page.
    """

    name = "tenas"
    layer_types = WEIGHTED
    reads_parametrized = True  # per-sample gradients w.r.t. a computed weight's leaves (`_split_params`)
    # The VKDNW run scores TE-NAS last on one network instance, after proxies that re-init it Kaiming
    # fan-in (its NB201 tss_general_.py); the uniform protocol scores the network as built.
    reference_init = "kaiming"
    needs = frozenset({"per_sample", "linear_regions"})
    #: Reference: train-mode NTK over every ``*weight`` in float32, regions over B full-size inputs.
    reference_needs = frozenset({"ntk_train", "linear_regions_batch"})
    components = ("ntk_cond", "linear_regions")
    reference_input = "real"
    population = PopulationRule("rank_sum", ("ntk_cond", "linear_regions"), (-1, 1))
    sentinels: ClassVar[dict[str, str]] = {
        "ntk_cond": (
            "the NTK of the per-sample gradients is singular to float64 precision (zero or linearly "
            "dependent per-sample gradients), so it has no finite condition number"
        )
    }

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        if self.protocol == "reference":
            return {
                "ntk_cond": formulas.condition_number_reference(output(probe, "ntk_train")["ntk"]),
                "linear_regions": output(probe, "linear_regions_batch")["regions"],
            }
        ntk = output(probe, "per_sample")["ntk"]
        cond = formulas.condition_number(ntk)
        if cond != cond:  # eigvalsh of inf/NaN entries has no value
            probe.reasons[self.name] = (
                "tenas: ntk_cond is NaN: the NTK of the per-sample gradients is not finite "
                "(non-finite activations or weights)"
            )
            probe.flags = int(Flag(probe.flags) | Flag.UNDEFINED | Flag.NONFINITE)
        return {"ntk_cond": cond, "linear_regions": output(probe, "linear_regions")["regions"]}


@register
class GradAlignI(Proxy):
    """GradAlign (i): mean cosine of per-sample CE gradients with their mean.

    Reference: [Li and Guo, 2024][ref-gradalign] on the references page.
    """

    name = "gradalign_i"
    layer_types = WEIGHTED
    reads_parametrized = True  # per-sample gradients w.r.t. a computed weight's leaves (`_split_params`)
    reads_loss = True
    needs = frozenset({"per_sample"})

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        return {"score": formulas.gradalign_alignment(output(probe, "per_sample")["ce_gram"])}


@register
class GradAlignII(Proxy):
    """GradAlign (ii): log det of the cosine Gram matrix of per-sample CE gradients.

    Reference: [Li and Guo, 2024][ref-gradalign] on the references page.
    """

    name = "gradalign_ii"
    layer_types = WEIGHTED
    reads_parametrized = True  # per-sample gradients w.r.t. a computed weight's leaves (`_split_params`)
    reads_loss = True
    needs = frozenset({"per_sample"})
    version = 2  # v1 scored -log det

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        value = formulas.gradalign_gram_logdet(output(probe, "per_sample")["ce_gram"])
        if value != value:
            raise Undefined(
                "gradalign_ii: the cosine Gram matrix of per-sample CE gradients is singular to working "
                "precision (zero or linearly dependent per-sample gradients, e.g. a 1-logit head or fewer "
                "trainable weights than samples): its log det would score the epsilon, not the network"
            )
        return {"score": value}


@register
class LabelGradientAlignment(Proxy):
    """Centred alignment of the NTK (after a few SGD steps) with the label-agreement matrix.

    Reference: [Mok et al., CVPR 2022][ref-lga] on the references page.
    """

    name = "lga"
    layer_types = WEIGHTED
    reads_parametrized = True  # per-sample gradients w.r.t. a computed weight's leaves (`_split_params`)
    reads_loss = True
    needs = frozenset({"lga"})
    components = ("score", "steps")
    reference_input = "real"

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        out = output(probe, "lga")
        return {"score": formulas.label_gradient_alignment(out["ntk"], out["labels"]), "steps": float(out["steps"])}
