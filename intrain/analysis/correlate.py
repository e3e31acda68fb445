"""Correlation tables: every proxy (and component) of every merged artifact vs ground truth."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from intrain.analysis.groundtruth import GroundTruths, accuracy_column
from intrain.analysis.published_tau import published
from intrain.analysis.stats import Correlation, correlate, paired_tau_difference
from intrain.core.artifacts import read_attrs, read_population_rules, read_proxy_inputs, read_scores
from intrain.core.errors import InputError
from intrain.core.flags import Flag
from intrain.core.names import RESERVED_COLUMNS, is_reserved
from intrain.core.ranking import add_population_scores

_META_COLUMNS = RESERVED_COLUMNS  # the one list (intrain.core.names); proxies may not take these names


def is_component(proxy: pd.Series) -> pd.Series:
    """True for component columns (``intrain.gamma``), False for proxies' main scores."""
    return proxy.str.contains(".", regex=False)


def proxy_columns(scores: pd.DataFrame) -> list[str]:
    """Score and component columns to correlate: not the reserved ones, and not a proxy's own wall
    time (``meco.seconds``), which measures the machine, not the network's accuracy."""
    return [c for c in scores.columns if not is_reserved(str(c)) and not str(c).endswith(".seconds")]


def is_imported(attrs: Mapping[str, Any]) -> bool:
    """True for an artifact written by ``intrain import`` (a peer's score file)."""
    return str(attrs.get("provenance", "")).startswith("imported:")


def source_suffix(attrs: Mapping[str, Any], path: str) -> str:
    """``@<file stem>`` for an imported artifact (``intrain import``), so its rows never share a
    proxy label with intrain's own scores of the same dataset; for intrain's own artifacts the
    variant they were scored under (`variant_suffix`); empty for the default settings."""
    if not is_imported(attrs):
        return variant_suffix(attrs)
    from pathlib import Path

    return "@" + Path(path).stem.replace(".", "_")


def variant_suffix(attrs: Mapping[str, Any]) -> str:
    """``@reference``, ``@relu``, ``@reference+relu``…: the protocol and layer choice of an artifact
    scored under other than the default ones, so that one run can hold the same proxy under both
    (the protocol comparison, the layer-choice study) without their rows sharing a label."""
    settings = _settings_of(attrs)
    parts = [settings["protocol"]] if settings.get("protocol", "uniform") != "uniform" else []
    if settings.get("layers", "conv") != "conv":
        parts.append(settings["layers"])
    return "@" + "+".join(parts) if parts else ""


def _settings_of(attrs: Mapping[str, Any]) -> dict[str, Any]:
    settings = attrs.get("settings") or {}
    if isinstance(settings, str):
        from intrain.core.bounded import load_json  # an artifact attribute: depth and numbers bounded

        try:
            settings = load_json(settings, "settings")
        except ValueError:
            settings = {}
    return settings if isinstance(settings, dict) else {}


def _correlate_task(task: tuple[np.ndarray, np.ndarray, int, int]) -> Correlation:
    score, truth, n_boot, seed = task
    return correlate(score, truth, n_boot=n_boot, seed=seed)


def correlation_table(
    score_paths: Sequence[str],
    groundtruth: str | Sequence[str] | GroundTruths,
    n_boot: int = 1000,
    metric: str = "test",
    seed: int = 0,
    workers: int = 1,
) -> pd.DataFrame:
    """``groundtruth``: one table path, ``SPACE=CSV`` values, or `GroundTruths`.

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
            raise InputError(f"{groundtruth_path} has no column {acc_col!r} for {path}")
        scores = add_population_scores(read_scores(path), read_population_rules(path))
        columns = proxy_columns(scores)
        df = scores.merge(gt[["arch_index", acc_col]], on="arch_index", how="left")
        if df[acc_col].isna().any():
            raise InputError(
                f"{path}: {int(df[acc_col].isna().sum())} architectures have no {acc_col} in {groundtruth_path}"
            )
        n_flagged = int((df["flags"] != 0).sum())
        n_nonfinite = int(((df["flags"].to_numpy() & int(Flag.NONFINITE)) != 0).sum())
        suffix = source_suffix(attrs, path)
        imported = is_imported(attrs)
        inputs = read_proxy_inputs(path)
        for col in columns:
            proxy = col.split(".")[0]
            tasks.append((df[col].to_numpy(), df[acc_col].to_numpy(), n_boot, seed))
            rows.append(
                {
                    "space": space,
                    "dataset": dataset,
                    "proxy": col + suffix,
                    "metric": metric,
                    "n_flagged": n_flagged,
                    "n_nonfinite": n_nonfinite,
                    "paper_kendall": published(space, "kendall", col, dataset)
                    if col == proxy and not imported
                    else None,
                    "paper_spearman": published(space, "spearman", col, dataset)
                    if col == proxy and not imported
                    else None,
                    "batch_size": attrs.get("batch_size"),
                    "seed": attrs.get("seed"),
                    "device": attrs.get("device"),
                    "protocol": _settings_of(attrs).get("protocol", "uniform"),
                    "input": inputs.get(proxy, attrs.get("input", "gaussian")),
                }
            )
    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(min(workers, len(tasks))) as pool:
            results = list(pool.map(_correlate_task, tasks))
    else:
        results = [_correlate_task(t) for t in tasks]
    rows = [
        {**{k: row[k] for k in ("space", "dataset", "proxy", "metric")}, **c.as_dict(), **row}
        for row, c in zip(rows, results)
    ]
    table = pd.DataFrame(rows)
    if not table.empty:
        table["diff_kendall"] = table["kendall"] - table["paper_kendall"].astype(float)
    return table


def _artifact_frames(
    score_paths: Sequence[str], gts: GroundTruths, metric: str
) -> Iterator[tuple[str, str, pd.DataFrame, str]]:
    """(space, dataset, frame of every proxy column + the accuracy column, accuracy column) per artifact."""
    for path in score_paths:
        attrs = read_attrs(path)
        space, dataset = attrs["space"], attrs["dataset"]
        acc_col = accuracy_column(dataset, metric)
        gt = gts.table(space)
        if acc_col not in gt.columns:
            raise InputError(f"{gts.path(space)} has no column {acc_col!r} for {path}")
        scores = add_population_scores(read_scores(path), read_population_rules(path))
        suffix = source_suffix(attrs, path)
        cols = proxy_columns(scores)
        df = scores[["arch_index", *cols]].rename(columns={c: c + suffix for c in cols})
        yield space, dataset, df.merge(gt[["arch_index", acc_col]], on="arch_index", how="left"), acc_col


def pair_table(
    score_paths: Sequence[str],
    groundtruth: str | Sequence[str] | GroundTruths,
    pairs: Sequence[tuple[str, str]],
    n_boot: int = 1000,
    metric: str = "test",
    seed: int = 0,
) -> pd.DataFrame:
    """Paired Δτ = τ(a) − τ(b) with a bootstrap CI for every (a, b) in ``pairs`` and every
    (space, dataset) whose artifacts hold both, over the architectures both scored.

    Proxy labels are those of `correlation_table` (``az_nas``, ``intrain.gamma``,
    ``synflow@<file>`` for imported scores); artifacts of one (space, dataset) are joined on
    ``arch_index``.
    """
    gts = GroundTruths.of(groundtruth)
    merged: dict[tuple[str, str], pd.DataFrame] = {}
    acc: dict[tuple[str, str], str] = {}
    for space, dataset, df, acc_col in _artifact_frames(score_paths, gts, metric):
        key = (space, dataset)
        if key in merged:
            old = merged[key]
            new = [c for c in df.columns if c not in old.columns]
            # outer: artifacts of one dataset may cover different sub-samples (a heavy set scores
            # fewer networks); each pair is then compared where both have scores
            df = old.merge(df[["arch_index", acc_col, *new]], on="arch_index", how="outer", suffixes=("", "@new"))
            df[acc_col] = df[acc_col].fillna(df.pop(acc_col + "@new"))
        merged[key], acc[key] = df, acc_col
    rows = []
    for (space, dataset), df in merged.items():
        for a, b in pairs:
            if a not in df.columns or b not in df.columns:
                continue
            d = paired_tau_difference(
                df[a].to_numpy(), df[b].to_numpy(), df[acc[(space, dataset)]].to_numpy(), n_boot=n_boot, seed=seed
            )
            rows.append({"space": space, "dataset": dataset, "a": a, "b": b, "metric": metric, **d.as_dict()})
    missing = [f"{a}:{b}" for a, b in pairs if not any(r["a"] == a and r["b"] == b for r in rows)]
    if missing:
        raise InputError(f"no artifact holds both proxies of {missing}; labels are those of the correlation table")
    return pd.DataFrame(rows)
