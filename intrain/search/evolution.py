"""InTrain-NAS's evolutionary search (supplementary Algorithm 1) with a resumable HDF5 log.

Start from an architecture that meets the budget; at every iteration score the current
architecture, append it and its score to the history, pick one of the top-k of the history
uniformly and mutate it (within the budget) into the next one; return the best of the history.

Every iteration draws from its own generator ``default_rng([seed, i])``, so a search resumed
from its log continues exactly as an uninterrupted one would: same architectures, same scores,
no duplicate iterations. Architectures already in the history are not scored again (their
cached score is logged with ``new = 0``), so ``n_evaluated`` counts distinct networks.

The log itself (its layout, checkpoints and reader) is :mod:`intrain.core.search_log`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from intrain.core.errors import InputError
from intrain.core.search_log import SearchLog

log = logging.getLogger(__name__)


class SearchProblem(Protocol):
    def start(self, rng: np.random.Generator) -> str: ...

    def mutate(self, arch: str, rng: np.random.Generator) -> str: ...

    def describe(self, arch: str) -> dict[str, float]: ...


@dataclass
class SearchResult:
    best_arch: str
    best_score: float
    best_iteration: int
    iterations: int
    n_evaluated: int
    history: pd.DataFrame


def _selection_key(score: float) -> float:
    return score if math.isfinite(score) else -math.inf


def top_k(scores: list[float], k: int) -> list[int]:
    """Indices of the k best distinct-position entries (earlier wins ties; NaN ranks last)."""
    order = sorted(range(len(scores)), key=lambda i: (-_selection_key(scores[i]), i))
    return order[:k]


def evolve(
    problem: SearchProblem,
    score: Callable[[str], float],
    iterations: int,
    k: int = 10,
    seed: int = 0,
    log_path: str | os.PathLike | None = None,
    meta: dict | None = None,
    checkpoint_every: int = 25,
    progress: bool = False,
) -> SearchResult:
    """Run (or resume) Algorithm 1 for ``iterations`` iterations in total."""
    if iterations < 1 or k < 1:
        raise InputError("iterations and k must be >= 1")
    columns = sorted(problem.describe(problem.start(np.random.default_rng([seed, 0]))))
    search_log = SearchLog(log_path, {**(meta or {}), "k": k, "seed": seed}, columns) if log_path else None
    history = search_log.load() if search_log else pd.DataFrame()
    archs: list[str] = list(history["arch"]) if len(history) else []
    scores: list[float] = [float(s) for s in history["score"]] if len(history) else []
    cache: dict[str, float] = dict(zip(archs, scores))
    if archs:
        log.info("resuming %s at iteration %d", log_path, len(archs))
    pending: list[dict] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=iterations, initial=min(len(archs), iterations), desc="search", unit="arch")
    for i in range(len(archs), iterations):
        rng = np.random.default_rng([seed, i])
        if i == 0:
            arch = problem.start(rng)
        else:
            parents = top_k(scores, k)
            parent = archs[parents[int(rng.integers(len(parents)))]]
            # a problem whose mutation depends on the history's size (zennas: 1 edit, then 2) says so
            mutate_at = getattr(problem, "mutate_at", None)
            arch = mutate_at(parent, rng, i) if mutate_at else problem.mutate(parent, rng)
        new = arch not in cache
        if new:
            cache[arch] = float(score(arch))
        archs.append(arch)
        scores.append(cache[arch])
        pending.append({"iteration": i, "arch": arch, "score": cache[arch], "new": int(new), **problem.describe(arch)})
        if search_log and (len(pending) >= checkpoint_every or i == iterations - 1):
            search_log.append(pending)
            pending = []
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    full = (
        search_log.load()
        if search_log
        else pd.DataFrame({"iteration": range(len(archs)), "arch": archs, "score": scores})
    )
    full = full.iloc[:iterations]
    best = top_k(list(full["score"]), 1)[0]
    return SearchResult(
        best_arch=full["arch"].iloc[best],
        best_score=float(full["score"].iloc[best]),
        best_iteration=int(full["iteration"].iloc[best]),
        iterations=len(full),
        n_evaluated=int(full["arch"].nunique()),
        history=full.reset_index(drop=True),
    )
