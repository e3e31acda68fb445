"""A MobileNetV2-style ImageNet space for evolutionary search under a FLOPs budget (search only:
no benchmark table). The arch string is the spec's canonical JSON, its own canonical form.

- :mod:`.encoding` specs, parsing, analytic FLOPs and parameter counts, and mutation under a
  budget (:class:`.encoding.BudgetedSpace`, the Algorithm 1 problem); no torch;
- :mod:`.network` the network (torch).

Names of both are importable from here (``mbv2.build_model``, ``mbv2.BudgetedSpace``); those of
:mod:`.network` import torch on first use. ``intrain.spaces.mobilenetv2`` is this package.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Mapping

from ..base import Space, SpaceError
from .encoding import *  # noqa: F401,F403  (the space's vocabulary, as before the split)
from .encoding import DATASETS, BudgetedSpace, normalize_arch

_NETWORK_NAMES = ("hooked_flops", "conv_bn", "InvertedResidual", "MobileNetV2Like", "build_model", "build_network")


class MobileNetV2Space(Space):
    """The MobileNetV2-like space Zen-NAS, ZiCo and AZ-NAS search (ImageNet, FLOPs budgets)."""

    name = "mbv2"
    datasets = DATASETS

    def normalize(self, arch: str) -> str:
        return normalize_arch(arch)

    def network(self, arch: str, dataset: str):
        from .network import build_network

        return build_network(arch, dataset)

    def groundtruth(self, table: str | Path, valid: Mapping[str, str | Path] | None = None):
        raise SpaceError("the MobileNetV2 space is search-only: it has no benchmark table")

    def search_problem(self, budget: float | None = None) -> BudgetedSpace:
        if budget is None:
            raise SpaceError("the MobileNetV2 space needs --budget (FLOPs at 224x224, e.g. 450e6)")
        return BudgetedSpace(budget)

    def describe(self, arch: str) -> dict[str, float]:
        """FLOPs (at 224x224), parameters and layers of the spec."""
        return BudgetedSpace(float("inf")).describe(arch)


def __getattr__(attr: str) -> Any:
    """Network names on first use (so importing the space does not import torch)."""
    if attr in _NETWORK_NAMES:
        return getattr(importlib.import_module(f"{__name__}.network"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
