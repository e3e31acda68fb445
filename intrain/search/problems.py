"""Search with a proxy: the NB201 sample-and-pick table, and the search problems Algorithm 1 runs.

* :func:`nb201_pick_table` is the paper's supplementary Table 1 protocol: sample N architectures,
  take each proxy's top one, report its test accuracy on each dataset, repeat over seeds. It
  reads stored score artifacts only (nothing is rescored), so N is at most what was scored.
* :func:`make_problem` asks a space for its Algorithm 1 problem (:meth:`intrain.spaces.Space.search_problem`;
  NB201's is :class:`intrain.spaces.nb201.search.NB201Edges`).
* :func:`proxy_score` turns any registered proxy into the ``score(arch)`` callable of
  :func:`intrain.search.evolution.evolve`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from intrain.analysis.correlate import proxy_columns
from intrain.analysis.groundtruth import GroundTruths
from intrain.analysis.studies import truth_of
from intrain.core.artifacts import read_population_rules, read_scores
from intrain.core.errors import InputError
from intrain.core.ranking import add_population_scores
from intrain.spaces import get_space

#: Supplementary Table 1 (5,000 sampled NB201 architectures, 5 runs): mean top-1 of the pick.
PAPER_PICK = {
    "intrain": (93.72, 71.05, 45.85),
    "az_nas": (93.65, 70.92, 45.68),
    "vkdnw": (93.63, 70.88, 45.41),
    "zico": (93.58, 70.78, 42.28),
    "params": (93.58, 70.75, 42.15),
    "flops": (93.58, 70.75, 42.15),
    "naswot": (92.82, 70.15, 44.68),
    "synflow": (93.22, 69.48, 40.85),
    "tenas": (92.45, 68.12, 40.75),
    "zen": (90.45, 67.95, 39.80),
    "grasp": (90.48, 63.68, 29.15),
    "grad_norm": (90.25, 63.18, 25.12),
    "snip": (89.65, 62.05, 27.65),
    "ground_truth": (94.35, 73.17, 47.18),
}
PAPER_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def nb201_pick_table(
    score_paths: Sequence[str], groundtruth: str | Sequence[str], n: int, seeds: Sequence[int]
) -> pd.DataFrame:
    """One row per (proxy, dataset, seed): the accuracy of the proxy's top pick among ``n`` sampled.

    The sample is drawn (per seed) from the architectures every artifact holds, so all proxies and
    datasets pick from the same candidates; ``proxy = ground_truth`` is the best accuracy in it.
    """
    gts = GroundTruths.of(groundtruth)
    frames = []
    for path in score_paths:
        attrs, acc, truth = truth_of(path, gts)
        frames.append(
            (
                attrs["dataset"],
                acc,
                add_population_scores(read_scores(path), read_population_rules(path)).merge(truth, on="arch_index"),
            )
        )
    if not frames:
        raise InputError("no score artifacts given")
    common = set.intersection(*(set(df["arch_index"]) for _, _, df in frames))
    if n > len(common):
        raise InputError(
            f"N={n} but only {len(common)} architectures are scored in every artifact; score a larger sample or lower N"
        )
    pool = np.array(sorted(common))
    rows = []
    for seed in seeds:
        picked = set(np.random.default_rng(seed).choice(pool, size=n, replace=False).tolist())
        for dataset, acc, df in frames:
            sample = df[df["arch_index"].isin(picked)]
            rows.append(
                {
                    "proxy": "ground_truth",
                    "dataset": dataset,
                    "seed": seed,
                    "n": n,
                    "accuracy": float(sample[acc].max()),
                    "arch_index": int(sample.loc[sample[acc].idxmax(), "arch_index"]),
                }
            )
            for col in proxy_columns(sample.drop(columns=[acc])):
                if "." in col:
                    continue
                finite = sample[np.isfinite(sample[col])]
                # ties: the smallest benchmark index wins, so equal scores give a reproducible pick
                top = finite.sort_values([col, "arch_index"], ascending=[False, True], kind="stable").iloc[0]
                rows.append(
                    {
                        "proxy": col,
                        "dataset": dataset,
                        "seed": seed,
                        "n": n,
                        "accuracy": float(top[acc]),
                        "arch_index": int(top["arch_index"]),
                    }
                )
    return pd.DataFrame(rows)


def summarize_picks(picks: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per (proxy, dataset), beside the paper's Table 1."""
    out = (
        picks.groupby(["proxy", "dataset"], sort=False)
        .agg(n=("n", "first"), seeds=("seed", "nunique"), mean=("accuracy", "mean"), std=("accuracy", "std"))
        .reset_index()
    )

    def paper(row) -> float | None:
        values = PAPER_PICK.get(row["proxy"])
        return values[PAPER_DATASETS.index(row["dataset"])] if values and row["dataset"] in PAPER_DATASETS else None

    out["paper_mean"] = out.apply(paper, axis=1)
    return out


def proxy_score(
    space: str,
    dataset: str,
    settings,
    proxy: str = "intrain",
    device: str = "cpu",
) -> Callable[[str], float]:
    """``score(arch)`` that builds and scores one network with a registered proxy's main value."""
    from intrain.scoring.scorer import Scorer

    scorer = Scorer(space, dataset, settings, device=device)
    if proxy not in settings.proxies:
        raise InputError(f"proxy {proxy!r} is not among the settings' proxies {list(settings.proxies)}")

    def score(arch: str) -> float:
        values = scorer.score(-1, arch).proxies[proxy]
        if "score" not in values:
            raise InputError(
                f"proxy {proxy!r} is ranked over a population (components {sorted(values)}); "
                "a search needs a per-architecture score"
            )
        return float(values["score"])

    return score


def make_problem(space: str, budget: float | None):
    """The Algorithm 1 problem of a space: the space's own (budgets apply to the spaces that take one).

    >>> type(make_problem("nb201", None)).__name__
    'NB201Edges'
    """
    return get_space(space).search_problem(budget)


def trajectory_plot(history: pd.DataFrame, out) -> None:
    """Every evaluated score by iteration, and the best so far."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.scatter(history["iteration"], history["score"], s=6, alpha=0.5, label="evaluated")
    ax.plot(history["iteration"], history["score"].cummax(), color="crimson", label="best so far")
    ax.set_xlabel("iteration")
    ax.set_ylabel("proxy score")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
