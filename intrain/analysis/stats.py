"""Rank correlations with bootstrap confidence intervals, and NaN handling that is reported.

Non-finite scores are excluded explicitly and counted (``n_excluded``); they are never
replaced by a sentinel value, which would silently rank degenerate networks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as sps


@dataclass
class Correlation:
    n: int
    n_excluded: int
    kendall: float
    spearman: float
    kendall_lo: float = float("nan")
    kendall_hi: float = float("nan")
    spearman_lo: float = float("nan")
    spearman_hi: float = float("nan")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def kendall(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall tau-b (ties in either variable accounted for)."""
    return float(sps.kendalltau(x, y).statistic)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(sps.spearmanr(x, y).statistic)


def correlate(
    score: np.ndarray,
    truth: np.ndarray,
    higher_is_better: bool = True,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> Correlation:
    """Kendall tau and Spearman rho of ``score`` vs ``truth`` with percentile bootstrap CIs."""
    score = np.asarray(score, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if score.shape != truth.shape:
        raise ValueError(f"score and truth differ in shape: {score.shape} vs {truth.shape}")
    ok = np.isfinite(score) & np.isfinite(truth)
    s, t = score[ok], truth[ok]
    if not higher_is_better:
        s = -s
    n = int(ok.sum())
    if n < 3:
        return Correlation(n, int((~ok).sum()), float("nan"), float("nan"))
    out = Correlation(n, int((~ok).sum()), kendall(s, t), spearman(s, t))
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        kt, sr = np.empty(n_boot), np.empty(n_boot)
        for b in range(n_boot):
            i = rng.integers(0, n, n)
            kt[b], sr[b] = kendall(s[i], t[i]), spearman(s[i], t[i])
        a = (1 - ci) / 2
        out.kendall_lo, out.kendall_hi = (float(v) for v in np.nanquantile(kt, [a, 1 - a]))
        out.spearman_lo, out.spearman_hi = (float(v) for v in np.nanquantile(sr, [a, 1 - a]))
    return out


@dataclass
class TauDifference:
    """Kendall τ(a) − τ(b) over the same architectures, with a paired percentile bootstrap CI."""

    n: int
    n_excluded: int
    tau_a: float
    tau_b: float
    delta: float
    lo: float = float("nan")
    hi: float = float("nan")
    n_boot: int = 0
    #: Spearman's ρ(a) − ρ(b) on the same bootstrap draws (a claim may be stated in either coefficient)
    rho_a: float = float("nan")
    rho_b: float = float("nan")
    rho_delta: float = float("nan")
    rho_lo: float = float("nan")
    rho_hi: float = float("nan")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_tau_difference(
    a: np.ndarray, b: np.ndarray, truth: np.ndarray, n_boot: int = 1000, seed: int = 0, ci: float = 0.95
) -> TauDifference:
    """Δτ = τ(a, truth) − τ(b, truth) and its ``ci`` percentile bootstrap interval (and the same
    for Spearman's ρ, ``rho_*``, from the same draws).

    Each bootstrap replicate draws one set of architectures (with replacement) and computes both
    taus on it, so the interval accounts for the correlation between the two proxies' errors:
    a claim "a beats b" holds at that level when the interval excludes 0. Architectures where
    either score or the truth is non-finite are excluded from both (``n_excluded``).
    """
    a, b, truth = (np.asarray(v, dtype=np.float64) for v in (a, b, truth))
    if not (a.shape == b.shape == truth.shape):
        raise ValueError(f"a, b and truth differ in shape: {a.shape}, {b.shape}, {truth.shape}")
    ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(truth)
    a, b, t = a[ok], b[ok], truth[ok]
    n = int(ok.sum())
    if n < 3:
        nan = float("nan")
        return TauDifference(n, int((~ok).sum()), nan, nan, nan)
    ta, tb = kendall(a, t), kendall(b, t)
    ra, rb = spearman(a, t), spearman(b, t)
    out = TauDifference(n, int((~ok).sum()), ta, tb, ta - tb, n_boot=int(n_boot), rho_a=ra, rho_b=rb, rho_delta=ra - rb)
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        d = np.empty(n_boot)
        r = np.empty(n_boot)
        for k in range(n_boot):
            i = rng.integers(0, n, n)
            d[k] = kendall(a[i], t[i]) - kendall(b[i], t[i])
            r[k] = spearman(a[i], t[i]) - spearman(b[i], t[i])
        q = (1 - ci) / 2
        out.lo, out.hi = (float(v) for v in np.nanquantile(d, [q, 1 - q]))
        out.rho_lo, out.rho_hi = (float(v) for v in np.nanquantile(r, [q, 1 - q]))
    return out
