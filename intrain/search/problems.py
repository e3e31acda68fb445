"""Search with a proxy: the NB201 sample-and-pick table, and the search problems Algorithm 1 runs.

* `nb201_pick_table` is the paper's supplementary Table 1 protocol: sample N architectures,
  take each proxy's top one, report its test accuracy on each dataset, repeat over seeds. It
  reads stored score artifacts only (nothing is rescored), so N is at most what was scored.
* `make_problem` asks a space for its Algorithm 1 problem ([`intrain.spaces.Space.search_problem`][intrain.spaces.base.Space.search_problem];
  NB201's is `intrain.spaces.nb201.search.NB201Edges`).
* `proxy_score` turns any registered proxy into the ``score(arch)`` callable of
  `intrain.search.evolution.evolve`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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


class ProxyScore:
    """``score(arch)``: one network built and scored with a registered proxy's main value.

    Picklable (for `.workers`): the scorer itself is built on first use in each process and
    never pickled, so a worker builds it once.
    """

    def __init__(self, space: str, dataset: str, settings, proxy: str = "intrain", device: str = "cpu") -> None:
        if proxy not in settings.proxies:
            raise InputError(f"proxy {proxy!r} is not among the settings' proxies {list(settings.proxies)}")
        self.space, self.dataset, self.settings, self.proxy, self.device = space, dataset, settings, proxy, device
        self._scorer: Any = None  # a Scorer, built on first use in each process

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_scorer": None}

    def __call__(self, arch: str) -> float:
        if self._scorer is None:
            from intrain.scoring.scorer import Scorer

            self._scorer = Scorer(self.space, self.dataset, self.settings, device=self.device)
        values = self._scorer.score(-1, arch).proxies[self.proxy]
        if "score" not in values:
            raise InputError(
                f"proxy {self.proxy!r} is ranked over a population (components {sorted(values)}); "
                "a search needs a per-architecture score"
            )
        return float(values["score"])


def proxy_score(
    space: str,
    dataset: str,
    settings,
    proxy: str = "intrain",
    device: str = "cpu",
) -> Callable[[str], float]:
    """``score(arch)`` that builds and scores one network with a registered proxy's main value."""
    return ProxyScore(space, dataset, settings, proxy, device)


def _zen_draw(problem, parent: str, rng: np.random.Generator, history_size: int) -> str | None:
    """One Zen-NAS child (``ZenSearch.mutate_at``'s first draw), None when over the budget or cap."""
    from intrain.spaces.zennas.grammar import format_structure, parse_structure
    from intrain.spaces.zennas.mutation import mutate_structure

    edits = 1 if history_size <= problem.edits_after else 2
    child = mutate_structure(parse_structure(parent), rng, edits)
    return format_structure(child) if problem.fits(child) else None


def _one_draw_registry() -> dict[type, Callable]:
    from intrain.spaces.zennas.mutation import ZenSearch

    return {ZenSearch: _zen_draw}


def single_draw(problem, parent: str, rng: np.random.Generator, history_size: int) -> str | None:
    """One child draw, None when the problem rejects it (Zen-NAS's iteration counting).

    A problem's own ``draw_at(parent, rng, history_size)`` is used when it has one; the zennas
    problem's is `_zen_draw`; a problem without a budget never rejects (its mutation).

    Examples:
        >>> from intrain.spaces.zennas.mutation import ZenSearch
        >>> p = ZenSearch(450e6)
        >>> rng = np.random.default_rng(3)
        >>> children = [single_draw(p, p.start(rng), rng, 20) for _ in range(20)]
        >>> any(c is None for c in children) and any(c is not None for c in children)
        True
    """
    own = getattr(problem, "draw_at", None)
    if own is not None:
        return own(parent, rng, history_size)
    for kind, draw in _one_draw_registry().items():
        if isinstance(problem, kind):
            return draw(problem, parent, rng, history_size)
    mutate_at = getattr(problem, "mutate_at", None)
    return mutate_at(parent, rng, history_size) if mutate_at else problem.mutate(parent, rng)


def make_problem(space: str, budget: float | None):
    """The Algorithm 1 problem of a space: the space's own (budgets apply to the spaces that take one).

    Examples:
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
