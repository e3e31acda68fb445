"""Counting a network: one hooked forward, one MAC convention, one parameter count.

Every place that counts something per layer (the FLOPs proxy, ``intrain describe``, the NDS
records' FLOPs conventions, the memory estimate) runs :func:`hooked_forward` with its own
per-module function, so the forward/hook/cleanup logic exists once.

>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
>>> count_macs(net, torch.zeros(1, 3, 4, 4)), count_params(net)
(4736, 1514)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn

__all__ = ["WEIGHTED", "conv_linear_macs", "count_macs", "count_params", "hooked", "hooked_forward"]

#: Layers whose multiply-accumulates the benchmarks count (and whose weights zero-cost-nas sums over).
WEIGHTED = (nn.Conv2d, nn.Linear)


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
    """Multiply-accumulates of one conv or linear call for the first sample (0 for other modules).

    Grouped convs count ``in/groups`` per output; BN, activations and pooling count nothing: the
    convention of the benchmarks' own counters (NATS-Bench, NAS-Bench-101).
    """
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return out[0].numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return out[0].numel() // module.out_features * module.in_features * module.out_features
    return 0


def count_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Conv and linear multiply-accumulates of one forward of ``x[:1]`` (modules that run twice count twice)."""
    total = [0]
    hooked_forward(
        model,
        x[:1],
        lambda m, i, o: total.__setitem__(0, total[0] + conv_linear_macs(m, i, o)),
        modules=[m for m in model.modules() if isinstance(m, WEIGHTED)],
    )
    return int(total[0])


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (only those with ``requires_grad`` when ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
