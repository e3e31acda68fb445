"""AZ-NAS: expressivity, progressivity, trainability (block outputs) and complexity (FLOPs), rank-combined."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from intrain.core.ranking import PopulationRule
from intrain.engine.moments import rows_of
from intrain.proxies import (
    cost,  # noqa: F401  (registers the flops pass that the complexity term reads)
    formulas,
)
from intrain.proxies.base import (
    PassContext,
    Proxy,
    Undefined,
    hooked,
    kaiming_fanin_init,
    output,
    register,
    register_pass,
)

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult


@register_pass("az_nas")
def az_nas_pass(ctx: PassContext) -> dict[str, Any]:
    """AZ-NAS expressivity, progressivity and trainability on stem + block outputs."""
    model = ctx.build()
    kaiming_fanin_init(model, ctx.generator(31))
    model.train()
    feats: list[torch.Tensor] = []
    blocks = ctx.blocks(model)
    # a block may return a tuple (transformers' Swin/PVT stages): its first element is the features
    with hooked(blocks, lambda _m, _i, out: feats.append(out[0] if isinstance(out, (tuple, list)) else out)):
        model(ctx.x)
    if len(blocks) < 2 or len(feats) < 2:
        # progressivity and trainability compare consecutive blocks: with one there is nothing to compare
        raise Undefined(
            f"az_nas compares consecutive stem/block outputs and needs at least 2; this network has "
            f"{len(blocks)} block module(s) whose outputs were seen {len(feats)} time(s) "
            "(pass blocks=['stem', 'block1', ...] naming two or more)"
        )
    if not all(bool(torch.isfinite(f).all()) for f in feats):  # spectra of inf/NaN maps do not exist
        raise Undefined(
            "az_nas: a stem/block output is not finite on the scoring batch (activations overflow or a "
            "weight is NaN/inf), so its spectrum has no value"
        )
    entropies = []
    for f in feats:
        rows = _rows(f.detach()).double()
        rows = rows - rows.mean(dim=0, keepdim=True)
        entropies.append(formulas.spectral_entropy(rows.t() @ rows / rows.shape[0]))
    gen = ctx.generator(32)
    terms = []
    for i in reversed(range(1, len(feats))):
        f_out, f_in = feats[i], feats[i - 1]
        g_out = torch.randint(0, 2, f_out.shape, generator=gen).to(f_out) * 2.0 - 1.0
        g_in = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True, allow_unused=True)[0]
        if g_in is None:
            g_in = torch.zeros_like(f_in)
        if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
            terms.append(float("-inf"))  # an identity block: the reference's -inf
            continue
        g_in, g_out = _as_maps(g_in), _as_maps(g_out)  # tokens (N, T, C) -> (N, C, sqrt T, sqrt T)
        if g_in.dim() == 4 and g_out.dim() == 4 and g_in.shape[-1] != g_out.shape[-1]:
            if g_in.shape[-1] % g_out.shape[-1] or g_in.shape[-2] % g_out.shape[-2]:
                continue  # sides that do not downsample by a whole factor (e.g. channels-last stage outputs)
            g_in = nn.functional.pixel_unshuffle(g_in, g_in.shape[-1] // g_out.shape[-1])
        a, b = _rows(g_in), _rows(g_out)
        if a.shape[0] != b.shape[0]:  # positions that do not pair up (a class token, an odd grid)
            continue
        terms.append(formulas.az_trainability_term(a, b))
    if not terms:
        raise Undefined(
            f"az_nas trainability compares consecutive block outputs position by position, and none of the "
            f"{len(feats) - 1} pairs of this network's {len(feats)} stem/block outputs pair up (shapes "
            f"{[tuple(f.shape) for f in feats][:4]}...); pass blocks=[...] naming modules with maps or tokens"
        )
    e = torch.tensor(entropies, dtype=torch.float64)
    return {
        "expressivity": float(e.sum()),
        "progressivity": float((e[1:] - e[:-1]).min()) if len(e) > 1 else 0.0,
        "trainability": float(torch.tensor(terms, dtype=torch.float64).mean()),
    }


def _rows(f: torch.Tensor) -> torch.Tensor:
    """(rows, channels): maps (N, C, H, W) channels at 1, tokens (N, T, C) channels last."""
    return rows_of(f, 1 if f.dim() in (2, 4) else -1)


def _as_maps(g: torch.Tensor) -> torch.Tensor:
    """Tokens (N, T, C) on a square grid as (N, C, s, s) (a leading class token dropped); else g."""
    if g.dim() != 3:
        return g
    t = g.shape[1]
    for drop in (0, 1, 2):  # ViT's class token, DeiT's class + distillation tokens
        side = int(round((t - drop) ** 0.5))
        if side * side == t - drop and side > 0:
            return g[:, drop:].transpose(1, 2).reshape(g.shape[0], g.shape[2], side, side)
    return g


@register
class AzNas(Proxy):
    """Expressivity, progressivity, trainability and complexity; score = sum log(rank/n).

    Reference: [Lee and Ham, CVPR 2024][ref-az-nas] on the references page.
    """

    name = "az_nas"
    needs = frozenset({"az_nas", "flops"})
    components = ("expressivity", "progressivity", "trainability", "complexity")
    population = PopulationRule("rank_aggregate", components)

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        return {**output(probe, "az_nas"), "complexity": output(probe, "flops")["macs"]}
