"""SWAP (Peng et al., ICLR 2024): the number of distinct sample-wise activation patterns.

Every ReLU applied to a feature map (4-d input) gives, for each of its output neurons, the
signs of that neuron's output over a mini-batch: a binary vector with one entry per sample. The
SWAP-Score is the number of distinct such vectors over all neurons of the network (the rows of
the transposed (samples x neurons) sign matrix, made unique). More distinct patterns: a more
expressive network. The regularised SWAP multiplies it by exp(-(P - mu)^2 / sigma), P the
parameter count in thousands (the authors' ``count_parameters``: elements / 1e3).

Two protocols (docs/protocols.md, "MeCo and SWAP"):

- uniform: a probe collector (``relu_patterns``) on the InTrain probe's forward, the whole
  scoring batch, the network as built;
- reference: a separate pass (``swap_reference``) as the authors' ``correlation.py``: the first
  16 images of the real-image batch, N(0, 1) conv/linear weights (BN 1/0), train mode, the mean
  over `Swap.reference_repeats` re-initialisations.

mu and sigma: `Swap.mu`, `Swap.sigma` (None, the default: factor 1, the plain SWAP).
The authors' repository sets none and the per-space values of the paper could not be read
from the sources available to this project (docs/protocols.md); set them on a subclass, e.g.
``class MySwap(Swap): name = "swap_mine"; mu = ...; sigma = ...`` used as ``module:MySwap``.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import nn

from intrain.engine.counting import is_nonlinearity
from intrain.engine.moments import samples_first
from intrain.proxies.base import (
    Collector,
    PassContext,
    Proxy,
    Undefined,
    gaussian_init,
    output,
    register,
    register_collector,
    register_pass,
)

if TYPE_CHECKING:
    from intrain.engine.probe import ProbeResult

__all__ = ["REFERENCE_SAMPLES", "PatternCounter", "Swap", "pattern_codes", "regular_factor"]

#: The authors' ``--input_samples`` default (correlation.py).
REFERENCE_SAMPLES = 16
_BITS = 40  # samples packed per int64 word: leaves 23 bits for a row's rank when words are merged (count_distinct)
_MAX_RANK = 1 << (63 - _BITS)


def pattern_codes(signs: torch.Tensor) -> torch.Tensor:
    """Each neuron's pattern over the samples as integers: (samples, neurons) -> (neurons, words).

    Equal columns of ``signs`` give equal rows, distinct columns distinct rows, so counting
    distinct rows counts distinct patterns without sorting (samples x neurons) booleans.

    Examples:
        >>> pattern_codes(torch.tensor([[1, 0, 1], [1, 1, 1]], dtype=torch.bool)).flatten().tolist()
        [3, 2, 3]
    """
    b = signs.shape[0]
    words = []
    for start in range(0, b, _BITS):
        chunk = signs[start : start + _BITS].to(torch.int64)
        weights = torch.pow(2, torch.arange(chunk.shape[0], dtype=torch.int64, device=chunk.device))
        words.append((chunk * weights[:, None]).sum(dim=0))
    return torch.stack(words, dim=1)


def count_distinct(codes: list[torch.Tensor]) -> int:
    """Distinct rows over all hooked layers' codes (the SWAP-Score)."""
    if not codes:
        return 0
    allc = torch.cat(codes, dim=0)
    if allc.shape[0] >= _MAX_RANK:  # too many neurons to merge word by word: sort whole rows
        return int(torch.unique(allc, dim=0).shape[0])
    # rank of the rows by their first w words, refined one word at a time: 1-d uniques, no row sort
    rank = torch.unique(allc[:, 0], return_inverse=True)[1]
    for w in range(1, allc.shape[1]):
        rank = torch.unique(rank * (1 << _BITS) + allc[:, w], return_inverse=True)[1]
    return int(rank.max()) + 1 if rank.numel() else 0


def regular_factor(params_thousands: float, mu: float | None, sigma: float | None) -> float:
    """The authors' ``cal_regular_factor``: exp(-(P - mu)^2 / sigma); 1 without mu and sigma
    (their ``SWAP`` keeps ``regular_factor = 1`` unless both are given).

    Examples:
        >>> regular_factor(5.0, 5.0, 2.0), round(regular_factor(7.0, 5.0, 2.0), 6), regular_factor(7.0, None, None)
        (1.0, 0.135335, 1.0)
    """
    if mu is None or sigma is None:
        return 1.0
    return math.exp(-((params_thousands - mu) ** 2) / sigma)


class PatternCounter:
    """Forward hooks on every ReLU-like nonlinearity whose input is a map or a token sequence
    (rank >= 3); collects each neuron's sign pattern over the samples.

    The authors hook ``nn.ReLU`` on 4-d inputs (feature maps, not the classifier's features);
    this reads every nonlinearity of `is_nonlinearity` (GELU, SiLU,
    Hardswish, ... have f(x) > 0 exactly where x > 0) on maps (N, C, H, W), channels-last maps and
    tokens (N, T, C) or (T, N, C): a neuron is one (position, channel) unit. On networks whose
    nonlinearities are all ``nn.ReLU`` on maps (NB201, NB101) that is the authors' selection.
    ``batch`` tells the batch dimension of sequence-first outputs (0: the first dimension).
    """

    def __init__(self, model: nn.Module, batch: int = 0):
        self.codes: list[torch.Tensor] = []
        self.samples = 0
        self.batch = batch
        self.nonfinite = False
        self.seconds = 0.0
        self.params = sum(p.numel() for p in model.parameters())
        self.handles = [m.register_forward_hook(self._hook) for m in model.modules() if is_nonlinearity(m)]

    def _hook(self, module: nn.Module, inputs, out) -> None:
        if not (isinstance(inputs, tuple) and inputs and isinstance(inputs[0], torch.Tensor) and inputs[0].dim() >= 3):
            return
        if not isinstance(out, torch.Tensor):
            return
        t0 = time.perf_counter()
        out = samples_first(out, self.batch) if self.batch else out
        act = out.detach().reshape(out.shape[0], -1)
        if not bool(torch.isfinite(act).all()):
            self.nonfinite = bool(torch.isnan(act).any()) or self.nonfinite  # +inf has sign 1: a pattern
        self.samples = act.shape[0]
        self.codes.append(pattern_codes(act > 0))  # sign of a ReLU output: 1 where positive, else 0
        self.seconds += time.perf_counter() - t0

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    def result(self) -> dict[str, float]:
        """SWAP (NaN if an activation was NaN: its sign, hence its pattern, is undefined)."""
        t0 = time.perf_counter()
        score = float("nan") if self.nonfinite else float(count_distinct(self.codes))
        neurons = float(sum(c.shape[0] for c in self.codes))
        self.codes = []
        return {
            "swap": score,
            "neurons": neurons,
            "samples": float(self.samples),
            "params_k": self.params / 1e3,
            "seconds": self.seconds + time.perf_counter() - t0,
        }


@register_collector
class ReluPatterns(Collector):
    """SWAP's sign patterns on the probe's forward (every ReLU with a 4-d input)."""

    name = "relu_patterns"
    description = "SWAP: distinct per-neuron sign patterns over the batch at every ReLU (forward hooks)"

    def __init__(self, model: nn.Module):
        super().__init__(model)
        self.counter = PatternCounter(model)
        self.handles = self.counter.handles

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        self.counter.batch = x.shape[0]
        return x

    def result(self) -> dict[str, float]:
        return self.counter.result()


@register_pass("swap_reference")
def swap_reference_pass(ctx: PassContext) -> dict[str, float]:
    """The authors' correlation.py: 16 real images, N(0, 1) re-init per repeat, train mode, mean SWAP."""
    x = ctx.x[:REFERENCE_SAMPLES]
    model = ctx.build().train()
    gen = ctx.generator(81)
    runs = []
    last: dict[str, float] = {}
    for _ in range(Swap.reference_repeats):
        gaussian_init(model, gen)
        counter = PatternCounter(model, batch=x.shape[0])
        try:
            with torch.no_grad():
                model(x)
        finally:
            counter.remove()
        last = counter.result()
        runs.append(last["swap"])
    return {**last, "swap": float(torch.tensor(runs, dtype=torch.float64).mean()), "repeats": float(len(runs))}


@register
class Swap(Proxy):
    """Distinct sample-wise ReLU sign patterns (SWAP-Score), and its size-regularised form.

    Reference: [Peng et al., ICLR 2024][ref-swap] on the references page.
    """

    name = "swap"
    needs = frozenset({"relu_patterns"})
    reference_needs = frozenset({"swap_reference"})
    reference_input = "real"  # correlation.py feeds the first batch of the CIFAR-10 train loader
    #: score: SWAP x regular_factor (the authors' SWAP.forward); swap: the plain count;
    #: regular_factor: exp(-(P - mu)^2 / sigma), 1 while mu, sigma are unset; neurons x samples: the matrix
    components = ("score", "swap", "regular_factor", "neurons", "samples", "seconds")
    #: Regularisation centre and width, P in thousands of parameters (None: not regularised, factor 1).
    mu: ClassVar[float | None] = None
    sigma: ClassVar[float | None] = None
    #: Gaussian re-initialisations averaged under the reference protocol (correlation.py: --repeats 32).
    reference_repeats: ClassVar[int] = 32

    def compute(self, probe: ProbeResult) -> dict[str, float]:
        out = output(probe, "swap_reference" if self.protocol == "reference" else "relu_patterns")
        if out["neurons"] == 0:
            raise Undefined(
                "swap: no ReLU-like nonlinearity module ran on a feature map or token sequence "
                "(functional activations such as F.gelu cannot be hooked): there are no patterns to count"
            )
        if out["swap"] != out["swap"]:
            raise Undefined("swap: an activation was NaN, so its sign pattern is undefined")
        factor = regular_factor(out["params_k"], self.mu, self.sigma)
        return {
            "score": out["swap"] * factor,
            "swap": out["swap"],
            "regular_factor": factor,
            "neurons": out["neurons"],
            "samples": out["samples"],
            "seconds": out["seconds"],
        }
