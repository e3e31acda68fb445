"""Rank correlations with bootstrap confidence intervals, and NaN handling that is reported.

Non-finite scores are excluded explicitly and counted (``n_excluded``); they are never
replaced by a sentinel value, which would silently rank degenerate networks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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

    def as_dict(self) -> dict:
        return asdict(self)


def kendall(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall tau-b (ties in either variable accounted for)."""
    return float(sps.kendalltau(x, y).statistic)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(sps.spearmanr(x, y).statistic)


def correlate(score: np.ndarray, truth: np.ndarray, higher_is_better: bool = True,
              n_boot: int = 1000, ci: float = 0.95, seed: int = 0) -> Correlation:
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
