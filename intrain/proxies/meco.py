"""MeCo and MeCo_opt (Jiang et al., NeurIPS 2023): the minimum eigenvalue of the channel
correlation matrix of every module's output, summed over modules.

For each module output the first sample's feature map is read as a (channels, positions)
matrix; its Pearson correlation matrix between channels (NaN/inf entries set to 0) has a
smallest eigenvalue, and MeCo is the sum of those over every module of the network (non-finite
terms dropped). MeCo_opt reads 8 randomly chosen channels per module and rescales the
eigenvalue by channels/8. A well-conditioned correlation (channels far from collinear) is what
the paper's convergence/generalisation bound rewards, so larger is better.

Two protocols (docs/protocols.md, "MeCo and SWAP"):

- uniform: a probe collector (``meco_terms``) hooks every module during the InTrain probe's own
  forward and reads the first sample of the scoring batch;
- reference: a separate pass (``meco_reference``) on the reference network, in train mode, fed
  one seeded 1x3x64x64 Gaussian sample as the authors' ``meco.py`` does.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from intrain.engine.counting import CHANNELS_FIRST, CHANNELS_LAST, channel_dim
from intrain.engine.moments import samples_first
from intrain.proxies.base import Collector, PassContext, Proxy, output, register, register_collector, register_pass

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult

__all__ = ["OPT_CHANNELS", "REFERENCE_SHAPE", "MecoAccumulator", "min_correlation_eigenvalue", "module_feature"]

#: Channels MeCo_opt samples per module (the authors' ``random.sample(range(n), 8)``).
OPT_CHANNELS = 8
#: The authors' input: ``torch.randn(size=(1, 3, 64, 64))`` whatever the dataset.
REFERENCE_SHAPE = (1, 3, 64, 64)


def min_correlation_eigenvalue(rows: torch.Tensor) -> float:
    """Smallest eigenvalue of the Pearson correlation between the rows of ``rows`` (n, m).

    Constant rows (and a single column) make correlations NaN; as in the authors' code those
    entries become 0, so such a row contributes an eigenvalue 0 (its diagonal is 0 too).

    Examples:
        >>> round(min_correlation_eigenvalue(torch.tensor([[1., 2., 3.], [3., 2., 1.]])), 6)
        0.0
        >>> round(min_correlation_eigenvalue(torch.tensor([[1., 2., 3., 4.], [1., 3., 2., 4.]])), 6)  # 1 - 0.8
        0.2
    """
    if rows.shape[1] < 2:  # one observation per row: every correlation is NaN, hence 0
        return 0.0
    if rows.shape[0] < 2:  # one channel: the 1x1 correlation matrix is [1] ([NaN] -> [0] if constant)
        return 1.0 if bool((rows != rows[:, :1]).any()) else 0.0
    corr = torch.corrcoef(rows.double())
    corr = torch.where(torch.isfinite(corr), corr, torch.zeros_like(corr))
    return float(torch.linalg.eigvalsh(corr).min())


def module_feature(out: Any, channel_dim: int = 1, batch: int = 0) -> torch.Tensor | None:
    """The (rows, columns) matrix MeCo reads from one module's output, or None if it has none.

    The authors take ``output[0]`` (for a tensor: the first sample; for a tuple: its first
    element) and reshape it to (its first dimension, -1): channels x positions for a feature map.
    Other layouts (docs/layers.md) give the same channels x positions matrix: ``channel_dim`` says
    where the output's channels are (-1 for tokens (N, T, C) and channels-last maps), ``batch``
    finds the sample dimension of sequence-first outputs (T, N, C).
    """
    if isinstance(out, (tuple, list)):
        out = out[0] if out else None
    if not isinstance(out, torch.Tensor) or out.dim() < 1:
        return None
    if batch and out.dim() >= 2:
        out = samples_first(out, batch)
    first = out[0]
    if first.dim() < 1 or first.shape[0] < 1:
        return None  # a 1-d output's first sample is a scalar: no channels to correlate
    if channel_dim not in (1, -out.dim() + 1) and first.dim() >= 2:
        first = first.movedim(channel_dim - 1 if channel_dim > 0 else channel_dim, 0)
    return first.detach().reshape(first.shape[0], -1)


class MecoAccumulator:
    """Forward hooks on every module of a network; sums MeCo's and MeCo_opt's per-module terms.

    ``generator`` draws MeCo_opt's channel subsets (seeded: the score is reproducible).
    """

    def __init__(self, model: nn.Module, generator: torch.Generator):
        self.generator = generator
        self.batch = 0  # the scoring batch size, where known (finds the samples of (T, N, C) outputs)
        self._last: tuple[tuple[int, ...], int] | None = None
        self.meco: list[float] = []
        self.meco_opt: list[float] = []
        self.seconds = 0.0
        self.params = sum(p.numel() for p in model.parameters())
        self.handles = [m.register_forward_hook(self._hook) for m in model.modules()]

    def _hook(self, module: nn.Module, inputs, out) -> None:
        t0 = time.perf_counter()
        tensor = out[0] if isinstance(out, (tuple, list)) and out else out
        cdim = 1
        if isinstance(tensor, torch.Tensor) and tensor.dim() >= 2:
            # a nonlinearity keeps the layout of the layer before it (channels-last in ConvNeXt blocks)
            last = self._last if self._last is not None and self._last[0] == tuple(tensor.shape) else None
            cdim = channel_dim(module, tensor, last[1] if last else None)
            if isinstance(module, (*CHANNELS_FIRST, *CHANNELS_LAST)):
                self._last = (tuple(tensor.shape), cdim)
        fea = module_feature(out, cdim, self.batch)
        if fea is not None:
            n = fea.shape[0]
            self.meco.append(min_correlation_eigenvalue(fea))
            # the authors' random.sample(range(n), 8) fails below 8 rows; we then read them all (factor 1)
            k = min(OPT_CHANNELS, n)
            idx = torch.randperm(n, generator=self.generator)[:k].to(fea.device)
            self.meco_opt.append(min_correlation_eigenvalue(fea[idx]) * n / k)
        self.seconds += time.perf_counter() - t0

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    def result(self) -> dict[str, float]:
        """Sums over modules, non-finite terms dropped (the authors drop NaN and inf)."""

        def total(terms: list[float]) -> float:
            t = torch.tensor(terms, dtype=torch.float64)
            return float(t[torch.isfinite(t)].sum())

        return {
            "meco": total(self.meco),
            "meco_opt": total(self.meco_opt),
            "modules": float(len(self.meco)),
            "seconds": self.seconds,
        }


@register_collector
class MecoTerms(Collector):
    """MeCo and MeCo_opt on the probe's forward: every module, the scoring batch's first sample."""

    name = "meco_terms"
    description = "MeCo/MeCo_opt: min eigenvalue of each module output's channel correlation (forward hooks)"

    def __init__(self, model: nn.Module):
        super().__init__(model)
        # the probe gives collectors no seed; a fixed one keeps MeCo_opt's subsets reproducible
        self.acc = MecoAccumulator(model, torch.Generator().manual_seed(71))
        self.handles = self.acc.handles

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        self.acc.batch = x.shape[0]
        return x

    def result(self) -> dict[str, float]:
        return self.acc.result()


@register_pass("meco_reference")
def meco_reference_pass(ctx: PassContext) -> dict[str, float]:
    """The authors' protocol: one seeded 1x3x64x64 N(0, 1) sample through the network as built,
    in train mode, hooks on every module (``correlation/foresight/pruners/measures/meco.py``)."""
    model = ctx.build().train()
    x = torch.randn(REFERENCE_SHAPE, generator=ctx.generator(72)).to(ctx.x.device)
    acc = MecoAccumulator(model, ctx.generator(73))
    try:
        with torch.no_grad():
            model(x)
    finally:
        acc.remove()
    return acc.result()


class _MecoBase(Proxy):
    needs = frozenset({"meco_terms"})
    reference_needs = frozenset({"meco_reference"})
    reference_input = "gaussian"
    #: score; modules read; seconds spent in the correlation/eigenvalue hooks of this network
    components = ("score", "modules", "seconds")
    key: str = "meco"

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        out = output(probe, "meco_reference" if self.protocol == "reference" else "meco_terms")
        return {"score": out[self.key], "modules": out["modules"], "seconds": out["seconds"]}


@register
class Meco(_MecoBase):
    """Sum over modules of the channel correlation's minimum eigenvalue (MeCo).

    Reference: [Jiang et al., NeurIPS 2023][ref-meco] on the references page.
    """

    name = "meco"
    key = "meco"


@register
class MecoOpt(_MecoBase):
    """MeCo on 8 random channels per module, rescaled by channels/8 (MeCo_opt).

    Reference: [Jiang et al., NeurIPS 2023][ref-meco] on the references page.
    """

    name = "meco_opt"
    key = "meco_opt"
