"""Device selection: ``auto`` takes CUDA when present, else the CPU."""

from __future__ import annotations

import torch

from intrain.core.errors import InputError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(name, str) or (name not in ("cpu", "cuda") and not name.startswith("cuda:")):
        raise InputError(f"unknown device {name!r}; expected auto, cpu, cuda or cuda:N")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(
                f"device {name!r} requested but this torch sees no CUDA GPU (torch.cuda.is_available() is "
                "False); pass device='cpu' or 'auto'"
            )
        index = name.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise InputError(
                f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                f"cuda:0 to cuda:{torch.cuda.device_count() - 1}"
            )
    return torch.device(name)


def describe(device: torch.device) -> str:
    """Human-readable device name recorded in artifacts (GPU model for CUDA)."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return "cpu"
