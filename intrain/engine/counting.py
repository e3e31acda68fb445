"""Counting a network: one hooked forward, one MAC convention, one parameter count.

Every place that counts something per layer (the FLOPs proxy, ``intrain describe``, the NDS
records' FLOPs conventions, the memory estimate) runs `hooked_forward` with its own
per-module function, so the forward/hook/cleanup logic exists once.

Examples:
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    >>> count_macs(net, torch.zeros(1, 3, 4, 4)), count_params(net)
    (4736, 1514)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn

__all__ = [
    "CHANNELS_FIRST",
    "CHANNELS_LAST",
    "NONLINEARITIES",
    "WEIGHTED",
    "channel_dim",
    "conv_linear_macs",
    "count_macs",
    "count_params",
    "coverage_note",
    "holds_weight",
    "hooked",
    "hooked_forward",
    "is_broadcast_scale",
    "is_nonlinearity",
    "unread_layers",
]

#: Layers whose multiply-accumulates the benchmarks count (and whose weights zero-cost-nas sums over).
#: Attention projections are Linear layers in timm and transformers; ``nn.MultiheadAttention``'s
#: packed input projection is a bare parameter (its MACs are counted, its weight is not read).
WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Linear)

#: Layers whose output has its channels at dimension 1: (N, C), (N, C, L), (N, C, H, W).
CHANNELS_FIRST: tuple[type[nn.Module], ...] = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.modules.batchnorm._BatchNorm,
    nn.GroupNorm,
    nn.modules.instancenorm._InstanceNorm,
    # pooling keeps (N, C, L) / (N, C, H, W): a pooled token sequence (N, C, 1) is C channels
    nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._MaxPoolNd,
    nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd,
)
#: Layers that act on the last dimension: their channels are last whatever the rank
#: (tokens (N, T, C), sequence-first (T, N, C), channels-last maps (N, H, W, C)).
CHANNELS_LAST: tuple[type[nn.Module], ...] = (nn.Linear, nn.LayerNorm)

#: Elementwise nonlinearities whose sign of the pre-activation splits the input space into
#: regions (NASWOT's codes, SWAP's patterns): f(x) > 0 exactly where x > 0 for each of them.
NONLINEARITIES: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.GELU,
    nn.SiLU,
    nn.Hardswish,
    nn.Mish,
    nn.ELU,
    nn.CELU,
    nn.SELU,
)
#: Class-name stems of the same nonlinearities as other libraries define them (transformers'
#: ``GELUActivation``/``NewGELUActivation``/``SiLUActivation``, timm's ``GELUTanh``/``HardSwish``...).
_NONLINEARITY_NAMES = ("relu", "gelu", "silu", "swish", "mish", "elu")


def is_broadcast_scale(p: torch.Tensor) -> bool:
    """A per-channel vector in a broadcast shape, one dimension above 1 at most: (1, 1, 1, C),
    (1, C, 1, 1), (C, 1, 1) or (1, C) (ConvNeXt-V2's GRN scale channels-last or -first, layer
    scales); an elementwise scale, not a weight matrix, even when it is called ``weight``.

    Examples:
        >>> [is_broadcast_scale(torch.zeros(s)) for s in [(1, 1, 1, 8), (1, 8, 1, 1), (8, 1, 1), (8, 8)]]
        [True, True, True, False]
    """
    return p.dim() >= 2 and sum(s > 1 for s in p.shape) <= 1


def holds_weight(module: nn.Module) -> bool:
    """A parameter of its own whose name contains "weight", with at least 2 dimensions (a conv
    kernel, a weight matrix, an LSTM's ``weight_ih_l0``, an attention's ``in_proj_weight``, an
    embedding table), that is not a broadcast scale (`is_broadcast_scale`); torch's own Linear,
    conv and Embedding layers count whatever their shape (a one-output layer included). Norm
    scales (1-d) and class tokens do not count."""
    own = module.named_parameters(recurse=False)
    if isinstance(module, (nn.Linear, nn.modules.conv._ConvNd, nn.Embedding)):
        return any("weight" in n and p.dim() >= 2 for n, p in own)
    return any("weight" in n and p.dim() >= 2 and not is_broadcast_scale(p) for n, p in own)


def unread_layers(model: nn.Module, types: tuple[type[nn.Module], ...]) -> tuple[int, dict[str, int]]:
    """(how many weight-holding modules there are (`holds_weight`), {type name: count} of those
    not of ``types``).

    Examples:
        >>> unread_layers(nn.Sequential(nn.Conv3d(1, 2, 3), nn.Linear(2, 2)), WEIGHTED)
        (2, {'Conv3d': 1})
    """
    holders = [m for m in model.modules() if holds_weight(m)]
    unread: dict[str, int] = {}
    for m in holders:
        if not isinstance(m, types):
            unread[type(m).__name__] = unread.get(type(m).__name__, 0) + 1
    return len(holders), unread


def coverage_note(model: nn.Module, types: tuple[type[nn.Module], ...]) -> str | None:
    """None when a proxy reading modules of ``types`` reads every weight-holding module; else
    what it reads and what not, e.g. ``"read 1 of 3 weight-holding layers; not read: Conv3d x2"``."""
    total, unread = unread_layers(model, types)
    if not unread:
        return None
    missing = ", ".join(f"{k} x{v}" for k, v in sorted(unread.items()))
    return f"read {total - sum(unread.values())} of {total} weight-holding layers; not read: {missing}"


def is_nonlinearity(module: nn.Module) -> bool:
    """True for an elementwise ReLU-like activation module (torch's, or another library's by name).

    Examples:
        >>> is_nonlinearity(nn.GELU()), is_nonlinearity(nn.Sigmoid()), is_nonlinearity(nn.Linear(2, 2))
        (True, False, False)
    """
    if isinstance(module, NONLINEARITIES):
        return True
    if next(module.children(), None) is not None:
        return False  # a container (a block that happens to be called "...GELU...") is not one
    name = type(module).__name__.lower()
    return any(stem in name for stem in _NONLINEARITY_NAMES) and "norm" not in name


def channel_dim(module: nn.Module, out: torch.Tensor, previous: int | None = None) -> int:
    """Which dimension of ``module``'s output ``out`` holds its channels (docs/layers.md).

    Convolutions and batch/group norms: 1. Linear and LayerNorm: last (a LayerNorm declared
    ``data_format="channels_first"``, as in ConvNeXt ports, 1). Anything else (nonlinearities)
    keeps the layout of the layer that produced its input: ``previous`` when given, else 1 for
    (N, C) and (N, C, H, W) and last for 3-d tokens.

    Examples:
        >>> channel_dim(nn.Linear(4, 4), torch.zeros(2, 9, 4)), channel_dim(nn.Conv1d(4, 4, 1), torch.zeros(2, 4, 9))
        (-1, 1)
    """
    if getattr(module, "data_format", None) == "channels_first":
        return 1
    if isinstance(module, CHANNELS_FIRST):
        return 1
    if isinstance(module, CHANNELS_LAST):
        return -1 if out.dim() != 2 else 1
    if previous is not None:
        return previous
    return -1 if out.dim() == 3 else 1


@contextlib.contextmanager
def hooked(modules: Iterable[nn.Module], hook: Callable, kind: str = "forward") -> Iterator[list]:
    """Register ``hook`` on every module for the ``with`` block, removed on exit (also on errors)."""
    registers: dict[str, Callable[..., Any]] = {
        "forward": nn.Module.register_forward_hook,
        "forward_pre": nn.Module.register_forward_pre_hook,
    }
    register = registers[kind]
    handles = [register(m, hook) for m in modules]
    try:
        yield handles
    finally:
        for h in handles:
            h.remove()


def hooked_forward(
    model: nn.Module,
    x: torch.Tensor,
    visit: Callable[[nn.Module, Any, Any], None],  # input and output as torch hands them to hooks
    modules: Iterable[nn.Module] | None = None,
) -> None:
    """One eval-mode, no-grad forward of ``x`` calling ``visit(module, input, output)`` after each
    of ``modules`` (default: every module) runs; the model's train/eval mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with (
            hooked(
                model.modules() if modules is None else modules,
                lambda m, inp, out: visit(m, inp[0] if inp else None, out),
            ),
            torch.no_grad(),
        ):
            model(x)
    finally:
        model.train(was_training)


def conv_linear_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    """Multiply-accumulates of one conv or linear call of a one-sample forward (0 for other modules).

    Callers run one sample ([`count_macs`][intrain.engine.counting.count_macs] slices ``x[:1]``): a Linear's whole output is that
    sample's, whatever the layout its module applies it in.

    Grouped and depthwise convs count ``in/groups`` per output; a Linear counts ``in x out`` per
    position it is applied at (every token, every pixel of a channels-last map);
    ``nn.MultiheadAttention`` counts its four projections (the attention products, like BN,
    activations and pooling, count nothing: the convention of the benchmarks' own counters,
    NATS-Bench and NAS-Bench-101).
    """
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return out[0].numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, (nn.Conv1d, nn.Conv3d)):
        return out[0].numel() * (module.in_channels // module.groups) * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        # every position of a one-sample forward: tokens, sequence-first (T, 1, C), and the
        # (patch_area, patches, C) rows MobileViT folds one image into
        return out.numel() // module.out_features * module.in_features * module.out_features
    if isinstance(module, nn.MultiheadAttention) and isinstance(inp, torch.Tensor):
        tokens = inp.numel() // module.embed_dim  # query (1, T, E), (T, 1, E) or (T, E): one sample's tokens
        e = module.embed_dim
        return tokens * (e * e + module.kdim * e + module.vdim * e + e * e)
    return 0


def count_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Conv and linear multiply-accumulates of one forward of ``x[:1]`` (modules that run twice count twice)."""
    total = [0]
    hooked_forward(
        model,
        x[:1],
        lambda m, i, o: total.__setitem__(0, total[0] + conv_linear_macs(m, i, o)),
        modules=[m for m in model.modules() if isinstance(m, (*WEIGHTED, nn.Conv3d, nn.MultiheadAttention))],
    )
    return int(total[0])


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (only those with ``requires_grad`` when ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
