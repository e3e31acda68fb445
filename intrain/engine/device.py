"""Device selection: ``auto`` takes CUDA when present, else the CPU."""

from __future__ import annotations

import torch

from intrain.core.errors import InputError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch.cuda.is_available() is False")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise InputError(f"unknown device {name!r}; expected auto, cpu, cuda or cuda:N")
    return torch.device(name)


def describe(device: torch.device) -> str:
    """Human-readable device name recorded in artifacts (GPU model for CUDA)."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return "cpu"
