"""Score any classifier with any proxies in one call: ``intrain.score(model, proxies)``.

The same machinery as the benchmark workflow (one probe pass, each separate pass once for all
requested proxies), applied to a network of your own instead of a benchmark architecture.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
    ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    >>> result = score(net, ["intrain", "synflow", "params"], batch_size=8, device="cpu")
    >>> result["params"]
    330.0
    >>> sorted(result.scores)
    ['intrain', 'params', 'synflow']
    >>> result.layers[["name", "kind", "channels"]].values.tolist()
    [['0', 'Conv2d', 8], ['5', 'Linear', 10]]
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from intrain.core.errors import InputError
from intrain.core.flags import Flag
from intrain.core.ranking import PopulationRule
from intrain.core.trainability import gradient_health, participation_ratio
from intrain.engine.functional import out_of_memory
from intrain.engine.passes import parametrized_weights
from intrain.engine.probe import ProbeResult

__all__ = ["Result", "logits_of", "rank_population", "score"]

ModelOrFactory = nn.Module | Callable[[], nn.Module]


@dataclass
class Result:
    """Everything one [`score`][intrain.scoring.api.score] call measured on one network.

    ``result["synflow"]`` is a proxy's score; ``components`` holds every named value
    (``"intrain.gamma"``, ``"zen.delta"``, ...); ``layers`` and ``params`` are InTrain's per-layer
    and per-parameter statistics. Population-ranked proxies (TE-NAS, AZ-NAS) have components
    only: rank them across networks with [`rank_population`][intrain.scoring.api.rank_population].
    """

    scores: dict[str, float]
    components: dict[str, float]
    layers: pd.DataFrame
    params: pd.DataFrame
    flags: Flag
    loss: float
    seconds: float
    population: dict[str, PopulationRule] = field(default_factory=dict)
    extras: dict[str, float] = field(default_factory=dict)
    #: proxy -> why its score (or a component) is NaN; every NaN has one (docs/layers.md).
    reasons: dict[str, str] = field(default_factory=dict)
    #: proxy -> the weight-holding layers its finite value does not cover, e.g. ``"intrain: read 1
    #: of 3 weight-holding layers; not read: Conv3d x2"`` (module types it has no rule for); empty
    #: when every proxy read the whole network. ``layers`` lists what InTrain read.
    coverage: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, proxy: str) -> float:
        if proxy in self.scores:
            return self.scores[proxy]
        if proxy in self.population:
            raise KeyError(
                f"{proxy!r} is ranked across a population: its score exists only relative to other "
                f"networks; score each network and call intrain.rank_population(results, {proxy!r})"
            )
        raise KeyError(f"no score for {proxy!r}; this result has {sorted(self.scores)}")

    def to_frame(self) -> pd.DataFrame:
        """One row: every score, every component, flags, loss and seconds."""
        row = {**self.scores, **self.components, "flags": int(self.flags), "loss": self.loss, "seconds": self.seconds}
        return pd.DataFrame([row])


def rank_population(
    results: Sequence[Result] | pd.DataFrame, proxy: str, rule: PopulationRule | None = None
) -> np.ndarray:
    """Scores of a population-ranked proxy (``tenas``, ``az_nas``) for each of several networks.

    ``results``: [`Result`][intrain.scoring.api.Result] objects, or a DataFrame of their [`Result.to_frame`][intrain.scoring.api.Result.to_frame] rows.
    Higher is better; NaN where a component is NaN.
    """
    from intrain.core.ranking import BUILTIN_RULES

    if len(results) == 0:
        raise InputError(f"rank_population() needs at least one result to rank {proxy!r}, got none")
    if isinstance(results, pd.DataFrame):
        frame = results
    else:
        frame = pd.concat([r.to_frame() for r in results], ignore_index=True)
        rule = rule or next((r.population[proxy] for r in results if proxy in r.population), None)
    rule = rule or BUILTIN_RULES.get(proxy)
    if rule is None:
        from intrain.proxies import list_proxies

        if proxy not in list_proxies():
            raise InputError(f"unknown proxy {proxy!r}; population-ranked proxies are {sorted(BUILTIN_RULES)}")
        raise InputError(f"{proxy!r} is not ranked across a population; its score is per network")
    missing = [f"{proxy}.{c}" for c in rule.components if f"{proxy}.{c}" not in frame.columns]
    if missing:
        raise InputError(f"cannot rank {proxy!r}: the results lack {missing}; score them with {proxy!r}")
    return rule.combine({c: frame[f"{proxy}.{c}"].to_numpy(dtype=float) for c in rule.components})


OutputFn = Callable[[Any], torch.Tensor]

_OUTPUT_HELP = (
    "score() reads logits from a tensor (batch, classes), a tuple/list whose first element is one, "
    "or a dict / transformers ModelOutput with 'logits'; for anything else pass "
    "output=lambda out: <the logits tensor in out>"
)


def _describe(out: Any) -> str:
    if isinstance(out, torch.Tensor):
        return f"a tensor of shape {tuple(out.shape)}"
    if isinstance(out, Mapping):
        return f"a {type(out).__name__} with keys {list(out)[:8]}"
    if isinstance(out, (tuple, list)):
        inner = ", ".join(type(v).__name__ for v in list(out)[:4])
        return f"a {type(out).__name__} of {len(out)} ({inner}{', ...' if len(out) > 4 else ''})"
    return f"a {type(out).__name__}"


def logits_of(out: Any) -> torch.Tensor:
    """The logits in a forward's return value: a tensor, ``out[0]`` of a tuple/list, or ``logits``
    of a dict or transformers ``ModelOutput``; an [`InputError`][intrain.core.errors.InputError] naming what came back otherwise.

    Examples:
        >>> logits_of((torch.zeros(2, 3), "aux")).shape, logits_of({"logits": torch.zeros(2, 5)}).shape
        (torch.Size([2, 3]), torch.Size([2, 5]))
    """
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, Mapping) and isinstance(out.get("logits"), torch.Tensor):
        return out["logits"]
    if isinstance(getattr(out, "logits", None), torch.Tensor):
        return out.logits
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise InputError(f"the model's forward returned {_describe(out)}; {_OUTPUT_HELP}")


def _logits_hook(output: OutputFn | None) -> Callable[[nn.Module, Any, Any], torch.Tensor]:
    """A forward hook on the whole network that replaces its return value by the logits, so every
    pass (which calls ``model(x)``, also through ``torch.func``) sees a plain tensor."""

    def hook(module: nn.Module, inputs: Any, out: Any) -> torch.Tensor:
        if output is None:
            return logits_of(out)
        try:
            got = output(out)
        except Exception as e:  # the caller's reader, not a layer of the model
            if out_of_memory(e):
                raise  # the machine ran out, not a fault of the reader
            detail = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
            raise InputError(
                f"output= raised {type(e).__name__}: {detail} (on the forward's return value, "
                f"{_describe(out)}); it must return the logits tensor"
            ) from e
        if not isinstance(got, torch.Tensor):
            raise InputError(f"output= returned {_describe(got)}, not the logits tensor")
        return got

    return hook


def _zero_drop_rates(obj: object) -> None:
    """Every float attribute of ``obj`` whose name holds "drop" (``drop_rate``, ``dropout``,
    ``attention_dropout``, ``attention_probs_dropout_prob``, ``drop_path_prob``, ...) set to 0: rates
    that a forward passes to ``F.dropout`` itself (timm heads, transformers attention,
    ``nn.MultiheadAttention``) rather than through a dropout module."""
    for name, value in list(vars(obj).items()):
        if "drop" in name.lower() and isinstance(value, float) and not isinstance(value, bool):
            setattr(obj, name, 0.0)


@torch.no_grad()
def _deterministic(net: nn.Module) -> nn.Module:
    """Dropout and drop-path rates set to 0 in a copy: the probe and passes run in train mode, where
    they would make every pass (and Zen's two forwards) see another random sub-network.

    Dropout modules' ``p``, a float ``p`` of any module whose class name holds "drop" (timm
    ``DropPath``, a user's ``MyDropout``) and torchvision ``StochasticDepth``'s, float rates
    held by any module (`_zero_drop_rates`) and by a transformers module's ``config`` (read at
    forward time by some attention implementations)."""
    for m in net.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd) or (
            isinstance(getattr(m, "p", None), float)
            and ("drop" in type(m).__name__.lower() or type(m).__name__ == "StochasticDepth")
        ):
            setattr(m, "p", 0.0)  # noqa: B010 (mypy reads m.p as a submodule)
        _zero_drop_rates(m)
        config = getattr(m, "config", None)
        if config is not None and hasattr(config, "to_dict"):  # a transformers PretrainedConfig
            _zero_drop_rates(config)
    return net


def _factory(
    model: ModelOrFactory, seed: int, device: torch.device, output: OutputFn | None = None
) -> Callable[[], nn.Module]:
    """Fresh copies on ``device``: proxies train, re-initialise or modify them, never ``model``.

    Each copy returns logits (`logits_of`, or ``output``) and has no dropout/drop-path.
    """
    if isinstance(model, nn.Module):
        template = model

        def copy_of() -> nn.Module:
            try:
                net = copy.deepcopy(template)
            except Exception as e:  # a generator, lock or open file held by the model
                hooked = [n for n, (kind, _) in parametrized_weights(template).items() if kind.endswith("weight_norm")]
                if hooked:
                    raise InputError(
                        f"score() copies the model for every pass, and layer {hooked[0] or 'the model'!r} uses the "
                        "hook-based torch.nn.utils.weight_norm, whose computed .weight cannot be deep-copied "
                        f"({type(e).__name__}); use torch.nn.utils.parametrizations.weight_norm instead, or pass "
                        f"a zero-argument factory: intrain.score(lambda: {type(template).__name__}(...), ...)"
                    ) from e
                raise InputError(
                    f"score() copies the model for every pass, and copy.deepcopy({type(template).__name__}) failed "
                    f"({type(e).__name__}: {e}); pass a zero-argument factory instead: "
                    f"intrain.score(lambda: {type(template).__name__}(...), ...)"
                ) from e
            net = _deterministic(net).to(device)
            net.register_forward_hook(_logits_hook(output))
            return net

        return copy_of
    if callable(model):

        def built() -> nn.Module:
            from intrain.scoring.scorer import seed_generators

            seed_generators(seed, device)  # inside score()'s fork of the RNGs: the caller's state is restored
            try:
                net = model()
            except InputError:
                raise
            except TypeError as e:  # e.g. score(nn.Linear): a class whose constructor needs arguments
                name = getattr(model, "__name__", type(model).__name__)
                raise InputError(
                    f"score() calls a non-Module model as a zero-argument factory, and {name}() raised "
                    f"TypeError: {e}; pass an instance ({name}(...)) or a factory (lambda: {name}(...))"
                ) from e
            except Exception as e:  # a bug in the caller's factory, worded and chained
                if out_of_memory(e):
                    raise
                name = getattr(model, "__qualname__", type(model).__name__)
                first = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
                raise InputError(f"the model factory {name} raised {type(e).__name__}: {first}") from e
            if not isinstance(net, nn.Module):
                raise InputError(f"the model factory returned {type(net).__name__}, not a torch.nn.Module")
            _check_eager(net, "model factory's network")
            net = _deterministic(net).to(device)
            net.register_forward_hook(_logits_hook(output))
            return net

        return built
    raise InputError(
        f"score() takes a torch.nn.Module or a zero-argument factory returning one, got {type(model).__name__}"
    )


def _check_eager(net: nn.Module, where: str = "model") -> None:
    """Refuse a TorchScript module (``torch.jit.script``/``trace``): forward hooks, which every
    proxy reads layers with, do not fire on one, and ``torch.func`` cannot call it."""
    if isinstance(net, torch.jit.ScriptModule):
        raise InputError(
            f"the {where} is a TorchScript module ({type(net).__name__}, from torch.jit.script or torch.jit.trace): "
            "score() reads layers with forward hooks, which TorchScript modules do not run; pass the eager "
            "nn.Module it was scripted from"
        )


def _expects(module: nn.Module) -> str:
    """What a layer expects of its input, in words."""
    for attr, what in (
        ("in_channels", "input channels"),
        ("in_features", "input features (last dimension)"),
        ("normalized_shape", "as its trailing dimensions"),
        ("num_features", "channels"),
        ("embed_dim", "embedding dimensions"),
    ):
        value = getattr(module, attr, None)
        if value is not None:
            return f"expects {tuple(value) if isinstance(value, (tuple, list)) else value} {what}"
    return "could not take it"


#: Words in torch's messages when a layer refuses its input's shape (what ``input_shape`` can fix).
_SHAPE_WORDS = ("shape", "size", "dimension", "channels", "expected input", "mat1 and mat2", "must match")


def _forward_error(e: Exception, entered: list[tuple[str, nn.Module, Any]], x: torch.Tensor, given: bool) -> InputError:
    """The worded error for an exception raised inside the model's forward on the check batch:
    the input shape is blamed only when torch's message is about a shape; a dtype mismatch is
    called one; anything else is reported as the exception the forward raised (chained)."""
    detail = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
    where = "before any layer ran"
    if entered:
        name, module, got = entered[-1]
        where = f"in layer {name!r} ({type(module).__name__}, input of shape {got})"
    lowered = detail.lower()
    if entered and isinstance(entered[-1][1], nn.Embedding) and not given and x.dtype.is_floating_point:
        name, module, got = entered[-1]
        n = module.num_embeddings
        return InputError(
            f"the network reads integer token ids (layer {name!r} is an Embedding of {n} entries) and the "
            f"Gaussian scoring batch (input_shape {tuple(x.shape[1:])}) is float: pass the ids yourself, "
            f"inputs=(ids, labels) with ids = torch.randint(0, {n}, (batch_size, *input_shape)) and "
            "integer labels of shape (batch_size,)"
        )
    if "kernel size" in lowered and entered:
        name, module, got = entered[-1]
        kernel, padding = getattr(module, "kernel_size", "?"), getattr(module, "padding", "?")
        return InputError(
            f"input shape {tuple(x.shape[1:])} is too small for the network: layer {name!r} "
            f"({type(module).__name__}, kernel {kernel}, padding {padding}) got an input of shape {got}, smaller "
            f"than its kernel ({detail}); pass a larger input_shape (C, H, W), the size the network was built for"
        )
    if "dtype" in lowered or "scalar type" in lowered or " type (" in lowered:
        fix = (
            "floating inputs=(x, y) are scored as float32 and integer ones as given; score() needs float32 "
            "parameters (model.float())"
            if given
            else "the scoring batch is float32 (pass inputs=(x, y) for integer token ids); score() needs "
            "float32 parameters (model.float())"
        )
        return InputError(f"the model's forward failed on a dtype mismatch {where}: {detail}; {fix}")
    if isinstance(e, (RuntimeError, ValueError, AssertionError)) and any(w in lowered for w in _SHAPE_WORDS):
        shape = tuple(x.shape[1:])
        if entered:
            name, module, got = entered[-1]
            return InputError(
                f"input shape {shape} does not fit the network: layer {name!r} ({type(module).__name__}) "
                f"{_expects(module)} but got an input of shape {got} ({detail}); pass the input_shape "
                "(C, H, W) the network was built for"
            )
        return InputError(
            f"input shape {shape} does not fit the network: its forward failed before any layer ran "
            f"on a batch of shape {tuple(x.shape)} ({detail}); pass the input_shape the network was built for"
        )
    return InputError(f"the model's forward raised {type(e).__name__} {where}: {detail}")


def _check_forward(
    build: Callable[[], nn.Module], x: torch.Tensor, num_classes: int | None, given: bool = False
) -> int:
    """One eval-mode forward of the two-sample check batch ``x``: the number of logits, or an
    [`InputError`][intrain.core.errors.InputError] saying which layer refused the input and what it expected (or what the
    forward raised), or that the logits are not floating (batch, ``num_classes``), or that no
    parameter can be trained (the probe's backward needs one)."""
    net = build().eval()
    entered: list[tuple[str, nn.Module, Any]] = []
    names = {id(m): n for n, m in net.named_modules()}

    def pre(module: nn.Module, inputs: Any) -> None:
        first = inputs[0] if inputs else None
        entered.append(
            (names.get(id(module), "?"), module, tuple(first.shape) if isinstance(first, torch.Tensor) else None)
        )

    handles = [m.register_forward_pre_hook(pre) for m in net.modules() if next(m.children(), None) is None]
    try:
        with torch.no_grad():
            out = net(x)
    except InputError:
        raise
    except Exception as e:  # the user's forward: any exception is reported, worded and chained
        if out_of_memory(e):  # the machine's limit, not the input's or the network's fault
            raise
        raise _forward_error(e, entered, x, given) from e
    finally:
        for h in handles:
            h.remove()
    if out.dim() == 2 and out.shape[0] != x.shape[0]:
        raise InputError(
            f"score() needs (batch, classes) logits; for a batch of {x.shape[0]} this model returned "
            f"{tuple(out.shape)}, whose first dimension is not the batch (logits transposed, or the batch "
            f"reduced); {_OUTPUT_HELP}"
        )
    if out.dim() != 2:
        raise InputError(
            f"score() needs a classifier whose forward returns (batch, classes) logits; "
            f"this model returned {tuple(out.shape)}; {_OUTPUT_HELP}"
        )
    if not out.dtype.is_floating_point:
        raise InputError(
            f"the model returned {out.dtype} logits; the proxies differentiate a loss of the logits, "
            "which needs floating-point logits (return them before any argmax or integer cast)"
        )
    if num_classes is not None and out.shape[1] != num_classes:
        raise InputError(
            f"num_classes={num_classes} but the network returns {out.shape[1]} logits; "
            f"pass num_classes={out.shape[1]} (or leave it out: it is read from the model)"
        )
    total = sum(p.numel() for p in net.parameters())
    if not any(p.requires_grad for p in net.parameters()):
        raise InputError(
            f"the model has no trainable parameter ({total} parameters, "
            f"{'all with requires_grad=False' if total else 'none at all'}): every proxy reads the "
            "gradients or the weights of a trainable network; unfreeze some (requires_grad_(True))"
        )
    return int(out.shape[1])


def _check_dtype(model: nn.Module) -> None:
    """Refuse floating parameters other than float32 by name: every pass runs float32 batches
    (SynFlow converts to float64 itself), and torch's own message would blame the input."""
    for name, p in model.named_parameters():
        if p.dtype.is_floating_point and p.dtype != torch.float32:
            raise InputError(
                f"score() scores float32 networks, and this model's parameter {name!r} is {p.dtype}; "
                "convert a copy with model.float() (the proxies compute their statistics from float32 passes)"
            )


def _check_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    from intrain.proxies.base import (
        OPTIONS,  # passes registered by the proxies already looked up
        check_options,
    )

    if options is not None and not isinstance(options, Mapping):
        raise InputError(
            f"options must be a dict of pass settings, e.g. {{'lga_steps': 10}}, got {type(options).__name__} "
            f"{options!r:.80}"
        )
    given = dict(options or {})
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        valid = "; ".join(f"{k}: {v} [{v.valid()}]" for k, v in sorted(OPTIONS.items()))
        raise InputError(f"unknown options {unknown}; valid options are {sorted(OPTIONS)} ({valid})")
    try:
        return check_options(given)
    except ValueError as e:  # a value of the wrong type or out of its range, named
        raise InputError(str(e)) from None


def _given_batch(inputs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``inputs=(x, y)`` as tensors: x of any dtype (integer token ids are legal) and shape
    (B, ...), integer labels y of shape (B,), B >= 2."""
    try:
        x, y = (torch.as_tensor(t) for t in inputs)
    except (TypeError, ValueError, RuntimeError) as e:
        raise InputError(f"inputs=(x, y) must be two tensors (or arrays), got {_describe(tuple(inputs))}: {e}") from e
    if x.dim() < 2 or y.dim() != 1 or len(x) != len(y):
        raise InputError(
            f"inputs=(x, y) needs x of shape (B, ...) and labels y of shape (B,); "
            f"got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if len(x) < 2:
        raise InputError(f"inputs=(x, y) holds {len(x)} sample; the proxies compare samples and need at least 2")
    if x.dtype == torch.bool or x.is_complex():
        raise InputError(f"inputs x is {x.dtype}; pass floating-point inputs or integer token ids")
    if y.dtype.is_floating_point or y.dtype == torch.bool or y.is_complex():
        raise InputError(f"labels y must be integers, got {y.dtype}")
    return x, y.long()


def _batch(
    inputs: Any, batch_size: int, num_classes: int, input_shape: tuple[int, ...], seed: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    if inputs is None:
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn((batch_size, *input_shape), generator=gen)
        y = torch.randint(0, num_classes, (batch_size,), generator=gen)
    elif isinstance(inputs, (str, Path)):
        from intrain.engine.inputs import image_batch

        if len(input_shape) != 3 or input_shape[1] != input_shape[2]:
            raise InputError(f"images from a file are square; input_shape {input_shape} is not (C, R, R)")
        x, y = image_batch(inputs, batch_size, num_classes, input_shape[1], seed)
    elif isinstance(inputs, (tuple, list)) and len(inputs) == 2:
        x, y = _given_batch(inputs)
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
            raise InputError(f"labels must be integers in [0, {num_classes}), got [{y.min().item()}, {y.max().item()}]")
        if x.dtype.is_floating_point:
            x = x.float()
    else:
        raise InputError("inputs must be None (Gaussian), a path to a CIFAR batch or .npz file, or a tuple (x, y)")
    # tensors made under torch.inference_mode() cannot enter autograd: a plain copy can
    x, y = x.to(device), y.to(device)
    return (x.clone() if x.is_inference() else x), (y.clone() if y.is_inference() else y)


def _input_shape(input_shape: Sequence[int] | None, x: torch.Tensor | None) -> tuple[int, ...]:
    """The per-sample input shape: ``input_shape`` (default (3, 32, 32)) with every entry a
    positive integer, or the shape of the given inputs ``x`` (which ``input_shape``, if given, must equal)."""
    if input_shape is None:
        return tuple(x.shape[1:]) if x is not None else (3, 32, 32)
    try:
        if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in input_shape):
            raise TypeError("an entry is not an integer")
        shape = tuple(int(v) for v in input_shape)
    except (TypeError, ValueError) as e:
        raise InputError(f"input_shape must be a sequence of positive integers, got {input_shape!r}") from e
    if not shape or any(v < 1 for v in shape):
        raise InputError(f"input_shape must be a non-empty sequence of positive integers, got {shape}")
    if x is not None and tuple(x.shape[1:]) != shape:
        raise InputError(
            f"input_shape {shape} differs from the given inputs' per-sample shape {tuple(x.shape[1:])}; "
            "leave input_shape out when passing inputs=(x, y)"
        )
    return shape


def _layer_frame(probe: ProbeResult) -> pd.DataFrame:
    s = probe.layer_stats
    return pd.DataFrame(
        {
            "name": probe.layer_names,
            "kind": probe.layer_kinds,
            "channels": probe.layer_shapes[:, 0],
            "height": probe.layer_shapes[:, 1],
            "width": probe.layer_shapes[:, 2],
            "trace": s[:, 0],
            "trace_sq": s[:, 1],
            "dim": s[:, 2],
            "pr": participation_ratio(s[:, 0], s[:, 1], s[:, 2]) if len(s) else np.zeros(0),
        }
    )


def _param_frame(probe: ProbeResult) -> pd.DataFrame:
    g = probe.param_stats
    return pd.DataFrame(
        {
            "name": probe.param_names,
            "kind": probe.param_kinds,
            "numel": probe.param_numel,
            "std": g[:, 0],
            "maxabs": g[:, 1],
            "health": gradient_health(g[:, 0], g[:, 1]) if len(g) else np.zeros(0),
        }
    )


def score(
    model: ModelOrFactory,
    proxies: Sequence[str] | str = ("intrain",),
    *,
    num_classes: int | None = None,
    input_shape: Sequence[int] | None = None,
    batch_size: int = 64,
    seed: int = 0,
    device: str = "auto",
    inputs: Any = None,
    layers: str = "conv",
    params: str = "all",
    features: str | Callable | None = None,
    blocks: Sequence[str] | Callable | None = None,
    options: Mapping[str, Any] | None = None,
    output: OutputFn | None = None,
) -> Result:
    """Score one untrained classifier with zero-cost proxies.

    Args:
        model: an ``nn.Module`` (copied for every pass: the caller's model, its weights, buffers
            and BN statistics are never changed) or a zero-argument factory (called after
            ``torch.manual_seed(seed)`` whenever a pass needs a fresh network).
        proxies: names from [`intrain.list_proxies`][intrain.proxies.list_proxies], installed plugins' names, or
            ``"module.path:ClassName"``.
        num_classes: number of logits; ``None`` reads it from one forward of the model.
        input_shape: (C, H, W) of the Gaussian scoring batch (default (3, 32, 32)); with
            ``inputs=(x, y)`` it is read from ``x`` (and, if given, must equal ``x.shape[1:]``).
        batch_size: samples in the scoring batch (at least 2: the proxies compare samples).
        seed: an integer in [0, 2**63): the Gaussian scoring batch, the factory's
            ``torch.manual_seed``, each pass's own draws and the global RNG inside every pass
            (random operations in the forward draw the same numbers in every call).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
        inputs: ``None`` (seeded Gaussian batch), ``(x, y)`` tensors, or a path to a CIFAR
            python batch or ``.npz`` file. ``x`` may hold integer token ids (an ``nn.Embedding``
            model); proxies that perturb or differentiate the inputs (jacov, Zen, TE-NAS's
            linear regions, SynFlow, ...) are then NaN with `Flag.UNDEFINED` and a reason.
        layers: InTrain's layer selection: ``conv``, ``bn`` or ``conv+bn``.
        params: InTrain's parameter selection: ``all`` or ``weights`` (conv/linear weights
            only). Gradient statistics read trainable tensors only; the ``params`` proxy counts
            every parameter, frozen ones included (docs/score-your-model.md).
        features: for Zen: the module whose output is the pre-pooling feature map (a name or a
            ``callable(model, x)``); not needed when the model has ``forward_features``.
        blocks: for AZ-NAS: the stem and block modules (names or ``callable(model)``); not
            needed when the model has ``feature_modules()``.
        options: pass settings (``lga_steps`` 0 to 1000, ``lr_samples`` 1 to 100,000,
            ``lr_resolution`` 1 to 1024; unknown keys are refused with the list of valid ones).
        output: ``callable(forward's return value) -> logits`` for a model whose forward returns
            something else than logits, a tuple/list starting with them, or a dict/``ModelOutput``
            with ``logits``.

    Every layout and layer type is read (docs/layers.md): maps, tokens, channels-last maps,
    sequence-first outputs. A proxy that is undefined on the network (e.g. NASWOT without any
    nonlinearity module) is NaN, `UNDEFINED` is set, and
    ``Result.reasons`` says why; so does every other NaN.
    """
    from intrain.engine.device import resolve_device
    from intrain.proxies import get_proxy
    from intrain.scoring.scorer import _seeded, evaluate

    if not isinstance(proxies, str) and not (
        isinstance(proxies, Sequence) and all(isinstance(n, str) for n in proxies)
    ):
        raise InputError(
            f"proxies must be a proxy name or a list of names (see intrain.list_proxies()), got {proxies!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
        raise InputError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    seed = int(seed)
    if num_classes is not None and (
        isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1
    ):
        raise InputError(f"num_classes must be a positive integer or None, got {num_classes!r}")
    names = [proxies] if isinstance(proxies, str) else list(proxies)
    if not names:
        raise InputError("score() needs at least one proxy name")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise InputError(
            f"batch_size must be an integer >= 2 (the proxies compare samples: covariances, kernels, "
            f"codes), got {batch_size!r}"
        )
    instances = [get_proxy(n) for n in names]
    dev = resolve_device(device)
    user = _given_batch(inputs) if isinstance(inputs, (tuple, list)) and len(inputs) == 2 else None
    shape = _input_shape(input_shape, user[0] if user is not None else None)
    if output is not None and not callable(output):
        raise InputError(f"output must be a callable(forward's return value) -> logits, got {type(output).__name__}")
    given = _check_options(options)
    _check_options({k: v for k, v in (("features", features), ("blocks", blocks)) if v is not None})
    if isinstance(model, nn.Module):
        _check_eager(model)
        _check_dtype(model)
    build = _factory(model, seed, dev, output)
    opts = {"lga_steps": 10, "lr_samples": 1000, "lr_resolution": 4, **given}
    if features is not None:
        opts["features"] = features
    if blocks is not None:
        opts["blocks"] = blocks
    import time

    # every RNG a forward may draw from (torch's CPU and device generators, numpy's, Python's) is
    # seeded inside and the caller's states restored after
    # the passes differentiate: a caller's torch.no_grad() or torch.inference_mode() is lifted inside
    with torch.inference_mode(False), torch.enable_grad(), _seeded(seed, dev):
        check = user[0][:2] if user is not None else torch.zeros((2, *shape))
        if check.dtype.is_floating_point:
            check = check.float()
        num_classes = _check_forward(build, check.to(dev), num_classes, given=user is not None)
        if num_classes < 2:
            raise InputError(
                f"score() needs a classifier with at least 2 logits (the cross-entropy loss and the "
                f"per-class proxies compare classes); this model has num_classes={num_classes} (a "
                "one-logit binary head): score it with a two-logit head (nn.Linear(..., 2)), or pass "
                "output=lambda z: torch.cat([-z, z], 1) to read the one logit as two"
            )
        x, y = _batch(inputs, batch_size, num_classes, shape, seed, dev)
        start = time.perf_counter()
        probe, values = evaluate(
            build,
            x,
            y,
            num_classes,
            instances,
            layers=layers,
            params=params,
            seed=seed,
            options=opts,
            device=dev,
            isolate=True,
        )
        seconds = time.perf_counter() - start
    scores, components, population = {}, {}, {}
    reasons = dict(probe.reasons)
    flags = Flag(probe.flags)
    coverage = {k: v for k, v in probe.coverage.items() if k not in reasons}
    if coverage:  # a value covering only part of the network
        flags |= Flag.PARTIAL
    for proxy in instances:
        for comp, why in proxy.sentinels.items():  # the workflow's rank-last ±inf: NaN with a reason here
            if math.isinf(float(values[proxy.name].get(comp, 0.0))):
                values[proxy.name][comp] = float("nan")
                reasons.setdefault(proxy.name, f"{proxy.name}: {comp} is NaN: {why}")
                flags |= Flag.UNDEFINED
        for comp, value in values[proxy.name].items():
            components[f"{proxy.name}.{comp}"] = float(value)
        if "score" in values[proxy.name]:
            scores[proxy.name] = float(values[proxy.name]["score"])
        if proxy.population is not None:
            population[proxy.name] = proxy.population
        nan = [c for c, v in values[proxy.name].items() if np.isnan(float(v))]
        if nan and proxy.name not in reasons:
            # a formula with no value on this network (see the proxy's docstring and docs/layers.md)
            why = (
                "the network's loss or statistics were not finite"
                if flags & Flag.NONFINITE
                else ("its formula has no value on this network (a zero-variance or singular quantity)")
            )
            reasons[proxy.name] = f"{proxy.name}: {', '.join(nan)} is NaN: {why}"
            flags |= Flag.UNDEFINED
    return Result(
        scores=scores,
        components=components,
        layers=_layer_frame(probe),
        params=_param_frame(probe),
        flags=flags,
        loss=probe.loss,
        seconds=seconds,
        population=population,
        extras=dict(probe.extras),
        reasons=reasons,
        coverage=coverage,
    )
