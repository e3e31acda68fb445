"""The pass and collector registries the scorer plans with, and the helpers passes share.

A *collector* gathers side statistics during the probe's own forward + backward; a *pass* runs
separately on a fresh copy of the network. Both are registered here, in the engine, so that the
probe (`intrain.engine.probe`) and the scorer can look them up without importing the proxy
families that register them (they import this module, never the other way round).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import torch
from torch import nn

from intrain.core.errors import InputError
from intrain.engine import counting
from intrain.engine.counting import WEIGHTED, hooked
from intrain.engine.functional import out_of_memory

__all__ = [
    "COLLECTORS",
    "OPTIONS",
    "PASSES",
    "Collector",
    "Option",
    "PassContext",
    "PassFn",
    "StructureError",
    "Undefined",
    "check_options",
    "check_plain_weights",
    "count_params",
    "float_inputs",
    "gaussian_init",
    "kaiming_fanin_init",
    "parametrized_weights",
    "register_collector",
    "register_option",
    "register_pass",
    "seeded_generator",
    "weighted_modules",
]


# ----------------------------------------------------------------------------- passes


class Undefined(Exception):
    """A pass, collector or proxy is undefined on this network; the message says why.

    Raise it where a network lacks what a proxy reads (no nonlinearity module for NASWOT, a
    non-finite feature map for Zen): the scorer stores NaN for that proxy's components, sets
    `UNDEFINED` and keeps the message as the proxy's reason
    (``Result.reasons``); every other proxy is scored as usual.
    """


class StructureError(InputError, TypeError):
    """The network lacks a structure a proxy needs (a feature map, block modules) and the caller
    did not name it, or named one that is not there: a user error, raised before any value is
    stored (not a proxy failure to turn into NaN). A ``TypeError`` too, as it was before."""


@dataclass(frozen=True)
class Option:
    """A pass setting a caller may give (``intrain.score(options=...)``), typed so that a wrong
    value is refused by name before any pass runs, not deep inside one.

    ``kind``: "int" (an integer in [``low``, ``high``]; ``high`` None: no upper bound) or "any"
    (a value the pass checks itself, e.g. a module name or a callable).

    Examples:
        >>> Option("side of those inputs", "int", low=1).check("lr_resolution", 4)
        4
    """

    description: str
    kind: str = "any"
    low: int | None = None
    high: int | None = None

    def __str__(self) -> str:
        return self.description

    def valid(self) -> str:
        """The valid values, in words."""
        if self.kind in _WHERE_KINDS:
            return _WHERE_KINDS[self.kind][1]
        if self.kind != "int":
            return "see its description"
        high = "" if self.high is None else f" and <= {self.high}"
        return f"an integer >= {self.low}{high}" if self.low is not None else f"an integer{high}"

    def check(self, name: str, value: Any) -> Any:
        """``value`` if valid for this option, else a ``ValueError`` naming ``name`` and the valid range."""
        if self.kind in _WHERE_KINDS:
            if not _WHERE_KINDS[self.kind][0](value):
                raise ValueError(
                    f"option {name}={value!r:.80} is invalid: {name} must be {self.valid()} ({self.description})"
                )
            return value
        if self.kind != "int":
            return value
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)  # numpy ints too
        ok = ok and (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        if not ok:
            raise ValueError(f"option {name}={value!r} is invalid: {name} must be {self.valid()} ({self.description})")
        return value


#: Option kinds that say where a network's parts are: kind -> (accepts(value), the valid values in words).
_WHERE_KINDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "module": (lambda v: isinstance(v, str) or callable(v), "a module name or a callable(model, x)"),
    "modules": (
        lambda v: callable(v) or (isinstance(v, (list, tuple)) and all(isinstance(n, str) for n in v)),
        "a list of module names or a callable(model)",
    ),
}

#: Pass settings a caller may give (``intrain.score(options=...)``): name -> its declaration.
#: Passes register theirs with `register_option`; unknown keys are refused by name.
OPTIONS: dict[str, Option] = {
    # upper bounds (also the config schema's maxima): beyond them one call runs for hours or holds
    # samples x units codes (lr_resolution 4096 at 1000 samples: ~188 GiB of inputs)
    "lga_steps": Option("SGD steps before LGA's kernel alignment (default 10)", "int", low=0, high=1000),
    "lr_samples": Option("inputs for TE-NAS's linear-region count (default 1000)", "int", low=1, high=100_000),
    "lr_resolution": Option("side of those inputs (default 4)", "int", low=1, high=1024),
    "features": Option("Zen: the pre-pooling feature map, a module name or callable(model, x)", "module"),
    "blocks": Option("AZ-NAS: stem and block modules, names or callable(model)", "modules"),
}


def register_option(
    name: str, description: str, kind: str = "any", low: int | None = None, high: int | None = None
) -> str:
    """Declare a pass setting ``name`` (so ``intrain.score(options={name: ...})`` accepts it and
    checks its values: ``kind="int"`` with the range [``low``, ``high``])."""
    if kind not in ("any", "int"):
        raise ValueError(f"pass option {name!r}: kind must be 'any' or 'int', got {kind!r}")
    option = Option(description, kind, low, high)
    if name in OPTIONS and OPTIONS[name] != option:
        raise ValueError(f"pass option {name!r} registered twice with different meanings")
    OPTIONS[name] = option
    return name


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with every known key's value checked (`Option.check`); unknown keys as given."""
    return {k: OPTIONS[k].check(k, v) if k in OPTIONS else v for k, v in options.items()}


def float_inputs(x: torch.Tensor, what: str) -> torch.Tensor:
    """``x`` if floating point; else [`Undefined`][intrain.engine.passes.Undefined] saying that ``what`` perturbs or
    differentiates the inputs, which integer inputs (token ids, class indices) do not allow."""
    if not x.dtype.is_floating_point:
        raise Undefined(
            f"{what} perturbs or differentiates the network's inputs, and these are {x.dtype} "
            "(token ids or indices): there is no input gradient or Gaussian input of that kind"
        )
    return x


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
        """The network's feature map before global pooling (Zen-NAS scores its response).

        In order: the ``features`` option; the model's ``forward_features(x)`` (timm, the built-in
        spaces); a transformers model's backbone (``base_model``) ``last_hidden_state``. Maps
        (N, C, H, W) or tokens (N, T, C): Zen sums over everything but the batch, so either works.
        """
        how = self.options.get("features")
        if callable(how):
            return _first_tensor(_call_user("features", how, model, x), "features")
        if isinstance(how, str):
            got: list[torch.Tensor] = []
            with hooked([_module(model, how, "features")], lambda _m, _i, out: got.append(_first_tensor(out, how))):
                model(x)
            return got[-1]
        if hasattr(model, "forward_features"):
            # nn.Module.__getattr__ is typed Tensor | Module; this is the model's own method
            return _first_tensor(cast("Callable[[torch.Tensor], Any]", model.forward_features)(x), "forward_features")
        backbone = getattr(model, "base_model", None)
        if isinstance(backbone, nn.Module) and backbone is not model:
            out = backbone(x)
            hidden = getattr(out, "last_hidden_state", None)
            return hidden if isinstance(hidden, torch.Tensor) else _first_tensor(out, "base_model")
        raise StructureError(
            f"{type(model).__name__} has no forward_features(x), the pre-pooling feature map this "
            "proxy needs; pass features='<module name>' (or a callable(model, x)) to say where it is"
        )

    def blocks(self, model: nn.Module) -> list[nn.Module]:
        """The stem and block modules whose outputs AZ-NAS compares, in forward order.

        In order: the ``blocks`` option; the model's ``feature_modules()`` (the built-in spaces);
        timm's ``feature_info`` (its stage modules); a transformers model's encoder stages (the
        first list of modules under ``base_model.encoder``), after its embedding stem.
        """
        how = self.options.get("blocks")
        if callable(how):
            got = _call_user("blocks", how, model)
            try:
                found = list(got)
            except TypeError:
                raise InputError(
                    f"the blocks= callable returned {type(got).__name__}, not a list of modules or module names"
                ) from None
            if all(isinstance(b, str) for b in found):
                return [_module(model, name, "blocks") for name in found]
            if not all(isinstance(b, nn.Module) for b in found):
                bad = next(b for b in found if not isinstance(b, nn.Module))
                raise InputError(
                    f"the blocks= callable returned a list holding {type(bad).__name__} {bad!r:.60}; it must "
                    "return the network's stem and block modules (nn.Module objects) or their names"
                )
            return found
        if how is not None:
            return [_module(model, name, "blocks") for name in how]
        if hasattr(model, "feature_modules"):
            return list(cast("Callable[[], Iterable[nn.Module]]", model.feature_modules)())
        found = _timm_stages(model) or _hf_stages(model)
        if found:
            return found
        raise StructureError(
            f"{type(model).__name__} has no feature_modules() (stem and block outputs) that this proxy "
            "needs; pass blocks=['stem', 'block1', ...] (module names, or a callable(model))"
        )


def _call_user(option: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` for a user's ``features=``/``blocks=`` callable: an exception it raises is a
    bug in the caller's code, not an undefined proxy, so it becomes an
    [`InputError`][intrain.core.errors.InputError] naming the callable (chained), never a NaN.
    Running out of memory and KeyboardInterrupt/SystemExit propagate as they are."""
    try:
        return fn(*args)
    except InputError:
        raise
    except Exception as e:
        if out_of_memory(e):
            raise
        name = getattr(fn, "__qualname__", type(fn).__name__)
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
        raise InputError(f"the {option}= callable {name} raised {type(e).__name__}: {first}") from e


def _first_tensor(out: Any, where: str) -> torch.Tensor:
    """``out`` if a tensor, else the first tensor of a tuple/list or ``last_hidden_state``."""
    if isinstance(out, torch.Tensor):
        return out
    hidden = getattr(out, "last_hidden_state", None)
    if isinstance(hidden, torch.Tensor):
        return hidden
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise StructureError(f"{where} gave {type(out).__name__}, not a feature tensor")


def _timm_stages(model: nn.Module) -> list[nn.Module]:
    """timm's ``feature_info`` stage modules (stem and stages), where they resolve."""
    info = getattr(model, "feature_info", None)
    if not isinstance(info, list) or not all(isinstance(i, dict) and "module" in i for i in info):
        return []
    try:
        return [model.get_submodule(str(i["module"])) for i in info]
    except AttributeError:
        return []


def _hf_stages(model: nn.Module) -> list[nn.Module]:
    """A transformers vision model's embedding stem and its stages: the first list of two or more
    modules in its backbone (``base_model``) outside the stem, else []."""
    backbone = getattr(model, "base_model", None)
    if not isinstance(backbone, nn.Module) or not hasattr(model, "config"):  # transformers models only
        return []
    stem = next((getattr(backbone, n) for n in _STEMS if isinstance(getattr(backbone, n, None), nn.Module)), None)
    skip = {id(m) for m in stem.modules()} if stem is not None else set()
    for _, m in backbone.named_modules():
        if isinstance(m, nn.ModuleList) and len(m) >= 2 and id(m) not in skip:
            return ([stem] if stem is not None else []) + list(m)
    return []


#: Attribute names transformers gives a vision backbone's stem.
_STEMS = ("embeddings", "embedder", "patch_embed", "stem")


def _module(model: nn.Module, name: str, option: str) -> nn.Module:
    try:
        return model.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in model.named_modules() if n][:12]
        raise StructureError(f"{option}: the network has no module {name!r}; some of its modules: {names}") from None


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

    The probe calls, in order: ``__init__(model)`` (register hooks), `prepare_input`,
    the forward, `after_forward`, the backward, `after_backward`, then
    `remove` (always, also on errors); `result` is stored under the collector's name.
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
    """Class decorator: make a [`Collector`][intrain.engine.passes.Collector] available to proxies' ``needs``."""
    if cls.name in COLLECTORS and COLLECTORS[cls.name] is not cls:
        raise ValueError(f"collector {cls.name!r} registered twice")
    if cls.name in PASSES:
        raise ValueError(f"{cls.name!r} is already a pass")
    COLLECTORS[cls.name] = cls
    return cls


# ----------------------------------------------------------------------------- helpers


def weighted_modules(model: nn.Module) -> list[tuple[str, nn.Conv1d | nn.Conv2d | nn.Linear]]:
    """(name, module) of every conv (1-d, 2-d) and linear layer, in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHTED)]


def parametrized_weights(model: nn.Module) -> dict[str, tuple[str, list[str]]]:
    """Module name -> (how its ``weight`` is computed, the names of the trainable leaves it is
    computed from) for every module whose ``weight`` is not a parameter of its own but a tensor
    rebuilt from others: a ``torch.nn.utils.parametrize`` parametrization
    (``parametrizations.weight_norm``/``spectral_norm``/``orthogonal``, a user's
    ``register_parametrization``; leaves ``parametrizations.weight.original*``) or the older
    hook-based ``torch.nn.utils.weight_norm``/``spectral_norm`` (leaves ``weight_g``,
    ``weight_v`` / ``weight_orig``). Such a ``weight`` never has a ``.grad``; its leaves do.

    Examples:
        >>> from torch.nn.utils.parametrizations import weight_norm
        >>> parametrized_weights(nn.Sequential(weight_norm(nn.Linear(2, 2)), nn.Linear(2, 2)))
        {'0': ('_WeightNorm', ['0.parametrizations.weight.original0', '0.parametrizations.weight.original1'])}
    """
    from torch.nn.utils import parametrize
    from torch.nn.utils.spectral_norm import SpectralNorm
    from torch.nn.utils.weight_norm import WeightNorm

    found: dict[str, tuple[str, list[str]]] = {}
    for name, m in model.named_modules():
        prefix = f"{name}." if name else ""
        if parametrize.is_parametrized(m, "weight"):
            plist = m.parametrizations["weight"]
            kinds = ", ".join(type(f).__name__ for f in plist)
            leaves = [f"{prefix}parametrizations.weight.{n}" for n, p in plist.named_parameters() if p.requires_grad]
            found[name] = (kinds, leaves)
            continue
        for hook in m._forward_pre_hooks.values():
            if isinstance(hook, (SpectralNorm, WeightNorm)) and hook.name == "weight":
                kind = (
                    "torch.nn.utils.spectral_norm" if isinstance(hook, SpectralNorm) else "torch.nn.utils.weight_norm"
                )
                own = m.named_parameters(recurse=False)
                found[name] = (kind, [f"{prefix}{n}" for n, p in own if n.startswith("weight_") and p.requires_grad])
                break
    return found


def check_plain_weights(model: nn.Module, reader: str) -> None:
    """Raise [`Undefined`][intrain.engine.passes.Undefined] when a conv/linear ``weight`` is
    computed from other tensors (`parametrized_weights`: weight_norm, spectral_norm, orthogonal,
    either API): that weight is a non-leaf tensor rebuilt on every access, its ``.grad`` is
    never filled, and a ``reader`` of ``module.weight.grad`` would report 0, not the network.

    Examples:
        >>> check_plain_weights(nn.Linear(2, 2), "snip")  # a plain weight: nothing raised
    """
    computed = parametrized_weights(model)
    hits = [n for n, _ in weighted_modules(model) if n in computed]
    if hits:
        name = hits[0]
        kind, leaves = computed[name]
        raise Undefined(
            f"{reader} reads the gradient of each conv/linear layer's .weight, and {len(hits)} layer(s) compute "
            f"theirs from other tensors (e.g. {name or 'the model'!r}.weight = {kind} of {leaves}): that weight "
            "has no .grad, so the value would be 0; remove the parametrization "
            "(torch.nn.utils.parametrize.remove_parametrizations, or torch.nn.utils.remove_weight_norm / "
            "remove_spectral_norm for the older hook API) to score it"
        )


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Trainable parameter elements (the #Params proxy; `intrain.engine.counting.count_params`)."""
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
