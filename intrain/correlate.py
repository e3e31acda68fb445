"""Correlation tables: every proxy (and component) of every merged artifact vs ground truth."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Sequence

import numpy as np
import pandas as pd

from .groundtruth import GroundTruths, accuracy_column
from .io import read_attrs, read_scores
from .flags import Flag
from .published import published
from .stats import Correlation, correlate

_META_COLUMNS = {"arch_index", "arch", "representative", "representative_arch", "flags", "seconds", "pass_seconds", "loss"}


def is_component(proxy: pd.Series) -> pd.Series:
    """True for component columns (``intrain.gamma``), False for proxies' main scores."""
    return proxy.str.contains(".", regex=False)


def proxy_columns(scores: pd.DataFrame) -> list[str]:
    return [c for c in scores.columns if c not in _META_COLUMNS]


def with_population_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """``scores`` with the ``<proxy>`` column of every population-ranked proxy (TE-NAS, AZ-NAS)
    whose components it holds but whose score it lacks; unchanged (and torch never loaded) when
    there is none."""
    unranked = {c.split(".")[0] for c in scores.columns if "." in c} - set(scores.columns)
    if not unranked:
        return scores
    # TODO(lead): ranking -- intrain.ranking.add_population_scores(scores, rules read from the artifact), torch-free
    from .proxies import add_population_scores

    return add_population_scores(scores)


def _correlate_task(task: tuple[np.ndarray, np.ndarray, int, int]) -> Correlation:
    score, truth, n_boot, seed = task
    return correlate(score, truth, n_boot=n_boot, seed=seed)


def correlation_table(score_paths: Sequence[str], groundtruth: str | Sequence[str] | GroundTruths,
                      n_boot: int = 1000, metric: str = "test", seed: int = 0, workers: int = 1) -> pd.DataFrame:
    """``groundtruth``: one table path, ``SPACE=CSV`` values, or :class:`GroundTruths`.

    The bootstrap dominates on whole spaces (1,000 Kendall taus of 15,625 pairs per proxy), so
    ``workers`` > 1 spreads the (artifact, proxy) correlations over processes; each keeps its
    own seeded bootstrap, so the table is the same for any ``workers``.
    """
    gts = GroundTruths.of(groundtruth)
    rows, tasks = [], []
    for path in score_paths:
        attrs = read_attrs(path)
        space, dataset = attrs["space"], attrs["dataset"]
        gt, groundtruth_path = gts.table(space), gts.path(space)
        acc_col = accuracy_column(dataset, metric)
        if acc_col not in gt.columns:
            raise ValueError(f"{groundtruth_path} has no column {acc_col!r} for {path}")
        scores = with_population_scores(read_scores(path))
        columns = proxy_columns(scores)
        df = scores.merge(gt[["arch_index", acc_col]], on="arch_index", how="left")
        if df[acc_col].isna().any():
            raise ValueError(f"{path}: {int(df[acc_col].isna().sum())} architectures have no {acc_col} in {groundtruth_path}")
        n_flagged = int((df["flags"] != 0).sum())
        n_nonfinite = int(((df["flags"].to_numpy() & int(Flag.NONFINITE)) != 0).sum())
        for col in columns:
            proxy = col.split(".")[0]
            tasks.append((df[col].to_numpy(), df[acc_col].to_numpy(), n_boot, seed))
            rows.append({
                "space": space, "dataset": dataset, "proxy": col, "metric": metric,
                "n_flagged": n_flagged, "n_nonfinite": n_nonfinite,
                "paper_kendall": published(space, "kendall", col, dataset) if col == proxy else None,
                "paper_spearman": published(space, "spearman", col, dataset) if col == proxy else None,
                "batch_size": attrs.get("batch_size"), "seed": attrs.get("seed"), "device": attrs.get("device"),
            })
    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(min(workers, len(tasks))) as pool:
            results = list(pool.map(_correlate_task, tasks))
    else:
        results = [_correlate_task(t) for t in tasks]
    rows = [{**{k: row[k] for k in ("space", "dataset", "proxy", "metric")}, **c.as_dict(), **row}
            for row, c in zip(rows, results)]
    table = pd.DataFrame(rows)
    if not table.empty:
        table["diff_kendall"] = table["kendall"] - table["paper_kendall"].astype(float)
    return table
