"""What every proxy family builds on: the Proxy class, the pass and collector registries, helpers.

A proxy reads what the scorer computed once per network:

- the InTrain probe (:func:`intrain.probe.run_probe`): one train-mode forward + backward with a
  cross-entropy loss, giving per-layer activation covariance traces and per-parameter gradient
  moments;
- *collectors*: side statistics gathered during that same probe pass (hooks, an extra
  backward), registered with :func:`register_collector`;
- *passes*: separate runs on a fresh copy of the network (another init, modified weights,
  other inputs), registered with :func:`register_pass`.

A proxy lists what it reads in ``needs``; the scorer runs the union of all requested proxies'
needs, each once. Each built-in proxy family lives in one module of this package (its class, its
pass or collector; the pure math is in :mod:`intrain.formulas`). A plugin proxy is the same: a
``Proxy`` subclass in any module, optionally with its own pass or collector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

import numpy as np
import torch
from torch import nn

from ..ranking import PopulationRule

if TYPE_CHECKING:
    from ..probe import ProbeResult

__all__ = ["Proxy", "register", "REGISTRY", "PassContext", "register_pass", "PASSES", "Collector",
           "register_collector", "COLLECTORS", "hooked", "weighted_modules", "count_params", "count_macs",
           "kaiming_fanin_init", "gaussian_init", "WEIGHTED"]

from .. import counting
from ..counting import WEIGHTED, count_macs, hooked  # noqa: F401  (re-exported for proxy families)


# ----------------------------------------------------------------------------- proxies


class Proxy:
    """A zero-cost proxy: reduces what the scorer computed for one network to named scalars.

    Subclass it, set ``name`` and ``needs``, and either set ``score_from = (need, key)`` (the
    score is that value of a pass's or collector's output) or override :meth:`compute`.
    """

    name: ClassVar[str]
    #: True where a larger score predicts a better architecture.
    higher_is_better: ClassVar[bool] = True
    #: Probe collectors and passes this proxy reads (see module docstring).
    needs: ClassVar[frozenset[str]] = frozenset()
    #: Names of the values :meth:`compute` returns (stored as /proxy/<name>/<component>).
    components: ClassVar[tuple[str, ...]] = ("score",)
    #: What the published number's run fed the network: "gaussian" or "real" images
    #: (docs/protocols.md). Under ``protocol: reference`` a "real" proxy is scored on the real-image
    #: stand-in (``scoring.data``, else the bundled photographs) and a "gaussian" one on noise.
    reference_input: ClassVar[str] = "gaussian"
    version: ClassVar[int] = 1
    #: (need, key): the score is that value of a pass's output, as is (``need`` joins ``needs``);
    #: None: the class overrides :meth:`compute`.
    score_from: ClassVar[tuple[str, str] | None] = None
    #: Set for proxies whose score ranks each network within a population (TE-NAS, AZ-NAS):
    #: the components are stored per network and combined at analysis time by this rule.
    population: ClassVar[PopulationRule | None] = None
    #: Under ``protocol: reference``, the initialisation the published code applies before scoring:
    #: "kaiming" (Kaiming-normal fan-in conv/linear, BN 1/0, as AZ-NAS's and VKDNW's NB201 ports
    #: call it) or None (the network as built).
    reference_init: ClassVar[str | None] = None
    #: Under ``protocol: reference``, (need, key) of the published definition where it differs
    #: from ``score_from`` (``need`` joins ``reference_needs``).
    reference_from: ClassVar[tuple[str, str] | None] = None
    #: Under ``protocol: reference``, what the proxy reads instead of ``needs`` (None: ``needs``),
    #: for a published definition computed by other passes (TE-NAS's train-mode NTK).
    reference_needs: ClassVar[frozenset[str] | None] = None
    #: "uniform" or "reference"; the scorer sets it on its instances.
    protocol: str = "uniform"

    def compute(self, probe: "ProbeResult") -> dict[str, float]:
        if self.score_from is None:
            raise NotImplementedError(f"proxy {self.name!r} defines neither compute nor score_from")
        need, key = self.score_from
        if self.protocol == "reference" and self.reference_from is not None:
            need, key = self.reference_from
        return {"score": output(probe, need)[key]}

    @property
    def active_needs(self) -> frozenset[str]:
        """The passes and collectors this instance reads under its protocol (the scorer runs these)."""
        if self.protocol == "reference" and self.reference_needs is not None:
            return self.reference_needs
        return self.needs

    @classmethod
    def population_score(cls, components: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """The score of every architecture from all architectures' components, or None."""
        return None if cls.population is None else cls.population.combine(components)


REGISTRY: dict[str, type[Proxy]] = {}


def register(cls: type[Proxy]) -> type[Proxy]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"proxy class {cls.__qualname__} needs a `name` that is an identifier, got {name!r}")
    if name in REGISTRY and REGISTRY[name] is not cls:
        raise ValueError(f"proxy {name!r} registered twice ({REGISTRY[name].__module__} and {cls.__module__})")
    if cls.score_from is not None:
        cls.needs = cls.needs | {cls.score_from[0]}
    if cls.reference_from is not None and cls.reference_needs is None:
        # the reference definition replaces score_from's pass (when it is another one), not joins it
        replaced = {cls.score_from[0]} - {cls.reference_from[0]} if cls.score_from is not None else set()
        cls.reference_needs = (cls.needs - replaced) | {cls.reference_from[0]}
    if cls.reference_input not in ("gaussian", "real"):
        raise ValueError(f"proxy {name!r}: reference_input must be 'gaussian' or 'real', got {cls.reference_input!r}")
    if cls.reference_init not in (None, "kaiming"):
        raise ValueError(f"proxy {name!r}: reference_init must be None or 'kaiming', got {cls.reference_init!r}")
    if cls.population is not None and cls.components != cls.population.components:
        raise ValueError(f"proxy {name!r}: population components {cls.population.components} "
                         f"differ from its components {cls.components}")
    REGISTRY[name] = cls
    return cls


def output(probe: "ProbeResult", need: str) -> Any:
    """What the pass or collector ``need`` produced for this network."""
    try:
        return probe.outputs[need]
    except KeyError:
        raise RuntimeError(f"the scorer did not run {need!r}; a proxy must declare it in `needs`") from None


# ----------------------------------------------------------------------------- passes


def seeded_generator(seed: int, offset: int) -> torch.Generator:
    """A CPU generator for one consumer's own draws (``offset`` tells consumers apart), independent
    of the global RNG, so a score never depends on what ran before it."""
    return torch.Generator().manual_seed(seed * 1000 + offset)


@dataclass
class PassContext:
    """What every pass may use: a factory for fresh seeded copies and the scoring batch.

    ``options`` carries pass settings (``lga_steps``, ``lr_samples``, ``lr_resolution``) and,
    for networks outside the built-in spaces, where their structure is: ``features`` (a module
    name or ``callable(model, x)``: the pre-pooling feature map, for Zen) and ``blocks`` (module
    names or ``callable(model)``: stem and block outputs, for AZ-NAS).
    """

    build: Callable[[], nn.Module]  # a freshly initialised network on the device (same seed each call)
    x: torch.Tensor
    y: torch.Tensor
    num_classes: int
    seed: int
    options: dict[str, Any] = field(default_factory=dict)
    #: ``batch(k)``: the k-th further batch of the same kind as (x, y) (k >= 1), for passes whose
    #: reference reads more than one batch (ZiCo's two); None: passes use (x, y) only.
    more: Callable[[int], tuple[torch.Tensor, torch.Tensor]] | None = None

    def batch(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``k`` of the scoring input: 0 is (x, y); k >= 1 another batch of the same kind and size."""
        if k == 0:
            return self.x, self.y
        if self.more is None:
            raise RuntimeError("this pass needs more than one scoring batch; the caller gave PassContext no `more`")
        return self.more(k)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A CPU generator for a pass's own random draws, independent of the global RNG."""
        return seeded_generator(self.seed, offset)

    def features(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The network's feature map before global pooling (Zen-NAS scores its response)."""
        how = self.options.get("features")
        if callable(how):
            return how(model, x)
        if isinstance(how, str):
            got: list[torch.Tensor] = []
            with hooked([_module(model, how, "features")], lambda _m, _i, out: got.append(out)):
                model(x)
            return got[-1]
        if hasattr(model, "forward_features"):
            return model.forward_features(x)
        raise TypeError(f"{type(model).__name__} has no forward_features(x), the pre-pooling feature map this "
                        "proxy needs; pass features='<module name>' (or a callable(model, x)) to say where it is")

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        """The stem and block modules whose outputs AZ-NAS compares, in forward order."""
        how = self.options.get("blocks")
        if callable(how):
            return list(how(model))
        if how is not None:
            return [_module(model, name, "blocks") for name in how]
        if hasattr(model, "feature_modules"):
            return list(model.feature_modules())
        raise TypeError(f"{type(model).__name__} has no feature_modules() (stem and block outputs) that this proxy "
                        "needs; pass blocks=['stem', 'block1', ...] (module names, or a callable(model))")


def _module(model: nn.Module, name: str, option: str) -> nn.Module:
    try:
        return model.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in model.named_modules() if n][:12]
        raise ValueError(f"{option}: the network has no module {name!r}; some of its modules: {names}") from None


PassFn = Callable[[PassContext], dict[str, Any]]
PASSES: dict[str, PassFn] = {}


def register_pass(name: str) -> Callable[[PassFn], PassFn]:
    """Decorator: ``fn(ctx) -> dict`` becomes the pass ``name`` that proxies may need."""
    def wrap(fn: PassFn) -> PassFn:
        if name in PASSES and PASSES[name] is not fn:
            raise ValueError(f"pass {name!r} registered twice")
        if name in COLLECTORS:
            raise ValueError(f"{name!r} is already a probe collector")
        PASSES[name] = fn
        return fn
    return wrap


# ----------------------------------------------------------------------------- collectors


class Collector:
    """Side statistics gathered during the InTrain probe pass (no extra forward of its own).

    The probe calls, in order: ``__init__(model)`` (register hooks), :meth:`prepare_input`,
    the forward, :meth:`after_forward`, the backward, :meth:`after_backward`, then
    :meth:`remove` (always, also on errors); :meth:`result` is stored under the collector's name.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def __init__(self, model: nn.Module):
        self.model = model
        self.handles: list[Any] = []

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def after_forward(self, x: torch.Tensor, logits: torch.Tensor) -> None:
        pass

    def after_backward(self) -> None:
        pass

    def result(self) -> Any:
        raise NotImplementedError

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


COLLECTORS: dict[str, type[Collector]] = {}


def register_collector(cls: type[Collector]) -> type[Collector]:
    """Class decorator: make a :class:`Collector` available to proxies' ``needs``."""
    if cls.name in COLLECTORS and COLLECTORS[cls.name] is not cls:
        raise ValueError(f"collector {cls.name!r} registered twice")
    if cls.name in PASSES:
        raise ValueError(f"{cls.name!r} is already a pass")
    COLLECTORS[cls.name] = cls
    return cls


# ----------------------------------------------------------------------------- helpers


def weighted_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every conv and linear layer, in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHTED)]


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Trainable parameter elements (the #Params proxy; :func:`intrain.counting.count_params`)."""
    return counting.count_params(model, trainable_only=trainable_only)


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
