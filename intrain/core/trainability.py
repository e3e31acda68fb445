"""The InTrain score (CVPR 2026) as pure functions of per-layer and per-parameter statistics.

Everything here works on the statistics the probe stores in the HDF5 shards (per-layer trace
and trace of the squared covariance, per-parameter gradient std and max|g|), so ablations and
other couplings are recomputed from artifacts without running a network again.

- Geometric capacity  gamma = sum_l log PR(C_l),  PR = (tr C)^2 / tr(C^2), with eps*I added
  to C (eps = 1e-10, as in the paper). A layer whose activations are identically zero has no
  dimension at all; with eps*I its PR would be D (the maximum), rewarding collapse, so such a
  layer is *collapsed* and contributes PR = 1 (log PR = 0) and a flag. This is our choice,
  documented in docs/implementation.md; it only affects degenerate networks.
- Optimisation resilience  o = sum_params min(1, std(g)/max|g|). A parameter whose gradient is
  identically zero has health 0 (no stable update at all).
- I = gamma * (1 + o) / log(L + 1), L the number of layers counted in gamma.

numpy only: analysis ([`intrain.core.artifacts`][intrain.core.artifacts], `intrain.analysis.studies`) imports this without torch. The
on-device reductions the probe runs to get the statistics are in `intrain.engine.moments`.

Examples:
    >>> round(combine(gamma=4.0, o=1.0, n_layers=2), 6)
    7.281914
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from intrain.core.errors import InputError

EPS = 1e-10
#: A layer whose activation trace is at or below this is treated as collapsed (all zeros).
COLLAPSE_TRACE = 1e-30

Coupling = Literal["multiplicative", "additive", "gamma", "o"]
DepthNorm = Literal["log", "linear", "none"]


def participation_ratio(
    trace: np.ndarray | float, trace_sq: np.ndarray | float, dim: np.ndarray | float, eps: float = EPS
) -> np.ndarray:
    """PR of C + eps*I from tr C, tr C^2 and D; collapsed layers (tr C ~ 0) give PR = 1."""
    trace = np.asarray(trace, dtype=np.float64)
    trace_sq = np.asarray(trace_sq, dtype=np.float64)
    dim = np.asarray(dim, dtype=np.float64)
    num = (trace + dim * eps) ** 2
    den = trace_sq + 2.0 * eps * trace + dim * eps * eps
    with np.errstate(divide="ignore", invalid="ignore"):
        pr = num / den
    return np.where(trace <= COLLAPSE_TRACE, 1.0, pr)


def gradient_health(std: np.ndarray | float, maxabs: np.ndarray | float) -> np.ndarray:
    """min(1, std/max|g|) per parameter; 0 where the gradient is identically zero."""
    std = np.asarray(std, dtype=np.float64)
    maxabs = np.asarray(maxabs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(maxabs > 0, std / maxabs, 0.0)
    return np.minimum(1.0, ratio)


def combine(
    gamma: float, o: float, n_layers: int, coupling: Coupling = "multiplicative", depth_norm: DepthNorm = "log"
) -> float:
    """Couple capacity and resilience and normalise by depth (the paper's I and its ablations).

    ``additive`` adds the two after dividing each by its depth-normalisation, i.e. the score
    is gamma/norm + o/norm; the ablation study in `intrain.analysis.studies` z-scores instead.
    """
    if coupling == "multiplicative":
        raw = gamma * (1.0 + o)
    elif coupling == "additive":
        raw = gamma + o
    elif coupling == "gamma":
        raw = gamma
    elif coupling == "o":
        raw = o
    else:
        raise InputError(f"unknown coupling {coupling!r}")
    if depth_norm == "log":
        norm = math.log(n_layers + 1)
    elif depth_norm == "linear":
        norm = float(n_layers)
    elif depth_norm == "none":
        norm = 1.0
    else:
        raise InputError(f"unknown depth normalisation {depth_norm!r}")
    return raw / norm if norm > 0 else float("nan")


def intrain_from_stats(
    trace: np.ndarray,
    trace_sq: np.ndarray,
    dim: np.ndarray,
    grad_std: np.ndarray,
    grad_maxabs: np.ndarray,
    eps: float = EPS,
) -> dict[str, float]:
    """InTrain score and its components from one architecture's stored statistics."""
    log_pr = np.log(participation_ratio(trace, trace_sq, dim, eps))
    health = gradient_health(grad_std, grad_maxabs)
    gamma = float(log_pr.sum())
    o = float(health.sum())
    n_layers = int(len(log_pr))
    score = combine(gamma, o, n_layers)
    if not (np.all(np.isfinite(log_pr)) and np.all(np.isfinite(health))):
        score = float("nan")
    return {"score": score, "gamma": gamma, "o": o, "n_layers": float(n_layers)}
