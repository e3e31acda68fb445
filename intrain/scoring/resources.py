"""Refuse scoring requests that cannot fit in memory, before anything large is allocated.

`estimate` builds the network on PyTorch's ``meta`` device (shapes only, no storage) and
runs one forward with hooks on every leaf module. What a forward+backward keeps alive is at
least the input batch, every leaf module's output (autograd saves them for the backward) and
the weights with their gradients; the estimate is that sum, so a request it refuses would
certainly not fit. `check_fits` compares it with the memory available now
(``MemAvailable`` of ``/proc/meminfo`` on the CPU, ``torch.cuda.mem_get_info`` on a GPU) and
raises `ResourceError` with the estimate in the message. A network the meta device cannot
run (a data-dependent op) gives no estimate and is not refused here.

Out-of-memory *during* scoring on a GPU is handled by the scorer instead: the architecture is
recorded with `intrain.engine.probe.Flag.OUT_OF_MEMORY` and NaN scores, and the shard goes on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from intrain.core.errors import IntrainError
from intrain.engine.counting import count_params, hooked

__all__ = ["Estimate", "ResourceError", "available_bytes", "check_fits", "check_scoring", "estimate"]

#: Fraction of the available memory a request may plan to use (the rest: allocator slack, other tensors).
HEADROOM = 0.9


class ResourceError(IntrainError, RuntimeError):
    """A request whose memory estimate exceeds what the device has available."""


@dataclass(frozen=True)
class Estimate:
    input_bytes: int
    activation_bytes: int
    param_bytes: int  # weights + gradients

    @property
    def total(self) -> int:
        return self.input_bytes + self.activation_bytes + self.param_bytes


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def estimate(
    build, batch_size: int, resolution: int, channels: int = 3, dtype: torch.dtype = torch.float32
) -> Estimate | None:
    """Memory a forward+backward of ``build()`` on a (B, C, R, R) batch needs at least.

    ``build`` makes the network (called under the ``meta`` device, so nothing is allocated).
    None when the network cannot run on the meta device.
    """
    elem = torch.finfo(dtype).bits // 8
    input_bytes = batch_size * channels * resolution * resolution * elem
    outputs = [0]

    def hook(_module, _inputs, out):
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                outputs[0] += t.numel()

    try:
        with torch.device("meta"):
            model = build()
            with hooked([m for m in model.modules() if not any(True for _ in m.children())], hook):
                model(torch.empty(batch_size, channels, resolution, resolution, dtype=dtype))
            params = count_params(model)
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        return None
    return Estimate(input_bytes, outputs[0] * elem, 2 * params * elem)


def available_bytes(device: torch.device | str) -> int | None:
    """Memory free for new tensors on ``device`` now (None when it cannot be told)."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return None


def check_fits(need: Estimate | int, device: torch.device | str, what: str) -> None:
    """Raise `ResourceError` when ``need`` exceeds the available memory (with headroom)."""
    free = available_bytes(device)
    total = need.total if isinstance(need, Estimate) else int(need)
    if free is None or total <= HEADROOM * free:
        return
    detail = ""
    if isinstance(need, Estimate):
        detail = (
            f" (input batch {gib(need.input_bytes)}, activations {gib(need.activation_bytes)}, "
            f"weights and gradients {gib(need.param_bytes)})"
        )
    raise ResourceError(
        f"{what} needs at least {gib(total)}{detail} but {torch.device(device)} has {gib(free)} available; "
        "lower batch_size or resolution, or use a device with more memory"
    )


def check_scoring(space: str, datasets, settings, device: torch.device | str, archs) -> Estimate | None:
    """Refuse a scoring job whose first architecture cannot fit; called before any batch exists.

    One meta-device build per job (the first architecture of the shard): cheap next to scoring.
    The datasets of a shared-forward job each hold a network, so their estimates add up.
    """
    from intrain.spaces import get_space

    archs = list(archs)
    sp = get_space(space)
    total = None
    for dataset in datasets:
        spec = sp.dataset(dataset)
        resolution = settings.resolution or spec.resolution
        if not archs:
            est: Estimate | None = Estimate(settings.batch_size * 3 * resolution * resolution * 4, 0, 0)
        else:
            est = estimate(
                # called at once, inside this iteration: the loop variable is the one meant
                lambda: sp.build(archs[0], dataset, prune=settings.prune, fast_pool=settings.fast_pool),  # noqa: B023
                settings.batch_size,
                resolution,
            )
        if est is None:
            return None
        total = (
            est
            if total is None
            else Estimate(
                total.input_bytes + est.input_bytes,
                total.activation_bytes + est.activation_bytes,
                total.param_bytes + est.param_bytes,
            )
        )
    if total is not None:
        check_fits(
            total,
            device,
            f"scoring {space}/{'+'.join(datasets)} at batch_size {settings.batch_size}"
            + (f" and resolution {settings.resolution}" if settings.resolution else ""),
        )
    return total
