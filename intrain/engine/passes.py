"""The pass and collector registries the scorer plans with, and the helpers passes share.

A *collector* gathers side statistics during the probe's own forward + backward; a *pass* runs
separately on a fresh copy of the network. Both are registered here, in the engine, so that the
probe (:mod:`intrain.engine.probe`) and the scorer can look them up without importing the proxy
families that register them (they import this module, never the other way round).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import torch
from torch import nn

from intrain.engine import counting
from intrain.engine.counting import WEIGHTED, hooked

__all__ = [
    "COLLECTORS",
    "PASSES",
    "Collector",
    "PassContext",
    "PassFn",
    "count_params",
    "gaussian_init",
    "kaiming_fanin_init",
    "register_collector",
    "register_pass",
    "seeded_generator",
    "weighted_modules",
]


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
            # nn.Module.__getattr__ is typed Tensor | Module; this is the model's own method
            return cast("Callable[[torch.Tensor], torch.Tensor]", model.forward_features)(x)
        raise TypeError(
            f"{type(model).__name__} has no forward_features(x), the pre-pooling feature map this "
            "proxy needs; pass features='<module name>' (or a callable(model, x)) to say where it is"
        )

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        """The stem and block modules whose outputs AZ-NAS compares, in forward order."""
        how = self.options.get("blocks")
        if callable(how):
            return list(how(model))
        if how is not None:
            return [_module(model, name, "blocks") for name in how]
        if hasattr(model, "feature_modules"):
            return list(cast("Callable[[], Iterable[nn.Module]]", model.feature_modules)())
        raise TypeError(
            f"{type(model).__name__} has no feature_modules() (stem and block outputs) that this proxy "
            "needs; pass blocks=['stem', 'block1', ...] (module names, or a callable(model))"
        )


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


def weighted_modules(model: nn.Module) -> list[tuple[str, nn.Conv2d | nn.Linear]]:
    """(name, module) of every conv and linear layer, in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHTED)]


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Trainable parameter elements (the #Params proxy; :func:`intrain.engine.counting.count_params`)."""
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
