"""One fused forward + backward pass that collects every statistic the proxies reduce.

The probe hooks the selected layers and computes each layer's covariance traces inside the
forward hook (activations are never kept), then one backward on a cross-entropy loss gives the
per-parameter gradient moments. All reductions stay on the device and are copied to the host
once at the end, so a CUDA run does not sync per layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from intrain.core.errors import InputError
from intrain.core.flags import Flag
from intrain.core.trainability import COLLAPSE_TRACE
from intrain.engine.counting import (
    CHANNELS_FIRST,
    CHANNELS_LAST,
    channel_dim,
    holds_weight,
    is_broadcast_scale,
    is_nonlinearity,
)
from intrain.engine.moments import covariance_traces, grad_moments
from intrain.engine.passes import COLLECTORS, Collector, Undefined, parametrized_weights

_CONV = (nn.Conv1d, nn.Conv2d)
_NORM = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)
_WEIGHTS = (*_CONV, nn.Linear)
#: The weight-holding module types some layer selection reads (the others are named in
#: ``ProbeResult.coverage``: a Conv3d or LSTM body is not read, only the layers around it).
READ_TYPES: tuple[type[nn.Module], ...] = (*_CONV, *_NORM, nn.Linear)

#: Which module outputs count as "layers" for the geometric capacity (docs/reproduce.md, "Layer
#: choice"; docs/layers.md for every layout). On NB201/NB101 these are the Conv2d, BatchNorm2d,
#: ReLU and Linear layers they always were; other networks add their 1-d convs, LayerNorm,
#: GroupNorm and ReLU-like activations (GELU, SiLU, Hardswish, other libraries' classes).
LAYER_SELECTORS: dict[str, Callable[[nn.Module], bool]] = {
    "conv": lambda m: isinstance(m, (*_CONV, nn.Linear)),
    # normalisation layers (BatchNorm, LayerNorm, GroupNorm) and the linear layers
    "bn": lambda m: isinstance(m, (*_NORM, nn.Linear)),
    "conv+bn": lambda m: isinstance(m, (*_CONV, *_NORM, nn.Linear)),
    # post-activation features (the paper's supplementary A): every nonlinearity call's output, and the logits
    "relu": lambda m: isinstance(m, nn.Linear) or is_nonlinearity(m),
}

#: Which parameters count for the optimisation resilience.
PARAM_SELECTORS: dict[str, str] = {
    "all": "every trainable tensor with at least 2 elements",
    "weights": "conv and linear weights only",
}


@dataclass
class ProbeResult:
    layer_names: list[str]
    layer_kinds: list[str]
    layer_shapes: np.ndarray  # (L, 3) int: channels, height, width (1, 1 for linear)
    layer_stats: np.ndarray  # (L, 3) float64: tr C, tr C^2, D
    param_names: list[str]
    param_kinds: list[str]
    param_numel: np.ndarray  # (P,) int
    param_stats: np.ndarray  # (P, 2) float64: std, max|g|
    loss: float
    flags: int = 0
    extras: dict[str, float] = field(default_factory=dict)
    #: What the extra collectors and the other passes produced, by name (see [`intrain.proxies.base`][intrain.proxies.base]);
    #: an [`Undefined`][intrain.engine.passes.Undefined] where one is undefined on this network.
    outputs: dict[str, Any] = field(default_factory=dict)
    #: Proxy name -> why its score is NaN (set with `Flag.UNDEFINED`).
    reasons: dict[str, str] = field(default_factory=dict)
    #: Proxy name -> which weight-holding layers it did not read (module types it has no rule for),
    #: for proxies whose finite value therefore covers only part of the network.
    coverage: dict[str, str] = field(default_factory=dict)


def _selected_params(model: nn.Module, params: str) -> list[tuple[str, str, nn.Parameter]]:
    """(name, owning module's type, parameter) of the trainable tensors ``params`` selects; under
    ``weights`` a conv/linear weight computed by weight_norm/spectral_norm/a parametrization
    counts through its trainable leaves (`parametrized_weights`)."""
    if params not in PARAM_SELECTORS:
        raise InputError(f"unknown parameter selection {params!r}; expected one of {sorted(PARAM_SELECTORS)}")
    leaves = set()
    if params == "weights":
        computed = parametrized_weights(model)
        leaves = {
            leaf for n, m in model.named_modules() if isinstance(m, _WEIGHTS) for leaf in computed.get(n, ("", []))[1]
        }
    chosen = []
    for mod_name, module in model.named_modules():
        for p_name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or p.numel() < 2:
                continue
            name = f"{mod_name}.{p_name}" if mod_name else p_name
            if params == "weights" and not (isinstance(module, _WEIGHTS) and p_name == "weight") and name not in leaves:
                continue
            chosen.append((name, type(module).__name__, p))
    return chosen


def _is_matrix(p: torch.Tensor) -> bool:
    """A trainable tensor that acts as a weight matrix or kernel: at least 2-d and not a
    per-sample broadcast (class tokens, position embeddings and layer scales start with a 1) nor a
    per-channel scale (`is_broadcast_scale`: a (C, 1, 1) layer scale)."""
    return p.requires_grad and p.dim() >= 2 and p.shape[0] > 1 and not is_broadcast_scale(p)


def unread_weights(model: nn.Module, types: tuple[type, ...], reads_parametrized: bool = False) -> str | None:
    """What a proxy reading modules of ``types`` misses beyond `coverage_note`'s module count:
    weight-like trainable tensors whatever their name (``self.W``, an ``nn.ParameterList``) held
    by modules outside ``types``, and, unless ``reads_parametrized``, the layers of ``types``
    whose ``weight`` is computed from other tensors (`parametrized_weights`). None: nothing.

    Examples:
        >>> class Mine(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.W = nn.Parameter(torch.zeros(3, 4))
        >>> unread_weights(nn.Sequential(Mine(), nn.Linear(3, 2)), (nn.Linear,))
        "not read: trainable tensors outside the layers it reads: '0.W' (Mine, 3x4)"
    """
    computed = parametrized_weights(model)
    parts = []
    if not reads_parametrized:
        hits = [n for n, m in model.named_modules() if n in computed and isinstance(m, types)]
        if hits:
            shown = ", ".join(f"{n or 'the model'!r} ({computed[n][0]})" for n in hits[:5])
            parts.append(
                f"not read: {len(hits)} layer(s) whose weight is computed by a parametrization: {shown}"
                f"{', ...' if len(hits) > 5 else ''} (its leaves, e.g. parametrizations.weight.original*, "
                "are trainable but this proxy reads module.weight only)"
            )
    leaves = {leaf for _, ls in computed.values() for leaf in ls}
    extra = []
    for mod_name, module in model.named_modules():
        if isinstance(module, types):
            continue
        own = list(module.named_parameters(recurse=False))
        if holds_weight(module):
            continue  # a weight-holding module: already named by coverage_note
        for p_name, p in own:
            name = f"{mod_name}.{p_name}" if mod_name else p_name
            if _is_matrix(p) and name not in leaves:
                extra.append(f"{name!r} ({type(module).__name__}, {'x'.join(map(str, p.shape))})")
    if extra:
        more = f", ... ({len(extra)} in all)" if len(extra) > 5 else ""
        parts.append(f"not read: trainable tensors outside the layers it reads: {', '.join(extra[:5])}{more}")
    return "; ".join(parts) or None


class _LayerRecorder:
    """Forward hooks that keep each counted layer's name, kind, shape and covariance traces.

    ``batch`` (the scoring batch size) turns a layer's non-channel dimensions into positions per
    sample whatever the layout. A nonlinearity's channels lie where its producer's did: the
    layout of the last conv/linear/norm output of the same shape is tracked for that.
    """

    def __init__(self, model: nn.Module, select: Callable[[nn.Module], bool], prefix: str = "", batch: int = 0):
        self.names: list[str] = []
        self.kinds: list[str] = []
        self.shapes: list[tuple[int, int, int]] = []
        self.stats: list[torch.Tensor] = []
        self.batch = batch
        self._last: tuple[tuple[int, ...], int] | None = None  # (shape, channel dim) of the last producer
        modules = list(model.named_modules())
        self.handles = [
            module.register_forward_hook(self._hook(f"{prefix}.{name}" if prefix and name else prefix or name))
            for name, module in modules
            if select(module)
        ]
        self.handles += [m.register_forward_hook(self._track) for _, m in modules if isinstance(m, _PRODUCERS)]

    def _track(self, module: nn.Module, inputs, output) -> None:
        if isinstance(output, torch.Tensor):
            self._last = (tuple(output.shape), channel_dim(module, output))

    def _hook(self, name: str):
        def hook(module: nn.Module, inputs, output: torch.Tensor) -> None:
            if not isinstance(output, torch.Tensor) or output.dim() < 2:
                return  # not an activation map (a packed or scalar output): nothing to read
            previous = self._last[1] if self._last and self._last[0] == tuple(output.shape) else None
            cdim = channel_dim(module, output, previous)
            self.names.append(name)
            self.kinds.append(type(module).__name__)
            self.shapes.append(_layer_shape(output, cdim, self.batch))
            self.stats.append(covariance_traces(output, cdim))

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


_PRODUCERS = (*CHANNELS_FIRST, *CHANNELS_LAST)


def _layer_shape(out: torch.Tensor, cdim: int, batch: int) -> tuple[int, int, int]:
    """(channels, height, width): a map's own sides, else (positions per sample, 1)."""
    s = out.shape
    if out.dim() == 4 and cdim in (1, -3):
        return (s[1], s[2], s[3])
    if out.dim() == 4 and cdim in (3, -1):
        return (s[3], s[1], s[2])
    if out.dim() == 2:
        return (s[1], 1, 1)
    c = s[cdim]
    n = batch if batch and out.numel() % (c * batch) == 0 else s[0]
    return (c, out.numel() // (c * n), 1)


def _check_probe_args(layers: str, collect: frozenset[str]) -> Callable[[nn.Module], bool]:
    unknown = set(collect) - set(COLLECTORS)
    if unknown:  # collectors register when their proxy family is imported (intrain.proxies.get_proxy)
        raise ValueError(
            f"unknown probe collectors {sorted(unknown)}; registered: {sorted(COLLECTORS)} "
            "(import the proxy family that defines the collector first)"
        )
    if layers not in LAYER_SELECTORS:
        raise InputError(f"unknown layer selection {layers!r}; expected one of {sorted(LAYER_SELECTORS)}")
    return LAYER_SELECTORS[layers]


_NO_TRAINABLE = (
    "the network's logits do not depend on any trainable parameter (they have no grad_fn: "
    "detached, computed under no_grad, or every parameter frozen); the probe differentiates "
    "a loss of the logits"
)


def run_probe(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    layers: str = "conv",
    params: str = "all",
    collect: frozenset[str] = frozenset(),
) -> ProbeResult:
    """Forward + backward once; return per-layer covariance traces and gradient moments.

    ``collect`` names side statistics (registered [`Collector`][intrain.proxies.base.Collector]s)
    gathered in the same pass; their results land in ``ProbeResult.outputs``.
    """
    kinds = _check_probe_args(layers, collect)
    recorder = _LayerRecorder(model, kinds, batch=x.shape[0])
    collectors: list[Collector] = []
    try:
        collectors = [COLLECTORS[name](model) for name in sorted(collect)]
        sync = _prepare_pass([model], x)
        sync()
        start = time.perf_counter()
        for c in collectors:
            x = c.prepare_input(x)
        logits = model(x)
        if not isinstance(logits, torch.Tensor):
            raise TypeError(
                f"the network returned {type(logits).__name__}, not a logits tensor; "
                "intrain.score(..., output=callable) says how to read logits from it"
            )
        if not logits.requires_grad:
            raise InputError(_NO_TRAINABLE)
        for c in collectors:
            c.after_forward(x, logits)
        loss = nn.functional.cross_entropy(logits, y)
        loss.backward()
        # a collector may make x require grad (jacov), giving logits a grad_fn without any parameter
        if not any(p.grad is not None for p in model.parameters() if p.requires_grad):
            raise InputError(_NO_TRAINABLE)
        sync()
        pass_seconds = time.perf_counter() - start  # forward + backward (hook statistics included)
    finally:
        recorder.remove()
        for c in collectors:
            c.remove()
    outputs: dict[str, Any] = {}
    for c in collectors:
        try:
            c.after_backward()
            outputs[c.name] = c.result()
        except Undefined as e:  # the proxies reading it are NaN with this reason
            outputs[c.name] = e
    chosen = _selected_params(model, params)
    return _result(
        recorder.names,
        recorder.kinds,
        recorder.shapes,
        recorder.stats,
        chosen,
        [p.grad for _, _, p in chosen],
        loss,
        pass_seconds,
        outputs,
        x.device,
    )


def run_probe_shared(
    models: Sequence[nn.Module],
    x: torch.Tensor,
    ys: Sequence[torch.Tensor],
    head: str = "classifier",
    layers: str = "conv",
    params: str = "all",
) -> list[ProbeResult]:
    """`run_probe` for networks that differ only in their ``head`` module, body run once.

    NB201's CIFAR-10 and CIFAR-100 networks are built from the same seed with the classifier
    last, so their bodies hold the same weights and see the same Gaussian batch: the body's
    forward (half the cost of a probe on CPU) is computed once, each head and loss on top of
    it, and each network's gradients by its own backward through the shared graph. The results
    equal `run_probe` on each network bit for bit (same kernels in the same order; tested),
    and each network's ``pass_seconds`` is the shared pass's time divided among them.

    Refuses networks whose parameters or buffers outside ``head`` differ, whose ``head`` does
    not run exactly once, or whose ``head`` layers are not the last counted layers. It does not
    check that the network's output is the head's output: the head must be the last module.
    """
    kinds = _check_probe_args(layers, frozenset())
    if len(models) != len(ys) or not models:
        raise ValueError(f"need one label tensor per network, got {len(models)} networks and {len(ys)} label sets")
    base = models[0]
    _check_shared_body(models, head)
    heads = [m.get_submodule(head) for m in models]
    recorders = [_LayerRecorder(base, kinds, batch=x.shape[0])]
    recorders += [_LayerRecorder(h, kinds, prefix=head, batch=x.shape[0]) for h in heads[1:]]
    captured: list[torch.Tensor] = []
    pre = heads[0].register_forward_pre_hook(lambda module, inputs: captured.append(inputs[0]))
    sync = _prepare_pass(models, x)
    try:
        sync()
        start = time.perf_counter()
        logits = [base(x)]
        if len(captured) != 1:
            raise ValueError(f"head {head!r} ran {len(captured)} times in one forward; expected once")
        logits += [h(captured[0]) for h in heads[1:]]
        losses = [nn.functional.cross_entropy(lg, y) for lg, y in zip(logits, ys)]
        n_head_layers = sum(1 for name in recorders[0].names if _under(name, head))
        if n_head_layers and not all(_under(name, head) for name in recorders[0].names[-n_head_layers:]):
            raise ValueError(f"head {head!r} is not the last counted layer; its forward cannot be split off")
        chosen = [_selected_params(m, params) for m in models]
        body = dict(base.named_parameters())
        grads = []
        for k, (loss, sel) in enumerate(zip(losses, chosen)):
            inputs = [body[name] if k and not _under(name, head) else p for name, _, p in sel]
            grads.append(torch.autograd.grad(loss, inputs, retain_graph=k < len(models) - 1, allow_unused=True))
        sync()
        pass_seconds = (time.perf_counter() - start) / len(models)
    finally:
        pre.remove()
        for r in recorders:
            r.remove()
    body_rec, n_body = recorders[0], len(recorders[0].names) - n_head_layers
    results = []
    for k, (loss, sel, g) in enumerate(zip(losses, chosen, grads)):
        own = recorders[k]  # network 0: the whole pass; the others: their head only
        keep = 0 if k == 0 else n_body
        results.append(
            _result(
                body_rec.names[:keep] + own.names,
                body_rec.kinds[:keep] + own.kinds,
                body_rec.shapes[:keep] + own.shapes,
                body_rec.stats[:keep] + own.stats,
                sel,
                list(g),
                loss,
                pass_seconds,
                {},
                x.device,
            )
        )
    return results


def _prepare_pass(models: Sequence[nn.Module], x: torch.Tensor):
    """Train mode, no stale gradients; returns the device sync that brackets the timed pass."""
    for m in models:
        m.train()
        m.zero_grad(set_to_none=True)
    return torch.cuda.synchronize if x.is_cuda else (lambda: None)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _check_shared_body(models: Sequence[nn.Module], head: str) -> None:
    """Raise unless every network's state outside ``head`` equals the first one's exactly."""
    ref = {k: v for k, v in models[0].state_dict(keep_vars=True).items() if not _under(k, head)}
    for i, m in enumerate(models[1:], start=1):
        try:
            m.get_submodule(head)
        except AttributeError:
            raise ValueError(f"network {i} has no module {head!r} to use as its head") from None
        state = {k: v for k, v in m.state_dict(keep_vars=True).items() if not _under(k, head)}
        if state.keys() != ref.keys():
            raise ValueError(f"network {i} has other modules than network 0 outside {head!r}; cannot share a forward")
        for k, v in state.items():
            if v.shape != ref[k].shape or not torch.equal(v.detach(), ref[k].detach()):
                raise ValueError(
                    f"network {i} differs from network 0 in {k!r} (outside the head {head!r}); "
                    "build both from the same seed with the head last"
                )


def _result(
    names: list[str],
    kinds: list[str],
    shapes: list[tuple[int, int, int]],
    stats: list[torch.Tensor],
    chosen: list[tuple[str, str, nn.Parameter]],
    grads: list[torch.Tensor | None],
    loss: torch.Tensor,
    pass_seconds: float,
    outputs: dict[str, Any],
    device: torch.device,
) -> ProbeResult:
    """Reduce gradients to moments, copy everything to the host once, set the condition flags."""
    moments = [grad_moments(g) if g is not None else torch.zeros(2, dtype=torch.float64, device=device) for g in grads]
    empty = torch.zeros(0, dtype=torch.float64, device=device)
    packed = (
        torch.cat(
            [
                torch.stack(stats).reshape(-1) if stats else empty,
                torch.stack(moments).reshape(-1) if moments else empty,
                loss.detach().double().reshape(1),
            ]
        )
        .cpu()
        .numpy()
    )
    n_l, n_p = len(stats), len(moments)
    layer_stats = packed[: 3 * n_l].reshape(n_l, 3)
    param_stats = packed[3 * n_l : 3 * n_l + 2 * n_p].reshape(n_p, 2)
    loss_value = float(packed[-1])
    flags = Flag(0)
    if not (np.isfinite(layer_stats).all() and np.isfinite(param_stats).all() and np.isfinite(loss_value)):
        flags |= Flag.NONFINITE
    if n_l and (layer_stats[:, 0] <= COLLAPSE_TRACE).any():
        flags |= Flag.COLLAPSED_LAYER
    if n_p and (param_stats[:, 1] == 0).any():
        flags |= Flag.ZERO_GRAD
    return ProbeResult(
        layer_names=list(names),
        layer_kinds=list(kinds),
        layer_shapes=np.asarray(shapes, dtype=np.int32).reshape(n_l, 3),
        layer_stats=layer_stats,
        param_names=[n for n, _, _ in chosen],
        param_kinds=[k for _, k, _ in chosen],
        param_numel=np.asarray([p.numel() for _, _, p in chosen], dtype=np.int64),
        param_stats=param_stats,
        loss=loss_value,
        flags=int(flags),
        extras={"pass_seconds": pass_seconds},
        outputs=outputs,
    )
