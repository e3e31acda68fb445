"""InTrain-NAS's evolutionary search (supplementary Algorithm 1) with a resumable HDF5 log.

Start from an architecture that meets the budget; at every iteration score the current
architecture, append it and its score to the history, pick one of the top-k of the history
uniformly and mutate it (within the budget) into the next one; return the best of the history.

Every iteration draws from its own generator ``default_rng([seed, i])``, so a search resumed
from its log continues exactly as an uninterrupted one would: same architectures, same scores,
no duplicate iterations. Architectures already in the history are not scored again (their
cached score is logged with ``new = 0``), so ``n_evaluated`` counts distinct networks.

Rounds (``batch = b``): iteration 0 (the start) is a round of its own; then iterations
``1 .. b``, ``b+1 .. 2b`` ... each form a round whose children are all drawn from the same
history snapshot (the rows of earlier rounds), each from its own generator; their new
architectures are scored together (by a `.workers` pool) and appended in iteration order. The
history thus depends on ``b`` and the seed, never on the number of workers or their timing, and
``b = 1`` is Algorithm 1 itself. The top-k is kept incrementally (`TopK`).

Counting (``count_rejected``): the paper's Algorithm 1 counts scored architectures (each of its T
iterations scores one that meets the budget, line 10 mutates "ensuring it meets the budget"), which
is the default here. Zen-NAS's ``evolution_search.py`` instead spends one of its
``evolution_max_iter`` iterations on every child, a child over the layer cap or the budget
included (``continue`` inside ``for loop_count in range(...)``); ``count_rejected=True`` does that:
each iteration draws one child and a rejected one leaves no row (rows keep their iteration number,
so a log then has gaps). Whether InTrain's own T = 100,000 counted rejected children is unstated
(the supplementary only says its settings "follow standard NAS practices").

The log itself (its layout, checkpoints and reader) is `intrain.core.search_log`.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from intrain.core.errors import InputError
from intrain.core.search_log import SearchLog, SearchLogError
from intrain.search.workers import DEFAULT_THREADS, ScorePool, open_pool, scores_in_order

log = logging.getLogger(__name__)
MAX_BATCH = 100_000  # children a round, all built in memory before scoring


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


class TopK:
    """The k best rows seen so far, updated per row in O(k) (instead of sorting the history).

    Same order as `top_k`: best first, earlier rows win ties, NaN ranks last.

    Examples:
        >>> t = TopK(3)
        >>> for i, s in enumerate([1.0, float("nan"), 3.0, 3.0]):
        ...     t.add(i, s)
        >>> t.indices()
        [2, 3, 0]
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self._best: list[tuple[float, int]] = []

    def add(self, index: int, score: float) -> None:
        key = (-_selection_key(score), index)
        if len(self._best) < self.k:
            bisect.insort(self._best, key)
        elif key < self._best[-1]:
            bisect.insort(self._best, key)
            self._best.pop()

    def indices(self) -> list[int]:
        return [i for _, i in self._best]


def round_of(i: int, batch: int) -> tuple[int, int]:
    """The iterations ``[first, end)`` of the round that holds iteration ``i``.

    Examples:
        >>> round_of(0, 4), round_of(1, 4), round_of(4, 4), round_of(5, 4), round_of(7, 1)
        ((0, 1), (1, 5), (1, 5), (5, 9), (7, 8))
    """
    if i == 0:
        return 0, 1
    first = 1 + ((i - 1) // batch) * batch
    return first, first + batch


def draw_child(problem: Any, parent: str, rng: np.random.Generator, history_size: int, one_draw: bool) -> str | None:
    """The child of ``parent``: the problem's mutation within its budget, or with ``one_draw`` a
    single draw that is None when rejected (Zen-NAS's counting)."""
    if one_draw:
        from intrain.search.problems import single_draw

        return single_draw(problem, parent, rng, history_size)
    # a problem whose mutation depends on the history's size (zennas: 1 edit, then 2) says so
    mutate_at = getattr(problem, "mutate_at", None)
    return mutate_at(parent, rng, history_size) if mutate_at else problem.mutate(parent, rng)


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
    batch: int = 1,
    workers: int | str | ScorePool | Any = 1,
    count_rejected: bool = False,
    threads: int = DEFAULT_THREADS,
) -> SearchResult:
    """Run (or resume) Algorithm 1 for ``iterations`` iterations in total, ``batch`` children a round.

    ``workers`` scores each round's new architectures: 1 (here), n local processes, ``"auto"``,
    a `distributed.Client`, ``"dask:<scheduler>"`` or ``"slurm:<jobs>"`` (`.workers`);
    ``score`` must then be picklable. The log's meta records ``batch`` (when > 1) and
    ``count_rejected`` (when set), since they change the history; the workers do not. Every
    scorer runs with ``threads`` torch CPU threads wherever it runs (recorded when not 1: a float
    reduction depends on it).

    Examples:
        >>> class Line:
        ...     def start(self, rng): return "0"
        ...     def mutate(self, arch, rng): return str(int(arch) + int(rng.choice([-1, 1])))
        ...     def describe(self, arch): return {}
        >>> evolve(Line(), lambda a: -abs(int(a) - 5), iterations=60, k=2, batch=4).best_arch
        '5'
    """
    if iterations < 1 or k < 1 or batch < 1 or checkpoint_every < 1:
        raise InputError("iterations, k, batch and checkpoint_every must be >= 1")
    if batch > MAX_BATCH:
        raise InputError(f"batch {batch}: at most {MAX_BATCH:,} children a round (each round is built in memory)")
    if seed < 0:
        raise InputError(f"seed {seed}: a search seed is a non-negative integer")
    columns = sorted(problem.describe(problem.start(np.random.default_rng([seed, 0]))))
    full_meta = {**(meta or {}), "k": k, "seed": seed}
    if batch > 1:
        full_meta["batch"] = batch
    if count_rejected:
        full_meta["count_rejected"] = True
    if threads != DEFAULT_THREADS:
        full_meta["threads"] = threads
    search_log = SearchLog(log_path, full_meta, columns) if log_path else None
    args = (checkpoint_every, progress, batch, workers, count_rejected, threads)
    if search_log is None:
        return _evolve(problem, score, iterations, k, seed, None, *args)
    with search_log:  # one run per log for its whole lifetime (a second is refused, naming this one)
        return _evolve(problem, score, iterations, k, seed, search_log, *args)


def _evolve(
    problem: SearchProblem,
    score: Callable[[str], float],
    iterations: int,
    k: int,
    seed: int,
    search_log: SearchLog | None,
    checkpoint_every: int,
    progress: bool,
    batch: int,
    workers: int | str | ScorePool | Any,
    count_rejected: bool,
    threads: int,
) -> SearchResult:
    history = search_log.load() if search_log else pd.DataFrame()
    archs: list[str] = list(history["arch"]) if len(history) else []
    scores: list[float] = [float(s) for s in history["score"]] if len(history) else []
    iters: list[int] = [int(i) for i in history["iteration"]] if len(history) else []
    cache: dict[str, float] = dict(zip(archs, scores))
    if not count_rejected:  # one row per iteration: row r is iteration r
        wrong = next((r for r, t in enumerate(iters) if t != r), None)
        if wrong is not None:
            raise SearchLogError(
                f"search log {search_log.path if search_log else ''}: row {wrong} has iteration {iters[wrong]}, "
                f"expected {wrong} (every iteration logs one row); the log is corrupt"
            )
    if archs:
        log.info("resuming %s at iteration %d", search_log.path if search_log else "", iters[-1] + 1)
    rows: list[dict] = (
        [] if search_log else [{"iteration": i, "arch": a, "score": s} for i, a, s in zip(iters, archs, scores)]
    )
    pending: list[dict] = []
    best = TopK(k)
    fed = 0
    i = iters[-1] + 1 if iters else 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=iterations, initial=min(i, iterations), desc="search", unit="arch")
    with open_pool(workers, score, threads) as pool:
        while i < iterations:
            first, end = round_of(i, batch)
            end = min(end, iterations)
            while fed < len(archs) and iters[fed] < first:  # the snapshot: rows of earlier rounds
                best.add(fed, scores[fed])
                fed += 1
            parents = best.indices()
            children: list[tuple[int, str | None]] = []
            for t in range(i, end):
                rng = np.random.default_rng([seed, t])
                if t == 0:
                    children.append((t, problem.start(rng)))
                else:
                    parent = archs[parents[int(rng.integers(len(parents)))]]
                    children.append((t, draw_child(problem, parent, rng, fed, count_rejected)))
            todo = list(dict.fromkeys(a for _, a in children if a is not None and a not in cache))
            stream = iter(scores_in_order(pool, todo)) if todo else iter(())
            for t, arch in children:
                if arch is None:
                    continue  # a rejected child: its iteration is spent, nothing is logged
                new = arch not in cache
                if new:  # the stream yields todo's scores in order: the order new archs appear here
                    cache[arch] = float(next(stream))
                archs.append(arch)
                scores.append(cache[arch])
                iters.append(t)
                row = {"iteration": t, "arch": arch, "score": cache[arch], "new": int(new), **problem.describe(arch)}
                if search_log is None:
                    rows.append(row)
                    continue
                pending.append(row)
                if len(pending) >= checkpoint_every:  # mid-round too: a kill loses < checkpoint_every scores
                    search_log.append(pending)
                    pending = []
            if bar is not None:
                bar.update(end - i)
            i = end
            if search_log and pending and i >= iterations:
                search_log.append(pending)
                pending = []
    if bar is not None:
        bar.close()
    if search_log:
        search_log.compact()  # the finished log is one file again
        full = search_log.load()
    else:
        full = pd.DataFrame(rows)
    full = full[full["iteration"] < iterations]
    best_row = top_k(list(full["score"]), 1)[0]
    return SearchResult(
        best_arch=full["arch"].iloc[best_row],
        best_score=float(full["score"].iloc[best_row]),
        best_iteration=int(full["iteration"].iloc[best_row]),
        iterations=iterations if count_rejected else len(full),
        n_evaluated=int(full["arch"].nunique()),
        history=full.reset_index(drop=True),
    )
