"""Zero-cost proxies: a registry of reductions over the passes a scorer runs once per network.

Each proxy declares what it ``needs``: side statistics of the shared InTrain probe pass
(:data:`intrain.probe.COLLECTORS`: ``relu_kernel``, ``input_jacobian``, ``grad_sums``) or
separate passes (:data:`intrain.passes.PASSES`: ``flops``, ``grasp``, ``synflow``, ``zen``,
``zico``, ``per_sample``, ``lga``, ``linear_regions``, ``az_nas``, ``vkdnw``). The scorer runs
the union of what the requested proxies need, each once, and every proxy reduces the results
to named scalars. ``score`` is the value ranked against accuracy; proxies whose published score
is a rank combination over the whole population (TE-NAS, AZ-NAS) store their components per
architecture and compute ``score`` in :meth:`Proxy.population_score` at correlation time.
Adding a proxy is adding a class with ``@register``; scorer, HDF5 and workflow need no change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Mapping

import numpy as np

from .. import formulas
from ..trainability import intrain_from_stats

if TYPE_CHECKING:
    from ..probe import ProbeResult


class Proxy:
    name: ClassVar[str]
    #: True where a larger score predicts a better architecture.
    higher_is_better: ClassVar[bool] = True
    #: Probe collectors and passes this proxy reads (see module docstring).
    needs: ClassVar[frozenset[str]] = frozenset()
    #: Names of the values :meth:`compute` returns (stored as /proxy/<name>/<component>).
    components: ClassVar[tuple[str, ...]] = ("score",)
    #: What the authors fed the network: "gaussian" or "real" images (README, "Proxies").
    reference_input: ClassVar[str] = "gaussian"
    version: ClassVar[int] = 1
    #: (need, key): the score is that value of a pass's output, as is (``need`` joins ``needs``);
    #: None: the class overrides :meth:`compute`.
    score_from: ClassVar[tuple[str, str] | None] = None

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        if self.score_from is None:
            raise NotImplementedError(f"proxy {self.name!r} defines neither compute nor score_from")
        need, key = self.score_from
        return {"score": _out(probe, need)[key]}

    @classmethod
    def population_score(cls, components: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """The score of every architecture from all architectures' components, or None."""
        return None


REGISTRY: dict[str, type[Proxy]] = {}


def register(cls: type[Proxy]) -> type[Proxy]:
    if cls.name in REGISTRY:
        raise ValueError(f"proxy {cls.name!r} registered twice")
    if cls.score_from is not None:
        cls.needs = cls.needs | {cls.score_from[0]}
    REGISTRY[cls.name] = cls
    return cls


def get_proxy(name: str) -> Proxy:
    try:
        return REGISTRY[name]()
    except KeyError:
        raise ValueError(f"unknown proxy {name!r}; available: {sorted(REGISTRY)}") from None


def _out(probe: "ProbeResult", need: str):
    try:
        return probe.outputs[need]
    except KeyError:
        raise RuntimeError(f"the scorer did not run {need!r}; a proxy must declare it in `needs`") from None


@register
class InTrain(Proxy):
    """gamma * (1 + o) / log(L + 1) from per-layer PR and per-parameter gradient health."""

    name = "intrain"
    components = ("score", "gamma", "o", "n_layers")

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        s = probe.layer_stats
        g = probe.param_stats
        return intrain_from_stats(s[:, 0], s[:, 1], s[:, 2], g[:, 0], g[:, 1])


@register
class NumParams(Proxy):
    """Trainable parameter count of the network (needs no pass; filled in by the scorer)."""

    name = "params"

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        return {"score": float(probe.extras["params"])}


@register
class Flops(Proxy):
    """Multiply-accumulates of conv and linear layers for one input at the scoring resolution."""

    name = "flops"
    score_from = ("flops", "macs")


@register
class GradNorm(Proxy):
    """Sum over conv/linear layers of |dL/dW|_2 (zero-cost-nas)."""

    name = "grad_norm"
    reference_input = "real"
    score_from = ("grad_sums", "grad_norm")


@register
class Snip(Proxy):
    """Sum over conv/linear weights of |w * dL/dw| (SNIP as zero-cost-nas scores it)."""

    name = "snip"
    reference_input = "real"
    score_from = ("grad_sums", "snip")


@register
class Grasp(Proxy):
    """-sum(w * Hg) over conv/linear weights (GraSP, sign as in zero-cost-nas)."""

    name = "grasp"
    reference_input = "real"
    score_from = ("grasp", "score")


@register
class Synflow(Proxy):
    """sum |w * dR/dw|, R the output sum of the |weight| network on an all-ones input."""

    name = "synflow"
    score_from = ("synflow", "score")


@register
class Jacov(Proxy):
    """Eigenvalue score of the correlation of per-sample input Jacobians (Mellor et al. v1)."""

    name = "jacov"
    needs = frozenset({"input_jacobian"})
    reference_input = "real"

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        return {"score": formulas.jacov_score(_out(probe, "input_jacobian"))}


@register
class Naswot(Proxy):
    """log|K| of the ReLU binary-code agreement kernel (NASWOT)."""

    name = "naswot"
    needs = frozenset({"relu_kernel"})
    reference_input = "real"

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        k = _out(probe, "relu_kernel")
        return {"score": float("nan") if k is None else formulas.naswot_score(k)}


@register
class Zen(Proxy):
    """log of the feature-map response to a small input perturbation, BN-rescaled (Zen-NAS)."""

    name = "zen"
    needs = frozenset({"zen"})
    components = ("score", "delta", "bn_log_scale")

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        return dict(_out(probe, "zen"))


@register
class Zico(Proxy):
    """sum_l log sum mean|g|/std(g) of gradients over two half-batches (ZiCo)."""

    name = "zico"
    reference_input = "real"
    score_from = ("zico", "score")


@register
class TeNas(Proxy):
    """NTK condition number (lower is better) and linear-region count; score = rank sum."""

    name = "tenas"
    needs = frozenset({"per_sample", "linear_regions"})
    components = ("ntk_cond", "linear_regions")
    reference_input = "real"

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        return {"ntk_cond": formulas.condition_number(_out(probe, "per_sample")["ntk"]),
                "linear_regions": _out(probe, "linear_regions")["regions"]}

    @classmethod
    def population_score(cls, components: Mapping[str, np.ndarray]) -> np.ndarray:
        return formulas.rank_sum([components["ntk_cond"], components["linear_regions"]], signs=[-1, 1])


@register
class AzNas(Proxy):
    """Expressivity, progressivity, trainability and complexity; score = sum log(rank/n)."""

    name = "az_nas"
    needs = frozenset({"az_nas", "flops"})
    components = ("expressivity", "progressivity", "trainability", "complexity")

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        return {**_out(probe, "az_nas"), "complexity": _out(probe, "flops")["macs"]}

    @classmethod
    def population_score(cls, components: Mapping[str, np.ndarray]) -> np.ndarray:
        return formulas.rank_aggregate([components[c] for c in cls.components])


@register
class Vkdnw(Proxy):
    """Number of parameter tensors + entropy of the Fisher spectrum's deciles (VKDNW_single)."""

    name = "vkdnw"
    needs = frozenset({"vkdnw"})
    components = ("score", "entropy", "dim")

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        v = _out(probe, "vkdnw")
        return {"score": v["dim"] + v["entropy"], "entropy": v["entropy"], "dim": v["dim"]}


@register
class GradAlignI(Proxy):
    """GradAlign (i): mean cosine of per-sample CE gradients with their mean."""

    name = "gradalign_i"
    needs = frozenset({"per_sample"})

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        return {"score": formulas.gradalign_alignment(_out(probe, "per_sample")["ce_gram"])}


@register
class GradAlignII(Proxy):
    """GradAlign (ii): log det of the cosine Gram matrix of per-sample CE gradients."""

    name = "gradalign_ii"
    needs = frozenset({"per_sample"})
    version = 2  # v1 scored -log det

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        return {"score": formulas.gradalign_gram_logdet(_out(probe, "per_sample")["ce_gram"])}


@register
class LabelGradientAlignment(Proxy):
    """Centred alignment of the NTK (after a few SGD steps) with the label-agreement matrix."""

    name = "lga"
    needs = frozenset({"lga"})
    components = ("score", "steps")
    reference_input = "real"

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        out = _out(probe, "lga")
        return {"score": formulas.label_gradient_alignment(out["ntk"], out["labels"]),
                "steps": float(out["steps"])}


def add_population_scores(scores, proxies: list[str] | None = None):
    """Add the ``<proxy>`` column of rank-combined proxies to a scores DataFrame (in place)."""
    for name, cls in REGISTRY.items():
        if proxies is not None and name not in proxies:
            continue
        cols = {c: f"{name}.{c}" for c in cls.components}
        if name in scores.columns or not all(col in scores.columns for col in cols.values()):
            continue
        value = cls.population_score({c: scores[col].to_numpy() for c, col in cols.items()})
        if value is not None:
            scores[name] = value
    return scores
