"""What batching costs: the regret of InTrain-NAS on NB201 against T, per round size b, paired by seed.

With a score artifact of the whole space (``search.scores_from``, `intrain.search.lookup`) every
search is a lookup, so hundreds of seeded searches take minutes. Regret at T = (best accuracy in
the space) - (accuracy of the architecture the search returns after T iterations: the history's
best proxy score, earlier rows winning ties). One search of T_max per (b, seed) gives every
T <= T_max: rounds do not depend on T, so the first T iterations of a longer search are the
search of length T.

Two references say whether a regret comes from the optimiser or from the proxy:

* random search with the same number of distinct evaluations as each (b, seed, T) search,
  on the same seed (a seeded permutation of the space; its first n are the n evaluated);
* the proxy ceiling: the regret of the architecture(s) with the best proxy score in the whole
  space (the mean over ties: isomorphic copies share a score, not an accuracy), what a perfect
  optimiser of the proxy returns.

`paired_table` gives, per (b, T), the mean regret with a bootstrap band over seeds, the paired
difference to b = 1 and to random search with its bootstrap 95 % interval, and how many seeds
did worse/better. ``intrain search-regret`` and ``benchmarks/search_regret.py`` write it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from intrain.analysis.groundtruth import GroundTruths, accuracy_column
from intrain.core.errors import InputError
from intrain.search.evolution import evolve
from intrain.search.lookup import LookupScore, space_archs
from intrain.search.problems import make_problem

__all__ = [
    "DEFAULT_T",
    "MAX_SEEDS",
    "MAX_T",
    "RegretSpace",
    "best_so_far",
    "check_study_size",
    "paired_table",
    "regret_runs",
    "table_markdown",
]

#: the T grid of the study (cut at the longest T asked for, which is always included)
DEFAULT_T = (10, 25, 50, 100, 250, 500, 1000)
#: the stream of a seed's random-search permutation (apart from the search's own streams [seed, t])
_RANDOM_STREAM = 7_000_001
#: the most seeds and the longest T a study runs: each (b, seed) is a search of T_max lookups and
#: its rows are kept in memory (50 seeds x T = 1,000 is the paper's study)
MAX_SEEDS = 10_000
MAX_T = 100_000


def check_study_size(seeds: int, t_max: int, ts: Sequence[int] = ()) -> None:
    """Refuse, in words and before any work, a number of seeds or a T outside what a study runs.

    Examples:
        >>> check_study_size(50, 1000, [10, 1000])
        >>> check_study_size(50, 1000, [0])
        Traceback (most recent call last):
        intrain.core.errors.InputError: --T 0: every T is an iteration count from 1 to --t-max (1000)
    """
    if not 1 <= seeds <= MAX_SEEDS:
        raise InputError(f"--seeds {seeds}: give 1 to {MAX_SEEDS:,} seeds")
    if not 1 <= t_max <= MAX_T:
        raise InputError(f"--t-max {t_max}: give 1 to {MAX_T:,} iterations")
    for t in ts:
        if not 1 <= t <= t_max:
            raise InputError(f"--T {t}: every T is an iteration count from 1 to --t-max ({t_max})")


def best_so_far(scores: np.ndarray) -> np.ndarray:
    """Index of the best score among rows ``0..t`` for every t (NaN never wins; earlier rows win ties).

    While every score so far is NaN the index is 0: row 0 is the pick although it has no score (a
    search that scored nothing returns its first architecture). `regret_runs` reports that pick's
    ``proxy_score`` as NaN, so such a row is told apart; a study's artifact with no finite score at
    all is refused before any search (`RegretSpace.ceiling`).

    Examples:
        >>> best_so_far(np.array([1.0, np.nan, 3.0, 3.0, 2.0])).tolist()
        [0, 0, 2, 2, 2]
    """
    key = np.where(np.isfinite(scores), scores, -np.inf)
    out = np.zeros(len(key), dtype=np.int64)
    best = 0
    for t in range(1, len(key)):
        if key[t] > key[best]:
            best = t
        out[t] = best
    return out


@dataclass
class RegretSpace:
    """The whole space as the study sees it: every architecture's proxy score and accuracy, and the
    scorer the searches call (a `LookupScore` of the artifact; any ``arch -> score`` in tests)."""

    archs: list[str]
    score: np.ndarray
    accuracy: np.ndarray
    lookup: Callable[[str], float]

    @classmethod
    def load(
        cls,
        scores: str,
        groundtruth: str | Sequence[str],
        dataset: str,
        proxy: str = "intrain",
        metric: str = "test",
        option: str = "--scores",
    ) -> RegretSpace:
        """Read the artifact (``proxy`` column, scored on ``dataset``) and the ground truth's ``metric``
        accuracy on ``dataset``; an architecture of one that the other lacks, one listed twice in the
        ground truth or an accuracy that is not a number is an error naming it. ``option`` names the
        artifact in messages."""
        gt = GroundTruths.of(groundtruth).table("nb201")
        col = accuracy_column(dataset, metric)
        if col not in gt.columns:
            have = [c for c in gt.columns if c.startswith(("acc_", "valid_"))]
            raise InputError(
                f"the ground truth has no {col} column (it has {have}); "
                + ("validation accuracy needs the NB201 validation tables" if metric == "valid" else "check --dataset")
            )
        arch_col = gt["arch"].astype(str)
        dup = arch_col[arch_col.duplicated()]
        if len(dup):
            raise InputError(
                f"the ground truth lists architecture {dup.iloc[0][:200]!r} more than once ({len(dup)} repeated "
                "rows); one accuracy per architecture"
            )
        values = pd.to_numeric(gt[col], errors="coerce")
        bad = values.isna() & gt[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"the ground truth's {col} is not a number in row {i + 1} (architecture {arch_col.iloc[i][:200]!r}: "
                f"{str(gt[col].iloc[i])[:50]!r}); {int(bad.sum())} such cells"
            )
        lookup = LookupScore(scores, proxy, "nb201", dataset=dataset, option=option)
        lookup.check_covers(space_archs("nb201") or ())  # a partial artifact: refused before any search
        table = lookup.table()
        accuracy = dict(zip(arch_col, values.astype(float)))
        missing = [a for a in table if a not in accuracy]
        if missing:
            raise InputError(f"architecture {missing[0][:200]!r} of {scores} is not in the ground truth")
        archs = sorted(table)
        acc = np.array([accuracy[a] for a in archs])
        if not np.isfinite(acc).all():
            raise InputError(f"the ground truth's {col} is missing for {int((~np.isfinite(acc)).sum())} architectures")
        return cls(archs, np.array([table[a] for a in archs]), acc, lookup)

    @property
    def best_accuracy(self) -> float:
        return float(self.accuracy.max())

    def ceiling(self) -> tuple[float, int]:
        """Regret of the best-by-proxy architecture of the whole space (mean over ties) and the ties."""
        finite = np.isfinite(self.score)
        if not finite.any():
            raise InputError("the artifact holds no finite proxy score")
        top = finite & (self.score == self.score[finite].max())
        return self.best_accuracy - float(self.accuracy[top].mean()), int(top.sum())

    def random_picks(self, seed: int, n: int | None = None) -> np.ndarray:
        """Random search on ``seed``: the index (into `archs`) it returns after n evaluations, for every
        n (up to ``n`` when given: the same first picks, since the permutation is the same)."""
        order = np.random.default_rng([seed, _RANDOM_STREAM]).permutation(len(self.archs))[:n]
        return order[best_so_far(self.score[order])]


def regret_runs(space: RegretSpace, batches: Sequence[int], seeds: int, ts: Sequence[int], k: int = 10) -> pd.DataFrame:
    """One row per (b, seed, T): the returned architecture, its accuracy, its regret, the distinct
    architectures evaluated, and the random search of as many evaluations on the same seed."""
    t_max = max(ts)
    check_study_size(seeds, t_max, ts)
    index = {a: i for i, a in enumerate(space.archs)}
    best = space.best_accuracy
    rows = []
    for b in batches:
        for seed in range(seeds):
            # built per search, not for every seed up front: 10,000 seeds of 15,625 would be 1.25 GB
            chance_of = space.random_picks(seed, t_max)
            h = evolve(make_problem("nb201", None), space.lookup, iterations=t_max, k=k, seed=seed, batch=b).history
            pick = best_so_far(h["score"].to_numpy(float))
            archs = h["arch"].astype(str).tolist()
            for t in ts:
                arch = archs[pick[t - 1]]
                distinct = len(set(archs[:t]))
                chance = int(chance_of[distinct - 1])
                rows.append(
                    {
                        "b": b,
                        "seed": seed,
                        "T": t,
                        "arch": arch,
                        "proxy_score": float(h["score"].iloc[pick[t - 1]]),
                        "accuracy": float(space.accuracy[index[arch]]),
                        "regret": best - float(space.accuracy[index[arch]]),
                        "distinct_scored": distinct,
                        "random_arch": space.archs[chance],
                        "random_regret": best - float(space.accuracy[chance]),
                    }
                )
    return pd.DataFrame(rows)


def _boot(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> tuple[float, float]:
    """Percentile bootstrap 95 % interval of the mean over seeds."""
    if len(values) < 2 or n_boot < 1:
        return float("nan"), float("nan")
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def paired_table(
    runs: pd.DataFrame, ceiling: tuple[float, int] | None = None, n_boot: int = 2000, boot_seed: int = 0
) -> pd.DataFrame:
    """Per (b, T): mean regret over seeds with its bootstrap band, the paired difference to b = 1
    (the smallest b) and to random search with as many evaluations, each with a seeded bootstrap
    95 % interval and the seeds worse/better; ``ceiling`` (`RegretSpace.ceiling`) adds its columns.

    Examples:
        >>> runs = pd.DataFrame({"b": [1, 1, 4, 4], "seed": [0, 1, 0, 1], "T": [5] * 4, "regret": [1.0, 2.0, 2.0, 2.0],
        ...     "accuracy": [93.0, 92.0, 92.0, 92.0], "distinct_scored": [5] * 4, "random_regret": [3.0] * 4})
        >>> paired_table(runs, n_boot=0)[["b", "mean_regret", "diff_vs_b1", "worse_seeds", "diff_vs_random"]].values.tolist()
        [[1.0, 1.5, 0.0, 0.0, -1.5], [4.0, 2.0, 0.5, 1.0, -1.0]]
    """
    base = runs[runs["b"] == runs["b"].min()].set_index(["seed", "T"])["regret"]
    rng = np.random.default_rng(boot_seed)
    out = []
    for (b, t), g in runs.groupby(["b", "T"], sort=True):
        g = g.set_index("seed")
        regret = g["regret"].to_numpy(float)
        diff = regret - base.xs(t, level="T").reindex(g.index).to_numpy(float)
        vs_random = regret - g["random_regret"].to_numpy(float)
        lo, hi = _boot(regret, rng, n_boot)
        d_lo, d_hi = _boot(diff, rng, n_boot)
        r_lo, r_hi = _boot(g["random_regret"].to_numpy(float), rng, n_boot)
        v_lo, v_hi = _boot(vs_random, rng, n_boot)
        row = {
            "b": b,
            "T": t,
            "seeds": len(g),
            "mean_regret": regret.mean(),
            "std_regret": regret.std(ddof=1) if len(g) > 1 else float("nan"),
            "regret_lo": lo,
            "regret_hi": hi,
            "mean_accuracy": g["accuracy"].mean(),
            "diff_vs_b1": diff.mean(),
            "diff_lo": d_lo,
            "diff_hi": d_hi,
            "worse_seeds": int((diff > 0).sum()),
            "better_seeds": int((diff < 0).sum()),
            "mean_distinct_scored": g["distinct_scored"].mean(),
            "random_regret": g["random_regret"].mean(),
            "random_lo": r_lo,
            "random_hi": r_hi,
            "diff_vs_random": vs_random.mean(),
            "vs_random_lo": v_lo,
            "vs_random_hi": v_hi,
        }
        if ceiling is not None:
            row["ceiling_regret"], row["ceiling_ties"] = ceiling
        out.append(row)
    return pd.DataFrame(out)


def _ci(x: float, lo: float, hi: float) -> str:
    return f"{x:+.3f} [{lo:+.3f}, {hi:+.3f}]" if np.isfinite(lo) else f"{x:+.3f}"


def table_markdown(table: pd.DataFrame) -> str:
    """The table as Markdown: one row per (b, T), then the reference rows (random search with b = 1's
    evaluations, the proxy ceiling) per T. Regrets in accuracy points.

    Examples:
        >>> runs = pd.DataFrame({"b": [1, 4], "seed": [0, 0], "T": [5, 5], "regret": [1.0, 2.0], "accuracy": [9.0, 8.0],
        ...     "distinct_scored": [5, 4], "random_regret": [3.0, 3.5]})
        >>> print(table_markdown(paired_table(runs, ceiling=(0.5, 2), n_boot=0)).splitlines()[3])
        | 4 | 5 | 1 | 2.000 | – | +1.000 | 1/0 | 4.0 | -1.500 |
    """
    lines = [
        "| b | T | seeds | mean regret | std | paired Δ vs b = 1 [95% CI] | worse/better seeds "
        "| distinct evaluated | Δ vs random, same evaluations [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        std = f"{r.std_regret:.3f}" if np.isfinite(r.std_regret) else "–"
        lines.append(
            f"| {r.b} | {r.T} | {r.seeds} | {r.mean_regret:.3f} | {std} | {_ci(r.diff_vs_b1, r.diff_lo, r.diff_hi)} | "
            f"{r.worse_seeds}/{r.better_seeds} | {r.mean_distinct_scored:.1f} | "
            f"{_ci(r.diff_vs_random, r.vs_random_lo, r.vs_random_hi)} |"
        )
    first = table[table["b"] == table["b"].min()]
    for r in first.itertuples():
        band = f" [{r.random_lo:.3f}, {r.random_hi:.3f}]" if np.isfinite(r.random_lo) else ""
        lines.append(
            f"| random | {r.T} | {r.seeds} | {r.random_regret:.3f}{band} | | | | {r.mean_distinct_scored:.1f} | |"
        )
    if "ceiling_regret" in table:
        r = table.iloc[0]
        lines.append(f"| proxy ceiling | any | | {r.ceiling_regret:.3f} | | | | all | |")
        lines.append(
            f"\nproxy ceiling: the regret of the best-by-score architecture of the whole space (mean over "
            f"{int(r.ceiling_ties)} tied); random: random search with b = 1's evaluations on the same seeds "
            "(its 95 % bootstrap band)."
        )
    return "\n".join(lines) + "\n"
